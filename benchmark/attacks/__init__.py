"""Test-time (and training-time) observation attacks, one registry.

An attack factory takes (mac, eps, generator) and returns a `Perturb` for the runner, or None for clean
observations.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from benchmark.qmix.controller import AgentController
from benchmark.registry import Registry
from benchmark.runner import Perturb

AttackFactory = Callable[[AgentController, float, torch.Generator], Perturb | None]
ATTACKS: Registry[AttackFactory] = Registry("attack")
ATTACKS.add("none", lambda mac, eps, generator: None)
