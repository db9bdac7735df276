"""Test-time (and training-time) observation attacks, one registry.

An attack factory takes an `AttackContext` and returns a `Perturb` for the runner, or None for clean
observations. Adding an attack is one module plus one line here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from benchmark.config import RunConfig
from benchmark.qmix.controller import AgentController
from benchmark.registry import Registry
from benchmark.runner import Perturb


@dataclass(frozen=True)
class AttackContext:
    mac: AgentController  # the victim
    eps: float  # L-inf radius on observation features
    generator: torch.Generator  # the attack's own random stream
    cfg: RunConfig  # the victim run's configuration
    run_dir: Path | None = None  # where a learned attack keeps its adversary for reuse


AttackFactory = Callable[[AttackContext], Perturb | None]
ATTACKS: Registry[AttackFactory] = Registry("attack")
ATTACKS.add("none", lambda ctx: None)
