"""Shared machinery of the robust methods: the ramped eps, the inner gradient attack against the current
network, victim selection, and the method's own random stream (checkpointed for an exact resume)."""

from __future__ import annotations

import torch

from benchmark.attacks.ball import Ball, VictimSelector
from benchmark.attacks.gradient import GradientAttack, perturb_episodes, step_perturb
from benchmark.config import RunConfig
from benchmark.methods.base import TrainingMethod
from benchmark.methods.schedule import ramp_fraction
from benchmark.qmix.buffer import EpisodeBatch
from benchmark.qmix.learner import QLearner, previous_actions
from benchmark.runner import Perturb

METHOD_SEED = 4_000_037  # the method's perturbations draw from their own stream


class PerturbingMethod(TrainingMethod):
    def __init__(self, cfg: RunConfig, learner: QLearner) -> None:
        super().__init__(cfg, learner)
        m, mac = cfg.method, learner.mac
        self.generator = torch.Generator(device=mac.device).manual_seed(cfg.train.seed + METHOD_SEED)
        self.victims = VictimSelector(m.victims, mac.info.n_agents, self.generator)
        self.attack = GradientAttack.fgsm() if m.attack == "fgsm" else GradientAttack.pgd(m.attack_steps)

    def eps_at(self, env_steps: int) -> float:
        return self.cfg.method.train_eps * ramp_fraction(self.cfg, env_steps)

    def gradient_perturb(self, eps: float) -> Perturb | None:
        """Step-wise attack against the network as it is now (None at eps 0)."""
        if eps == 0:
            return None
        return step_perturb(self.attack, self.learner.mac, eps, self.victims, self.cfg.method.clip_obs, self.generator)

    def worst_case_obs(self, batch: EpisodeBatch, eps: float, clean_q: torch.Tensor | None = None) -> torch.Tensor:
        """The batch's observations after the inner attack on whole episodes (unchanged at eps 0); the victims
        of an episode are drawn once for all its steps."""
        if eps == 0:
            return batch.obs
        victims = self.victims.draw(batch.actions[:, 0].shape) if self.victims.k else None
        ball = Ball(batch.obs, eps, None if victims is None else victims.unsqueeze(1), self.cfg.method.clip_obs)
        prev = previous_actions(batch.actions)
        return perturb_episodes(self.attack, self.learner.mac, batch.obs, prev, batch.avail, ball, self.generator, clean_q)

    def state_dict(self) -> dict:
        return {"generator": self.generator.get_state(), "victims": self.victims.mask}

    def load_state_dict(self, state: dict) -> None:
        self.generator.set_state(state["generator"].cpu())
        self.victims.mask = state["victims"]
