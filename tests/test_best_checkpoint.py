"""The best checkpoint: training keeps the model of its best clean greedy test round as best.pt beside the
last one, evaluation chooses between them, and a sweep can evaluate both under labels that say which."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
import torch
import yaml

from benchmark.config import RunConfig
from benchmark.evaluate import evaluate
from benchmark.sweep import plan, preset_from_dict, run_cell
from benchmark.train import train
from cli_helpers import TINY as TINY_PRESET
from cli_helpers import run_cli, tiny_preset

SETTINGS = {
    "env.map": "3m", "env.batch_envs": 4, "qmix.batch_size": 8, "qmix.buffer_size": 64, "train.steps": 3000,
    "train.test_interval": 300, "train.test_episodes": 8, "qmix.epsilon_anneal_time": 1000,
}  # fmt: skip


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("best") / "run"
    train(RunConfig().with_overrides(SETTINGS), out)
    return out


def test_best_pt_holds_the_model_of_the_best_test_round(run):
    rows = pd.read_csv(run / "train.csv")
    best = rows.sort_values(["test_win_rate", "test_return"], ascending=False, kind="stable").iloc[0]
    saved = torch.load(run / "checkpoints" / "best.pt", weights_only=True)
    last = torch.load(run / "checkpoints" / "model.pt", weights_only=True)
    assert saved["env_steps"] == best["env_steps"]
    assert rows["test_return"].nunique() > 1  # the rounds differ, so "best" is a real choice here
    if best["env_steps"] != rows["env_steps"].iloc[-1]:
        assert any(not torch.equal(saved["agent"][k], last["agent"][k]) for k in last["agent"])


def test_evaluate_chooses_the_checkpoint_and_labels_the_best_ones_cells(run, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(run, copy)
    evaluate(copy, 8, ["none"], [0.0])
    evaluate(copy, 8, ["none"], [0.0], options={"model": "best"})
    rows = pd.read_csv(copy / "eval.csv").set_index("attack")
    assert list(rows.index) == ["none", "none[model=best]"]
    # The best cell is what the last-model evaluation gives once best.pt stands in for model.pt.
    swapped = tmp_path / "swapped"
    shutil.copytree(run, swapped)
    shutil.copy(swapped / "checkpoints" / "best.pt", swapped / "checkpoints" / "model.pt")
    evaluate(swapped, 8, ["none"], [0.0])
    assert pd.read_csv(swapped / "eval.csv")["mean_return"].iloc[0] == rows.loc["none[model=best]", "mean_return"]


def test_the_cli_takes_model_and_refuses_a_run_without_best_pt(run, tmp_path):
    copy = tmp_path / "old"
    shutil.copytree(run, copy)
    (copy / "checkpoints" / "best.pt").unlink()
    done = run_cli("evaluate", str(copy), "--episodes", "4", "--model", "best")
    assert done.returncode == 1 and "best.pt not found" in done.stderr and "Traceback" not in done.stderr


def test_a_sweep_evaluates_every_model_it_names(tmp_path):
    data = tiny_preset(yaml.safe_load(yaml.safe_dump(TINY_PRESET)), methods={"vanilla": [0]})
    data["eval"] = {**data["eval"], "attacks": ["none"], "eps": [0], "models": ["last", "best"]}
    (cell,) = plan(preset_from_dict("tiny", data), tmp_path)
    assert run_cell(cell).ok
    assert sorted(pd.read_csv(cell.run_dir / "eval.csv")["attack"]) == ["none", "none[model=best]"]
