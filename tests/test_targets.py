"""TD(lambda) targets without a loop equal the learner's loop version on every kind of episode."""

from __future__ import annotations

import pytest
import torch

from benchmark.qmix.targets import td_lambda_targets


def loop_targets(rewards, terminated, filled, target_q, gamma, lam):
    """The reference: the learner's loop back through the episode, as it stood before this module."""
    steps = rewards.shape[1]
    ret = target_q[:, steps] * (1 - terminated.sum(dim=1))
    out = []
    for t in reversed(range(steps)):
        one_step = rewards[:, t] + (1 - lam) * gamma * target_q[:, t + 1] * (1 - terminated[:, t])
        ret = lam * gamma * ret + filled[:, t] * one_step
        out.append(ret)
    return torch.stack(out[::-1], dim=1)


def episodes(batch: int, steps: int, seed: int, dtype: torch.dtype = torch.float32):
    """A padded batch as the replay buffer holds it: won or lost battles (terminated at their last step),
    time-outs that run the whole length (not terminated: they bootstrap) and zero padding after the end."""
    gen = torch.Generator().manual_seed(seed)
    lengths = torch.randint(1, steps + 1, (batch,), generator=gen)
    timed_out = torch.rand(batch, generator=gen) < 0.3
    lengths[timed_out] = steps
    t = torch.arange(steps)
    filled = (t < lengths.unsqueeze(1)).to(dtype)
    terminated = ((t == lengths.unsqueeze(1) - 1) & ~timed_out.unsqueeze(1)).to(dtype)
    rewards = torch.rand(batch, steps, generator=gen, dtype=dtype) * filled
    target_q = torch.randn(batch, steps + 1, generator=gen, dtype=dtype) * 5
    return rewards, terminated, filled, target_q


@pytest.mark.parametrize("gamma, lam", [(0.99, 0.6), (0.99, 0.0), (1.0, 1.0), (0.5, 0.9), (0.0, 0.3)])
def test_equals_the_loop_on_padded_batches(gamma, lam):
    batch = episodes(64, 60, seed=int(gamma * 100 + lam * 10))
    _, terminated, filled, _ = batch
    assert terminated.any() and (filled == 0).any() and (terminated.sum(1) == 0).any()  # every kind is there
    torch.testing.assert_close(td_lambda_targets(*batch, gamma, lam), loop_targets(*batch, gamma, lam))


def test_equals_the_loop_on_arbitrary_inputs():
    """Inputs no buffer writes (several terminations, rewards on padding): the two still agree exactly."""
    gen = torch.Generator().manual_seed(5)
    rewards, target_q = torch.randn(32, 25, generator=gen), torch.randn(32, 26, generator=gen)
    terminated = (torch.rand(32, 25, generator=gen) < 0.2).float()
    filled = (torch.rand(32, 25, generator=gen) < 0.8).float()
    args = (rewards, terminated, filled, target_q, 0.97, 0.8)
    torch.testing.assert_close(td_lambda_targets(*args), loop_targets(*args))


@pytest.mark.parametrize("gamma, lam", [(0.999, 0.99), (1.0, 1.0), (0.99, 0.6)])
def test_long_episodes_stay_accurate_in_float32(gamma, lam):
    """T = 400 with lambda * gamma at or near 1: fp32 within fp32 rounding of a float64 loop."""
    batch = episodes(16, 400, seed=1, dtype=torch.float64)
    want = loop_targets(*batch, gamma, lam)
    got = td_lambda_targets(*(t.float() for t in batch), gamma, lam)
    assert torch.isfinite(got).all()
    torch.testing.assert_close(got.double(), want, atol=1e-4, rtol=1e-5)


def test_leading_dimensions_are_batch_dimensions():
    rewards, terminated, filled, target_q = episodes(3 * 8, 30, seed=2)
    grouped = [t.view(3, 8, -1) for t in (rewards, terminated, filled, target_q)]
    got = td_lambda_targets(*grouped, 0.99, 0.6)
    assert got.shape == (3, 8, 30)
    torch.testing.assert_close(got.view(24, 30), loop_targets(rewards, terminated, filled, target_q, 0.99, 0.6))


def test_one_step_episodes_and_empty_batches():
    one = episodes(4, 1, seed=3)
    torch.testing.assert_close(td_lambda_targets(*one, 0.9, 0.5), loop_targets(*one, 0.9, 0.5))
    empty = td_lambda_targets(torch.zeros(0, 5), torch.zeros(0, 5), torch.zeros(0, 5), torch.zeros(0, 6), 0.9, 0.5)
    assert empty.shape == (0, 5)
