"""The same code on CUDA: a run group trains there, and its runs match the same runs trained alone there.
Skipped without a CUDA device; bench/gpu_check.sh runs these on a GPU machine."""

from __future__ import annotations

import math

import pytest
import torch

from benchmark.records import TRAIN_COLUMNS, TRAIN_FILE, read_csv_rows
from benchmark.train import train, train_group
from test_groups import tiny

pytestmark = [pytest.mark.cuda, pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")]


@pytest.mark.parametrize("method", ["vanilla", "adv_train", "paad"])
def test_a_group_trains_on_cuda_and_its_first_rounds_match_each_run_alone(tmp_path, method):
    cfgs = [tiny(method, s, 0.1 if method != "vanilla" else 0.0).with_overrides({"train.device": "cuda"}) for s in (1, 2)]
    train_group(cfgs, [tmp_path / "g0", tmp_path / "g1"])
    for k, cfg in enumerate(cfgs):
        train(cfg, tmp_path / f"a{k}")
        group, alone = (read_csv_rows(tmp_path / f"{p}{k}" / TRAIN_FILE, TRAIN_COLUMNS) for p in ("g", "a"))
        assert len(group) == len(alone) > 1 and all(math.isfinite(r["test_return"]) for r in group)
        # GPU kernels may sum in another order for another batch size, and a near-tie of two actions can then
        # flip; the first test rounds (before much learning) must still agree.
        for key in ("env_steps", "test_win_rate", "test_return"):
            assert group[1][key] == pytest.approx(alone[1][key], rel=1e-4, abs=1e-4)


def test_the_simulator_runs_a_group_of_environments_on_cuda_as_on_cpu():
    from benchmark.envs.sim import SimEnv
    from benchmark.envs.sim_rng import derive_env_seeds

    seeds = torch.cat([derive_env_seeds(s, 4, torch.device("cpu")) for s in (3, 9)])
    cpu, gpu = SimEnv("2s3z", 8, env_seeds=seeds), SimEnv("2s3z", 8, env_seeds=seeds.cuda(), device="cuda")
    # To float precision: CUDA's float math differs from the CPU's in the last bit (tests/test_sim.py).
    torch.testing.assert_close(gpu.observe().obs.cpu(), cpu.observe().obs, rtol=0, atol=1e-6)
