"""policy_reg's penalties on how much a perturbation changes an agent's action preference.

Each takes Q-values on clean and on worst-case perturbed observations [K*B, ..., n_actions] (a run group's
runs one after another), the available actions, the margin and K, and returns a non-negative penalty per
agent and step [K*B, ...].
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch.nn import functional as F

from benchmark.attacks.objectives import available_log_policy, available_policy, greedy_margin
from benchmark.qmix.controller import greedy_actions
from benchmark.qmix.stacked import per_row

Regulariser = Callable[[torch.Tensor, torch.Tensor, torch.Tensor, float, int], torch.Tensor]


def hinge(q_clean: torch.Tensor, q_adv: torch.Tensor, avail: torch.Tensor, margin: float, runs: int = 1) -> torch.Tensor:
    """SA-DQN (Zhang et al. NeurIPS 2020): max(max_{y != a*} Q(s', y) - Q(s', a*), -c) with a* greedy on the
    clean observation, shifted by +c into a non-negative penalty (the same gradient), per (step, agent).

    The margin c is `margin` times the run's batch's mean clean action-value range (best minus worst available
    action, over the agents with a choice), and the difference is measured in the same unit. SA-DQN's
    absolute c = 1 fits Atari's clipped-reward Q scale; here per-agent Q has no fixed scale (the mixer can
    rescale it), and an absolute margin far above the policy's action gaps kept the hinge always active
    and was met by inflating every agent's Q. In these units scaling Q changes nothing: only the greedy
    action's lead relative to the agent's own spread of values counts. The unit is detached, so the
    gradient is SA-DQN's (raise Q(s', a*), lower the runner-up) divided by a constant.
    """
    greedy = greedy_actions(q_clean.detach(), avail)
    unit = per_row(action_value_range(q_clean.detach(), avail, runs), q_clean[..., 0])
    return F.relu(greedy_margin(q_adv, avail, greedy) / unit + margin)


def action_value_range(q: torch.Tensor, avail: torch.Tensor, runs: int = 1) -> torch.Tensor:
    """Per run [K]: the mean over the rows with a choice of max - min available Q (at least a tiny positive)."""
    choice = avail.sum(dim=-1) > 1
    best = q.masked_fill(~avail, float("-inf")).amax(dim=-1)
    worst = q.masked_fill(~avail, float("inf")).amin(dim=-1)
    spread = torch.where(choice, best - worst, torch.zeros_like(best))
    total = spread.reshape(runs, -1).sum(1)
    return (total / choice.reshape(runs, -1).sum(1).clamp(min=1)).clamp(min=1e-6)


def kl(q_clean: torch.Tensor, q_adv: torch.Tensor, avail: torch.Tensor, margin: float, runs: int = 1) -> torch.Tensor:
    """KL(pi(s) || pi(s')) between softmax policies over available actions (SA-PPO's form for a Q-agent)."""
    del margin, runs
    log_p, log_r = available_log_policy(q_clean, avail), available_log_policy(q_adv, avail)
    return (log_p.exp() * (log_p - log_r)).sum(dim=-1)


def total_variation(q_clean: torch.Tensor, q_adv: torch.Tensor, avail: torch.Tensor, margin: float, runs: int = 1) -> torch.Tensor:
    del margin, runs
    return 0.5 * (available_policy(q_clean, avail) - available_policy(q_adv, avail)).abs().sum(dim=-1)


REGULARISERS: dict[str, Regulariser] = {"hinge": hinge, "kl": kl, "tv": total_variation}
