"""adv_train: gradient-based adversarial training (Madry et al. 2018 applied to Q-learning, as in
Pattanaik et al. 2018 and SA-DQN's adversarial-training baseline).

Agents act on observations perturbed by FGSM/PGD against the current network, and learn from episodes
re-perturbed against the network being updated; TD targets come from the clean observations. eps ramps
from 0 to train_eps (MethodConfig.ramp_*), and only a random method.attack_fraction of the steps is
attacked, in acting and in learning (SA-DQN's adv_ratio). SA-DQN's own baseline perturbs acting only and
learns from the clean states it stores; re-perturbing the update's inputs is Pattanaik et al.'s and
Madry et al.'s form, which is what lets the network learn to act well on perturbed inputs.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from benchmark.methods.perturbing import PerturbingMethod
from benchmark.qmix.buffer import EpisodeBatch
from benchmark.runner import Perturb


class AdvTrain(PerturbingMethod):
    def collect_perturb(self, env_steps: Sequence[int], runs: Sequence[bool]) -> Perturb | None:
        return self.gradient_perturb(self.eps_at(env_steps), runs, self.cfg.method.attack_fraction)

    def update(self, batch: EpisodeBatch, env_steps: Sequence[int], runs: torch.Tensor) -> dict[str, torch.Tensor]:
        eps = self.eps_at(env_steps)
        worst = self.worst_case_obs(batch, eps, runs, fraction=self.cfg.method.attack_fraction)
        loss, _ = self.learner.td_loss(batch, obs=worst)
        grad_norm = self.learner.apply(loss, runs)
        return {"loss": loss.detach(), "eps": eps, "grad_norm": grad_norm}
