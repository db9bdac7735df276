"""Vanilla QMIX: clean observations, TD loss only."""

from benchmark.methods.base import TrainingMethod


class Vanilla(TrainingMethod):
    pass
