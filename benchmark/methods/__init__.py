"""Training methods: how observations are perturbed while training and what the learner minimises.

A method is one module that defines a `TrainingMethod` subclass and registers it here with one line.
"""

from __future__ import annotations

from benchmark.methods.adv_train import AdvTrain
from benchmark.methods.alternating import Atla, PaAtla
from benchmark.methods.base import TrainingMethod
from benchmark.methods.policy_reg import PolicyReg
from benchmark.methods.vanilla import Vanilla
from benchmark.registry import Registry

METHODS: Registry[type[TrainingMethod]] = Registry("method")
METHODS.add("vanilla", Vanilla)
METHODS.add("adv_train", AdvTrain)
METHODS.add("policy_reg", PolicyReg)
METHODS.add("atla", Atla)
METHODS.add("paad", PaAtla)

__all__ = ["METHODS", "TrainingMethod"]
