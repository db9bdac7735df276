"""The shared recurrent agent network (one set of weights for all agents of a run), for K runs at once."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from benchmark.qmix.gru import gru_sequence, gru_step
from benchmark.qmix.stacked import StackedLinear, initialise, linear


class StackedGRUWeights(nn.Module):
    """nn.GRU's single-layer parameters with a leading run dimension (same names, same gate layout)."""

    def __init__(self, runs: int, in_dim: int, hidden_dim: int) -> None:
        super().__init__()
        self.weight_ih_l0 = nn.Parameter(torch.empty(runs, 3 * hidden_dim, in_dim))
        self.weight_hh_l0 = nn.Parameter(torch.empty(runs, 3 * hidden_dim, hidden_dim))
        self.bias_ih_l0 = nn.Parameter(torch.empty(runs, 3 * hidden_dim))
        self.bias_hh_l0 = nn.Parameter(torch.empty(runs, 3 * hidden_dim))


class _OneAgent(nn.Module):
    """The single-run layout (what model.pt holds); only used to draw initial weights the way torch.nn does."""

    def __init__(self, input_dim: int, n_actions: int, hidden_dim: int) -> None:
        super().__init__()
        self.fc_in = nn.Linear(input_dim, hidden_dim)
        self.rnn = nn.GRU(hidden_dim, hidden_dim, batch_first=True)
        self.fc_out = nn.Linear(hidden_dim, n_actions)


class RNNAgent(nn.Module):
    """fc -> GRU -> fc, fed [observation, one-hot last action, one-hot agent id], for K runs.

    Inputs are [K, ..., input_dim]. Whole sequences and single steps go through the same GRU equations,
    so learning and acting compute exactly the same function.
    """

    def __init__(self, input_dim: int, n_actions: int, hidden_dim: int, seeds: Sequence[int] = (0,)) -> None:
        super().__init__()
        runs = len(seeds)
        self.hidden_dim = hidden_dim
        self.fc_in = StackedLinear(runs, input_dim, hidden_dim)
        self.rnn = StackedGRUWeights(runs, hidden_dim, hidden_dim)
        self.fc_out = StackedLinear(runs, hidden_dim, n_actions)
        initialise(self, seeds, lambda: _OneAgent(input_dim, n_actions, hidden_dim))

    @property
    def runs(self) -> int:
        return self.fc_in.weight.shape[0]

    def _gate_inputs(self, x: torch.Tensor) -> torch.Tensor:
        r = self.rnn
        return linear(torch.relu(self.fc_in(x)), r.weight_ih_l0, r.bias_ih_l0)

    def step(self, x: torch.Tensor, hidden: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x [K, N, input_dim], hidden [K, N, H] -> q [K, N, n_actions], new hidden."""
        hidden = gru_step(self._gate_inputs(x), hidden, self.rnn.weight_hh_l0, self.rnn.bias_hh_l0)
        return self.fc_out(hidden), hidden

    def sequence(self, x: torch.Tensor) -> torch.Tensor:
        """x [K, T, N, input_dim] from a zero hidden state -> q [K, T, N, n_actions]."""
        h0 = x.new_zeros(x.shape[0], x.shape[2], self.hidden_dim)
        hs = gru_sequence(self._gate_inputs(x), h0, self.rnn.weight_hh_l0, self.rnn.bias_hh_l0)
        return self.fc_out(hs)
