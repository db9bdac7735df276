"""Shared machinery of the robust methods: the ramped eps (per run), the inner gradient attack against the
current network, victim selection, and the method's own random streams (checkpointed for an exact resume)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from benchmark.attacks.ball import AttackedSteps, Ball, VictimSelector, step_coins
from benchmark.attacks.gradient import GradientAttack, GreedyLoss, perturb_episodes, step_perturb
from benchmark.attacks.objectives import greedy_preference_loss
from benchmark.config import PGD_STEPS, VICTIMS_ALL, MethodConfig, RunConfig, require
from benchmark.methods.base import TrainingMethod
from benchmark.methods.schedule import ramp_fraction
from benchmark.qmix.buffer import EpisodeBatch
from benchmark.qmix.learner import QLearner, previous_actions
from benchmark.qmix.stacked import per_row
from benchmark.runner import Perturb
from benchmark.streams import Live


@dataclass(frozen=True)
class PerturbingConfig(MethodConfig):
    """What every robust method has: the eps ramp and which agents are perturbed."""

    # eps (and policy_reg's kappa) grow linearly from 0 to their full value between these fractions of
    # train.steps, after a clean start, since perturbing a policy that knows nothing yet only slows
    # learning. 25% -> 92% is SA-DQN's schedule (Zhang et al. NeurIPS 2020: from 1.5M to 5.5M of 6M
    # frames) for both its adversarial-training baseline and its regulariser. ATLA ramps over its first 30%
    # instead, but a QMIX agent is still mostly random there (epsilon anneals over 100k env steps), so one
    # schedule for every method keeps them at the same eps at every step. Fractions rather than step
    # counts, so a short run ramps as a long one does.
    ramp_start: float = 0.25
    ramp_end: float = 0.92
    victims: int = VICTIMS_ALL  # agents perturbed per training episode; 0 = all
    clip_obs: bool = False  # clip perturbed features to SMAC's [-1, 1], as the attacks' `clip`

    def __post_init__(self) -> None:
        super().__post_init__()
        require(
            0 <= self.ramp_start <= self.ramp_end <= 1,
            f"method ramp must satisfy 0 <= ramp_start <= ramp_end <= 1, got {self.ramp_start}, {self.ramp_end}",
        )
        require(self.victims >= 0, f"method.victims must be >= 0 (0 = all agents), got {self.victims}")


@dataclass(frozen=True)
class GradientConfig(PerturbingConfig):
    """adv_train's and policy_reg's inner maximiser, and its PGD iterations (FGSM is one step)."""

    attack: str = "pgd"
    attack_steps: int = PGD_STEPS

    def __post_init__(self) -> None:
        super().__post_init__()
        require(self.attack in ("fgsm", "pgd"), f"method.attack must be fgsm or pgd, got {self.attack!r}")
        require(self.attack_steps >= 1, f"method.attack_steps must be >= 1, got {self.attack_steps}")


class PerturbingMethod(TrainingMethod):
    def __init__(self, cfgs: Sequence[RunConfig], learner: QLearner, live: Live | None = None) -> None:
        super().__init__(cfgs, learner, live)
        m, mac = self.cfg.method, learner.mac
        self.victims = VictimSelector(m.victims, mac.info.n_agents, self.generator)
        self.attack = gradient_attack(m)

    def ramp(self, env_steps: Sequence[int]) -> torch.Tensor:
        return torch.tensor([ramp_fraction(c, s) for c, s in zip(self.cfgs, env_steps, strict=True)])

    def eps_at(self, env_steps: Sequence[int]) -> torch.Tensor:
        """Each run's ramped training eps [K]."""
        return torch.tensor([c.method.train_eps for c in self.cfgs]) * self.ramp(env_steps)

    def _attacking(self, eps: torch.Tensor, runs: Sequence[bool] | torch.Tensor) -> bool:
        """Let only the runs that attack now draw; False when none does (then nothing is drawn at all)."""
        self.generator.enabled = (eps > 0) & torch.as_tensor(runs, dtype=torch.bool)
        return bool(self.generator.enabled.any())

    def gradient_perturb(self, eps: torch.Tensor, runs: Sequence[bool], fraction: float = 1.0) -> Perturb | None:
        """Step-wise attack against the network as it is now on a random `fraction` of the steps (None at eps 0)."""
        if not self._attacking(eps, runs):
            return None
        victims = AttackedSteps(self.victims, fraction, self.generator)
        eps = eps * self.generator.enabled
        mac, clip = self.frozen_agents(), self.cfg.method.clip_obs

        def perturb(obs: torch.Tensor, prev: torch.Tensor, hidden: torch.Tensor, avail: torch.Tensor) -> torch.Tensor:
            return step_perturb(self.attack, mac, per_row(eps, obs), victims, clip, self.generator)(obs, prev, hidden, avail)

        return perturb

    def worst_case_obs(
        self,
        batch: EpisodeBatch,
        eps: torch.Tensor,
        runs: torch.Tensor,
        clean_q: torch.Tensor | None = None,
        fraction: float = 1.0,
        loss: GreedyLoss = greedy_preference_loss,
    ) -> torch.Tensor:
        """The batch's observations after the inner attack (maximising `loss`) on whole episodes (unchanged at
        eps 0), on a random `fraction` of the steps; the victims of an episode are drawn once for all its steps.
        eps and runs [K]: only the learning runs with eps > 0 are attacked (and draw)."""
        if not self._attacking(eps, runs):
            return batch.obs
        eps_rows = per_row(eps * self.generator.enabled, batch.obs)
        steps = self.learner.mac.info.episode_limit + 1
        ball = Ball(batch.obs, eps_rows, self._episode_victims(batch, fraction), self.cfg.method.clip_obs, steps)
        prev = previous_actions(batch.actions)
        return perturb_episodes(self.attack, self.frozen_agents(), batch.obs, prev, batch.avail, ball, self.generator, clean_q, loss)

    def frozen_agents(self):
        """The agents as they are now, without gradients for their weights: an attack differentiates only
        with respect to observations, and skipping the weight gradients leaves what it computes unchanged."""
        return self.learner.mac.view(range(len(self.cfgs)))

    def _episode_victims(self, batch: EpisodeBatch, fraction: float) -> torch.Tensor | None:
        """[B, T+1 or 1, A] bool, or None when every agent of every step is attacked."""
        mask = self.victims.draw(batch.actions[:, 0].shape).unsqueeze(1) if self.victims.k else None
        if fraction >= 1:
            return mask
        coins = step_coins(batch.obs.shape[:2], fraction, self.generator, self.learner.mac.info.episode_limit + 1)
        coins = coins.expand(batch.obs.shape[:3])
        return coins if mask is None else mask & coins


def gradient_attack(m: PerturbingConfig) -> GradientAttack | None:
    """The method's inner gradient attack (None for the methods whose adversary is learned)."""
    if not isinstance(m, GradientConfig):
        return None
    return GradientAttack.fgsm() if m.attack == "fgsm" else GradientAttack.pgd(m.attack_steps)
