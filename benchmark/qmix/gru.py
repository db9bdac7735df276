"""A GRU over stacked weights: K independent networks (a run group's runs) in one batched computation.

Gate equations and weight layout are nn.GRU's (gates ordered r, z, n; the hidden bias of n inside the
reset gate's product), so an nn.GRU's state dict, unsqueezed to K = 1, computes the same function.
The input projection does not depend on the hidden state, so callers compute it for the whole sequence
at once (one large matmul) and hand it in as `gi`.

`gru_sequence` is what the learner differentiates. Autograd through the step-by-step version records a
dozen nodes per step and replays them one by one; here the backward pass is written by hand instead:
the forward loop keeps each step's gates, the loop back through time turns them into that step's gate
gradients (about a dozen elementwise ops, most writing straight into the result) and dh_{t-1} (a batched
matmul per gate block: r|z, whose gradients are gi's own, and n), and the weight gradient is, per gate
block, one batched matmul over all steps after the loop.
"""

from __future__ import annotations

import functools

import torch
from torch.autograd.function import once_differentiable


def gru_step(gi: torch.Tensor, h: torch.Tensor, w_hh: torch.Tensor, b_hh: torch.Tensor) -> torch.Tensor:
    """One step: gi [K, N, 3H] (input projection with its bias), h [K, N, H], w_hh [K, 3H, H], b_hh [K, 3H]."""
    gh = torch.baddbmm(b_hh.unsqueeze(1), h, w_hh.transpose(1, 2))
    i_r, i_z, i_n = gi.chunk(3, dim=-1)
    h_r, h_z, h_n = gh.chunk(3, dim=-1)
    r = torch.sigmoid(i_r + h_r)
    z = torch.sigmoid(i_z + h_z)
    n = torch.tanh(i_n + r * h_n)
    return n + z * (h - n)


def gru_sequence(
    gi: torch.Tensor,
    h0: torch.Tensor,
    w_hh: torch.Tensor,
    b_hh: torch.Tensor,
    compute_dtype: torch.dtype | None = None,
) -> torch.Tensor:
    """Every hidden state of a sequence: gi [K, T, N, 3H], h0 [K, N, H] -> [K, T, N, H].

    `compute_dtype` is the dtype of the recurrent matmuls (e.g. torch.bfloat16 where the CPU multiplies
    it natively); gate math, the hidden state and every gradient stay in the inputs' floating dtype (at
    least float32). None means autocast's dtype inside an autocast region for gi's device, else no cast.
    The result is in that gate dtype.
    """
    tensors = (gi, h0, w_hh, b_hh)
    dtype = functools.reduce(torch.promote_types, (t.dtype for t in tensors), torch.float32)
    device_type = gi.device.type
    if compute_dtype is None:
        compute_dtype = torch.get_autocast_dtype(device_type) if torch.is_autocast_enabled(device_type) else dtype
    if torch.is_grad_enabled() and any(t.requires_grad for t in tensors):
        return _GRUSequence.apply(*tensors, dtype, compute_dtype)
    with torch.autocast(device_type, enabled=False):
        return _forward(gi.to(dtype), h0.to(dtype), w_hh, b_hh.to(dtype), compute_dtype, keep=False)[0][:, 1:]


def _acc_bmm(acc: torch.Tensor, a: torch.Tensor, b: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
    """acc + a @ b, batched; the product in a's dtype, the sum in acc's (baddbmm needs one dtype for all)."""
    if a.dtype == acc.dtype:
        return torch.baddbmm(acc, a, b, out=out)
    return torch.add(acc, torch.bmm(a, b), out=out)


def _forward(
    gi: torch.Tensor,
    h0: torch.Tensor,
    w_hh: torch.Tensor,
    b_hh: torch.Tensor,
    mm_dtype: torch.dtype,
    keep: bool,
) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None, torch.Tensor | None]:
    """[K, T+1, N, H]: h0 and every hidden state after it; and, if `keep`, what backward needs: sigmoid(r, z),
    n, W_hn h + b_hn, time-major ([T, K, N, .]) so that every step reads and writes one contiguous block.

    h0 sits in front of the states so that backward reads the states before each step as a view, and the
    caller's [K, T, N, H] (all but h0) still reshapes to [K, T * N, H] without a copy.
    """
    k, steps, rows, h3 = gi.shape
    hidden = h3 // 3
    states = gi.new_empty(k, steps + 1, rows, hidden)
    states[:, 0] = h0
    rz = gi.new_empty(steps, k, rows, 2 * hidden) if keep else None
    n_all = gi.new_empty(steps, k, rows, hidden) if keep else None
    hn_all = gi.new_empty(steps, k, rows, hidden) if keep else None
    # Two matmuls per step, so that W_hn h + b_hn lands where backward reads it rather than being copied.
    w_rz, w_n = w_hh.to(mm_dtype).transpose(1, 2).split([2 * hidden, hidden], dim=-1)
    b_rz, b_n = b_hh.unsqueeze(1).split([2 * hidden, hidden], dim=-1)
    gi_rz, gi_n = gi.split([2 * hidden, hidden], dim=-1)
    # Each step's views made up front (one unbind each): per-step indexing costs as much as a small op.
    saved = (rz.unbind(0), n_all.unbind(0), hn_all.unbind(0)) if keep else [[None] * steps] * 3
    h = h0
    outs = states.unbind(1)[1:]
    for gi_rz_t, gi_n_t, out_t, rz_t, n_t, hn_t in zip(gi_rz.unbind(1), gi_n.unbind(1), outs, *saved):
        h_mm = h.to(mm_dtype)
        gates = torch.add(gi_rz_t, _acc_bmm(b_rz, h_mm, w_rz), out=rz_t).sigmoid_()
        hn = _acc_bmm(b_n, h_mm, w_n, out=hn_t)
        n = torch.addcmul(gi_n_t, gates[..., :hidden], hn, out=n_t).tanh_()
        h = torch.lerp(n, h, gates[..., hidden:], out=out_t)
    return states, rz, n_all, hn_all


class _GRUSequence(torch.autograd.Function):
    @staticmethod
    def forward(ctx, gi, h0, w_hh, b_hh, dtype, mm_dtype) -> torch.Tensor:
        with torch.autocast(gi.device.type, enabled=False):
            states, rz, n, hn = _forward(gi.to(dtype), h0.to(dtype), w_hh, b_hh.to(dtype), mm_dtype, keep=True)
        ctx.save_for_backward(w_hh, states, rz, n, hn)
        ctx.dtypes = (gi.dtype, h0.dtype, w_hh.dtype, b_hh.dtype)
        ctx.mm_dtype = mm_dtype
        return states[:, 1:]

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        w_hh, states, rz, n, hn = ctx.saved_tensors
        with torch.autocast(grad_out.device.type, enabled=False):
            weights = any(ctx.needs_input_grad[2:4])  # an attack differentiates wrt observations only
            grads = _backward(grad_out.to(states.dtype), w_hh, states, rz, n, hn, ctx.mm_dtype, weights)
        wanted = zip(grads, ctx.needs_input_grad, ctx.dtypes)
        return (*(g.to(d) if need and g is not None else None for g, need, d in wanted), None, None)


def _backward(
    grad_out: torch.Tensor,
    w_hh: torch.Tensor,
    states: torch.Tensor,
    rz: torch.Tensor,
    n: torch.Tensor,
    hn: torch.Tensor,
    mm_dtype: torch.dtype,
    weights: bool = True,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
    """Gradients wrt gi, h0, w_hh, b_hh from the saved gates, one step at a time back through time; those
    wrt w_hh and b_hh only if `weights` (else None).

    Each step's gate derivatives are computed inside the loop, while that step's gates are in cache:
    computing them for all steps at once before the loop made backward 3x slower on CPU (each op a
    memory-bound pass over T x N x H temporaries). gh_r and gh_z have the gradients of gi_r and gi_z, so
    the matmuls read those from gi's gradient, and only gh_n's gets a buffer of its own.
    """
    k, steps_1, rows, hidden = states.shape
    steps = steps_1 - 1
    d_gi = states.new_empty(k, steps, rows, 3 * hidden)
    d_gi_rz, d_gi_n = d_gi.split([2 * hidden, hidden], dim=-1)
    d_gh_n = torch.empty_like(d_gi_n)
    w_rz, w_n = w_hh.to(mm_dtype).split([2 * hidden, hidden], dim=1)
    go, h_prev = grad_out.unbind(1), states.unbind(1)
    gates = list(zip(rz.unbind(0), n.unbind(0), hn.unbind(0)))
    grads = list(zip(d_gi_rz.unbind(1), d_gi_n.unbind(1), d_gh_n.unbind(1)))
    dh = go[-1] if steps else torch.zeros_like(h_prev[0])  # dL/dh_t: from above, and from step t+1
    for t in range(steps - 1, -1, -1):
        z = _step_back(dh, h_prev[t], *gates[t], *grads[t])
        carried = torch.addcmul(go[t - 1], dh, z) if t else dh * z
        dh = _acc_bmm(_acc_bmm(carried, grads[t][0].to(mm_dtype), w_rz), grads[t][2].to(mm_dtype), w_n)
    if not weights:
        return d_gi, dh, None, None
    h_before = states[:, :-1].reshape(k, steps * rows, hidden)
    d_w = torch.cat([_weight_grad(d_gi_rz, h_before), _weight_grad(d_gh_n, h_before)], dim=1)
    d_b = torch.cat([d_gi_rz.sum(dim=(1, 2)), d_gh_n.sum(dim=(1, 2))], dim=-1)
    return d_gi, dh, d_w, d_b


def _weight_grad(d_gate: torch.Tensor, h_before: torch.Tensor) -> torch.Tensor:
    """sum over steps and rows of d_gate^T h: one batched matmul over all steps, [K, G, H]."""
    k, steps, rows, width = d_gate.shape
    return torch.bmm(d_gate.reshape(k, steps * rows, width).transpose(1, 2), h_before)


def _step_back(
    dh: torch.Tensor,
    h_prev: torch.Tensor,
    rz: torch.Tensor,
    n: torch.Tensor,
    hn: torch.Tensor,
    d_gi_rz: torch.Tensor,
    d_gi_n: torch.Tensor,
    d_gh_n: torch.Tensor,
) -> torch.Tensor:
    """One step's gradients wrt its gate pre-activations, written into d_gi_rz [K, N, 2H], d_gi_n and d_gh_n
    [K, N, H] (gh_rz's equal gi_rz's); returns z.

    h' = (1 - z) n + z h, n = tanh(gi_n + r hn), (r, z) = sigmoid(gi_rz + gh_rz): gi_n's gradient is
    dh (1 - z)(1 - n^2) =: a, gh_n's is a r; r's is a hn and z's dh (h - n), each times s (1 - s).
    """
    hidden = n.shape[-1]
    r, z = rz[..., :hidden], rz[..., hidden:]
    dn = torch.addcmul(dh, dh, z, value=-1)
    a = torch.addcmul(dn, dn * n, n, value=-1, out=d_gi_n)
    torch.mul(a, r, out=d_gh_n)
    d_rz = torch.empty_like(rz)
    torch.mul(a, hn, out=d_rz[..., :hidden])
    torch.mul(dh, h_prev - n, out=d_rz[..., hidden:])
    torch.mul(d_rz, torch.addcmul(rz, rz, rz, value=-1), out=d_gi_rz)
    return z
