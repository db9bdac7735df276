"""atla and paad: QMIX trained against a learned adversary, alternating the two learners (ATLA, Zhang et
al. ICLR 2021; with PA-AD's adversary, Sun et al. ICLR 2022, this is their PA-ATLA).

A cycle is method.adversary_iters PPO iterations of the adversary against the frozen current QMIX (in the
adversary's own environments; those env steps are not counted in the run's env_steps, but their time is in
its wall clock), then method.agent_iters QMIX iterations (one collected batch and one update each) under
the adversary's sampled perturbations. No cycle starts while the ramped eps is still 0: an adversary is
pointless before there is anything to perturb.

QMIX learns from the observations the adversary made its agents see, as ATLA's and PA-ATLA's victims do
(ATLA's collect_perturbed_states), with TD targets from the clean ones as adv_train's. They are stored at
collection rather than regenerated from the current adversary at update time: they are what the agents'
recorded actions were chosen on, and regenerating PA-AD's would cost a step-by-step PGD through the GRU
for every step of every sampled episode. Episodes collected before the ramp (or at a low eps) stay in the
buffer as they were seen, so the buffer mixes clean and attacked play as the training went.
"""

from __future__ import annotations

from typing import ClassVar

from benchmark.attacks.adversary import AdversaryPerturb, new_adversary
from benchmark.attacks.adversary_training import AdversaryTrainer, adversary_seed
from benchmark.config import RunConfig
from benchmark.methods.perturbing import PerturbingMethod
from benchmark.qmix.learner import QLearner
from benchmark.runner import Perturb


class Alternating(PerturbingMethod):
    kind: ClassVar[str]
    learns_from_seen_obs = True

    def __init__(self, cfg: RunConfig, learner: QLearner) -> None:
        super().__init__(cfg, learner)
        self.adversary_cfg = cfg.adversary
        mac = learner.mac
        self.adversary = new_adversary(self.kind, mac.info, self.adversary_cfg, adversary_seed(cfg), mac.device)
        self._trainer: AdversaryTrainer | None = None
        self._pending: dict | None = None  # a checkpointed trainer state, loaded once its env exists
        self.agent_iters_left = 0

    @property
    def trainer(self) -> AdversaryTrainer:
        """Built on first use, so that a run whose eps stays 0 never starts the adversary's environments."""
        if self._trainer is None:
            m = self.cfg.method
            self._trainer = AdversaryTrainer.for_run(
                self.adversary, self.learner.mac, self.cfg, self.adversary_cfg, m.victims, m.clip_obs, m.attack_steps
            )
            if self._pending is not None:
                self._trainer.load_state_dict(self._pending)
                self._pending = None
        return self._trainer

    def collect_perturb(self, env_steps: int) -> Perturb | None:
        eps, m = self.eps_at(env_steps), self.cfg.method
        if eps == 0:
            return None
        if self.agent_iters_left == 0:
            for _ in range(m.adversary_iters):
                self.trainer.iteration(eps)
            self.agent_iters_left = m.agent_iters
        self.agent_iters_left -= 1
        return AdversaryPerturb(
            self.adversary, self.learner.mac, eps, self.victims, m.clip_obs, m.attack_steps, self.generator, sample=True
        )

    def state_dict(self) -> dict:
        trainer = self._trainer.state_dict() if self._trainer is not None else self._pending
        return {
            **super().state_dict(),
            "adversary": self.adversary.state_dict(),
            "trainer": trainer,
            "agent_iters_left": self.agent_iters_left,
        }

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self.adversary.load_state_dict(state["adversary"])
        self.agent_iters_left = int(state["agent_iters_left"])
        if state["trainer"] is not None:
            if self._trainer is not None:
                self._trainer.load_state_dict(state["trainer"])
            else:
                self._pending = state["trainer"]


class Atla(Alternating):
    kind = "atla"


class PaAtla(Alternating):
    kind = "paad"
