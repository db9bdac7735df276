"""adv_train: gradient-based adversarial training (Madry et al. 2018 applied to Q-learning, as in
Pattanaik et al. 2018 and SA-DQN's adversarial-training baseline).

Agents act on observations perturbed by FGSM/PGD against the current network, and learn from episodes
re-perturbed against the network being updated; TD targets come from the clean observations. eps ramps
from 0 to train_eps (PerturbingConfig.ramp_*), and only a random method.attack_fraction of the steps is
attacked, in acting and in learning (SA-DQN's adv_ratio). SA-DQN's own baseline perturbs acting only and
learns from the clean states it stores; re-perturbing the update's inputs is Pattanaik et al.'s and
Madry et al.'s form, which is what lets the network learn to act well on perturbed inputs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from benchmark.config import require
from benchmark.methods.perturbing import GradientConfig, PerturbingMethod
from benchmark.qmix.buffer import EpisodeBatch
from benchmark.runner import Perturb


@dataclass(frozen=True)
class AdvTrainConfig(GradientConfig):
    name: str = "adv_train"
    # Each environment step is attacked with this probability, for acting and for learning alike (SA-DQN's
    # adv_ratio 0.5): half the data stays clean, so clean play is still learned.
    attack_fraction: float = 0.5

    def __post_init__(self) -> None:
        super().__post_init__()
        require(0 <= self.attack_fraction <= 1, f"method.attack_fraction must be in [0, 1], got {self.attack_fraction}")


class AdvTrain(PerturbingMethod):
    """Adversarial training: act and learn on FGSM/PGD-perturbed observations (Pattanaik et al., SA-DQN's baseline)."""

    config = AdvTrainConfig

    def collect_perturb(self, env_steps: Sequence[int], runs: Sequence[bool]) -> Perturb | None:
        return self.gradient_perturb(self.eps_at(env_steps), runs, self.cfg.method.attack_fraction)

    def update(self, batch: EpisodeBatch, env_steps: Sequence[int], runs: torch.Tensor) -> dict[str, torch.Tensor]:
        eps = self.eps_at(env_steps)
        worst = self.worst_case_obs(batch, eps, runs, fraction=self.cfg.method.attack_fraction)
        loss, _ = self.learner.td_loss(batch, obs=worst)
        grad_norm = self.learner.apply(loss, runs)
        return {"loss": loss.detach(), "eps": eps, "grad_norm": grad_norm}
