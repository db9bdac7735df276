"""Episode storage: padded episodes with a mask of the steps that really happened."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields

import torch

from benchmark.envs.base import EnvInfo


@dataclass
class EpisodeBatch:
    """B episodes padded to T = episode_limit steps.

    obs/state/avail have T+1 entries (the observation after the last action is kept for bootstrapping).
    `terminated` marks a step after which nothing is bootstrapped: a decided battle, and a time-out unless the
    environment flags it as `episode_limit` (`env.continuing_episode`), as pymarl stores SMAC's episodes;
    with SMAC's default settings a time-out is terminal. `filled` masks the steps that happened.
    """

    obs: torch.Tensor  # [B, T+1, A, obs_dim]
    state: torch.Tensor  # [B, T+1, state_dim]
    avail: torch.Tensor  # [B, T+1, A, n_actions] bool
    actions: torch.Tensor  # [B, T, A] long
    reward: torch.Tensor  # [B, T]
    terminated: torch.Tensor  # [B, T] float
    filled: torch.Tensor  # [B, T] float
    # What the agents acted on where a perturbation changed it, [B, T+1, A, obs_dim] (the entry after the
    # last action is the clean one); None: they saw `obs`. A replay buffer keeps it only for the methods
    # that learn from it.
    seen_obs: torch.Tensor | None = None

    @classmethod
    def empty(
        cls, info: EnvInfo, batch: int, device: torch.device, seen: bool = False, features: torch.dtype = torch.float32
    ) -> EpisodeBatch:
        """Zeros; `features`: the dtype of obs, state and seen_obs (a replay buffer stores them compactly)."""
        steps, agents = info.episode_limit, info.n_agents
        action_dtype = torch.long if features == torch.float32 else _action_dtype(info.n_actions)

        def zeros(*shape: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
            return torch.zeros(batch, *shape, dtype=dtype, device=device)

        return cls(
            obs=zeros(steps + 1, agents, info.obs_shape, dtype=features),
            state=zeros(steps + 1, info.state_shape, dtype=features),
            avail=zeros(steps + 1, agents, info.n_actions, dtype=torch.bool),
            actions=zeros(steps, agents, dtype=action_dtype),
            reward=zeros(steps),
            terminated=zeros(steps),
            filled=zeros(steps),
            seen_obs=zeros(steps + 1, agents, info.obs_shape, dtype=features) if seen else None,
        )

    def expanded(self) -> EpisodeBatch:
        """The batch with float32 features and long actions, as the learner takes them."""
        return EpisodeBatch(**{k: _full(v) for k, v in self.tensors().items()})

    def tensors(self) -> dict[str, torch.Tensor]:
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None}

    def truncated(self) -> EpisodeBatch:
        """Drop trailing steps that no episode in the batch reached (saves work in the learner)."""
        steps = int(self.filled.sum(dim=0).nonzero().max().item()) + 1 if self.filled.any() else 1
        cut = {k: v[:, : steps + 1] if k in ("obs", "state", "avail", "seen_obs") else v[:, :steps] for k, v in self.tensors().items()}
        return EpisodeBatch(**cut)


def _action_dtype(n_actions: int) -> torch.dtype:
    return torch.uint8 if n_actions <= 256 else torch.int16


def _full(tensor: torch.Tensor) -> torch.Tensor:
    if tensor.is_floating_point():
        return tensor.float()
    return tensor if tensor.dtype == torch.bool else tensor.long()


class ReplayBuffer:
    """K runs' ring buffers of whole episodes in one preallocated block (run k owns rows k*capacity onward),
    each sampled uniformly without replacement from its own generator.

    Observations and states are stored as `features` (qmix.buffer_dtype; float16 by default: SMAC's features
    lie in [-1, 1], where float16 is within 2**-11 of the float32 value, far below any attack eps) and actions
    as small integers, which halves what a run group of 2s3z runs holds (bench/bench_memory.py)."""

    def __init__(
        self, info: EnvInfo, capacity: int, device: torch.device, seeds: Sequence[int], store_seen: bool = False,
        features: torch.dtype = torch.float32,
    ) -> None:  # fmt: skip
        """`store_seen`: also keep what the agents saw (EpisodeBatch.seen_obs; the clean obs for a batch without it)."""
        self.capacity, self.runs = capacity, len(seeds)
        self.data = EpisodeBatch.empty(info, capacity * self.runs, device, seen=store_seen, features=features)
        self.size = [0] * self.runs
        self.next_index = [0] * self.runs
        self.generators = [torch.Generator(device="cpu").manual_seed(int(s)) for s in seeds]

    def insert(self, batch: EpisodeBatch, runs: Sequence[bool] | None = None) -> None:
        """Store each run's part of a group batch [K*B] (only the runs where `runs` is True)."""
        per_run = batch.filled.shape[0] // self.runs
        rows, source = [], []
        for k in range(self.runs):
            if runs is not None and not runs[k]:
                continue
            rows.append(k * self.capacity + (self.next_index[k] + torch.arange(per_run)) % self.capacity)
            source.append(torch.arange(k * per_run, (k + 1) * per_run))
            self.next_index[k] = (self.next_index[k] + per_run) % self.capacity
            self.size[k] = min(self.size[k] + per_run, self.capacity)
        if not rows:
            return
        device = self.data.filled.device
        into, take = torch.cat(rows).to(device), torch.cat(source).to(batch.filled.device)
        for name, tensor in self.data.tensors().items():
            value = getattr(batch, name)
            tensor[into] = (batch.obs if value is None else value)[take].to(tensor.device, tensor.dtype)

    def can_sample(self, batch_size: int) -> list[bool]:
        return [size >= batch_size for size in self.size]

    def sample(self, batch_size: int, runs: Sequence[bool] | None = None) -> EpisodeBatch:
        """batch_size episodes of each run [K*batch_size]; a run left out (`runs`) draws nothing and gets
        placeholder rows, which the caller must not learn from."""
        rows = []
        for k in range(self.runs):
            if runs is None or runs[k]:
                rows.append(k * self.capacity + torch.randperm(self.size[k], generator=self.generators[k])[:batch_size])
            else:
                rows.append(k * self.capacity + torch.arange(batch_size) % max(self.size[k], 1))
        index = torch.cat(rows).to(self.data.filled.device)
        return EpisodeBatch(**{k: v[index] for k, v in self.data.tensors().items()}).truncated().expanded()

    def run_state_dict(self, run: int) -> dict:
        """Only the filled part of the run's ring is saved, so a young run's checkpoint stays small."""
        start = run * self.capacity
        return {
            "size": self.size[run],
            "next_index": self.next_index[run],
            "generator": self.generators[run].get_state(),
            "data": {k: v[start : start + self.size[run]].clone() for k, v in self.data.tensors().items()},
        }

    def load_run_state_dict(self, run: int, state: dict) -> None:
        size = int(state["size"])
        if size > self.capacity:
            raise ValueError(f"the buffer state holds {size} episodes, more than its capacity {self.capacity}")
        self.size[run], self.next_index[run] = size, int(state["next_index"])
        self.generators[run].set_state(state["generator"])
        start = run * self.capacity
        for name, tensor in self.data.tensors().items():
            tensor[start : start + size] = state["data"][name].to(tensor.device, tensor.dtype)
