"""Sweeps: presets, the plan, skipping finished cells, resuming interrupted ones, the local worker pool."""

import os
import signal
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest

from benchmark.errors import UserError
from benchmark.launchers import LAUNCHERS, LaunchOptions
from benchmark.sweep import Cell, cell_done, load_preset, plan, preset_names, run_cell
from cli_helpers import CLI, preset_file
from cli_helpers import csv_records as records
from cli_helpers import run_cli as cli


def test_the_shipped_presets_load_and_the_paper_grid_is_the_studys():
    assert {"smoke", "ci", "paper", "paad_ablation"} <= set(preset_names())
    for name in preset_names():
        assert load_preset(name).name == name
    paper = load_preset("paper")
    assert paper.maps == ("2m_vs_1z", "3m", "3s_vs_3z", "2s3z") and len(paper.seeds) >= 3
    assert dict(paper.methods) == {"vanilla": (0.0,), **{m: (0.05, 0.1, 0.25) for m in ("adv_train", "policy_reg", "atla", "paad")}}
    assert set(paper.attacks) == {"none", "random", "fgsm", "pgd", "atla", "paad"} and paper.episodes >= 32
    assert paper.eps == (0.0, 0.05, 0.1, 0.15, 0.2, 0.25)


def test_plan_enumerates_maps_methods_eps_and_seeds(tmp_path):
    preset = load_preset(str(preset_file(tmp_path, maps=["3m", "2m_vs_1z"], seeds=[0, 1], methods={"vanilla": [0], "paad": [0.05, 0.1]})))
    cells = plan(preset, tmp_path / "root")
    assert len(cells) == 2 * (1 + 2) * 2
    got = {(c.config.env.map, c.config.method.name, c.config.method.train_eps, c.config.train.seed) for c in cells}
    assert len(got) == len(cells) and ("2m_vs_1z", "paad", 0.05, 1) in got
    cell = next(c for c in cells if c.config.method.name == "paad" and c.config.train.seed == 1)
    assert cell.run_dir == tmp_path / "root" / "sim" / cell.config.env.map / "paad" / f"eps{cell.config.method.train_eps:g}" / "seed1"
    assert cell.config.train.steps == 600 and cell.config.env.batch_envs == 4 and cell.config.train.test_interval == 300
    assert cell.attacks == ("none", "fgsm") and cell.eps == (0.0, 0.1) and cell.episodes == 4
    assert {c.config.env.backend for c in plan(preset, tmp_path, backend="sc2")} == {"sc2"}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"methods": {"vanilla": [0.1]}}, "vanilla trains only at eps 0"),
        ({"methods": {"magic": [0]}}, "unknown method 'magic'"),
        ({"maps": ["4m"]}, "unknown map '4m'"),
        ({"settings": {"train.seed": 3}}, "settings may not set train.seed"),
        ({"settings": {"qmix.nope": 1}}, "unknown config key"),
        ({"eval": {"attacks": ["laser"]}}, "unknown attack 'laser'"),
        ({"colour": "blue"}, "unknown key(s) colour"),
    ],
)
def test_a_bad_preset_is_refused_with_one_line(tmp_path, changes, message):
    with pytest.raises(UserError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_preset(str(preset_file(tmp_path, **changes)))


def test_unknown_preset_prints_one_line_and_exits_1(tmp_path):
    done = cli("sweep", "--preset", "nope", "--out", str(tmp_path / "root"))
    assert done.returncode == 2 and "'nope' is not one of" in done.stderr and "smoke" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and not (tmp_path / "root").exists()


@pytest.fixture(scope="module")
def swept(tmp_path_factory) -> tuple[Path, Path]:
    """One finished tiny sweep through the CLI with one worker: (preset file, root)."""
    base = tmp_path_factory.mktemp("sweep")
    preset, root = preset_file(base), base / "root"
    done = cli("sweep", "--preset", str(preset), "--out", str(root))
    assert done.returncode == 0, done.stderr
    return preset, root


def test_a_sweep_trains_and_evaluates_every_cell(swept):
    preset, root = swept
    cells = plan(load_preset(str(preset)), root)
    assert all(cell_done(c) for c in cells)
    for cell in cells:
        evals = pd.read_csv(cell.run_dir / "eval.csv")
        assert sorted(zip(evals["attack"], evals["test_eps"])) == [("fgsm", 0.0), ("fgsm", 0.1), ("none", 0.0), ("none", 0.1)]
        assert pd.read_csv(cell.run_dir / "train.csv")["env_steps"].iloc[-1] >= 600


def test_a_second_sweep_trains_and_evaluates_nothing(swept):
    preset, root = swept
    files = [p for p in root.rglob("*") if p.is_file()]
    before = {p: p.stat().st_mtime_ns for p in files}
    done = cli("sweep", "--preset", str(preset), "--out", str(root))
    assert done.returncode == 0, done.stderr
    assert {p: p.stat().st_mtime_ns for p in files} == before
    assert {p for p in root.rglob("*") if p.is_file()} == set(files)
    dry = cli("sweep", "--preset", str(preset), "--out", str(root), "--dry-run")
    assert dry.returncode == 0 and "total" in dry.stdout


def test_a_missing_eval_cell_is_run_alone(swept, tmp_path):
    preset, root = swept
    cell = plan(load_preset(str(preset)), root)[0]
    copy = Cell(tmp_path / "run", cell.config, cell.attacks, cell.eps, cell.episodes, cell.options)
    subprocess.run(["cp", "-r", str(cell.run_dir), str(copy.run_dir)], check=True)
    evals = pd.read_csv(copy.run_dir / "eval.csv")
    evals[evals["attack"] != "fgsm"].to_csv(copy.run_dir / "eval.csv", index=False)
    train_before = (copy.run_dir / "train.csv").stat().st_mtime_ns
    assert not cell_done(copy)
    result = run_cell(copy)
    assert result.ok and result.eval_rows == 4 and cell_done(copy)
    assert (copy.run_dir / "train.csv").stat().st_mtime_ns == train_before  # no retraining
    pd.testing.assert_frame_equal(
        pd.read_csv(copy.run_dir / "eval.csv").sort_values(["attack", "test_eps"]).reset_index(drop=True),
        pd.read_csv(cell.run_dir / "eval.csv").sort_values(["attack", "test_eps"]).reset_index(drop=True),
    )


def test_more_steps_extend_a_run_and_set_its_old_evaluations_aside(swept, tmp_path):
    preset, root = swept
    cell = plan(load_preset(str(preset)), root)[0]
    run = tmp_path / "run"
    subprocess.run(["cp", "-r", str(cell.run_dir), str(run)], check=True)
    longer = Cell(run, cell.config.with_overrides({"train.steps": 900}), cell.attacks, cell.eps, cell.episodes, cell.options)
    old_rows = pd.read_csv(run / "eval.csv")
    assert not cell_done(longer)
    result = run_cell(longer)
    assert result.ok and result.env_steps >= 900 and cell_done(longer)
    (aside,) = run.glob("eval.before*.csv")  # evaluations of the 600-step policy, kept under another name
    pd.testing.assert_frame_equal(pd.read_csv(aside), old_rows)
    assert len(pd.read_csv(run / "eval.csv")) == 4


def test_an_interrupted_sweep_resumes_to_the_same_records(swept, tmp_path):
    preset, reference = swept
    root = tmp_path / "root"
    cmd = [*CLI, "sweep", "--preset", str(preset), "--out", str(root)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    first = plan(load_preset(str(preset)), root)[0].run_dir / "checkpoints" / "last.pt"
    deadline = time.monotonic() + 300
    while not first.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)  # mid-training of the first cell, after its first checkpoint
    proc.wait()
    cells = plan(load_preset(str(preset)), root)
    assert not any(cell_done(c) for c in cells)
    done = cli("sweep", "--preset", str(preset), "--out", str(root))
    assert done.returncode == 0, done.stderr
    got, want = records(root), records(reference)
    assert got.keys() == want.keys()
    for name in want:
        pd.testing.assert_frame_equal(got[name], want[name], obj=name)


def test_two_workers_give_the_same_records_as_one(swept, tmp_path):
    preset, reference = swept
    cells = plan(load_preset(str(preset)), tmp_path / "root")
    seen = []
    results = LAUNCHERS.get("local")(cells, LaunchOptions(workers=2), seen.append)
    assert all(r.ok for r in results) and {r.run_dir for r in seen} == {c.run_dir for c in cells}
    got, want = records(tmp_path / "root"), records(reference)
    assert got.keys() == want.keys()
    for name in want:
        pd.testing.assert_frame_equal(got[name], want[name], obj=name)


def test_a_failing_cell_does_not_stop_the_others(tmp_path):
    preset = preset_file(tmp_path, methods={"vanilla": [0]}, seeds=[0, 1], steps=300)
    root = tmp_path / "root"
    blocked = plan(load_preset(str(preset)), root)[0].run_dir
    blocked.mkdir(parents=True)
    (blocked / "stray.txt").write_text("not a run")  # train refuses a non-run directory
    done = cli("sweep", "--preset", str(preset), "--out", str(root))
    assert done.returncode == 1
    assert "1 of 2 cells failed" in done.stderr.strip().splitlines()[-1] and "Traceback" not in done.stderr
    assert cell_done(plan(load_preset(str(preset)), root)[1])
