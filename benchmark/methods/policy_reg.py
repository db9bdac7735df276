"""policy_reg: TD loss + kappa * a penalty on how much a worst-case perturbation (found by PGD) changes each
agent's action preference (SA-DQN, Zhang et al. NeurIPS 2020; see regularisers.py for the forms).

Agents act on clean observations, as in SA-DQN; eps and kappa ramp from 0 together (MethodConfig.ramp_*).
For the hinge the inner PGD maximises the same margin the hinge penalises, as SA-DQN's PGD variant does;
for kl and tv it maximises the cross-entropy to the clean greedy action (no margin is involved there).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from benchmark.attacks.objectives import greedy_margin, greedy_preference_loss
from benchmark.methods.perturbing import PerturbingMethod
from benchmark.methods.regularisers import REGULARISERS
from benchmark.qmix.buffer import EpisodeBatch
from benchmark.qmix.learner import per_run_mean, previous_actions


class PolicyReg(PerturbingMethod):
    def update(self, batch: EpisodeBatch, env_steps: Sequence[int], runs: torch.Tensor) -> dict[str, torch.Tensor]:
        td, q = self.learner.td_loss(batch)
        fraction = self.ramp(env_steps)
        eps = torch.tensor([c.method.train_eps for c in self.cfgs]) * fraction
        kappa = torch.tensor([c.method.kappa for c in self.cfgs]) * fraction
        regularised = runs & (eps > 0) & (kappa > 0)
        if bool(regularised.any()):
            reg = self.regulariser(batch, q, eps, regularised) * regularised.to(td.device)
        else:
            reg = torch.zeros_like(td)
        loss = td + kappa.to(td.device) * reg
        grad_norm = self.learner.apply(loss, runs)
        return {"loss": loss.detach(), "td_loss": td.detach(), "regulariser": reg.detach(), "eps": eps, "kappa": kappa,
                "grad_norm": grad_norm}

    def regulariser(self, batch: EpisodeBatch, q: torch.Tensor, eps: torch.Tensor, runs: torch.Tensor) -> torch.Tensor:
        """Each run's mean penalty [K] over the steps that happened and the agents with a choice to make."""
        form, k = self.cfg.method.regulariser, len(self.cfgs)
        loss = greedy_margin if form == "hinge" else greedy_preference_loss
        worst = self.worst_case_obs(batch, eps, runs, clean_q=q, loss=loss)
        q_adv = self.learner.mac.sequence_q(worst, previous_actions(batch.actions))
        avail = batch.avail[:, :-1]
        penalty = REGULARISERS[form](q[:, :-1], q_adv[:, :-1], avail, self.cfg.method.hinge_margin, k)
        mask = batch.filled.unsqueeze(-1) * (avail.sum(dim=-1) > 1)
        return per_run_mean(penalty, mask, k)
