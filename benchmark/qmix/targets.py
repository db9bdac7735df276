"""TD(lambda) targets (the loop form; a vectorised version is being written alongside)."""

from __future__ import annotations

import torch


def td_lambda_targets(
    rewards: torch.Tensor,
    terminated: torch.Tensor,
    filled: torch.Tensor,
    target_q: torch.Tensor,
    gamma: float,
    lam: float,
) -> torch.Tensor:
    """lambda-returns G_t = r_t + gamma * ((1 - lam) Q'(s_{t+1}) + lam G_{t+1}), cut at termination.

    rewards, terminated, filled: [B, T]; target_q: [B, T+1] -> [B, T]. Only an episode that was not
    terminated (a time-out) bootstraps from its final state; padded steps contribute nothing.
    """
    steps = rewards.shape[1]
    ret = target_q[:, steps] * (1 - terminated.sum(dim=1))
    out = []
    for t in reversed(range(steps)):
        one_step = rewards[:, t] + (1 - lam) * gamma * target_q[:, t + 1] * (1 - terminated[:, t])
        ret = lam * gamma * ret + filled[:, t] * one_step
        out.append(ret)
    return torch.stack(out[::-1], dim=1)
