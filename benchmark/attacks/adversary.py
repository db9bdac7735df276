"""Learned adversaries: a PPO policy whose action becomes a perturbation of each agent's observation.

- `atla` (Zhang et al. ICLR 2021): the action u in R^obs_dim is the perturbation itself, eps * tanh(u).
- `paad` (PA-AD, Sun et al. ICLR 2022): the "director" action u in R^n_actions is a direction tanh(u) in the
  victim's action-distribution space; an "actor" realises it with PGD steps inside the ball that move the
  victim's softmax policy along that direction.

Both use one shared actor over agents (input: the agent's clean observation and its id, MAPPO-style) and a
critic on the global state; only the way an action is realised differs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from benchmark.attacks.ball import Ball, VictimSelector
from benchmark.attacks.gradient import GradientAttack
from benchmark.attacks.objectives import direction_objective
from benchmark.attacks.ppo import GaussianActor, mlp
from benchmark.config import AdversaryConfig
from benchmark.envs.base import EnvInfo
from benchmark.qmix.controller import AgentController
from benchmark.streams import RunGenerators

KINDS = ("atla", "paad")


class Adversary(nn.Module):
    def __init__(self, kind: str, info: EnvInfo, cfg: AdversaryConfig) -> None:
        super().__init__()
        if kind not in KINDS:
            raise ValueError(f"unknown adversary kind {kind!r}")
        self.kind, self.info = kind, info
        out_dim = info.obs_shape if kind == "atla" else info.n_actions
        self.actor = GaussianActor(info.obs_shape + info.n_agents, out_dim, cfg.hidden, cfg.init_log_std)
        self.critic = mlp(info.state_shape, cfg.hidden, 1)

    def actor_inputs(self, obs: torch.Tensor) -> torch.Tensor:
        """[..., A, obs_dim] -> [..., A, obs_dim + A]: one shared actor tells agents apart by their id."""
        ids = torch.eye(self.info.n_agents, device=obs.device, dtype=obs.dtype)
        return torch.cat([obs, ids.expand(*obs.shape[:-1], self.info.n_agents)], dim=-1)


def new_adversary(kind: str, info: EnvInfo, cfg: AdversaryConfig, seed: int, device: torch.device) -> Adversary:
    """Initialised from its own seed, leaving the caller's global random stream untouched."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return Adversary(kind, info, cfg).to(device)


# -- realising an action as perturbed observations ---------------------------------------------------------
@dataclass(frozen=True)
class StepInputs:
    """What a realiser may consult about the victim at one step."""

    mac: AgentController
    prev: torch.Tensor
    hidden: torch.Tensor
    avail: torch.Tensor
    actor_steps: int  # PA-AD's actor: PGD iterations
    generator: RunGenerators


Realiser = Callable[[torch.Tensor, Ball, StepInputs], torch.Tensor]


def realise_atla(u: torch.Tensor, ball: Ball, step: StepInputs) -> torch.Tensor:
    del step
    return ball.project(ball.centre + ball.eps * torch.tanh(u))


def realise_paad(u: torch.Tensor, ball: Ball, step: StepInputs) -> torch.Tensor:
    # No random start: the same director action always gives the same perturbation, which keeps the
    # director's policy gradient about its own choice rather than the actor's noise.
    direction = torch.tanh(u) * step.avail.to(u.dtype)
    actor = GradientAttack(steps=step.actor_steps, random_start=False)

    def objective(x: torch.Tensor) -> torch.Tensor:
        return direction_objective(step.mac.step_q(x, step.prev, step.hidden)[0], step.avail, direction)

    return actor.run(objective, ball, step.generator)


REALISERS: dict[str, Realiser] = {"atla": realise_atla, "paad": realise_paad}


class AdversaryPerturb:
    """The runner's Perturb for a learned adversary; with `record` it keeps each step's actions,
    log-probabilities and victim masks for a PPO update."""

    def __init__(
        self,
        adversary: Adversary,
        mac: AgentController,
        eps: float,
        victims: VictimSelector,
        clip: bool,
        actor_steps: int,
        generator: RunGenerators,
        sample: bool,
        record: bool = False,
    ) -> None:
        self.adversary, self.mac, self.eps, self.victims, self.clip = adversary, mac, eps, victims, clip
        self.actor_steps, self.generator, self.sample, self.record = actor_steps, generator, sample, record
        self.actions: list[torch.Tensor] = []
        self.log_probs: list[torch.Tensor] = []
        self.victim_masks: list[torch.Tensor] = []

    @torch.no_grad()
    def __call__(self, obs: torch.Tensor, prev: torch.Tensor, hidden: torch.Tensor, avail: torch.Tensor) -> torch.Tensor:
        u, log_prob = self.adversary.actor.act(self.adversary.actor_inputs(obs), self.generator if self.sample else None)
        mask = self.victims(prev)
        if self.record:
            if bool((prev < 0).all()):
                # a batch's first step: a batch the runner collects again (a lost sc2 game) starts a fresh record
                self.actions, self.log_probs, self.victim_masks = [], [], []
            self.actions.append(u)
            self.log_probs.append(log_prob)
            self.victim_masks.append(torch.ones_like(prev, dtype=torch.bool) if mask is None else mask)
        ball = Ball(obs, self.eps, mask, self.clip)
        step = StepInputs(self.mac, prev, hidden, avail, self.actor_steps, self.generator)
        return REALISERS[self.adversary.kind](u, ball, step)
