"""Environments of a run group: one batched env holding every run's environments (run-major), and the
runs' test environments, each run with its own seeds.

The built-in simulator seeds each environment on its own (sim_rng.py), so the environments of run k in a
group are the very environments run k has alone. Other backends train one run at a time.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from benchmark.config import RunConfig
from benchmark.envs import make_env
from benchmark.envs.base import BatchedEnv
from benchmark.envs.sim import SimEnv
from benchmark.envs.sim_rng import derive_env_seeds
from benchmark.runner import EpisodeRunner, EpisodeStats
from benchmark.streams import RunGenerators


def make_group_env(cfg: RunConfig, seeds: Sequence[int], batch: int, device: torch.device) -> BatchedEnv:
    """`batch` environments per run, for len(seeds) runs."""
    e = cfg.env
    if len(seeds) == 1:
        return make_env(e.backend, e.map, batch, seeds[0], device, continuing_episode=e.continuing_episode)
    env_seeds = torch.cat([derive_env_seeds(s, batch, device) for s in seeds])
    return SimEnv(e.map, batch * len(seeds), device=device, env_seeds=env_seeds, continuing_episode=e.continuing_episode)


class TestEnvs:
    """Greedy test rounds of some of a group's runs at a time (those due), batched together.

    A single run keeps its test env (an sc2 game stays up between rounds). A group keeps each run's
    simulator seeds and episode counters, and builds one simulator of the due runs' environments per round,
    so a run's test battles do not depend on which other runs were tested with it.
    """

    def __init__(self, cfg: RunConfig, seeds: Sequence[int], device: torch.device) -> None:
        self.cfg, self.device, self.episodes = cfg, device, cfg.train.test_episodes
        self.env: BatchedEnv | None = None
        if len(seeds) == 1:
            self.env = make_env(cfg.env.backend, cfg.env.map, self.episodes, seeds[0], device)
            self.states = [self.env.rng_state()]
        else:
            self.states = [SimEnv(cfg.env.map, self.episodes, s, device).rng_state() for s in seeds]

    def run(self, mac, runs: Sequence[int]) -> EpisodeStats:
        """One round of test_episodes greedy, clean episodes for each run in `runs` (mac: a view of them)."""
        greedy = RunGenerators([0] * len(runs), self.device)  # never drawn from: epsilon 0
        if self.env is not None:
            _, stats = EpisodeRunner(self.env, mac, greedy).run(epsilon=0.0)
            self.states[0] = self.env.rng_state()
            return stats
        joined = {key: torch.cat([self.states[k][key] for k in runs]) for key in self.states[runs[0]]}
        env = SimEnv(self.cfg.env.map, self.episodes * len(runs), device=self.device, env_seeds=joined["env_seeds"])
        env.set_rng_state(joined)
        _, stats = EpisodeRunner(env, mac, greedy).run(epsilon=0.0)
        after = env.rng_state()
        for i, k in enumerate(runs):
            self.states[k] = {key: value.view(len(runs), -1)[i].clone() for key, value in after.items()}
        return stats

    def rng_state(self, run: int) -> dict[str, torch.Tensor]:
        return self.states[run]

    def set_rng_state(self, run: int, state: dict[str, torch.Tensor]) -> None:
        if self.env is not None:
            self.env.set_rng_state(state)
        self.states[run] = {key: value.to(self.device) for key, value in state.items()}

    @property
    def restarts(self) -> int:
        return self.env.restarts if self.env is not None else 0

    def close(self) -> None:
        if self.env is not None:
            self.env.close()
