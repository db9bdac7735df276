"""How much of a preset's grid a report's runs cover: a sweep that takes many sittings is reported part-way,
and a reader must see which runs and evaluation cells are still missing rather than take the tables as whole.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from benchmark.records import TRAIN_COLUMNS, TRAIN_FILE, read_csv_rows

DONE, EVALUATING, TRAINING, NOT_STARTED = "done", "evaluation missing", "training", "not started"
COVERAGE_COLUMNS = (
    "backend", "map", "method", "train_eps", "seed", "status", "env_steps", "planned_steps", "eval_done",
    "eval_planned", "missing",
)  # fmt: skip
MISSING_SHOWN = 6  # cells listed per run in coverage.csv's `missing`; the count says how many there are


def coverage(preset_name: str, root: Path, backend: str | None = None) -> pd.DataFrame:
    """One row per planned run of the preset (on `backend`, default the preset's) under the sweep root
    `root`: how far it has trained, and how many of its evaluation cells are in its eval.csv (the first few
    missing ones named)."""
    from benchmark.sweep import cell_trained, load_preset, missing_evaluations, plan, planned_evaluations, same_run, trained_steps

    rows = []
    for cell in plan(load_preset(preset_name), Path(root), backend):
        planned, ours = len(planned_evaluations(cell)), same_run(cell)  # not ours: another run's directory
        trained = cell_trained(cell)
        missing = missing_evaluations(cell) if ours else planned_evaluations(cell)
        steps = trained_steps(cell.run_dir) if trained else _steps_so_far(cell.run_dir) if ours else 0
        status = (DONE if not missing else EVALUATING) if trained else TRAINING if steps else NOT_STARTED
        cfg = cell.config
        rows.append({
            "backend": cfg.env.backend, "map": cfg.env.map, "method": cfg.method.name, "train_eps": cfg.method.train_eps,
            "seed": cfg.train.seed, "status": status, "env_steps": steps, "planned_steps": cfg.train.steps,
            "eval_done": planned - len(missing), "eval_planned": planned, "missing": _listed(missing),
        })  # fmt: skip
    return pd.DataFrame(rows, columns=list(COVERAGE_COLUMNS))


def coverage_pairs(preset_name: str, frame: pd.DataFrame) -> tuple[tuple[str, str], ...]:
    """The overview's lines on coverage: runs by status, and evaluation cells done of planned."""
    counts = Counter(frame["status"])
    done, planned = int(frame["eval_done"].sum()), int(frame["eval_planned"].sum())
    pairs = [("preset", preset_name), ("planned runs", str(len(frame)))]
    pairs += [(status, str(counts[status])) for status in (DONE, EVALUATING, TRAINING, NOT_STARTED) if counts[status]]
    pairs.append(("evaluation cells", f"{done} of {planned} ({done / planned:.0%}); the rest are listed in coverage.csv" if planned else "none planned"))
    return tuple(pairs)


def _steps_so_far(run_dir: Path) -> int:
    """Env steps of the last test round of a run still training (its manifest gets them only at the end)."""
    rows = read_csv_rows(run_dir / TRAIN_FILE, TRAIN_COLUMNS)  # a missing file reads as no rows
    return int(float(rows[-1]["env_steps"])) if rows else 0


def _listed(missing: Sequence[tuple[str, float]]) -> str:
    shown = "; ".join(f"{label}@{eps:g}" for label, eps in missing[:MISSING_SHOWN])
    return shown + (f"; and {len(missing) - MISSING_SHOWN} more" if len(missing) > MISSING_SHOWN else "")
