"""policy_reg: TD loss + kappa * a penalty on how much a worst-case perturbation (found by PGD) changes each
agent's action preference (SA-DQN, Zhang et al. NeurIPS 2020; see regularisers.py for the forms).

Agents act on clean observations, as in SA-DQN; eps and kappa ramp from 0 together (MethodConfig.ramp_*).
For the hinge the inner PGD maximises the same margin the hinge penalises, as SA-DQN's PGD variant does;
for kl and tv it maximises the cross-entropy to the clean greedy action (no margin is involved there).
"""

from __future__ import annotations

import torch

from benchmark.attacks.objectives import greedy_margin, greedy_preference_loss
from benchmark.methods.perturbing import PerturbingMethod
from benchmark.methods.regularisers import REGULARISERS
from benchmark.methods.schedule import ramp_fraction
from benchmark.qmix.buffer import EpisodeBatch
from benchmark.qmix.learner import previous_actions


class PolicyReg(PerturbingMethod):
    def update(self, batch: EpisodeBatch, env_steps: int) -> dict[str, float]:
        td, q = self.learner.td_loss(batch)
        fraction = ramp_fraction(self.cfg, env_steps)
        eps, kappa = self.cfg.method.train_eps * fraction, self.cfg.method.kappa * fraction
        reg = self.regulariser(batch, q, eps) if eps > 0 and kappa > 0 else torch.zeros((), device=td.device)
        loss = td + kappa * reg
        self.learner.apply(loss)
        return {"loss": loss.item(), "td_loss": td.item(), "regulariser": reg.item(), "eps": eps, "kappa": kappa}

    def regulariser(self, batch: EpisodeBatch, q: torch.Tensor, eps: float) -> torch.Tensor:
        """Mean penalty over the steps that happened and the agents with a choice to make."""
        form = self.cfg.method.regulariser
        worst = self.worst_case_obs(batch, eps, clean_q=q, loss=greedy_margin if form == "hinge" else greedy_preference_loss)
        q_adv = self.learner.mac.sequence_q(worst, previous_actions(batch.actions))
        avail = batch.avail[:, :-1]
        penalty = REGULARISERS[form](q[:, :-1], q_adv[:, :-1], avail, self.cfg.method.hinge_margin)
        mask = batch.filled.unsqueeze(-1) * (avail.sum(dim=-1) > 1)
        return (penalty * mask).sum() / mask.sum().clamp(min=1)
