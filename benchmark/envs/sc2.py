"""The real backend: B SMAC games on StarCraft II, each in its own process, behind the batched contract.

Tensors are gathered from the games' numpy answers onto `env.device`; finished games reset themselves in
`step`, with the last observation handed out as info["final_obs"] (and state, avail), exactly as `sim`.

Crashes and hangs. A game that dies, stops answering within `Timeouts`, or is relaunched by SMAC itself is
killed and restarted (`restarts` counts them). What happens to its episode depends on when it failed:
  - during a reset (explicit, or automatic after an episode ended): nothing had been played yet, so the
    reset is simply retried on the fresh game;
  - mid-episode: the episode cannot be finished and must not be counted as a loss or a time-out, nor be
    replayed from its recorded actions (StarCraft II is not deterministic, so a replay is another
    episode). `step` raises EpisodeInterrupted and refuses to step again until `reset()`: a consumer that
    collects episodes from a reset (benchmark/runner.py) re-runs the whole batch, and one that does not
    handle it stops loudly instead of recording a made-up outcome.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from benchmark.config import EnvConfig
from benchmark.envs.base import (
    STEP_INFO_KEYS,
    BatchedEnv,
    EnvInfo,
    EpisodeInterrupted,
    Observation,
    StepResult,
    with_restarted,
)
from benchmark.envs.maps import MAPS
from benchmark.envs.sc2_install import installed_version, problems
from benchmark.envs.sc2_pool import Games, Timeouts
from benchmark.envs.sc2_worker import Factory, smac_env
from benchmark.envs.sim_rng import derive_env_seeds
from benchmark.errors import UserError

NO_OP, STOP = 0, 1
# The worker's step answer starts with reward, terminated, then STEP_INFO_KEYS; dtypes as `sim` hands them out.
_OUTCOME_DTYPES = (np.float32, bool, bool, np.float32, np.float32, bool)

__all__ = ["EpisodeInterrupted", "SC2Env", "Timeouts", "make"]


class SC2Env(BatchedEnv):
    """B SMAC games of one map. `factory(map_name=..., seed=..., continuing_episode=..., **env_kwargs)` builds
    one game in a worker process; it must be importable by reference (a module-level function or class).

    SMAC flags a time-out as `episode_limit` only with `continuing_episode`, which is what the contract's
    `episode_limit` means (a time-out to bootstrap from), so the setting is passed through unchanged."""

    def __init__(self, map_name: str, batch_size: int, seed: int = 0, device: torch.device | str = "cpu", *,
                 continuing_episode: bool = EnvConfig.continuing_episode, factory: Factory = smac_env,
                 env_kwargs: dict[str, Any] | None = None, timeouts: Timeouts = Timeouts(),
                 max_failures: int = 3) -> None:
        if batch_size < 1:
            raise UserError(f"the sc2 backend needs at least one environment, got batch size {batch_size}")
        expected = MAPS.get(map_name).info()
        self.map_name, self.batch_size, self.device = map_name, batch_size, torch.device(device)
        self.sc2_version = installed_version() if factory is smac_env else None
        seeds = derive_env_seeds(seed, batch_size, torch.device("cpu")).tolist()
        kwargs = [{"map_name": map_name, "seed": int(s), "continuing_episode": continuing_episode, **(env_kwargs or {})}
                  for s in seeds]
        self.games = Games(factory, kwargs, timeouts, max_failures)
        # Workers are processes: close them with the env, or at exit, never leave them running.
        self._finalizer = weakref.finalize(self, self.games.close)
        try:
            self.info = _checked_info(self.games.workers[0].sizes, expected, map_name)
            self.reset()
        except BaseException:
            self.close()
            raise

    @property
    def restarts(self) -> int:
        """How many times a game process had to be started again (crash, hang, SMAC relaunch)."""
        return self.games.restarts

    # --- contract -------------------------------------------------------------------------------------
    def reset(self) -> Observation:
        fresh = self.games.reset(range(self.batch_size))
        self._current = self._gather([fresh[i] for i in range(self.batch_size)])
        self._needs_reset = False
        return self._current

    def observe(self) -> Observation:
        return self._current

    def step(self, actions: torch.Tensor) -> StepResult:
        if self._needs_reset:
            raise RuntimeError("a game was lost mid-episode: call reset() before stepping again")
        playable = self._playable(actions).tolist()
        answers, failed = self.games.request(range(self.batch_size), "step", playable, self.games.timeouts.step)
        if failed:
            self._needs_reset = True
            raise EpisodeInterrupted(sorted(failed), [failed[i] for i in sorted(failed)])
        rows = [answers[i] for i in range(self.batch_size)]
        reward, terminated, *outcome = (np.array(column, dtype=dtype) for column, dtype in
                                        zip(zip(*(row[:6] for row in rows)), _OUTCOME_DTYPES, strict=True))
        final = self._gather([row[6:] for row in rows])
        info = {key: self._tensor(value) for key, value in zip(STEP_INFO_KEYS, outcome, strict=True)}
        info.update(final_obs=final.obs, final_state=final.state, final_avail=final.avail)
        self._current = self._restart_finished(np.flatnonzero(terminated).tolist(), final)
        return StepResult(self._tensor(reward), self._tensor(terminated), info)

    def close(self) -> None:
        self._finalizer()

    # --- internals ------------------------------------------------------------------------------------
    def _playable(self, actions: torch.Tensor) -> torch.Tensor:
        """SMAC asserts on an unavailable action; like `sim`, play it as stop (no-op for a dead agent)."""
        actions = actions.to("cpu", torch.long)
        if actions.shape != (self.batch_size, self.info.n_agents):
            raise ValueError(f"actions must have shape ({self.batch_size}, {self.info.n_agents}), "
                             f"got {tuple(actions.shape)}")
        avail = self._current.avail.cpu()
        actions = actions.clamp(0, self.info.n_actions - 1)
        ok = avail.gather(2, actions.unsqueeze(-1)).squeeze(-1)
        fallback = torch.where(avail[..., STOP], STOP, NO_OP)
        return torch.where(ok, actions, fallback)

    def _restart_finished(self, done: list[int], final: Observation) -> Observation:
        if not done:
            return final
        fresh = self.games.reset(done)
        return with_restarted(final, done, self._gather([fresh[i] for i in done]))

    def _gather(self, rows: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> Observation:
        obs, state, avail = (np.stack(column) for column in zip(*rows))
        return Observation(self._tensor(obs), self._tensor(state), self._tensor(avail))

    def _tensor(self, array: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(array)).to(self.device)


def _checked_info(sizes: dict[str, int], expected: EnvInfo, map_name: str) -> EnvInfo:
    """SMAC's sizes must be the map table's, so that a model trained on `sim` fits the same map on SC2."""
    info = EnvInfo(**sizes)
    if info != expected:
        raise UserError(f"SMAC's sizes for {map_name} ({info}) differ from the map table ({expected}); "
                        "is the pinned SMAC commit installed?")
    return info


def make(map_name: str, batch_size: int, seed: int, device: torch.device,
         continuing_episode: bool = EnvConfig.continuing_episode) -> SC2Env:
    MAPS.get(map_name)  # an unknown map is a one-line error before anything else is looked at
    missing = problems([map_name])
    if missing:
        raise UserError(f"the sc2 backend cannot start: {missing[0]} (run `robust-qmix doctor` for all checks)")
    return SC2Env(map_name, batch_size, seed, device, continuing_episode=continuing_episode)
