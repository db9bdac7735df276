"""The region an attack may move observations in: an L-inf ball around the clean observation, restricted
to the attacked agents and, optionally, to SMAC's valid feature range."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from benchmark.errors import UserError
from benchmark.streams import RunGenerators

# SMAC normalises every observation feature into [-1, 1]: relative x/y lie in [-1, 1], distances, health,
# shields, unit types and availability flags in [0, 1]. Only this envelope is known without the map's
# feature layout, so clipping keeps perturbed features inside it.
FEATURE_RANGE = (-1.0, 1.0)


@dataclass(frozen=True)
class Ball:
    centre: torch.Tensor  # clean observations [..., A, obs_dim]
    eps: float | torch.Tensor  # one radius, or one per leading row (a run group's runs), broadcastable to centre
    victims: torch.Tensor | None = None  # [..., A] bool: agents that may be perturbed; None = all
    clip: bool = False
    # Episode batches [B, T+1, A, obs_dim]: their steps' random starts are drawn at this length (see
    # RunGenerators.rand), so that they do not depend on where the batch was cut.
    draw_steps: int | None = None

    @property
    def empty(self) -> bool:
        """Radius 0 everywhere: the clean observation is the only point."""
        return not bool((torch.as_tensor(self.eps) > 0).any())

    def project(self, x: torch.Tensor) -> torch.Tensor:
        """The point of the region nearest to x in every coordinate (the region is a box)."""
        eps = torch.as_tensor(self.eps, dtype=x.dtype, device=x.device)
        delta = torch.minimum(torch.maximum(x - self.centre, -eps), eps)
        if self.victims is not None:
            delta = delta * self.victims.unsqueeze(-1).to(delta.dtype)
        out = self.centre + delta
        if self.clip:
            # Bounds widened to include the clean value, so that the clean observation is always feasible
            # and ||delta||_inf <= eps holds even for a feature that arrives out of range.
            low, high = FEATURE_RANGE
            out = torch.minimum(torch.maximum(out, self.centre.clamp(max=low)), self.centre.clamp(min=high))
        return out

    def sample(self, generators: RunGenerators) -> torch.Tensor:
        """Uniform noise in the box, then projected (a no-op except for victims and clipping)."""
        unit = generators.rand(self.centre.shape, dtype=self.centre.dtype, steps=self.draw_steps)
        return self.project(self.centre + (2 * unit - 1) * self.eps)


class VictimSelector:
    """Which agents an attack touches: all of them, or k drawn at random per episode and environment.

    A new draw happens for the environments whose every previous action is -1, which is how the runner
    marks the first step of an episode; the selector thus needs no hook of its own.
    """

    def __init__(self, k: int, n_agents: int, generator: RunGenerators) -> None:
        if k > n_agents:
            raise UserError(f"victims must be at most the map's {n_agents} agents, got {k}")
        self.k = 0 if k >= n_agents else k  # attacking every agent needs no mask
        self.generator = generator
        self.mask: torch.Tensor | None = None

    def __call__(self, prev_actions: torch.Tensor) -> torch.Tensor | None:
        if self.k == 0:
            return None
        starting = (prev_actions < 0).all(dim=-1, keepdim=True)
        if self.mask is None or self.mask.shape != prev_actions.shape:
            self.mask = self.draw(prev_actions.shape)
        elif bool(starting.any()):
            self.mask = torch.where(starting, self.draw(prev_actions.shape), self.mask)
        return self.mask

    def draw(self, shape: torch.Size | tuple[int, ...]) -> torch.Tensor:
        """[..., A] bool with exactly k True per row, uniformly at random (k > 0: k = 0 needs no mask)."""
        scores = self.generator.rand(shape)
        return scores.argsort(dim=-1).argsort(dim=-1) < self.k


# prev_actions [..., A] -> the agents to attack at this step [..., A] bool, or None for all of them.
Victims = Callable[[torch.Tensor], "torch.Tensor | None"]


def step_coins(
    shape: torch.Size | tuple[int, ...], fraction: float, generator: RunGenerators, steps: int | None = None
) -> torch.Tensor:
    """[*shape, 1] bool, each True with probability `fraction`: which (environment, step) pairs are attacked
    (`steps`: as in RunGenerators.rand, for shape [B, T])."""
    return generator.rand((*shape, 1), steps=steps) < fraction


class AttackedSteps:
    """Victims thinned to a random fraction of the steps (SA-DQN's adv_ratio): at each step each
    environment is attacked with probability `fraction`, its victims all together."""

    def __init__(self, victims: VictimSelector, fraction: float, generator: RunGenerators) -> None:
        self.victims, self.fraction, self.generator = victims, fraction, generator

    def __call__(self, prev_actions: torch.Tensor) -> torch.Tensor | None:
        mask = self.victims(prev_actions)
        if self.fraction >= 1:
            return mask
        coins = step_coins(prev_actions.shape[:-1], self.fraction, self.generator).expand(prev_actions.shape)
        return coins if mask is None else mask & coins
