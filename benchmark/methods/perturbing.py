"""Shared machinery of the robust methods: the ramped eps, the inner gradient attack against the current
network, victim selection, and the method's own random stream (checkpointed for an exact resume)."""

from __future__ import annotations

import torch

from benchmark.attacks.ball import AttackedSteps, Ball, VictimSelector, step_coins
from benchmark.attacks.gradient import GradientAttack, GreedyLoss, perturb_episodes, step_perturb
from benchmark.attacks.objectives import greedy_preference_loss
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

    def gradient_perturb(self, eps: float, fraction: float = 1.0) -> Perturb | None:
        """Step-wise attack against the network as it is now on a random `fraction` of the steps (None at eps 0)."""
        if eps == 0:
            return None
        victims = AttackedSteps(self.victims, fraction, self.generator)
        return step_perturb(self.attack, self.learner.mac, eps, victims, self.cfg.method.clip_obs, self.generator)

    def worst_case_obs(
        self,
        batch: EpisodeBatch,
        eps: float,
        clean_q: torch.Tensor | None = None,
        fraction: float = 1.0,
        loss: GreedyLoss = greedy_preference_loss,
    ) -> torch.Tensor:
        """The batch's observations after the inner attack (maximising `loss`) on whole episodes (unchanged at
        eps 0), on a random `fraction` of the steps; the victims of an episode are drawn once for all its steps."""
        if eps == 0:
            return batch.obs
        ball = Ball(batch.obs, eps, self._episode_victims(batch, fraction), self.cfg.method.clip_obs)
        prev = previous_actions(batch.actions)
        mac = self.learner.mac
        return perturb_episodes(self.attack, mac, batch.obs, prev, batch.avail, ball, self.generator, clean_q, loss)

    def _episode_victims(self, batch: EpisodeBatch, fraction: float) -> torch.Tensor | None:
        """[B, T+1 or 1, A] bool, or None when every agent of every step is attacked."""
        mask = self.victims.draw(batch.actions[:, 0].shape).unsqueeze(1) if self.victims.k else None
        if fraction >= 1:
            return mask
        coins = step_coins(batch.obs.shape[:2], fraction, self.generator).expand(batch.obs.shape[:3])
        return coins if mask is None else mask & coins

    def state_dict(self) -> dict:
        return {"generator": self.generator.get_state(), "victims": self.victims.mask}

    def load_state_dict(self, state: dict) -> None:
        self.generator.set_state(state["generator"].cpu())
        self.victims.mask = state["victims"]
