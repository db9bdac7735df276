"""The interface every training method implements, for a run group of K runs (K = 1 for a single run).

Per-run quantities are sequences or [K] tensors, in the group's run order; batches hold the runs' rows
one after another (see streams.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

import torch

from benchmark.config import MethodConfig, RunConfig
from benchmark.qmix.buffer import EpisodeBatch
from benchmark.qmix.learner import QLearner
from benchmark.runner import Perturb
from benchmark.streams import Live, RunGenerators, run_seeds


class TrainingMethod:
    """Plain QMIX behaviour; robust methods override the hooks they change."""

    # The replay buffer keeps the observations the agents acted on (EpisodeBatch.seen_obs), and `update`
    # feeds them to the online network (targets stay clean).
    learns_from_seen_obs: ClassVar[bool] = False
    # The method's settings (method: in config.yaml); a subclass of MethodConfig for a method that has any.
    config: ClassVar[type[MethodConfig]] = MethodConfig

    def __init__(self, cfgs: Sequence[RunConfig], learner: QLearner, live: Live | None = None) -> None:
        self.cfgs, self.learner = list(cfgs), learner
        self.cfg = self.cfgs[0]  # the settings a group shares (all but seed, train eps and steps)
        seeds = [run_seeds(c.train.seed)["method"] for c in self.cfgs]
        self.generator = RunGenerators(seeds, learner.mac.device, live)

    def collect_perturb(self, env_steps: Sequence[int], runs: Sequence[bool]) -> Perturb | None:
        """The perturbation agents see while collecting training episodes (None: clean observations);
        `runs`: the runs that collect this batch."""
        del env_steps, runs
        return None

    def update(self, batch: EpisodeBatch, env_steps: Sequence[int], runs: torch.Tensor) -> dict[str, torch.Tensor]:
        """One learning step on a sampled group batch for the runs where `runs` [K] bool (CPU) is True;
        returns per-run scalars [K] to log (at least "loss"; kept on their device, read at test rounds)."""
        del env_steps
        loss, _ = self.learner.td_loss(batch, obs=batch.seen_obs if self.learns_from_seen_obs else None)
        grad_norm = self.learner.apply(loss, runs)
        return {"loss": loss.detach(), "grad_norm": grad_norm}

    def take_scalars(self, run: int) -> dict[str, list[float]]:
        """Scalars computed outside `update` since the last call (tag -> values), for TensorBoard."""
        del run
        return {}

    def write_records(self, run: int, run_dir: Path) -> None:
        """Write the method's own records of run `run` into its directory (at every checkpoint)."""
        del run, run_dir

    def run_state_dict(self, run: int) -> dict:
        """State beyond the learner's (an adversary's weights, say) for run `run`'s checkpoint."""
        return {"generator": self.generator.get_state(run)}

    def load_run_state_dict(self, run: int, state: dict) -> None:
        self.generator.set_state(run, state["generator"])
