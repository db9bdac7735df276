"""Run directories: atomic writes, CSV schemas, and validated reading.

A run directory holds `config.yaml` (fully resolved), `manifest.json`, `train.csv`, `eval.csv`,
`checkpoints/` and, for ATLA and PA-AD, `alternation.csv`. Every write goes to a temporary file in the
same folder and is renamed over the target, so a killed process never leaves a half-written record; the
temporary file is removed on any failure (a full disk, an exception, a SIGTERM turned into one), and one
left by SIGKILL is removed by the next writer that takes the run's lock (benchmark/runlock.py). Files get
the permissions the user's umask allows, as any file the user creates would, so exported runs and reports
on shared storage stay readable to others.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from benchmark.errors import UserError

TRAIN_COLUMNS = ("env_steps", "test_win_rate", "test_return", "loss", "epsilon", "wall_seconds")
EVAL_COLUMNS = ("attack", "test_eps", "episodes", "win_rate", "mean_return", "dead_allies", "dead_enemies")
CONFIG_FILE, MANIFEST_FILE, TRAIN_FILE, EVAL_FILE, CHECKPOINT_DIR = (
    "config.yaml",
    "manifest.json",
    "train.csv",
    "eval.csv",
    "checkpoints",
)
# ATLA's and PA-AD's in-training adversary, one row per PPO iteration: its cycle (from 1; with
# method.adversary_reset N, cycles kN+1 begin with a fresh adversary), the QMIX env steps when the cycle
# began, the ramped eps, the adversary's own env steps so far and how often the frozen agents still won.
ALTERNATION_FILE = "alternation.csv"
ALTERNATION_COLUMNS = ("cycle", "agent_env_steps", "eps", "adversary_env_steps", "victim_win_rate", "adversary_return")


class RecordError(UserError):
    """A run directory that is missing a file or whose file does not match its schema."""


def atomic_save(path: Path, save: Callable[[io.BufferedWriter], None]) -> None:
    """Atomically write whatever `save(handle)` writes (e.g. `lambda f: torch.save(obj, f)`)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600 whatever the umask
        with os.fdopen(fd, "wb") as handle:
            save(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    """The process's umask (reading it means setting it; it is put back at once)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: Path, data: bytes) -> None:
    atomic_save(path, lambda handle: handle.write(data))


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode())


def write_yaml(path: Path, data: Mapping[str, Any]) -> None:
    atomic_write_text(path, yaml.safe_dump(dict(data), sort_keys=False))


def write_json(path: Path, data: Mapping[str, Any]) -> None:
    atomic_write_text(path, json.dumps(dict(data), indent=2, sort_keys=True) + "\n")


def write_csv(path: Path, rows: Iterable[Mapping[str, Any]], columns: tuple[str, ...]) -> None:
    """Rewrite a whole CSV atomically (the files are small; rewriting keeps them consistent)."""
    frame = pd.DataFrame(list(rows), columns=list(columns))
    atomic_write_text(path, frame.to_csv(index=False))


def read_csv_rows(path: Path, columns: tuple[str, ...]) -> list[dict[str, Any]]:
    """Rows of a CSV written by `write_csv`; a missing file is an empty table."""
    return _frame_or_empty(Path(path), columns).to_dict("records")


def append_csv(path: Path, rows: Iterable[Mapping[str, Any]], columns: tuple[str, ...]) -> None:
    write_csv(path, [*read_csv_rows(path, columns), *rows], columns)


def _validated_frame(path: Path, columns: tuple[str, ...]) -> pd.DataFrame:
    try:
        frame = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise RecordError(f"{path}: not a readable CSV ({str(err).splitlines()[0]})") from None
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise RecordError(f"{path}: missing column(s) {', '.join(missing)}")
    numeric = [c for c in columns if c != "attack"]
    bad = [c for c in numeric if not pd.api.types.is_numeric_dtype(frame[c]) and len(frame)]
    if bad:
        raise RecordError(f"{path}: non-numeric values in column(s) {', '.join(bad)}")
    return frame


@dataclass(frozen=True)
class RunRecord:
    """One run directory, read and validated."""

    path: Path
    config: dict[str, Any]
    manifest: dict[str, Any]
    train: pd.DataFrame
    eval: pd.DataFrame


def load_run(path: Path) -> RunRecord:
    """Read a run directory, raising RecordError that names the first problem found."""
    path = Path(path)
    if not path.is_dir():
        raise RecordError(f"{path}: not a run directory")
    for name in (CONFIG_FILE, MANIFEST_FILE):
        if not (path / name).is_file():
            raise RecordError(f"{path}: missing {name}")
    try:
        config = yaml.safe_load((path / CONFIG_FILE).read_text())
        manifest = json.loads((path / MANIFEST_FILE).read_text())
    except (yaml.YAMLError, json.JSONDecodeError, UnicodeDecodeError) as err:
        raise RecordError(f"{path}: unreadable config or manifest ({str(err).splitlines()[0]})") from None
    if not isinstance(config, dict) or not isinstance(manifest, dict):
        raise RecordError(f"{path}: config.yaml and manifest.json must each hold a mapping")
    train = _frame_or_empty(path / TRAIN_FILE, TRAIN_COLUMNS)
    evals = _frame_or_empty(path / EVAL_FILE, EVAL_COLUMNS)
    return RunRecord(path, config, manifest, train, evals)


def _frame_or_empty(path: Path, columns: tuple[str, ...]) -> pd.DataFrame:
    if not path.exists():
        return pd.DataFrame(columns=list(columns))
    return _validated_frame(path, columns)


def find_runs(roots: Iterable[Path]) -> list[Path]:
    """Every run directory (a folder holding config.yaml) at or below the given paths, sorted."""
    found: set[Path] = set()
    for root in map(Path, roots):
        if (root / CONFIG_FILE).is_file():
            found.add(root)
        elif root.is_dir():
            found.update(p.parent for p in root.rglob(CONFIG_FILE))
    return sorted(found)
