"""The stacked GRU: gru_sequence's hand-written backward against nn.GRU, autograd and finite differences."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from benchmark import model_files
from benchmark.envs.sim import SimEnv
from benchmark.qmix.gru import gru_sequence, gru_step

H = 8
MODEL = Path(__file__).resolve().parents[1] / "checkpoints/sim/3m/vanilla/eps0/seed0/checkpoints/model.safetensors"


def stacked_inputs(k: int, steps: int, rows: int, dtype: torch.dtype = torch.float32, hidden: int = H):
    """gi, h0, w_hh, b_hh with gates spread over their nonlinear range (weights ~ nn.GRU's init x 3)."""
    gen = torch.Generator().manual_seed(0)
    gi = torch.randn(k, steps, rows, 3 * hidden, generator=gen, dtype=dtype)
    h0 = torch.rand(k, rows, hidden, generator=gen, dtype=dtype) * 2 - 1
    w_hh = torch.randn(k, 3 * hidden, hidden, generator=gen, dtype=dtype) * 3 * hidden**-0.5
    b_hh = torch.randn(k, 3 * hidden, generator=gen, dtype=dtype)
    return [t.requires_grad_() for t in (gi, h0, w_hh, b_hh)]


def step_by_step(gi, h0, w_hh, b_hh):
    """The plain-op loop, differentiated by autograd: the reference for the hand-written backward."""
    h, out = h0, []
    for t in range(gi.shape[1]):
        h = gru_step(gi[:, t], h, w_hh, b_hh)
        out.append(h)
    return torch.stack(out, dim=1)


def grads(fn, inputs, seed: int = 1):
    out = fn(*inputs)
    weight = torch.randn(out.shape, generator=torch.Generator().manual_seed(seed), dtype=out.dtype)
    return out, torch.autograd.grad((out * weight).sum(), inputs)


def test_forward_and_every_gradient_equal_nn_gru():
    torch.manual_seed(0)
    gru = nn.GRU(5, H)
    x = torch.randn(7, 6, 5, requires_grad=True)  # [T, N, input]
    h0 = torch.randn(1, 6, H, requires_grad=True)
    params = [gru.weight_ih_l0, gru.bias_ih_l0, gru.weight_hh_l0, gru.bias_hh_l0]
    want_out, want = grads(lambda x, h0, *_: gru(x, h0)[0], [x, h0, *params])

    def fused(x, h0, w_ih, b_ih, w_hh, b_hh):
        gi = (x @ w_ih.T + b_ih).unsqueeze(0)  # [1, T, N, 3H]
        return gru_sequence(gi, h0, w_hh.unsqueeze(0), b_hh.unsqueeze(0)).squeeze(0)

    got_out, got = grads(fused, [x, h0, *params])
    torch.testing.assert_close(got_out, want_out, atol=1e-6, rtol=1e-5)
    for name, g, w in zip(["x", "h0", "w_ih", "b_ih", "w_hh", "b_hh"], got, want):
        torch.testing.assert_close(g, w, atol=1e-5, rtol=1e-5, msg=f"gradient wrt {name}")


def test_a_group_of_three_equals_three_single_runs():
    inputs = stacked_inputs(3, 9, 4)
    out = gru_sequence(*inputs)
    weight = torch.randn(out.shape, generator=torch.Generator().manual_seed(1))
    got = torch.autograd.grad((out * weight).sum(), inputs)
    for k in range(3):
        single = [t.detach()[k : k + 1].requires_grad_() for t in inputs]
        out_k = gru_sequence(*single)
        want = torch.autograd.grad((out_k * weight[k : k + 1]).sum(), single)
        torch.testing.assert_close(out[k : k + 1], out_k, atol=1e-6, rtol=1e-6)
        for g, w in zip(got, want):
            torch.testing.assert_close(g[k : k + 1], w, atol=1e-5, rtol=1e-5)


def test_equals_autograd_through_the_step_loop():
    inputs = stacked_inputs(2, 11, 3, dtype=torch.float64)
    want_out, want = grads(step_by_step, inputs)
    got_out, got = grads(gru_sequence, inputs)
    torch.testing.assert_close(got_out, want_out, atol=1e-12, rtol=1e-12)
    for g, w in zip(got, want):
        torch.testing.assert_close(g, w, atol=1e-12, rtol=1e-12)


def test_gradcheck_in_float64():
    inputs = stacked_inputs(2, 4, 3, dtype=torch.float64, hidden=3)
    assert torch.autograd.gradcheck(gru_sequence, inputs)


def test_gradcheck_on_non_contiguous_inputs():
    gi, h0, w_hh, b_hh = (t.detach() for t in stacked_inputs(2, 4, 3, dtype=torch.float64, hidden=3))
    gi = gi.transpose(1, 2).contiguous().transpose(1, 2).requires_grad_()  # [K, T, N, 3H] with N outermost
    w_hh = w_hh.transpose(1, 2).contiguous().transpose(1, 2).requires_grad_()
    h0 = h0.transpose(0, 1).contiguous().transpose(0, 1).requires_grad_()
    assert not (gi.is_contiguous() or w_hh.is_contiguous() or h0.is_contiguous())
    assert torch.autograd.gradcheck(gru_sequence, (gi, h0, w_hh, b_hh.requires_grad_()))


def test_gradients_flow_to_gi_alone_as_an_attack_needs():
    gi, h0, w_hh, b_hh = (t.detach() for t in stacked_inputs(1, 6, 5))
    gi.requires_grad_()
    want = torch.autograd.grad(step_by_step(gi, h0, w_hh, b_hh).sum(), gi)[0]
    got = torch.autograd.grad(gru_sequence(gi, h0, w_hh, b_hh).sum(), gi)[0]
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)


def test_an_attacks_gradient_is_bit_for_bit_the_one_computed_beside_the_weights_gradients():
    # backward skips the weight gradients nobody asked for; what it returns for gi must not move a bit
    inputs = stacked_inputs(2, 9, 4)
    all_grads = grads(gru_sequence, inputs)[1]
    gi = inputs[0].detach().requires_grad_()
    out = gru_sequence(gi, *(t.detach() for t in inputs[1:]))
    weight = torch.randn(out.shape, generator=torch.Generator().manual_seed(1))  # as grads() draws it
    (gi_only,) = torch.autograd.grad((out * weight).sum(), gi)
    assert torch.equal(gi_only, all_grads[0])


def test_no_grad_gives_the_same_states_without_a_graph():
    inputs = stacked_inputs(2, 5, 3)
    with_graph = gru_sequence(*inputs)
    with torch.no_grad():
        without = gru_sequence(*inputs)
    plain = gru_sequence(*(t.detach() for t in inputs))
    assert with_graph.grad_fn is not None and without.grad_fn is None and plain.grad_fn is None
    torch.testing.assert_close(without, with_graph.detach(), atol=0, rtol=0)
    torch.testing.assert_close(plain, without, atol=0, rtol=0)


@pytest.mark.parametrize("steps, rows", [(0, 3), (4, 0)])
def test_empty_sequences(steps, rows):
    inputs = stacked_inputs(2, steps, rows)
    out = gru_sequence(*inputs)
    assert out.shape == (2, steps, rows, H)
    grad = torch.autograd.grad(out.sum(), inputs)
    assert [g.shape for g in grad] == [t.shape for t in inputs]
    assert all(not g.any() for g in grad)


def test_a_single_step_is_gru_step():
    gi, h0, w_hh, b_hh = (t.detach() for t in stacked_inputs(3, 1, 4))
    torch.testing.assert_close(gru_sequence(gi, h0, w_hh, b_hh)[:, 0], gru_step(gi[:, 0], h0, w_hh, b_hh))


def test_bf16_matmuls_keep_fp32_state_and_stay_close():
    inputs = stacked_inputs(2, 20, 16)
    out32, grad32 = grads(gru_sequence, inputs)
    out16, grad16 = grads(lambda *t: gru_sequence(*t, compute_dtype=torch.bfloat16), inputs)
    assert out16.dtype == torch.float32 and all(g.dtype == torch.float32 for g in grad16)
    assert 0 < (out16 - out32).norm() < 0.01 * out32.norm()
    for g16, g32 in zip(grad16, grad32):  # these gates saturate often, so rounding errors grow along the sequence
        assert (g16 - g32).norm() < 0.08 * g32.norm()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        autocast = gru_sequence(*inputs)
    torch.testing.assert_close(autocast, out16, atol=0, rtol=0)


def sim_q(state: dict, bf16: bool) -> torch.Tensor:
    """The trained agent's Q over 60 simulator steps of 16 episodes under random valid actions."""
    env, gen = SimEnv("3m", 16, seed=3), torch.Generator().manual_seed(3)
    prev, inputs = torch.full((16, 3), -1), []
    for _ in range(60):
        seen = env.observe()
        last = nn.functional.one_hot(prev + 1, 10)[..., 1:].float()
        inputs.append(torch.cat([seen.obs, last, torch.eye(3).expand(16, 3, 3)], -1).reshape(48, -1))
        prev = torch.rand(seen.avail.shape, generator=gen).masked_fill(~seen.avail, -1.0).argmax(-1)
        env.step(prev)
    p = {key: value.unsqueeze(0) for key, value in state.items()}
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        x = torch.relu(torch.stack(inputs).unsqueeze(0) @ p["fc_in.weight"].mT + p["fc_in.bias"])
        gi = x @ p["rnn.weight_ih_l0"].mT + p["rnn.bias_ih_l0"]
        h = gru_sequence(gi, torch.zeros(1, 48, 64), p["rnn.weight_hh_l0"], p["rnn.bias_hh_l0"])
        return (h @ p["fc_out.weight"].mT + p["fc_out.bias"]).float()


def test_bf16_q_values_of_a_trained_agent_stay_within_tolerance(one_torch_thread):
    """bf16 may change a Q-value by at most 2% of the mean action-value range (best minus worst action):
    well under policy_reg's hinge margin of 5% of that range, so what the robust methods measure holds."""
    state = model_files.load(MODEL, torch.device("cpu"))["agent"]
    q32, q16 = sim_q(state, bf16=False), sim_q(state, bf16=True)
    unit = (q32.amax(-1) - q32.amin(-1)).mean()
    assert 0 < (q16 - q32).abs().max() < 0.02 * unit
