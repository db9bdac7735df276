"""Comparison mode (`--baseline`): which cells' win rates changed significantly against an earlier summary.

Test, per cell: Fisher's exact test, two-sided, on the 2x2 table of wins and losses pooled over all test
episodes of all seeds of each side (summary.csv's `wins` and `episodes`). It is exact at any count, including
the 0% and 100% cells where a normal-approximation two-proportion test breaks down. The p-values of all
compared cells are adjusted with Holm's step-down method, so that the chance of flagging any cell when nothing
changed stays at most ALPHA over the whole grid: this is the building block of a CI regression gate, where a
false alarm on one of hundreds of cells must stay rare.

What it assumes: episodes are independent draws given the evaluated policies. It therefore asks "do these
policies win at a different rate?", not "would retraining with new seeds differ?" (between-seed variation is
not part of the test); with few seeds, read a flagged change as a change of these trained policies.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.stats
from statsmodels.stats.multitest import multipletests

from benchmark.errors import UserError
from benchmark.report.labels import KEYS
from benchmark.report.runs import EPS_DIGITS

ALPHA = 0.05
BASELINE_COLUMNS = ("seeds", "episodes", "wins", "mean")
COMPARE_COLUMNS = ("baseline_seeds", "baseline_episodes", "baseline_wins", "baseline_mean", "diff", "p_value", "p_holm", "change")
DROP, RISE, SAME, NEW = "drop", "rise", "not significant", "new"


def read_baseline(path: Path) -> pd.DataFrame:
    """A summary.csv from an earlier report, checked to hold what the comparison needs."""
    path = Path(path)
    try:
        frame = pd.read_csv(path)
    except FileNotFoundError:
        raise UserError(f"baseline {path}: no such file") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, IsADirectoryError) as err:
        raise UserError(f"baseline {path}: not a readable CSV ({str(err).splitlines()[0]})") from None
    missing = [c for c in (*KEYS, *BASELINE_COLUMNS) if c not in frame.columns]
    if missing:
        raise UserError(f"baseline {path}: not a report summary.csv (missing column(s) {', '.join(missing)})")
    numeric = ["train_eps", "test_eps", *BASELINE_COLUMNS]
    if not all(pd.api.types.is_numeric_dtype(frame[c]) for c in numeric) or frame[numeric].isna().any(axis=None):
        raise UserError(f"baseline {path}: columns {', '.join(numeric)} must hold numbers in every row")
    counts = frame[["episodes", "wins"]]
    if not ((counts >= 0).all(axis=None) and (frame["wins"] <= frame["episodes"]).all() and (frame["episodes"] >= 1).all()):
        raise UserError(f"baseline {path}: every row needs episodes >= 1 and 0 <= wins <= episodes")
    frame = _normalised(frame)
    if frame.duplicated(list(KEYS)).any():
        raise UserError(f"baseline {path}: the same cell appears twice")
    return frame[[*KEYS, *BASELINE_COLUMNS]]


def _normalised(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.copy()
    for column in ("backend", "map", "method", "attack"):
        frame[column] = frame[column].astype(str)
    for column in ("train_eps", "test_eps"):
        frame[column] = frame[column].astype(float).round(EPS_DIGITS)
    return frame


def compare(
    summary: pd.DataFrame, baseline: pd.DataFrame, alpha: float = ALPHA, alternative: str | Sequence[str] = "two-sided"
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The summary with COMPARE_COLUMNS added, and the baseline cells the summary no longer has.

    `alternative="less"` asks only whether the summary wins less often than the baseline (a regression
    gate's question: a rise is then never significant); a sequence gives each summary row its own."""
    summary = _normalised(summary)
    renamed = baseline.rename(columns={c: f"baseline_{c}" for c in BASELINE_COLUMNS})
    merged = summary.merge(renamed, on=list(KEYS), how="left", validate="one_to_one")
    present = merged["baseline_episodes"].notna().to_numpy()
    rate = merged["wins"] / merged["episodes"]
    merged["diff"] = rate - merged["baseline_wins"] / merged["baseline_episodes"]
    merged["p_value"] = np.nan
    sides = np.full(len(merged), alternative, dtype=object) if isinstance(alternative, str) else np.asarray(alternative, dtype=object)
    counts = merged.loc[present, ["wins", "episodes", "baseline_wins", "baseline_episodes"]].to_numpy()
    merged.loc[present, "p_value"] = [_fisher(*row, side) for row, side in zip(counts, sides[present])]
    merged["p_holm"] = np.nan
    if present.any():
        merged.loc[present, "p_holm"] = multipletests(merged.loc[present, "p_value"], alpha=alpha, method="holm")[1]
    merged["change"] = [_change(p, d, alpha) for p, d in zip(merged["p_holm"], merged["diff"])]
    gone = baseline.merge(summary[list(KEYS)], on=list(KEYS), how="left", indicator=True)
    return merged, gone[gone["_merge"] == "left_only"][list(KEYS)].reset_index(drop=True)


def _fisher(wins: float, episodes: float, base_wins: float, base_episodes: float, alternative: str) -> float:
    table = [[int(wins), int(episodes - wins)], [int(base_wins), int(base_episodes - base_wins)]]
    return float(scipy.stats.fisher_exact(table, alternative=alternative).pvalue)


def _change(p_holm: float, diff: float, alpha: float) -> str:
    if np.isnan(p_holm):
        return NEW
    if p_holm >= alpha:
        return SAME
    return DROP if diff < 0 else RISE
