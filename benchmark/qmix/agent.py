"""The shared recurrent agent network: one set of weights for all agents."""

from __future__ import annotations

import torch
from torch import nn


class RNNAgent(nn.Module):
    """fc -> GRU -> fc, fed [observation, one-hot last action, one-hot agent id].

    It runs whole sequences through `nn.GRU` (one fused call while learning) and single steps through the
    same module while acting, so both paths compute exactly the same function.
    """

    def __init__(self, input_dim: int, n_actions: int, hidden_dim: int) -> None:
        super().__init__()
        self.hidden_dim = hidden_dim
        self.fc_in = nn.Linear(input_dim, hidden_dim)
        self.rnn = nn.GRU(hidden_dim, hidden_dim, batch_first=True)
        self.fc_out = nn.Linear(hidden_dim, n_actions)

    def initial_hidden(self, rows: int, device: torch.device) -> torch.Tensor:
        return torch.zeros(1, rows, self.hidden_dim, device=device)

    def forward(self, inputs: torch.Tensor, hidden: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """inputs [rows, T, input_dim], hidden [1, rows, H] -> q [rows, T, n_actions], new hidden."""
        x = torch.relu(self.fc_in(inputs))
        out, hidden = self.rnn(x, hidden)
        return self.fc_out(out), hidden
