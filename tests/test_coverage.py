"""`report --plan PRESET`: a part-way sweep is reported with what of its preset's grid is still missing."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from benchmark.errors import UserError
from benchmark.report.build import build_report
from cli_helpers import TINY, preset_file, run_cli


@pytest.fixture(scope="module")
def part_way(tmp_path_factory):
    """The tiny preset at two seeds, of which only vanilla seed 0 has been swept."""
    folder = tmp_path_factory.mktemp("part_way")
    preset = preset_file(folder, seeds=[0, 1])
    root = folder / "sweep"
    done = run_cli("sweep", "--preset", str(preset), "--out", str(root), "--methods", "vanilla", "--seeds", "0")
    assert done.returncode == 0, done.stderr
    return preset, root


def status_of(coverage: pd.DataFrame) -> dict[tuple[str, int], str]:
    return {(r.method, r.seed): r.status for r in coverage.itertuples()}


def vanilla_seed0(coverage: pd.DataFrame) -> pd.Series:
    return coverage[(coverage["method"] == "vanilla") & (coverage["seed"] == 0)].iloc[0]


def test_the_coverage_names_each_planned_run_and_what_it_lacks(part_way, tmp_path):
    preset, root = part_way
    result = build_report([root], tmp_path / "report", preset=str(preset), reps=20)
    coverage = pd.read_csv(tmp_path / "report/coverage.csv")
    planned = len(TINY["eval"]["attacks"]) * len(TINY["eval"]["eps"])
    assert status_of(coverage) == {("vanilla", 0): "done", ("vanilla", 1): "not started", ("adv_train", 0): "not started", ("adv_train", 1): "not started"}
    assert set(coverage["eval_planned"]) == {planned}
    assert {(r.method, r.seed): r.eval_done for r in coverage.itertuples()} == {("vanilla", 0): planned, ("vanilla", 1): 0, ("adv_train", 0): 0, ("adv_train", 1): 0}
    assert tmp_path / "report/coverage.csv" in result.files
    html = (tmp_path / "report/report.html").read_text()
    assert "Coverage of the plan" in html and f"{planned} of {4 * planned} (25%)" in html


def test_a_missing_evaluation_cell_and_an_unfinished_training_show(part_way, tmp_path):
    preset, root = part_way
    run = root / "sim/3m/vanilla/eps0/seed0"
    eval_csv, manifest = run / "eval.csv", run / "manifest.json"
    saved = eval_csv.read_text(), manifest.read_text()
    try:
        rows = pd.read_csv(eval_csv)
        rows[~((rows["attack"] == "fgsm") & (rows["test_eps"] == 0.1))].to_csv(eval_csv, index=False)
        build_report([root], tmp_path / "a", preset=str(preset), reps=20)
        first = vanilla_seed0(pd.read_csv(tmp_path / "a/coverage.csv"))
        assert (first["status"], first["missing"]) == ("evaluation missing", "fgsm@0.1")
        manifest.write_text(json.dumps({**json.loads(saved[1]), "env_steps": 0}))
        coverage = pd.read_csv(build_report([root], tmp_path / "b", preset=str(preset), reps=20, warn=print).out / "coverage.csv")
        row = vanilla_seed0(coverage)
        assert row["status"] == "training" and 0 < row["env_steps"] <= TINY["steps"] + 8 * 60
    finally:
        eval_csv.write_text(saved[0])
        manifest.write_text(saved[1])


def test_plan_needs_one_sweep_root(part_way, tmp_path):
    preset, root = part_way
    with pytest.raises(UserError, match="one sweep root"):
        build_report([root, root], tmp_path / "r", preset=str(preset))
    bad = run_cli("report", str(root), "--out", str(tmp_path / "r"), "--plan", "no_such_preset")
    assert bad.returncode == 2 and "no_such_preset" in bad.stderr and not (tmp_path / "r").exists()
