"""Timing a trainer's own iterations, shared by bench_train (throughput), bench_methods (cost per method)
and bench_group (run groups)."""

from __future__ import annotations

import time

from benchmark.train import GroupTrainer


def fill_buffer(trainer: GroupTrainer) -> None:
    """Untimed iterations until every run's replay buffer holds one batch, so that every timed iteration learns."""
    while not all(trainer.buffer.can_sample(trainer.cfg.qmix.batch_size)):
        trainer.iteration()


def env_steps(trainer: GroupTrainer) -> int:
    return sum(p.env_steps for p in trainer.progress)


def time_iterations(trainer: GroupTrainer, iterations: int) -> tuple[int, float]:
    """Env steps taken (all runs together) and wall seconds spent by `iterations` trainer iterations."""
    steps0, start = env_steps(trainer), time.perf_counter()
    for _ in range(iterations):
        trainer.iteration()
    return env_steps(trainer) - steps0, time.perf_counter() - start


def time_for(trainer: GroupTrainer, seconds: float, clock=time.perf_counter) -> tuple[int, float]:
    """As time_iterations, for whole iterations until `seconds` have passed on `clock` (wall time, or e.g.
    time.process_time: the process's CPU time, steadier on a machine other work shares)."""
    steps0, start = env_steps(trainer), clock()
    while clock() - start < seconds:
        trainer.iteration()
    return env_steps(trainer) - steps0, clock() - start
