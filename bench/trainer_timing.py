"""Timing a Trainer's own iterations, shared by bench_train (throughput) and bench_methods (cost per method)."""

from __future__ import annotations

import time

from benchmark.train import Trainer


def fill_buffer(trainer: Trainer) -> None:
    """Untimed iterations until the replay buffer holds one batch, so that every timed iteration also learns."""
    while not trainer.buffer.can_sample(trainer.cfg.qmix.batch_size):
        trainer.iteration()


def time_iterations(trainer: Trainer, iterations: int) -> tuple[int, float]:
    """Env steps taken and wall seconds spent by `iterations` trainer iterations."""
    steps0, start = trainer.progress.env_steps, time.perf_counter()
    for _ in range(iterations):
        trainer.iteration()
    return trainer.progress.env_steps - steps0, time.perf_counter() - start
