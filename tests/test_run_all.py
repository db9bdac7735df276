"""run_all.sh, the whole study in one command: the smoke version end to end, then resumed without retraining."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run_all(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("BACKEND", "OUT_DIR", "WORKERS")}
    command = ["bash", str(ROOT / "run_all.sh"), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=900, env=env, cwd=cwd)


def training_files(runs: Path) -> dict[Path, int]:
    """train.csv, manifest.json and checkpoints of every run, with their modification times."""
    files = [*runs.rglob("train.csv"), *runs.rglob("manifest.json"), *runs.rglob("checkpoints/*")]
    return {p: p.stat().st_mtime_ns for p in files}


@pytest.mark.slow  # the smoke preset trains five runs: about two minutes on 2 cores
def test_the_smoke_study_runs_end_to_end_and_a_second_run_trains_nothing(tmp_path):
    out = tmp_path / "study"
    done = run_all("--smoke", "--out", str(out), "--workers", "2")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    assert (out / "report" / "report.html").stat().st_size > 0
    assert (out / "report" / "summary.csv").is_file()
    runs = sorted(p.parent.relative_to(out / "runs") for p in (out / "runs").rglob("eval.csv"))
    assert [str(r) for r in runs] == sorted(
        f"sim/3m/{m}/eps{e}/seed0" for m, e in [("vanilla", 0), ("adv_train", 0.1), ("policy_reg", 0.1), ("atla", 0.1), ("paad", 0.1)]
    )
    trained = training_files(out / "runs")
    assert len(trained) >= 15

    again = run_all("--smoke", "--out", str(out), "--workers", "2")
    assert again.returncode == 0, again.stderr[-3000:]
    assert training_files(out / "runs") == trained  # nothing trained, resumed or rewritten
    assert "done sim/" not in again.stderr  # no cell was run


def test_bad_arguments_are_refused_with_usage(tmp_path):
    for args, message in [(["--backend", "mars"], "--backend must be sim or sc2"), (["--frobnicate"], "unknown argument"), (["--out"], "needs a value")]:
        done = run_all(*args, cwd=tmp_path)
        assert done.returncode == 2 and message in done.stderr
    assert not any(tmp_path.iterdir())  # refused before anything was written (the default --out is relative)
