"""QMIX's monotonic mixing network, its weights produced by hypernetworks of the global state."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class QMixer(nn.Module):
    def __init__(self, n_agents: int, state_dim: int, embed_dim: int, hypernet_embed: int) -> None:
        super().__init__()
        self.n_agents, self.embed_dim = n_agents, embed_dim

        def hyper(out_dim: int) -> nn.Sequential:
            return nn.Sequential(nn.Linear(state_dim, hypernet_embed), nn.ReLU(), nn.Linear(hypernet_embed, out_dim))

        self.hyper_w1 = hyper(embed_dim * n_agents)
        self.hyper_w2 = hyper(embed_dim)
        self.hyper_b1 = nn.Linear(state_dim, embed_dim)
        self.value = nn.Sequential(nn.Linear(state_dim, embed_dim), nn.ReLU(), nn.Linear(embed_dim, 1))

    def forward(self, agent_qs: torch.Tensor, states: torch.Tensor) -> torch.Tensor:
        """agent_qs [..., n_agents], states [..., state_dim] -> q_tot [..., 1].

        Absolute values of the hypernetwork outputs keep dQ_tot/dQ_a >= 0 (the monotonicity constraint).
        """
        lead = agent_qs.shape[:-1]
        qs = agent_qs.reshape(-1, 1, self.n_agents)
        s = states.reshape(-1, states.shape[-1])
        w1 = self.hyper_w1(s).abs().view(-1, self.n_agents, self.embed_dim)
        b1 = self.hyper_b1(s).view(-1, 1, self.embed_dim)
        hidden = F.elu(torch.bmm(qs, w1) + b1)
        w2 = self.hyper_w2(s).abs().view(-1, self.embed_dim, 1)
        q_tot = torch.bmm(hidden, w2).view(-1, 1) + self.value(s)
        return q_tot.view(*lead, 1)
