"""Run groups: run k of a group computes what run k computes alone, for every method, and a killed group
resumes exactly."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from benchmark.config import RunConfig
from benchmark.envs.sim import SimEnv
from benchmark.errors import UserError
from benchmark.records import TRAIN_COLUMNS, TRAIN_FILE, read_csv_rows
from benchmark.streams import RunGenerators, run_seeds
from benchmark.sweep import settings_for
from benchmark.train import GroupTrainer, group_key, train, train_group

COMPARED = [c for c in TRAIN_COLUMNS if c != "wall_seconds"]
REFERENCE_3M = Path(__file__).resolve().parents[1] / "checkpoints/sim/3m/vanilla/eps0/seed0/checkpoints/model.safetensors"


def tiny(method: str, seed: int, train_eps: float, steps: int = 1500) -> RunConfig:
    settings = settings_for({
        "env.map": "3m", "env.batch_envs": 4,
        "method.ramp_start": 0.0, "method.ramp_end": 0.3, "method.attack_steps": 2,
        "method.adversary_iters": 1, "method.agent_iters": 2, "method.adversary.rollout_envs": 2,
        "qmix.batch_size": 8, "qmix.buffer_size": 32, "qmix.target_update_interval": 8,
        "train.seed": seed, "train.steps": steps, "train.test_interval": 500, "train.test_episodes": 4,
    }, method)  # fmt: skip
    return RunConfig().with_overrides({"method.name": method, "method.train_eps": train_eps, **settings})


def rows(run_dir) -> list[dict]:
    return read_csv_rows(run_dir / TRAIN_FILE, TRAIN_COLUMNS)


def assert_same_rows(a: list[dict], b: list[dict]) -> None:
    assert len(a) == len(b) > 1
    for x, y in zip(a, b, strict=True):
        for key in COMPARED:
            u, v = float(x[key]), float(y[key])
            assert (math.isnan(u) and math.isnan(v)) or u == pytest.approx(v, rel=1e-5, abs=1e-6), (key, x, y)


@pytest.mark.parametrize("method", ["vanilla", "adv_train", "policy_reg", "atla", "paad"])
def test_each_run_of_a_group_writes_the_train_csv_it_writes_alone(tmp_path, method):
    # Different seeds, train eps and step budgets: runs finish at different iterations and cross their ramps
    # and test rounds at different times, so every per-run mask is exercised.
    cfgs = [tiny(method, 3, 0.1), tiny(method, 8, 0.05 if method != "vanilla" else 0.0, steps=1000)]
    train_group(cfgs, [tmp_path / "g0", tmp_path / "g1"])
    for k, cfg in enumerate(cfgs):
        train(cfg, tmp_path / f"a{k}")
        assert_same_rows(rows(tmp_path / f"g{k}"), rows(tmp_path / f"a{k}"))
    assert rows(tmp_path / "g0")[-1]["loss"] != rows(tmp_path / "g1")[-1]["loss"]  # two different runs


def test_a_killed_group_resumes_exactly(tmp_path, monkeypatch):
    cfgs = [tiny("adv_train", s, 0.1).with_overrides({"train.checkpoint_interval": 400}) for s in (1, 2)]
    dirs = [tmp_path / "k0", tmp_path / "k1"]
    calls = {"n": 0}
    original = GroupTrainer.iteration

    def dies(self):
        calls["n"] += 1
        if calls["n"] == 9:
            raise KeyboardInterrupt
        original(self)

    monkeypatch.setattr(GroupTrainer, "iteration", dies)
    with pytest.raises(KeyboardInterrupt):
        train_group(cfgs, dirs)
    monkeypatch.setattr(GroupTrainer, "iteration", original)
    train_group(cfgs, dirs)
    train_group(cfgs, [tmp_path / "w0", tmp_path / "w1"])
    for k in range(2):
        assert_same_rows(rows(dirs[k]), rows(tmp_path / f"w{k}"))


def test_a_group_extended_with_more_steps_continues_each_run_as_it_would_alone(tmp_path):
    short = [tiny("vanilla", s, 0.0, steps=1000) for s in (4, 5)]
    long = [c.with_overrides({"train.steps": 1500}) for c in short]
    train_group(short, [tmp_path / "e0", tmp_path / "e1"])
    before = [len(rows(tmp_path / f"e{k}")) for k in range(2)]
    train_group(long, [tmp_path / "e0", tmp_path / "e1"])
    for k in range(2):
        train(short[k], tmp_path / f"f{k}")
        train(long[k], tmp_path / f"f{k}")
        assert len(rows(tmp_path / f"e{k}")) > before[k]
        assert_same_rows(rows(tmp_path / f"e{k}"), rows(tmp_path / f"f{k}"))


def test_runs_that_differ_in_more_than_seed_eps_and_steps_do_not_group(tmp_path):
    a, b = tiny("vanilla", 0, 0.0), tiny("vanilla", 1, 0.0).with_overrides({"qmix.lr": 1e-4})
    assert group_key(a) != group_key(b)
    with pytest.raises(UserError, match="may differ only in"):
        train_group([a, b], [tmp_path / "x", tmp_path / "y"])
    assert not (tmp_path / "x" / "config.yaml").exists()


def test_streams_of_neighbouring_seeds_share_nothing():
    seeds = [run_seeds(s) for s in range(50)]
    values = [v for s in seeds for v in s.values()]
    assert len(set(values)) == len(values)


def test_group_draws_are_each_runs_own_draws_and_skip_runs_that_are_not_live():
    group = RunGenerators([11, 22, 33], "cpu")
    group.live.runs = torch.tensor([True, False, True])
    joint = group.rand((6, 4))
    alone = [RunGenerators.single(s, "cpu").rand((2, 4)) for s in (11, 33)]
    assert torch.equal(joint[0:2], alone[0]) and torch.equal(joint[4:6], alone[1])
    assert torch.equal(joint[2:4], torch.zeros(2, 4))
    # the skipped run's stream did not move
    group.live.runs = None
    assert torch.equal(group.rand((3, 4))[1], RunGenerators.single(22, "cpu").rand((1, 4))[0])


def test_bf16_learning_changes_a_trained_agents_q_values_by_little_and_is_recorded(tmp_path):
    """train.precision=bf16 multiplies the agents' sequences in bfloat16: on a trained 3m model the Q-values
    move by under 2% of the mean action-value range (policy_reg's hinge margin is 5% of it)."""
    from benchmark import model_files
    from benchmark.envs.maps import MAPS
    from benchmark.qmix.controller import AgentController
    from benchmark.records import MANIFEST_FILE

    model = model_files.load(REFERENCE_3M, torch.device("cpu"))
    mac = AgentController(MAPS.get("3m").info(), RunConfig().qmix, torch.device("cpu"))
    mac.load_run_state(0, model["agent"])
    env = SimEnv("3m", 16, seed=3)
    obs, prev = [], []
    actions = torch.full((16, 3), -1)
    for _ in range(40):
        seen = env.observe()
        obs.append(seen.obs)
        prev.append(actions)
        actions = torch.rand(seen.avail.shape).masked_fill(~seen.avail, -1.0).argmax(-1)
        env.step(actions)
    obs, prev = torch.stack(obs, 1), torch.stack(prev, 1)
    with torch.no_grad():
        q32 = mac.sequence_q(obs, prev)
        mac.sequence_bf16 = True
        q16 = mac.sequence_q(obs, prev)
    unit = (q32.amax(-1) - q32.amin(-1)).mean()
    assert q16.dtype == torch.float32 and 0 < (q16 - q32).abs().max() < 0.02 * unit
    cfg = tiny("vanilla", 0, 0.0, steps=600).with_overrides({"train.precision": "bf16"})
    train(cfg, tmp_path / "run")
    manifest = json.loads((tmp_path / "run" / MANIFEST_FILE).read_text())
    assert manifest["precision"] == "bf16" and all(math.isfinite(r["loss"]) for r in rows(tmp_path / "run")[1:])
