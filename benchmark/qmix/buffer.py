"""Episode storage: padded episodes with a mask of the steps that really happened."""

from __future__ import annotations

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
    def empty(cls, info: EnvInfo, batch: int, device: torch.device, seen: bool = False) -> EpisodeBatch:
        steps, agents = info.episode_limit, info.n_agents

        def zeros(*shape: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
            return torch.zeros(batch, *shape, dtype=dtype, device=device)

        return cls(
            obs=zeros(steps + 1, agents, info.obs_shape),
            state=zeros(steps + 1, info.state_shape),
            avail=zeros(steps + 1, agents, info.n_actions, dtype=torch.bool),
            actions=zeros(steps, agents, dtype=torch.long),
            reward=zeros(steps),
            terminated=zeros(steps),
            filled=zeros(steps),
            seen_obs=zeros(steps + 1, agents, info.obs_shape) if seen else None,
        )

    def tensors(self) -> dict[str, torch.Tensor]:
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None}

    def truncated(self) -> EpisodeBatch:
        """Drop trailing steps that no episode in the batch reached (saves work in the learner)."""
        steps = int(self.filled.sum(dim=0).nonzero().max().item()) + 1 if self.filled.any() else 1
        cut = {k: v[:, : steps + 1] if k in ("obs", "state", "avail", "seen_obs") else v[:, :steps] for k, v in self.tensors().items()}
        return EpisodeBatch(**cut)


class ReplayBuffer:
    """A ring buffer of whole episodes, preallocated on one device, sampled uniformly without replacement."""

    def __init__(self, info: EnvInfo, capacity: int, device: torch.device, seed: int, store_seen: bool = False) -> None:
        """`store_seen`: also keep what the agents saw (EpisodeBatch.seen_obs; the clean obs for a batch without it)."""
        self.capacity = capacity
        self.data = EpisodeBatch.empty(info, capacity, device, seen=store_seen)
        self.size = 0
        self.next_index = 0
        self.generator = torch.Generator(device="cpu").manual_seed(seed)

    def insert(self, batch: EpisodeBatch) -> None:
        rows = (self.next_index + torch.arange(batch.filled.shape[0])) % self.capacity
        rows = rows.to(self.data.filled.device)
        for name, tensor in self.data.tensors().items():
            value = getattr(batch, name)
            tensor[rows] = (batch.obs if value is None else value).to(tensor.device)
        self.next_index = (self.next_index + batch.filled.shape[0]) % self.capacity
        self.size = min(self.size + batch.filled.shape[0], self.capacity)

    def can_sample(self, batch_size: int) -> bool:
        return self.size >= batch_size

    def sample(self, batch_size: int) -> EpisodeBatch:
        rows = torch.randperm(self.size, generator=self.generator)[:batch_size].to(self.data.filled.device)
        return EpisodeBatch(**{k: v[rows] for k, v in self.data.tensors().items()}).truncated()

    def state_dict(self) -> dict:
        """Only the filled part is saved, so a young run's checkpoint stays small."""
        return {
            "size": self.size,
            "next_index": self.next_index,
            "generator": self.generator.get_state(),
            "data": {k: v[: self.size].clone() for k, v in self.data.tensors().items()},
        }

    def load_state_dict(self, state: dict) -> None:
        self.size, self.next_index = int(state["size"]), int(state["next_index"])
        self.generator.set_state(state["generator"])
        for name, tensor in self.data.tensors().items():
            tensor[: self.size] = state["data"][name].to(tensor.device)
