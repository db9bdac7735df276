"""QMIX's monotonic mixing network, its weights produced by hypernetworks of the global state; K runs' mixers
stacked (see stacked.py)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from benchmark.qmix.stacked import StackedLinear, initialise


def _hyper(linear: type, *lead: int, state_dim: int, hidden: int, out_dim: int) -> nn.Sequential:
    return nn.Sequential(linear(*lead, state_dim, hidden), nn.ReLU(), linear(*lead, hidden, out_dim))


class _OneMixer(nn.Module):
    """The single-run layout (what model.pt holds); only used to draw initial weights the way torch.nn does."""

    def __init__(self, n_agents: int, state_dim: int, embed_dim: int, hypernet_embed: int) -> None:
        super().__init__()
        self.hyper_w1 = _hyper(nn.Linear, state_dim=state_dim, hidden=hypernet_embed, out_dim=embed_dim * n_agents)
        self.hyper_w2 = _hyper(nn.Linear, state_dim=state_dim, hidden=hypernet_embed, out_dim=embed_dim)
        self.hyper_b1 = nn.Linear(state_dim, embed_dim)
        self.value = _hyper(nn.Linear, state_dim=state_dim, hidden=embed_dim, out_dim=1)


class QMixer(nn.Module):
    def __init__(self, n_agents: int, state_dim: int, embed_dim: int, hypernet_embed: int, seeds: Sequence[int] = (0,)) -> None:
        super().__init__()
        self.n_agents, self.embed_dim = n_agents, embed_dim
        k = len(seeds)
        self.hyper_w1 = _hyper(StackedLinear, k, state_dim=state_dim, hidden=hypernet_embed, out_dim=embed_dim * n_agents)
        self.hyper_w2 = _hyper(StackedLinear, k, state_dim=state_dim, hidden=hypernet_embed, out_dim=embed_dim)
        self.hyper_b1 = StackedLinear(k, state_dim, embed_dim)
        self.value = _hyper(StackedLinear, k, state_dim=state_dim, hidden=embed_dim, out_dim=1)
        initialise(self, seeds, lambda: _OneMixer(n_agents, state_dim, embed_dim, hypernet_embed))

    def forward(self, agent_qs: torch.Tensor, states: torch.Tensor) -> torch.Tensor:
        """agent_qs [K*B, ..., n_agents], states [K*B, ..., state_dim] (runs one after another) -> q_tot [K*B, ..., 1].

        Absolute values of the hypernetwork outputs keep dQ_tot/dQ_a >= 0 (the monotonicity constraint).
        """
        lead, k = agent_qs.shape[:-1], self.hyper_b1.weight.shape[0]
        qs = agent_qs.reshape(k, -1, 1, self.n_agents)
        s = states.reshape(k, -1, states.shape[-1])
        rows = qs.shape[1]
        w1 = self.hyper_w1(s).abs().view(k * rows, self.n_agents, self.embed_dim)
        b1 = self.hyper_b1(s).view(k * rows, 1, self.embed_dim)
        hidden = F.elu(torch.bmm(qs.view(k * rows, 1, self.n_agents), w1) + b1)
        w2 = self.hyper_w2(s).abs().view(k * rows, self.embed_dim, 1)
        q_tot = torch.bmm(hidden, w2).view(k, rows, 1) + self.value(s)
        return q_tot.view(*lead, 1)
