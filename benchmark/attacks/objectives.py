"""What the gradient attacks maximise, in terms of the victim's Q-values over its available actions."""

from __future__ import annotations

import torch
from torch.nn import functional as F

# Unavailable actions get this logit rather than -inf: padded steps of an episode batch have no available
# action at all, and -inf there would turn softmaxes (and their gradients) into NaN.
UNAVAILABLE_LOGIT = -1e9


def available_logits(q: torch.Tensor, avail: torch.Tensor) -> torch.Tensor:
    return q.masked_fill(~avail, UNAVAILABLE_LOGIT)


def available_policy(q: torch.Tensor, avail: torch.Tensor) -> torch.Tensor:
    """The softmax over available actions' Q-values: the victim's 'action distribution' for attacks."""
    return F.softmax(available_logits(q, avail), dim=-1)


def available_log_policy(q: torch.Tensor, avail: torch.Tensor) -> torch.Tensor:
    """log available_policy, as log_softmax: log(softmax) would turn unlikely actions' -1e9-scale logits
    into log 0 = -inf, and the KL and cross-entropy built on it into NaN."""
    return F.log_softmax(available_logits(q, avail), dim=-1)


def greedy_preference_loss(q: torch.Tensor, avail: torch.Tensor, greedy: torch.Tensor) -> torch.Tensor:
    """Cross-entropy between softmax(available Q) and the greedy action [...]; an attack maximises it to
    lower the agent's preference for the action it would take (Huang et al. 2017, SA-DQN's PGD attack)."""
    return -available_log_policy(q, avail).gather(-1, greedy.unsqueeze(-1)).squeeze(-1)


def greedy_margin(q: torch.Tensor, avail: torch.Tensor, greedy: torch.Tensor) -> torch.Tensor:
    """max_{y != a*} Q(y) - Q(a*) over available actions [...]: negative while the greedy action a* leads
    (SA-DQN's logits_margin, which its PGD maximises for its hinge regulariser). 0 where an agent has no
    choice (fewer than two available actions: dead, or a padded step)."""
    chosen = q.gather(-1, greedy.unsqueeze(-1)).squeeze(-1)
    others = avail & ~F.one_hot(greedy, avail.shape[-1]).bool()
    margin = available_logits(q, others).max(dim=-1).values - chosen
    return torch.where(avail.sum(dim=-1) > 1, margin, torch.zeros_like(margin))


def direction_objective(q: torch.Tensor, avail: torch.Tensor, direction: torch.Tensor) -> torch.Tensor:
    """<pi(.|x), d>: how far the victim's action distribution moves along a direction d [..., n_actions]
    (PA-AD's actor; the clean policy's term is a constant and is left out)."""
    return (available_policy(q, avail) * direction).sum(dim=-1)
