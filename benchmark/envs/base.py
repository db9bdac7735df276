"""The batched, SMAC-shaped environment contract that every backend (`sim`, `sc2`) implements.

B environments run side by side. Every tensor has the batch as its first dimension and lives on
`env.device`. Finished environments reset themselves inside `step`; the observation seen right after the
step, before that reset, is handed out as `info["final_obs"]` (and state, avail) so that a learner can
bootstrap from the last state of an episode cut by the time limit. `info["episode_limit"]` means what SMAC's
does: a time-out to bootstrap from, flagged only when the environment runs with `continuing_episode`
(SMAC's default, False, leaves a time-out terminal).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import NamedTuple

import torch


@dataclass(frozen=True)
class EnvInfo:
    n_agents: int
    n_enemies: int
    n_actions: int
    obs_shape: int
    state_shape: int
    episode_limit: int

    def as_smac_dict(self) -> dict[str, int]:
        """The keys of SMAC's `get_env_info()`."""
        keys = ("state_shape", "obs_shape", "n_actions", "n_agents", "episode_limit")
        return {k: v for k, v in asdict(self).items() if k in keys}


class Observation(NamedTuple):
    obs: torch.Tensor  # [B, n_agents, obs_shape] float32
    state: torch.Tensor  # [B, state_shape] float32
    avail: torch.Tensor  # [B, n_agents, n_actions] bool


class StepResult(NamedTuple):
    reward: torch.Tensor  # [B] float32
    terminated: torch.Tensor  # [B] bool, True also when the episode limit was hit (as SMAC)
    info: dict[str, torch.Tensor]  # STEP_INFO_KEYS, each [B]; plus final_obs/final_state/final_avail


STEP_INFO_KEYS = ("battle_won", "dead_allies", "dead_enemies", "episode_limit")


class EpisodeInterrupted(RuntimeError):
    """A game was lost mid-episode (crash, hang or protocol error) and has been restarted.

    The episodes in progress cannot be completed, so none of them may be counted: the caller resets the
    environment and collects the whole batch again (benchmark/runner.py does). `env_ids` are the games that
    failed. It belongs to the contract, not to the `sc2` backend, so that a consumer can catch it without
    importing a backend.
    """

    def __init__(self, env_ids: Sequence[int], reasons: Sequence[str]) -> None:
        self.env_ids = list(env_ids)
        self.reasons = list(reasons)
        detail = "; ".join(f"env {i}: {r}" for i, r in zip(self.env_ids, self.reasons, strict=True))
        super().__init__(f"StarCraft II game lost mid-episode, restarted ({detail}); reset and re-run the batch")


def with_restarted(final: Observation, idx: torch.Tensor | list[int], restarted: Observation) -> Observation:
    """The observation after a step: `final` with the rows `idx` replaced by their restarted episodes'."""
    current = Observation(final.obs.clone(), final.state.clone(), final.avail.clone())
    for whole, part in zip(current, restarted, strict=True):
        whole[idx] = part
    return current


class BatchedEnv(ABC):
    """B parallel SMAC battles behind one batched interface."""

    info: EnvInfo
    batch_size: int
    device: torch.device

    @abstractmethod
    def reset(self) -> Observation:
        """Start a fresh episode in every environment."""

    @abstractmethod
    def step(self, actions: torch.Tensor) -> StepResult:
        """Apply `actions` [B, n_agents] (long); finished environments reset themselves."""

    @abstractmethod
    def observe(self) -> Observation:
        """The current observation (after any automatic reset)."""

    def rng_state(self) -> dict[str, torch.Tensor]:
        """Everything a resumed run needs to continue the same random stream."""
        return {}

    def set_rng_state(self, state: dict[str, torch.Tensor]) -> None:
        del state

    @property
    def restarts(self) -> int:
        """Game processes started again after a crash or hang (recorded in the manifest); none in `sim`."""
        return 0

    def close(self) -> None:
        """Release processes or devices; the simulator holds none."""
