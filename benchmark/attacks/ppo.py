"""MAPPO-style PPO pieces for the learned adversaries: a shared Gaussian actor over agents, a critic on
the global state, GAE, and the clipped update (Schulman et al. 2017; Yu et al. 2022 for the MARL form)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from benchmark.config import AdversaryConfig
from benchmark.streams import RunGenerators


def mlp(in_dim: int, hidden: int, out_dim: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(in_dim, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, out_dim))


class GaussianActor(nn.Module):
    """A diagonal Gaussian over pre-squash actions u; what u means is up to the adversary."""

    def __init__(self, in_dim: int, out_dim: int, hidden: int, init_log_std: float) -> None:
        super().__init__()
        self.mean = mlp(in_dim, hidden, out_dim)
        self.log_std = nn.Parameter(torch.full((out_dim,), float(init_log_std)))

    def forward(self, x: torch.Tensor) -> torch.distributions.Normal:
        mean = self.mean(x)
        return torch.distributions.Normal(mean, self.log_std.exp().expand_as(mean))

    def act(self, x: torch.Tensor, generator: RunGenerators | None) -> tuple[torch.Tensor, torch.Tensor]:
        """A sample (the mean when generator is None) and its log-probability summed over dimensions."""
        dist = self(x)
        if generator is None:
            u = dist.mean
        else:
            u = dist.mean + dist.stddev * generator.randn(dist.mean.shape)
        return u, dist.log_prob(u).sum(-1)


@dataclass(frozen=True)
class Rollout:
    """One PPO iteration's data, already flattened to the valid samples."""

    actor_inputs: torch.Tensor  # [N, in_dim]: (step, living agent) samples
    actions: torch.Tensor  # [N, out_dim] pre-squash actions u
    log_probs: torch.Tensor  # [N]
    advantages: torch.Tensor  # [N]: the team advantage of the sample's step
    states: torch.Tensor  # [M, state_dim]: filled steps
    returns: torch.Tensor  # [M]


def gae(
    rewards: torch.Tensor,
    values: torch.Tensor,
    terminated: torch.Tensor,
    filled: torch.Tensor,
    gamma: float,
    lam: float,
) -> torch.Tensor:
    """Generalised advantage estimates [B, T] from rewards, terminated, filled [B, T] and values [B, T+1].

    A real end (terminated) does not bootstrap; a time-out bootstraps from the value of its final state, as
    the QMIX learner does; padded steps get 0 and pass nothing back.
    """
    steps = rewards.shape[1]
    advantages = torch.zeros_like(rewards)
    running = torch.zeros_like(rewards[:, 0])
    for t in reversed(range(steps)):
        alive = 1 - terminated[:, t]
        delta = rewards[:, t] + gamma * values[:, t + 1] * alive - values[:, t]
        following = filled[:, t + 1] if t + 1 < steps else torch.zeros_like(running)
        running = (delta + gamma * lam * alive * following * running) * filled[:, t]
        advantages[:, t] = running
    return advantages


def ppo_update(
    actor: GaussianActor,
    critic: nn.Module,
    optimizer: torch.optim.Optimizer,
    rollout: Rollout,
    cfg: AdversaryConfig,
) -> dict[str, float]:
    """cfg.epochs full-batch epochs of the clipped surrogate, value regression and entropy bonus."""
    adv = rollout.advantages
    adv = (adv - adv.mean()) / (adv.std(unbiased=False) + 1e-8) if adv.numel() > 1 else adv
    params = [*actor.parameters(), *critic.parameters()]
    stats: dict[str, float] = {}
    for _ in range(cfg.epochs):
        dist = actor(rollout.actor_inputs)
        ratio = (dist.log_prob(rollout.actions).sum(-1) - rollout.log_probs).exp()
        surrogate = torch.minimum(ratio * adv, ratio.clamp(1 - cfg.clip, 1 + cfg.clip) * adv)
        policy_loss = -surrogate.mean()
        entropy = dist.entropy().sum(-1).mean()
        value_loss = (critic(rollout.states).squeeze(-1) - rollout.returns).pow(2).mean()
        loss = policy_loss - cfg.entropy_coef * entropy + cfg.value_coef * value_loss
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(params, cfg.grad_norm_clip)
        optimizer.step()
        stats = {"policy_loss": policy_loss.item(), "value_loss": value_loss.item(), "entropy": entropy.item()}
    return stats
