"""Each learned adversary keeps its PPO training curve, and the report reads off whether and when its
return plateaued (adversaries.csv): a learned attack still improving when its budget ran out is understated."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from benchmark import checkpoint
from benchmark.attacks.adversary_training import CURVE_COLUMNS
from benchmark.evaluate import evaluate
from benchmark.report.adversary_curves import plateau
from benchmark.report.build import build_report

REFERENCE_RUN = Path(__file__).resolve().parent.parent / "checkpoints/sim/3m/vanilla/eps0/seed0"


def curve(returns) -> pd.DataFrame:
    returns = np.asarray(returns, dtype=float)
    steps = 200 * np.arange(1, len(returns) + 1)
    return pd.DataFrame({"iteration": range(1, len(returns) + 1), "env_steps": steps, "victim_win_rate": 0.5, "adversary_return": returns})


def test_a_return_that_rises_then_levels_off_plateaus_at_its_knee():
    rng = np.random.default_rng(0)
    returns = np.concatenate([np.linspace(-10, 0, 100), np.zeros(300)]) + rng.normal(0, 0.2, 400)
    found = plateau(curve(returns))
    assert not found["still_rising"]
    assert 80 * 200 <= found["plateau_env_steps"] <= 130 * 200  # the knee is at iteration 100
    assert found["last_return"] > found["first_return"] + 8


def test_a_return_still_climbing_at_the_end_is_flagged():
    found = plateau(curve(np.linspace(-10, 0, 400)))
    assert found["still_rising"] and found["plateau_env_steps"] > 350 * 200


def test_a_flat_or_falling_return_plateaus_at_once():
    assert plateau(curve(np.full(50, -3.0)))["plateau_env_steps"] == 200
    assert not plateau(curve(np.linspace(0, -5, 50)))["still_rising"]


def test_a_trained_adversary_keeps_its_curve_and_the_report_summarises_it(tmp_path):
    run = tmp_path / "run"
    shutil.copytree(REFERENCE_RUN, run)
    evaluate(run, 4, ["atla"], [0.1], options={"adversary_steps": 500})
    (kept,) = (run / "adversaries").glob("*.pt")
    rows = pd.read_csv(kept.with_suffix(".csv"))
    state = checkpoint.load(kept, torch.device("cpu"))["trainer"]
    assert tuple(rows.columns) == CURVE_COLUMNS and len(rows) == state["iterations"] >= 2
    assert rows["env_steps"].is_monotonic_increasing and rows["env_steps"].iloc[-1] == state["env_steps"] >= 500
    assert rows["victim_win_rate"].between(0, 1).all()
    assert [tuple(p) for p in state["curve"]] == list(rows[["env_steps", "victim_win_rate", "adversary_return"]].itertuples(index=False, name=None))
    build_report([run], tmp_path / "report", reps=20)
    table = pd.read_csv(tmp_path / "report/adversaries.csv")
    assert list(table["adversary"]) == [kept.stem] and int(table["iterations"].iloc[0]) == len(rows)
