"""Layers whose weights carry a leading run dimension K: K independent networks evaluated as one.

Parameter names and per-run shapes are those of the torch.nn layers they stand for, so run k's slice of a
state dict (`run_state`) loads into, and is loadable from, the single-network layout that model.pt files
have always held (`stack_states`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn
from torch.nn import functional as F


class StackedLinear(nn.Module):
    """K copies of nn.Linear(in_dim, out_dim): weight [K, out, in], bias [K, out]; x [K, ..., in]."""

    def __init__(self, runs: int, in_dim: int, out_dim: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(runs, out_dim, in_dim))
        self.bias = nn.Parameter(torch.empty(runs, out_dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return linear(x, self.weight, self.bias)


def linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """x [K, ..., in] @ weight[k].T + bias[k], run by run, as one batched matmul."""
    if x.shape[0] == 1:  # one run: a plain linear layer, several times faster than baddbmm on small inputs
        return F.linear(x[0], weight[0], bias[0]).unsqueeze(0)
    lead = x.shape[1:-1]
    flat = x.reshape(x.shape[0], -1, x.shape[-1])
    out = torch.baddbmm(bias.unsqueeze(1), flat, weight.transpose(1, 2))
    return out.view(x.shape[0], *lead, weight.shape[1])


def per_row(values: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """Per-run values [K] repeated over each run's rows of `like` [K*B, ...] (runs one after another), shaped
    to broadcast against it."""
    rows = values.to(like.device, like.dtype).repeat_interleave(like.shape[0] // values.numel())
    return rows.view(-1, *[1] * (like.dim() - 1))


def initialise(module: nn.Module, seeds: Sequence[int], build: Callable[[], nn.Module]) -> None:
    """Give run k the initial weights `build()` draws under seed k (torch.nn's own initialisation), so a
    run's start does not depend on the group it trains in; the global random stream is left as it was."""
    states = []
    for seed in seeds:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(seed))
            states.append(build().state_dict())
    load_stacked(module, stack_states(states))


def stack_states(states: Sequence[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    return {key: torch.stack([s[key] for s in states]) for key in states[0]}


def run_state(module: nn.Module, run: int) -> dict[str, torch.Tensor]:
    """Run `run`'s weights in the single-network layout (cloned, on the module's device)."""
    return {key: value[run].detach().clone() for key, value in module.state_dict().items()}


def load_run_state(module: nn.Module, run: int, state: dict[str, torch.Tensor]) -> None:
    """Overwrite run `run`'s weights from a single-network state dict (e.g. a model.pt's)."""
    own = module.state_dict()
    missing, unexpected = set(own) - set(state), set(state) - set(own)
    if missing or unexpected:
        raise KeyError(f"weights do not fit the network (missing {sorted(missing)}, unexpected {sorted(unexpected)})")
    with torch.no_grad():
        for key, value in own.items():
            if value[run].shape != state[key].shape:
                raise ValueError(f"{key} has shape {tuple(state[key].shape)}, the network {tuple(value[run].shape)}")
            value[run].copy_(state[key])


def load_stacked(module: nn.Module, state: dict[str, torch.Tensor]) -> None:
    with torch.no_grad():
        for key, value in module.state_dict().items():
            value.copy_(state[key])
