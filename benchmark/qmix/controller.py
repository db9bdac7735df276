"""The multi-agent controller: builds each agent's input and turns Q-values into actions, for K runs.

Batches hold the runs one after another along the leading dimension ([K*B, ...], run-major); the
controller splits them by run for its stacked networks (agent.py) and joins them again.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import torch
from torch.nn import functional as F

from benchmark.config import QMixConfig
from benchmark.envs.base import EnvInfo
from benchmark.qmix.agent import RNNAgent
from benchmark.qmix.stacked import load_run_state, per_row, run_state
from benchmark.streams import RunGenerators


class AgentController:
    """Shared-weight agents. Observations are the only inputs an attack may touch; the last-action and
    agent-id one-hots are appended here, after any perturbation."""

    def __init__(self, info: EnvInfo, cfg: QMixConfig, device: torch.device, seeds: Sequence[int] = (0,)) -> None:
        self.info, self.cfg, self.device = info, cfg, device
        extra = info.n_actions * cfg.obs_last_action + info.n_agents * cfg.obs_agent_id
        self.agent = RNNAgent(info.obs_shape + extra, info.n_actions, cfg.rnn_hidden_dim, seeds).to(device)
        self.sequence_bf16 = False  # bf16 matmuls in sequence_q (train.precision)

    @property
    def runs(self) -> int:
        return self.agent.runs

    def inputs(self, obs: torch.Tensor, prev_actions: torch.Tensor) -> torch.Tensor:
        """obs [..., A, obs_dim], prev_actions [..., A] long (-1 = none yet) -> [..., A, input_dim]."""
        parts = [obs]
        if self.cfg.obs_last_action:
            parts.append(F.one_hot(prev_actions + 1, self.info.n_actions + 1)[..., 1:].to(obs.dtype))
        if self.cfg.obs_agent_id:
            ids = torch.eye(self.info.n_agents, device=obs.device, dtype=obs.dtype)
            parts.append(ids.expand(*obs.shape[:-1], self.info.n_agents))
        return torch.cat(parts, dim=-1)

    def initial_hidden(self, batch: int) -> torch.Tensor:
        """The hidden state of `batch` environments (all runs together): [K, batch / K * A, H]."""
        k = self.runs
        return torch.zeros(k, batch // k * self.info.n_agents, self.agent.hidden_dim, device=self.device)

    def step_q(
        self, obs: torch.Tensor, prev_actions: torch.Tensor, hidden: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """One decision step: obs [K*B, A, obs_dim] -> q [K*B, A, n_actions] and the next hidden state."""
        k = self.runs
        x = self.inputs(obs, prev_actions)
        q, hidden = self.agent.step(x.reshape(k, -1, x.shape[-1]), hidden)
        return q.view(*obs.shape[:-1], -1), hidden

    def sequence_q(self, obs: torch.Tensor, prev_actions: torch.Tensor, agent: RNNAgent | None = None) -> torch.Tensor:
        """Whole episodes: obs [K*B, T, A, obs_dim] -> q [K*B, T, A, n_actions] (for learning)."""
        agent = agent or self.agent
        k = self.runs
        total, steps, n_agents = obs.shape[:3]
        x = self.inputs(obs, prev_actions).view(k, total // k, steps, n_agents, -1).transpose(1, 2)
        with torch.autocast(obs.device.type, dtype=torch.bfloat16, enabled=self.sequence_bf16):
            q = agent.sequence(x.reshape(k, steps, -1, x.shape[-1])).float()
        return q.view(k, steps, total // k, n_agents, -1).transpose(1, 2).reshape(total, steps, n_agents, -1)

    def run_state(self, run: int) -> dict[str, torch.Tensor]:
        """Run `run`'s agent weights in model.pt's single-network layout."""
        return run_state(self.agent, run)

    def load_run_state(self, run: int, state: dict[str, torch.Tensor]) -> None:
        load_run_state(self.agent, run, state)

    def view(self, runs: Sequence[int]) -> AgentController:
        """A controller over copies of some runs' current weights (greedy tests, a run's adversary)."""
        index = torch.as_tensor(list(runs), device=self.device)
        out = copy.copy(self)
        out.agent = copy.deepcopy(self.agent)  # the layers' structure; their weights are replaced next
        for module in out.agent.modules():
            for name, weight in list(module.named_parameters(recurse=False)):
                setattr(module, name, torch.nn.Parameter(weight.detach().index_select(0, index), requires_grad=False))
        return out


def mask_unavailable(q: torch.Tensor, avail: torch.Tensor) -> torch.Tensor:
    return q.masked_fill(~avail, float("-inf"))


def greedy_actions(q: torch.Tensor, avail: torch.Tensor) -> torch.Tensor:
    return mask_unavailable(q, avail).argmax(dim=-1)


def epsilon_greedy(
    q: torch.Tensor, avail: torch.Tensor, epsilon: torch.Tensor | float, generators: RunGenerators
) -> torch.Tensor:
    """With probability epsilon (one per run, or one for all) a uniformly random *available* action, else the
    greedy one. q, avail [K*B, A, n_actions]."""
    greedy = greedy_actions(q, avail)
    eps = torch.as_tensor(epsilon, dtype=torch.float32)
    if not bool((eps > 0).any()):
        return greedy
    noise = generators.rand(avail.shape)
    random = noise.masked_fill(~avail, -1.0).argmax(dim=-1)
    explore = generators.rand(greedy.shape) < per_row(eps.reshape(-1), noise[..., 0])
    return torch.where(explore, random, greedy)


def linear_epsilon(cfg: QMixConfig, env_steps: int) -> float:
    """pymarl's linear anneal from epsilon_start to epsilon_finish over epsilon_anneal_time env steps."""
    frac = min(env_steps / max(cfg.epsilon_anneal_time, 1), 1.0)
    return (1 - frac) * cfg.epsilon_start + frac * cfg.epsilon_finish
