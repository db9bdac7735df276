"""The `random` attack: uniform noise in the ball, the baseline the gradient attacks must beat."""

from __future__ import annotations

import torch

from benchmark.attacks.ball import Ball, VictimSelector
from benchmark.runner import Perturb
from benchmark.streams import RunGenerators


def noise_perturb(eps: float, victims: VictimSelector, clip: bool, generator: RunGenerators) -> Perturb:
    def perturb(obs: torch.Tensor, prev: torch.Tensor, hidden: torch.Tensor, avail: torch.Tensor) -> torch.Tensor:
        del hidden, avail
        return Ball(obs, eps, victims(prev), clip).sample(generator)

    return perturb
