"""The multi-agent controller: builds each agent's input and turns Q-values into actions."""

from __future__ import annotations

import torch
from torch.nn import functional as F

from benchmark.config import QMixConfig
from benchmark.envs.base import EnvInfo
from benchmark.qmix.agent import RNNAgent


class AgentController:
    """Shared-weight agents. Observations are the only inputs an attack may touch; the last-action and
    agent-id one-hots are appended here, after any perturbation."""

    def __init__(self, info: EnvInfo, cfg: QMixConfig, device: torch.device) -> None:
        self.info, self.cfg, self.device = info, cfg, device
        extra = info.n_actions * cfg.obs_last_action + info.n_agents * cfg.obs_agent_id
        self.agent = RNNAgent(info.obs_shape + extra, info.n_actions, cfg.rnn_hidden_dim).to(device)

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
        return self.agent.initial_hidden(batch * self.info.n_agents, self.device)

    def step_q(
        self, obs: torch.Tensor, prev_actions: torch.Tensor, hidden: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """One decision step: obs [B, A, obs_dim] -> q [B, A, n_actions] and the next hidden state."""
        batch, n_agents = obs.shape[:2]
        x = self.inputs(obs, prev_actions).reshape(batch * n_agents, 1, -1)
        q, hidden = self.agent(x, hidden)
        return q.view(batch, n_agents, -1), hidden

    def sequence_q(self, obs: torch.Tensor, prev_actions: torch.Tensor, agent: RNNAgent | None = None) -> torch.Tensor:
        """Whole episodes: obs [B, T, A, obs_dim] -> q [B, T, A, n_actions] (for learning)."""
        agent = agent or self.agent
        batch, steps, n_agents = obs.shape[:3]
        x = self.inputs(obs, prev_actions).permute(0, 2, 1, 3).reshape(batch * n_agents, steps, -1)
        q, _ = agent(x, agent.initial_hidden(batch * n_agents, obs.device))
        return q.view(batch, n_agents, steps, -1).permute(0, 2, 1, 3)


def mask_unavailable(q: torch.Tensor, avail: torch.Tensor) -> torch.Tensor:
    return q.masked_fill(~avail, float("-inf"))


def greedy_actions(q: torch.Tensor, avail: torch.Tensor) -> torch.Tensor:
    return mask_unavailable(q, avail).argmax(dim=-1)


def epsilon_greedy(
    q: torch.Tensor, avail: torch.Tensor, epsilon: float, generator: torch.Generator
) -> torch.Tensor:
    """With probability epsilon a uniformly random *available* action, else the greedy one."""
    greedy = greedy_actions(q, avail)
    if epsilon <= 0:
        return greedy
    noise = torch.rand(avail.shape, generator=generator, device=avail.device)
    random = noise.masked_fill(~avail, -1.0).argmax(dim=-1)
    explore = torch.rand(greedy.shape, generator=generator, device=avail.device) < epsilon
    return torch.where(explore, random, greedy)


def linear_epsilon(cfg: QMixConfig, env_steps: int) -> float:
    """pymarl's linear anneal from epsilon_start to epsilon_finish over epsilon_anneal_time env steps."""
    frac = min(env_steps / max(cfg.epsilon_anneal_time, 1), 1.0)
    return (1 - frac) * cfg.epsilon_start + frac * cfg.epsilon_finish
