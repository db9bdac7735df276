"""Which model a run's evaluation records describe, and which of their cells count as done.

eval.csv and the learned attacks in adversaries/ are results about one trained model. `eval.json` names it
by the checksum of the model's content (model_files.identity: the same for model.pt and its safetensors
export), so any change of the model (a run trained further, an export copied over another run, a model file
replaced by hand) makes the old records stale: `evaluate` then moves them aside and starts afresh, `sweep`
counts their cells as not done and `report` leaves the run out until it is evaluated again. An eval.csv from
before eval.json existed is taken to describe the model present; learned attacks without an eval.json are
trained again.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd

from benchmark import model_files
from benchmark.attacks.learned import ADVERSARY_DIR
from benchmark.errors import UserError
from benchmark.records import EVAL_COLUMNS, EVAL_FILE, read_csv_rows, write_json

EVAL_MODEL_FILE = "eval.json"
MODEL_KEY = "model_sha256"


def model_identity(run_dir: Path) -> str:
    return model_files.identity(model_files.model_path(run_dir))


def recorded_identity(run_dir: Path) -> str | None:
    """The model eval.csv describes, or None when no eval.json says (records older than eval.json)."""
    path = Path(run_dir) / EVAL_MODEL_FILE
    if not path.is_file():
        return None
    try:
        value = json.loads(path.read_text()).get(MODEL_KEY)
    except (OSError, ValueError, AttributeError):
        return ""  # unreadable: describes no model we can name, so nothing in it counts
    return value if isinstance(value, str) else ""


def is_current(run_dir: Path) -> bool:
    """Whether the evaluation records describe the model now in the run directory."""
    recorded = recorded_identity(run_dir)
    if recorded is None:
        return True
    try:
        return recorded == model_identity(run_dir)
    except UserError:
        return False


def complete(frame: pd.DataFrame) -> pd.Series:
    """Rows with every column filled: a row cut short (a damaged file) is not a result."""
    return frame[list(EVAL_COLUMNS)].notna().all(axis=1)


def done_cells(run_dir: Path) -> set[tuple[str, float]]:
    """(attack label, eps) of the complete eval.csv rows that describe the current model."""
    try:
        frame = pd.DataFrame(read_csv_rows(Path(run_dir) / EVAL_FILE, EVAL_COLUMNS), columns=list(EVAL_COLUMNS))
    except UserError:
        return set()
    if frame.empty or not is_current(run_dir):
        return set()
    rows = frame[complete(frame)]
    return {(str(a), float(e)) for a, e in zip(rows["attack"], rows["test_eps"])}


def claim_for_model(run_dir: Path, model_id: str) -> None:
    """Make the evaluation records describe `model_id`: stale ones are moved aside, eval.json is written.
    Call with the run's lock held."""
    recorded = recorded_identity(run_dir)
    if recorded is None:  # eval.csv is kept (see the module's docstring); learned attacks of an unnamed victim are not
        retire_evaluations(run_dir, "model-unknown", (ADVERSARY_DIR,))
    elif recorded != model_id:
        retire_evaluations(run_dir, f"model-{recorded[:12] or 'unknown'}")
    if recorded != model_id:
        write_json(Path(run_dir) / EVAL_MODEL_FILE, {MODEL_KEY: model_id})


def retire_evaluations(run_dir: Path, tag: str, names: tuple[str, ...] = (EVAL_FILE, EVAL_MODEL_FILE, ADVERSARY_DIR)) -> None:
    """Move eval.csv, eval.json and adversaries/ aside as NAME.before-TAG: kept for inspection, no longer read."""
    for name in names:
        old = Path(run_dir) / name
        if old.exists():
            stem, dot, suffix = name.partition(".")
            target = old.with_name(f"{stem}.before-{tag}{dot}{suffix}")
            if target.exists():
                shutil.rmtree(target) if target.is_dir() else target.unlink()
            shutil.move(old, target)
