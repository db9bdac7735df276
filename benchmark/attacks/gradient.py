"""Gradient attacks: PGD, with FGSM as its one-step, no-random-start case (one code path for both).

Two ways to apply them, sharing the same loop and objective:
- `step_perturb`: at every environment step, against the victim's current hidden state (test time, and
  training-time collection);
- `perturb_episodes`: on whole recorded episodes through the recurrent agent (training-time updates).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from benchmark.attacks.ball import Ball, Victims
from benchmark.attacks.objectives import greedy_preference_loss
from benchmark.qmix.controller import AgentController, greedy_actions
from benchmark.runner import Perturb
from benchmark.streams import RunGenerators

# Perturbed observations -> a per-element value the attack maximises (summed before differentiating).
Objective = Callable[[torch.Tensor], torch.Tensor]
# (Q-values, available actions, clean greedy actions) -> a per-element value the attack maximises.
GreedyLoss = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class GradientAttack:
    steps: int
    random_start: bool

    @classmethod
    def fgsm(cls) -> GradientAttack:
        return cls(steps=1, random_start=False)

    @classmethod
    def pgd(cls, steps: int) -> GradientAttack:
        return cls(steps=steps, random_start=True)

    def step_size(self, eps: float | torch.Tensor) -> float | torch.Tensor:
        """Madry et al. 2018's 2.5 eps / K, capped at eps: a single step is FGSM's full-eps sign step."""
        return eps * min(1.0, 2.5 / self.steps)

    def run(self, objective: Objective, ball: Ball, generator: RunGenerators) -> torch.Tensor:
        """Signed-gradient ascent on objective inside the ball; returns detached perturbed observations."""
        if ball.empty:
            return ball.centre
        x = ball.sample(generator) if self.random_start else ball.centre
        alpha = self.step_size(ball.eps)
        for _ in range(self.steps):
            with torch.enable_grad():  # the runner collects under no_grad
                x = x.detach().requires_grad_(True)
                (grad,) = torch.autograd.grad(objective(x).sum(), x)
            x = ball.project(x.detach() + alpha * grad.sign())
        return x.detach()


def step_objective(
    mac: AgentController, obs: torch.Tensor, prev: torch.Tensor, hidden: torch.Tensor, avail: torch.Tensor
) -> Objective:
    """Lower each agent's preference for the greedy action it takes on its clean observation this step."""
    with torch.no_grad():
        greedy = greedy_actions(mac.step_q(obs, prev, hidden)[0], avail)
    return lambda x: greedy_preference_loss(mac.step_q(x, prev, hidden)[0], avail, greedy)


def step_perturb(
    attack: GradientAttack,
    mac: AgentController,
    eps: float | torch.Tensor,
    victims: Victims,
    clip: bool,
    generator: RunGenerators,
) -> Perturb:
    def perturb(obs: torch.Tensor, prev: torch.Tensor, hidden: torch.Tensor, avail: torch.Tensor) -> torch.Tensor:
        ball = Ball(obs, eps, victims(prev), clip)
        return attack.run(step_objective(mac, obs, prev, hidden, avail), ball, generator)

    return perturb


def perturb_episodes(
    attack: GradientAttack,
    mac: AgentController,
    obs: torch.Tensor,
    prev: torch.Tensor,
    avail: torch.Tensor,
    ball: Ball,
    generator: RunGenerators,
    clean_q: torch.Tensor | None = None,
    loss: GreedyLoss = greedy_preference_loss,
) -> torch.Tensor:
    """Worst-case observations [B, T+1, A, obs_dim] for whole episodes against the current agent network.

    The perturbation of every step is optimised jointly, since through the GRU it also moves later
    decisions; the greedy actions are those on the clean episode (from `clean_q` when the caller has it),
    and the attack maximises `loss` of the perturbed Q-values against them.
    """
    with torch.no_grad():
        greedy = greedy_actions(mac.sequence_q(obs, prev) if clean_q is None else clean_q.detach(), avail)
    return attack.run(lambda x: loss(mac.sequence_q(x, prev), avail, greedy), ball, generator)
