"""Values that cannot be meant are refused with one line; user text is printed as written (issue 10)."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
import torch
import yaml

from benchmark import checkpoint, model_files
from benchmark.config import RunConfig, load_yaml_config
from benchmark.errors import UserError
from benchmark.records import atomic_write_text
from benchmark.report.compare import read_baseline
from benchmark.sweep import load_preset, plan, preset_from_dict
from cli_helpers import TINY as TINY_PRESET
from cli_helpers import run_cli
from test_run_safety import TINY, cli, copy_of, one_line_error, trained  # noqa: F401 - `trained` is a fixture


@pytest.mark.parametrize(
    "key, value, message",
    [
        ("qmix.lr", float("inf"), "qmix.lr must be a finite number"),
        ("qmix.lr", float("nan"), "qmix.lr must be a finite number"),
        ("qmix.grad_norm_clip", -10.0, "qmix.grad_norm_clip must be a finite number > 0"),
        ("qmix.epsilon_anneal_time", -1, "qmix.epsilon_anneal_time must be >= 0"),
        ("qmix.target_update_interval", 0, "qmix.target_update_interval must be >= 1"),
        ("qmix.rnn_hidden_dim", 0, "qmix.rnn_hidden_dim must be >= 1"),
        ("qmix.mixing_embed_dim", 0, "qmix.mixing_embed_dim must be >= 1"),
        ("qmix.hypernet_embed", 0, "qmix.hypernet_embed must be >= 1"),
        ("train.threads", 100_000, "train.threads must be in [0, 1024]"),
        ("train.seed", 2**64, "train.seed must be in [0, 2^63)"),
    ],
)
def test_settings_that_cannot_be_meant_are_refused(key, value, message):
    with pytest.raises(UserError, match=re.escape(message)):
        RunConfig().with_overrides({key: value})


def test_the_largest_seed_trains(tmp_path):
    done = cli("train", *TINY, "--steps", "100", "--seed", str(2**63 - 1), "--out", str(tmp_path / "run"))
    assert done.returncode == 0, done.stderr
    one_line_error(cli("train", *TINY, "--steps", "100", "--seed", str(2**64), "--out", str(tmp_path / "big")), "train.seed")
    assert not (tmp_path / "big").exists()


def test_a_diverging_run_stops_with_the_step_and_saves_no_broken_model(tmp_path):
    run = tmp_path / "run"
    done = cli("train", *TINY, "--steps", "1200", "--set", "qmix.lr=1e30", "--out", str(run))
    one_line_error(done, "training diverged by env step")
    model = run / "checkpoints" / "model.pt"
    if model.exists():
        state = checkpoint.load(model, torch.device("cpu"))
        assert all(torch.isfinite(t).all() for part in ("agent", "mixer") for t in state[part].values())


# -- 11. presets are read as --config is ------------------------------------------------------------------
@pytest.mark.parametrize(
    "changes, message",
    [({"seeds": [1.5]}, "seeds must be an integer, got 1.5"), ({"steps": 100.7}, "steps must be an integer, got 100.7")],
)
def test_a_preset_does_not_round_numbers(changes, message):
    with pytest.raises(UserError, match=message):
        preset_from_dict("p", {**TINY_PRESET, **changes})


def test_exponent_numbers_read_as_numbers_everywhere(tmp_path):
    text = yaml.safe_dump(TINY_PRESET).replace("steps: 600", "steps: 1e3")
    assert "steps: 1e3" in text
    (tmp_path / "p.yaml").write_text(text)
    assert load_preset(str(tmp_path / "p.yaml")).steps == 1000
    (tmp_path / "c.yaml").write_text("train:\n  steps: 2e4\nqmix:\n  lr: 5e-4\n")
    cfg = load_yaml_config(tmp_path / "c.yaml")
    assert cfg.train.steps == 20_000 and cfg.qmix.lr == 5e-4


def test_a_value_listed_twice_is_one_cell(tmp_path):
    preset = preset_from_dict("p", {**TINY_PRESET, "maps": ["3m", "3m"], "seeds": [0, 0, 0.0], "eval": {**TINY_PRESET["eval"], "eps": [0, 0.0, 0.1]}})
    cells = plan(preset, tmp_path)
    assert len(cells) == 2 and len({c.run_dir for c in cells}) == 2
    assert preset.eps == (0.0, 0.1)


# -- 11. reruns and arguments that mean nothing ----------------------------------------------------------
def test_a_finished_run_rerun_changes_nothing(trained, tmp_path):
    run = copy_of(trained, tmp_path)
    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in run.rglob("*") if p.is_file()}
    assert cli("train", *TINY, "--steps", "600", "--out", str(run)).returncode == 0
    assert {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in run.rglob("*") if p.is_file()} == before
    assert json.loads((run / "manifest.json").read_text())["resumed"] == 0


def test_fewer_steps_than_trained_are_refused(trained, tmp_path):
    run = copy_of(trained, tmp_path)
    config = (run / "config.yaml").read_text()
    trained_steps = json.loads((run / "manifest.json").read_text())["env_steps"]
    one_line_error(cli("train", *TINY, "--steps", "300", "--out", str(run)), f"already trained {trained_steps} env steps")
    assert (run / "config.yaml").read_text() == config


@pytest.mark.parametrize(
    "args, message",
    [
        (["evaluate", "RUN", "--attacks", ""], "--attacks must name at least one value"),
        (["evaluate", "RUN", "--eps", " , "], "--eps must name at least one value"),
        (["train", "--steps", "100", "--out", ""], "--out must not be empty"),
        (["report", "RUN", "--out", ""], "--out must not be empty"),
    ],
)
def test_empty_arguments_are_refused(trained, tmp_path, args, message):
    os.chdir(tmp_path)  # an empty --out must not mean this folder
    one_line_error(run_cli(*[str(trained) if a == "RUN" else a for a in args]), message)
    assert list(tmp_path.iterdir()) == []


# -- 8. user text is printed, never read as markup ----------------------------------------------------------
def test_paths_and_labels_with_brackets_are_printed_as_written(trained, tmp_path):
    run = tmp_path / "a[/]b[x]" / "run"
    done = cli("train", *TINY, "--steps", "300", "--out", str(run))
    assert done.returncode == 0, done.stderr
    assert f"run {run}: " in done.stderr.replace("\n", "")
    shutil.copytree(trained, tmp_path / "copy")
    done = cli("evaluate", str(tmp_path / "copy"), "--episodes", "4", "--attacks", "atla", "--eps", "0.1", "--adversary-steps", "12")
    assert done.returncode == 0, done.stderr
    assert "atla[adversary_steps=12]" in done.stdout


# -- 7. baselines ------------------------------------------------------------------------------------------
def test_a_baseline_with_more_wins_than_episodes_is_refused_before_the_sweep(tmp_path):
    row = {"backend": "sim", "map": "3m", "method": "vanilla", "train_eps": 0, "attack": "none", "test_eps": 0, "seeds": 1, "episodes": 4, "wins": 5, "mean": 1.25}
    path = tmp_path / "baseline.csv"
    pd.DataFrame([row]).to_csv(path, index=False)
    with pytest.raises(UserError, match="0 <= wins <= episodes"):
        read_baseline(path)
    done = run_cli("regress", "--preset", "ci", "--baseline", str(path), "--out", str(tmp_path / "runs"))
    one_line_error(done, "0 <= wins <= episodes")
    assert not (tmp_path / "runs").exists()


# -- 11. permissions ----------------------------------------------------------------------------------------
def test_files_are_written_with_the_users_umask(tmp_path):
    old = os.umask(0o022)
    try:
        atomic_write_text(tmp_path / "shared.txt", "x")
        checkpoint.save(tmp_path / "model.pt", {"w": torch.zeros(2)})
    finally:
        os.umask(old)
    assert {oct((tmp_path / name).stat().st_mode & 0o777) for name in ("shared.txt", "model.pt")} == {"0o644"}


def test_a_checkpoint_round_trips_with_its_checksum(tmp_path):
    state = {"agent": {"w": torch.arange(6.0).reshape(2, 3).t()}, "steps": 3, "rows": [1.5, None, "x"]}
    checkpoint.save(tmp_path / "c.pt", state)
    loaded = checkpoint.load(tmp_path / "c.pt", torch.device("cpu"))
    assert checkpoint.digest(loaded) == checkpoint.digest(state) and set(loaded) == set(state)
    assert model_files.identity(tmp_path / "c.pt") == checkpoint.digest(state)
