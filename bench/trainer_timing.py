"""Timing a trainer's own iterations, shared by bench_train (throughput), bench_methods (cost per method),
bench_group (run groups) and gpu_profile. On a GPU every window opens and closes with a device sync, so
that it counts the work queued inside it."""

from __future__ import annotations

import time

import torch

from benchmark.train import GroupTrainer


def fill_buffer(trainer: GroupTrainer) -> None:
    """Untimed iterations until every run's replay buffer holds one batch, so that every timed iteration learns."""
    while not all(trainer.buffer.can_sample(trainer.cfg.qmix.batch_size)):
        trainer.iteration()


def env_steps(trainer: GroupTrainer) -> int:
    return sum(p.env_steps for p in trainer.progress)


def sync(trainer: GroupTrainer) -> None:
    """Wait for the trainer's device, so that a clock read after it counts the queued GPU work."""
    if trainer.device.type == "cuda":
        torch.cuda.synchronize(trainer.device)


def time_iterations(trainer: GroupTrainer, iterations: int) -> tuple[int, float]:
    """Env steps taken (all runs together) and wall seconds spent by `iterations` trainer iterations."""
    sync(trainer)
    steps0, start = env_steps(trainer), time.perf_counter()
    for _ in range(iterations):
        trainer.iteration()
    sync(trainer)
    return env_steps(trainer) - steps0, time.perf_counter() - start


def time_for(trainer: GroupTrainer, seconds: float, clock=time.perf_counter) -> tuple[int, float]:
    """As time_iterations, for whole iterations until `seconds` have passed on `clock` (wall time, or e.g.
    time.process_time: the process's CPU time, steadier on a machine other work shares)."""
    sync(trainer)
    steps0, start = env_steps(trainer), clock()
    while clock() - start < seconds:
        trainer.iteration()
    sync(trainer)
    return env_steps(trainer) - steps0, clock() - start


def time_learning(trainer: GroupTrainer, iterations: int) -> tuple[int, float, float]:
    """As time_iterations, also returning the seconds spent in the method's updates (each device-synced)."""
    update, learn = trainer.method.update, [0.0]

    def timed(*args, **kwargs):
        sync(trainer)
        t0 = time.perf_counter()
        out = update(*args, **kwargs)
        sync(trainer)
        learn[0] += time.perf_counter() - t0
        return out

    trainer.method.update = timed
    try:
        steps, elapsed = time_iterations(trainer, iterations)
    finally:
        trainer.method.update = update
    return steps, elapsed, learn[0]
