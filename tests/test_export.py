"""`robust-qmix export`: finished runs copied without their resume state, still evaluable and reportable."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import pandas as pd
import pytest

from benchmark.config import RunConfig
from benchmark.evaluate import evaluate
from benchmark.records import MANIFEST_FILE
from benchmark.report.runs import collect_runs
from benchmark.train import train
from cli_helpers import run_cli

SMALL = {
    "env.map": "3m", "env.batch_envs": 4, "train.steps": 600, "qmix.batch_size": 4, "qmix.buffer_size": 32,
    "train.test_interval": 300, "train.test_episodes": 4, "train.checkpoint_interval": 300,
}  # fmt: skip
RUN = Path("sim/3m/vanilla/eps0/seed0")
cli = partial(run_cli, timeout=300)


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> Path:
    """A finished, evaluated run with a learned adversary, and an unfinished one beside it."""
    root = tmp_path_factory.mktemp("runs")
    train(RunConfig().with_overrides(SMALL), root / RUN)
    # atla trains an adversary (briefly here) and keeps it in the run directory
    evaluate(root / RUN, 4, ["none", "atla"], [0.0, 0.1], options={"adversary_steps": 200})
    unfinished = root / "sim/3m/vanilla/eps0/seed1"
    train(RunConfig().with_overrides({**SMALL, "train.seed": 1}), unfinished)
    return root


def test_export_keeps_what_evaluation_and_reports_need_and_nothing_else(runs, tmp_path):
    out = tmp_path / "exported"
    done = cli("export", str(runs), "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "left out" in done.stderr and "seed1" in done.stderr  # never evaluated: not exported
    assert (runs / RUN / "checkpoints/last.pt").is_file() and any((runs / RUN / "adversaries").iterdir())
    files = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert files == [str(RUN / name) for name in ("checkpoints/model.pt", "config.yaml", "eval.csv", "eval.json", "manifest.json", "train.csv")]
    for name in ("config.yaml", "eval.csv", "eval.json", "train.csv", MANIFEST_FILE, "checkpoints/model.pt"):
        assert (out / RUN / name).read_bytes() == (runs / RUN / name).read_bytes()

    # Evaluation needs only model.pt: a new cell is appended, the old ones stay.
    done = cli("evaluate", str(out / RUN), "--attacks", "none,fgsm", "--eps", "0.1", "--episodes", "4")
    assert done.returncode == 0, done.stderr
    rows = pd.read_csv(out / RUN / "eval.csv")
    assert len(rows) == 5 and list(rows["attack"][-1:]) == ["fgsm"] and (rows["attack"] == "none").sum() == 2
    assert len(collect_runs([out]).runs) == 1  # and the report stage accepts it

    # Training it again is refused: it cannot resume, and starting over would replace the shared model.
    done = cli("train", "--config", str(out / RUN / "config.yaml"), "--out", str(out / RUN))
    assert done.returncode == 1 and "exported without its resume state" in done.stderr
    assert (out / RUN / "checkpoints/model.pt").read_bytes() == (runs / RUN / "checkpoints/model.pt").read_bytes()


def test_nothing_to_export_is_one_line(tmp_path):
    (tmp_path / "empty").mkdir()
    done = cli("export", str(tmp_path / "empty"), "--out", str(tmp_path / "out"))
    assert done.returncode == 1 and done.stderr.strip().splitlines()[-1].startswith("error:")
    assert not (tmp_path / "out").exists()
