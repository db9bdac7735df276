"""Linear ramps of a method's strength (eps, kappa) over training, as fractions of train.steps."""

from __future__ import annotations

from benchmark.config import RunConfig


def ramp_fraction(cfg: RunConfig, env_steps: int) -> float:
    """0 before method.ramp_start, 1 from method.ramp_end on, linear in between (fractions of train.steps)."""
    start = cfg.method.ramp_start * cfg.train.steps
    end = cfg.method.ramp_end * cfg.train.steps
    if env_steps >= end:
        return 1.0
    if env_steps <= start:
        return 0.0
    return (env_steps - start) / (end - start)
