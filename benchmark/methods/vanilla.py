"""Vanilla QMIX: clean observations, TD loss only."""

from benchmark.methods.base import TrainingMethod


class Vanilla(TrainingMethod):
    """Plain QMIX on clean observations (Rashid et al. 2018, pymarl2's settings)."""
