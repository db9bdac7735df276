"""The shipped reference models (checkpoints/) stay usable: complete for the report, loadable by the current
networks, and evaluable without their resume state; and they are safetensors, not pickles."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import torch

from benchmark.evaluate import evaluate, load_policy
from benchmark.report.runs import collect_runs

CHECKPOINTS = Path(__file__).resolve().parent.parent / "checkpoints"
MAPS = {"2m_vs_1z", "3m", "3s_vs_3z", "2s3z"}  # the study's maps (the paper preset's)
METHODS = {"vanilla", "adv_train", "policy_reg", "atla", "paad"}


def test_every_method_on_every_study_map_is_there_and_complete():
    found = collect_runs([CHECKPOINTS])
    assert not found.skipped, [s.reason for s in found.skipped]
    assert {(r.map, r.method) for r in found.runs} == {(m, k) for m in MAPS for k in METHODS}
    assert not list(CHECKPOINTS.rglob("last.pt"))  # the replay buffers stay out of the repository
    # No pickle is shipped: every model is safetensors with its metadata (benchmark/model_files.py).
    assert not list(CHECKPOINTS.rglob("*.pt"))
    models = sorted(CHECKPOINTS.rglob("model.safetensors"))
    assert len(models) == len(found.runs) and all(m.with_suffix(".json").is_file() for m in models)


def test_each_model_loads_into_the_network_its_config_describes():
    for config in sorted(CHECKPOINTS.rglob("config.yaml")):
        cfg, mac = load_policy(config.parent, torch.device("cpu"))  # raises on a shape mismatch
        assert cfg.env.map in MAPS and mac.info.n_agents >= 2


def test_a_reference_run_evaluates_a_new_cell(tmp_path):
    run = tmp_path / "run"
    shutil.copytree(CHECKPOINTS / "sim/3m/vanilla/eps0/seed0", run)
    before = pd.read_csv(run / "eval.csv")
    (row,) = evaluate(run, episodes=16, attacks=["fgsm"], eps_values=[0.07])  # a cell not in the shipped grid
    assert row["attack"] == "fgsm" and row["episodes"] == 16 and 0 <= row["win_rate"] <= 1
    after = pd.read_csv(run / "eval.csv")
    pd.testing.assert_frame_equal(after.iloc[: len(before)], before)
    assert len(after) == len(before) + 1
