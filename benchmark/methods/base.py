"""The interface every training method implements."""

from __future__ import annotations

from typing import ClassVar

from benchmark.config import RunConfig
from benchmark.qmix.buffer import EpisodeBatch
from benchmark.qmix.learner import QLearner
from benchmark.runner import Perturb


class TrainingMethod:
    """Plain QMIX behaviour; robust methods override the hooks they change."""

    # The replay buffer keeps the observations the agents acted on (EpisodeBatch.seen_obs), and `update`
    # feeds them to the online network (targets stay clean).
    learns_from_seen_obs: ClassVar[bool] = False

    def __init__(self, cfg: RunConfig, learner: QLearner) -> None:
        self.cfg, self.learner = cfg, learner

    def collect_perturb(self, env_steps: int) -> Perturb | None:
        """The perturbation agents see while collecting training episodes (None: clean observations)."""
        del env_steps
        return None

    def update(self, batch: EpisodeBatch, env_steps: int) -> dict[str, float]:
        """One learning step on a sampled batch; returns scalars to log (at least "loss")."""
        del env_steps
        loss, _ = self.learner.td_loss(batch, obs=batch.seen_obs if self.learns_from_seen_obs else None)
        self.learner.apply(loss)
        return {"loss": loss.item()}

    def state_dict(self) -> dict:
        """State beyond the learner's (an adversary's weights, say) for checkpoints."""
        return {}

    def load_state_dict(self, state: dict) -> None:
        del state
