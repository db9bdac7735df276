"""A GRU over stacked weights: K independent networks (a run group's runs) in one batched computation.

Gate equations and weight layout are nn.GRU's (gates ordered r, z, n; the hidden bias of n inside the
reset gate's product), so an nn.GRU's state dict, unsqueezed to K = 1, computes the same function.
The input projection does not depend on the hidden state, so callers compute it for the whole sequence
at once (one large matmul) and hand it in as `gi`.
"""

from __future__ import annotations

import torch


def gru_step(gi: torch.Tensor, h: torch.Tensor, w_hh: torch.Tensor, b_hh: torch.Tensor) -> torch.Tensor:
    """One step: gi [K, N, 3H] (input projection with its bias), h [K, N, H], w_hh [K, 3H, H], b_hh [K, 3H]."""
    gh = torch.baddbmm(b_hh.unsqueeze(1), h, w_hh.transpose(1, 2))
    i_r, i_z, i_n = gi.chunk(3, dim=-1)
    h_r, h_z, h_n = gh.chunk(3, dim=-1)
    r = torch.sigmoid(i_r + h_r)
    z = torch.sigmoid(i_z + h_z)
    n = torch.tanh(i_n + r * h_n)
    return n + z * (h - n)


def gru_sequence(gi: torch.Tensor, h0: torch.Tensor, w_hh: torch.Tensor, b_hh: torch.Tensor) -> torch.Tensor:
    """Every hidden state of a sequence: gi [K, T, N, 3H], h0 [K, N, H] -> [K, T, N, H]."""
    h, out = h0, []
    for step in gi.unbind(1):  # one backward node for all steps; indexing gi[:, t] would add T full-size zeros
        h = gru_step(step, h, w_hh, b_hh)
        out.append(h)
    return torch.stack(out, dim=1)
