"""Tidy tables computed from validated runs: summary.csv, training curves and training cost."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from benchmark.report.labels import KEYS, attack_order, method_order
from benchmark.report.runs import EPS_DIGITS, Run
from benchmark.report.stats import cell_estimates

GROUP = ("backend", "map", "method", "train_eps")  # one training configuration; its runs differ by seed
SUMMARY_COLUMNS = (
    *KEYS,
    "seeds",
    "episodes",
    "wins",
    "mean",
    "mean_ci_low",
    "mean_ci_high",
    "iqm",
    "iqm_ci_low",
    "iqm_ci_high",
    "std",
    "return_mean",
)


def _identity(run: Run) -> dict[str, object]:
    return {"backend": run.backend, "map": run.map, "method": run.method, "train_eps": run.train_eps, "seed": run.seed}


def seed_scores(runs: Sequence[Run]) -> pd.DataFrame:
    """One row per (run, eval.csv row): the grid keys, the seed, and that seed's episodes and wins."""
    frames = []
    for run in runs:
        ev = run.record.eval
        frames.append(
            pd.DataFrame(
                {
                    **_identity(run),
                    "attack": ev["attack"].astype(str),
                    "test_eps": ev["test_eps"].astype(float).round(EPS_DIGITS),
                    "episodes": ev["episodes"].astype(int),
                    # eval.csv stores a rate; the count it came from is what a per-episode test needs
                    "wins": (ev["win_rate"] * ev["episodes"]).round().astype(int),
                    "win_rate": ev["win_rate"].astype(float),
                    "mean_return": ev["mean_return"].astype(float),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def summarise(runs: Sequence[Run], reps: int, seed: int = 0) -> pd.DataFrame:
    """summary.csv: per (backend, map, method, train_eps, attack, test_eps) the seeds, pooled episodes and
    wins, and the win rate's mean and IQM over seeds with 95% stratified-bootstrap intervals."""
    scores = seed_scores(runs)
    keys = list(KEYS)
    table = cell_estimates(scores, keys, "win_rate", reps, seed)
    grouped = scores.groupby(keys, sort=True)
    extra = pd.DataFrame(
        {
            "episodes": grouped["episodes"].sum(),
            "wins": grouped["wins"].sum(),
            "std": grouped["win_rate"].std(ddof=1),  # NaN with one seed: no spread to speak of
            "return_mean": grouped["mean_return"].mean(),
        }
    ).reset_index()
    return sort_grid(table.merge(extra, on=keys))[list(SUMMARY_COLUMNS)]


def sort_grid(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows in the report's order: methods and attacks in their fixed order, numbers ascending."""
    rank = {"method": {m: i for i, m in enumerate(method_order(frame["method"]))}}
    if "attack" in frame:
        rank["attack"] = {a: i for i, a in enumerate(attack_order(frame["attack"]))}
    columns = [c for c in (*KEYS, "env_steps") if c in frame]

    def key(column: pd.Series) -> pd.Series:
        return column.map(rank[column.name]) if column.name in rank else column

    return frame.sort_values(columns, key=key, kind="stable").reset_index(drop=True)


def training_curves(runs: Sequence[Run], reps: int, seed: int = 0) -> pd.DataFrame:
    """Test win rate over env steps per training configuration, mean and 95% CI over seeds.

    Seeds test at slightly different env steps (batched environments overshoot the test interval), so each
    test is placed on the nearest multiple of the run's `train.test_interval`.
    """
    frames = []
    for run in runs:
        train = run.record.train
        if train.empty:
            continue
        interval = run.record.config.get("train", {}).get("test_interval") or 1
        steps = (train["env_steps"].astype(float) / interval).round() * interval
        frames.append(pd.DataFrame({**_identity(run), "env_steps": steps, "win_rate": train["test_win_rate"].astype(float)}))
    if not frames:
        return pd.DataFrame(columns=[*GROUP, "env_steps", "seeds", "mean", "mean_ci_low", "mean_ci_high"])
    scores = pd.concat(frames, ignore_index=True).dropna(subset=["win_rate"])
    return sort_grid(cell_estimates(scores, [*GROUP, "env_steps"], "win_rate", reps, seed))


def training_cost(runs: Sequence[Run]) -> pd.DataFrame:
    """Wall seconds per million env steps of each run that recorded its wall time, with its device."""
    rows = []
    for run in runs:
        train = run.record.train.dropna(subset=["env_steps", "wall_seconds"])
        if train.empty:
            continue
        last = train.iloc[-1]
        if last["env_steps"] > 0 and last["wall_seconds"] > 0:
            cost = float(last["wall_seconds"]) / float(last["env_steps"]) * 1e6
            device = str(run.record.manifest.get("device") or run.record.config.get("train", {}).get("device", "?"))
            rows.append({**_identity(run), "device": device, "seconds_per_million_steps": cost})
    columns = [*GROUP, "seed", "device", "seconds_per_million_steps"]
    return sort_grid(pd.DataFrame(rows, columns=columns)) if rows else pd.DataFrame(columns=columns)
