"""The simulator's small-batch speed paths: a bounded number of ops per step, ordinary output tensors.

At small batches a step costs about the number of torch ops it dispatches (each pays a few microseconds of
overhead whatever its size), so the op count of one step is the speed figure that a test can pin down
without timing anything: it is deterministic for a map, a batch size and a battle state.
"""

from __future__ import annotations

import collections

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from benchmark.envs.sim import SimEnv

pytestmark = pytest.mark.usefixtures("one_torch_thread")

# Ops of one step (no battle ends): 296 on both maps now, with some room; the code before the small-batch
# work dispatched 413 (3m) and 417 (2s3z). A change that crosses a budget should say why the step needs the ops.
OP_BUDGET = {"3m": 320, "2s3z": 320}


class _CountOps(TorchDispatchMode):
    def __init__(self) -> None:
        super().__init__()
        self.ops: collections.Counter[str] = collections.Counter()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.ops[str(func)] += 1
        return func(*args, **(kwargs or {}))


def ops_of_one_step(env: SimEnv) -> int:
    stop = torch.ones(env.batch_size, env.info.n_agents, dtype=torch.long)
    with _CountOps() as counter:
        result = env.step(stop)
    assert not result.terminated.any()  # a restart would add its own ops
    return sum(counter.ops.values())


@pytest.mark.parametrize("map_name", sorted(OP_BUDGET))
@pytest.mark.parametrize("batch_size", [1, 64])
def test_one_step_stays_within_its_op_budget(map_name, batch_size):
    env = SimEnv(map_name, batch_size, seed=0)
    assert ops_of_one_step(env) <= OP_BUDGET[map_name]


# A step in which a battle ends and restarts: 400 ops now on both maps (the fresh battles are observed in the
# same call as the others); the code before dispatched 664 (3m) and 672 (2s3z).
RESTART_BUDGET = 430


@pytest.mark.parametrize("map_name", sorted(OP_BUDGET))
def test_a_step_that_restarts_a_battle_stays_within_its_op_budget(map_name):
    env = SimEnv(map_name, 8, seed=0)
    health = env.battle.health[:1].clone()
    health[:, env.info.n_agents:] = 0  # env 0's enemies are dead: its battle ends in the next step
    env.place(env_ids=[0], health=health)
    stop = torch.ones(8, env.info.n_agents, dtype=torch.long)
    with _CountOps() as counter:
        result = env.step(stop)
    assert result.terminated.tolist() == [True] + [False] * 7
    assert sum(counter.ops.values()) <= RESTART_BUDGET


def test_op_count_does_not_grow_with_the_batch():
    """No op per environment or per unit: the batch only makes each op larger."""
    assert ops_of_one_step(SimEnv("2s3z", 1, seed=0)) == ops_of_one_step(SimEnv("2s3z", 256, seed=0))


def test_outputs_are_ordinary_tensors_that_gradient_attacks_can_differentiate():
    """The step skips autograd's dispatch internally; what it returns must still accept requires_grad, as
    FGSM and PGD set it on observations (tensors made under torch.inference_mode refuse it)."""
    env = SimEnv("3m", 2, seed=0)
    result = env.step(torch.ones(2, 3, dtype=torch.long))
    for tensor in (*env.observe(), result.reward, result.info["final_obs"]):
        assert not tensor.is_inference() and not tensor.requires_grad
    x = env.observe().obs.detach().requires_grad_(True)
    (x * 3.0).sum().backward()
    assert torch.equal(x.grad, torch.full_like(x, 3.0))


def test_step_gives_the_same_battles_under_any_grad_mode():
    def run(mode) -> list[torch.Tensor]:
        env = SimEnv("2s3z", 4, seed=3)
        generator = torch.Generator().manual_seed(0)
        outputs = []
        with mode():
            for _ in range(30):
                avail = env.observe().avail
                scores = torch.rand(avail.shape, generator=generator).masked_fill(~avail, -1)
                outputs.append(env.step(scores.argmax(-1)).reward)
        return outputs + list(env.observe())

    plain, no_grad = run(torch.enable_grad), run(torch.no_grad)
    assert all(torch.equal(a, b) for a, b in zip(plain, no_grad, strict=True))
