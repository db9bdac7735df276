"""How long each learned attack's adversary trained before its return stopped rising: adversaries.csv.

A learned attack is only as strong as its training; one still improving when its budget ran out
understates the attack. Each finished adversary keeps its PPO curve next to it (RUN/adversaries/NAME.csv,
benchmark/attacks/learned.py), and this module reads it off: the return smoothed over a window of
iterations, the env steps at which it first came within PLATEAU_SHARE of its whole rise from the start to
the end, and whether it was still rising over the last part of training.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from benchmark.report.runs import Run

WINDOW = 20  # PPO iterations (of 8 episodes each by default) per smoothed point
PLATEAU_SHARE = 0.1  # plateau: within 10% of the smoothed return's total rise from its end value
TAIL = 0.25  # the last quarter of training, compared with the quarter before it
ADVERSARY_COLUMNS = (
    "backend", "map", "method", "train_eps", "seed", "adversary", "iterations", "env_steps", "first_return",
    "last_return", "last_victim_win_rate", "plateau_env_steps", "still_rising",
)  # fmt: skip


def adversary_table(runs: Sequence[Run]) -> pd.DataFrame:
    """One row per learned adversary kept by the runs (none when no run trained one)."""
    from benchmark.attacks.learned import ADVERSARY_DIR  # imports torch: only when a report is made

    rows = []
    for run in runs:
        for path in sorted((run.record.path / ADVERSARY_DIR).glob("*.csv")):
            curve = pd.read_csv(path)
            if curve.empty:
                continue
            identity = {"backend": run.backend, "map": run.map, "method": run.method, "train_eps": run.train_eps, "seed": run.seed}
            rows.append({**identity, "adversary": path.stem, **plateau(curve)})
    return pd.DataFrame(rows, columns=list(ADVERSARY_COLUMNS))


def plateau(curve: pd.DataFrame, window: int = WINDOW) -> dict[str, object]:
    """The curve's summary: smoothed first and last return, where it plateaued, whether it still rose."""
    smooth = curve["adversary_return"].rolling(window, min_periods=1).mean()
    win = curve["victim_win_rate"].rolling(window, min_periods=1).mean()
    first, last = float(smooth.iloc[min(window, len(smooth)) - 1]), float(smooth.iloc[-1])
    rise = last - first
    reached = smooth >= last - PLATEAU_SHARE * abs(rise) if rise > 0 else pd.Series(True, index=smooth.index)
    tail = max(1, int(len(smooth) * TAIL))
    recent, before = smooth.iloc[-tail:].mean(), smooth.iloc[-2 * tail : -tail].mean() if len(smooth) >= 2 * tail else first
    return {
        "iterations": len(curve),
        "env_steps": int(curve["env_steps"].iloc[-1]),
        "first_return": first,
        "last_return": last,
        "last_victim_win_rate": float(win.iloc[-1]),
        "plateau_env_steps": int(curve["env_steps"][reached.idxmax()]),
        # rising still: the last quarter gained more than PLATEAU_SHARE of the whole rise over the one before
        "still_rising": bool(rise > 0 and recent - before > PLATEAU_SHARE * rise),
    }
