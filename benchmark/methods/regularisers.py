"""policy_reg's penalties on how much a perturbation changes an agent's action preference.

Each takes Q-values on clean and on worst-case perturbed observations [..., n_actions] and the available
actions, and returns a non-negative penalty per agent and step [...].
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch.nn import functional as F

from benchmark.attacks.objectives import available_log_policy, available_logits, available_policy
from benchmark.qmix.controller import greedy_actions

Regulariser = Callable[[torch.Tensor, torch.Tensor, torch.Tensor, float], torch.Tensor]


def hinge(q_clean: torch.Tensor, q_adv: torch.Tensor, avail: torch.Tensor, margin: float) -> torch.Tensor:
    """SA-DQN (Zhang et al. NeurIPS 2020): max(max_{y != a*} Q(s', y) - Q(s', a*), -c) with a* greedy on the
    clean observation, shifted by +c into a non-negative penalty (the same gradient). It is 0 once a* keeps
    a margin of at least c over every other available action at the perturbed observation."""
    greedy = greedy_actions(q_clean.detach(), avail)
    chosen = q_adv.gather(-1, greedy.unsqueeze(-1)).squeeze(-1)
    others = avail & ~F.one_hot(greedy, avail.shape[-1]).bool()
    best_other = available_logits(q_adv, others).max(dim=-1).values
    return F.relu(best_other - chosen + margin)


def kl(q_clean: torch.Tensor, q_adv: torch.Tensor, avail: torch.Tensor, margin: float) -> torch.Tensor:
    """KL(pi(s) || pi(s')) between softmax policies over available actions (SA-PPO's form for a Q-agent)."""
    del margin
    log_p, log_r = available_log_policy(q_clean, avail), available_log_policy(q_adv, avail)
    return (log_p.exp() * (log_p - log_r)).sum(dim=-1)


def total_variation(q_clean: torch.Tensor, q_adv: torch.Tensor, avail: torch.Tensor, margin: float) -> torch.Tensor:
    del margin
    return 0.5 * (available_policy(q_clean, avail) - available_policy(q_adv, avail)).abs().sum(dim=-1)


REGULARISERS: dict[str, Regulariser] = {"hinge": hinge, "kl": kl, "tv": total_variation}
