"""adv_train: gradient-based adversarial training (Madry et al. 2018 applied to Q-learning, as in
Pattanaik et al. 2018 and SA-DQN's adversarial-training baseline).

Agents act on observations perturbed by FGSM/PGD against the current network, and learn from episodes
re-perturbed against the network being updated; TD targets come from the clean observations. eps ramps
from 0 to train_eps (MethodConfig.ramp_*).
"""

from __future__ import annotations

from benchmark.methods.perturbing import PerturbingMethod
from benchmark.qmix.buffer import EpisodeBatch
from benchmark.runner import Perturb


class AdvTrain(PerturbingMethod):
    def collect_perturb(self, env_steps: int) -> Perturb | None:
        return self.gradient_perturb(self.eps_at(env_steps))

    def update(self, batch: EpisodeBatch, env_steps: int) -> dict[str, float]:
        eps = self.eps_at(env_steps)
        loss, _ = self.learner.td_loss(batch, obs=self.worst_case_obs(batch, eps))
        self.learner.apply(loss)
        return {"loss": loss.item(), "eps": eps}
