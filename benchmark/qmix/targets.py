"""QMIX's TD(lambda) targets as one matmul instead of a loop back through the episode.

The lambda-return recursion G_t = c_t + d G_{t+1} (d = lambda * gamma) unrolls to
G_t = sum_{k >= t} d^(k - t) c_k + d^(T - t) G_T: the per-step terms c times an upper-triangular matrix of
powers of d. Each power is computed directly (never a ratio of two powers, which under- or overflows for
long episodes), so the result is as accurate as the loop's for any T and any d in [0, 1].
"""

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

    rewards, terminated, filled: [..., T] float; target_q: [..., T+1] -> [..., T]. Only an episode that was
    not terminated (a time-out, with env.continuing_episode) bootstraps from its final state; padded steps
    (filled 0) contribute nothing.
    """
    steps = rewards.shape[-1]
    one_step = rewards + (1 - lam) * gamma * target_q[..., 1:] * (1 - terminated)
    final = target_q[..., steps] * (1 - terminated.sum(dim=-1))
    powers = _decay_powers(lam * gamma, steps, rewards.dtype, rewards.device)
    return (filled * one_step) @ powers[:steps, :steps] + final.unsqueeze(-1) * powers[steps, :steps]


def _decay_powers(decay: float, steps: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """[T+1, T]: row k, column t holds decay^(k - t) for k >= t, else 0 (row T weighs the bootstrap)."""
    index = torch.arange(steps + 1, device=device)
    lag = index.unsqueeze(1) - index[:steps]
    powers = torch.full((), decay, dtype=dtype, device=device).pow(index.to(dtype))
    # Subnormal powers (below 1e-38 in fp32) would slow the matmul ten-fold on CPU; they weigh nothing.
    powers = powers.masked_fill_(powers < torch.finfo(dtype).tiny, 0)
    return powers[lag.clamp(min=0)].masked_fill_(lag < 0, 0)
