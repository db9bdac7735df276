"""What an attack factory is given: the victim, the ball's radius, its options and a random stream."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch

from benchmark.attacks.settings import AttackConfig
from benchmark.config import RunConfig
from benchmark.qmix.controller import AgentController
from benchmark.runner import Perturb
from benchmark.streams import RunGenerators


@dataclass(frozen=True)
class AttackContext:
    mac: AgentController  # the victim
    eps: float  # L-inf radius on observation features
    generator: RunGenerators  # the attack's own random stream
    cfg: RunConfig  # the victim run's configuration
    run_dir: Path | None = None  # where a learned attack keeps its adversary for reuse
    options: AttackConfig = field(default_factory=AttackConfig)  # the attack's own settings (a subclass)


AttackFactory = Callable[[AttackContext], Perturb | None]
