"""`robust-qmix export`: copy finished runs without their resume state, to share or to ship (checkpoints/).

An exported run directory holds what evaluation and reports read: config.yaml, manifest.json, train.csv,
eval.csv and the trained model as checkpoints/model.safetensors with model.json (model_files.py: no pickle
in what is shared), plus the best test round's model as best.safetensors with best.json where the run has
one, and ATLA's and PA-AD's alternation.csv (their in-training adversary's curve). It leaves out
checkpoints/last.pt (the replay buffer, optimiser and random streams that resuming needs: hundreds of MB
per run) and the learned attacks in adversaries/ (`robust-qmix evaluate` trains them again
on demand), keeping only each one's training curve there (NAME.csv, a few tens of KB), which the report's
adversaries.csv reads to say whether it plateaued. So an exported run can be evaluated and reported, not
trained further. eval.json (which model eval.csv describes) travels with eval.csv; a model keeps its
checksum when converted, so it stays true. Each destination run directory is written under its lock, and
whatever an earlier export or run left there is removed.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

import torch

from benchmark import model_files
from benchmark.checkpoint import STATE_FILE
from benchmark.config import RunConfig
from benchmark.errors import UserError
from benchmark.eval_records import ADVERSARY_DIR, EVAL_MODEL_FILE
from benchmark.records import (
    ALTERNATION_FILE,
    CHECKPOINT_DIR,
    CONFIG_FILE,
    EVAL_FILE,
    MANIFEST_FILE,
    TRAIN_FILE,
    RecordError,
    RunRecord,
    atomic_write_bytes,
    find_runs,
    load_run,
)
from benchmark.runlock import run_lock

SHARED_FILES = (CONFIG_FILE, MANIFEST_FILE, TRAIN_FILE, EVAL_FILE)  # copied byte for byte; the models are converted
OPTIONAL_FILES = (EVAL_MODEL_FILE, ALTERNATION_FILE)  # copied where the run has them


def export_runs(sources: Sequence[Path], dest: Path, warn: Callable[[str], None] = lambda message: None) -> list[Path]:
    """Copy every finished run under `sources` to DEST/backend/map/method/epsE/seedS; returns the copies.

    A run that is unfinished (no end time, no model, no evaluation) is left out with a warning."""
    from benchmark.sweep import run_relpath

    missing = [str(p) for p in sources if not Path(p).exists()]
    if missing:
        raise UserError(f"no such file or directory: {', '.join(missing)}")
    copies = []
    for run in find_runs(sources):
        try:
            record = load_run(run)
            reason = _unfinished(record)
        except RecordError as err:
            reason = str(err)
        if reason:
            warn(f"left out {run}: {reason}")
            continue
        target = Path(dest) / run_relpath(RunConfig.from_stored(record.config, str(record.path)))
        if target.resolve() == run.resolve():
            raise UserError(f"{run}: export destination is the run itself")
        with run_lock(target):
            _copy_run(run, target)
        copies.append(target)
    if not copies:
        raise UserError(f"no finished run to export under {', '.join(map(str, sources))}")
    return copies


def _copy_run(run: Path, target: Path) -> None:
    """Make `target` hold exactly the run's shared files: a run exported over an earlier export or run keeps
    nothing of the old one (its last.pt, its .pt models, its learned attacks, an evaluation of another model).
    The models are read (and their checksums checked) before anything is written, so a damaged one stops the
    export of this run with the target untouched."""
    models = {stem: model_files.load(model_files.model_path(run, which), torch.device("cpu"))
              for which, stem in model_files.STEMS.items() if model_files.model_path(run, which).is_file()}
    stale = [f"{CHECKPOINT_DIR}/{STATE_FILE}", *OPTIONAL_FILES]
    stale += [f"{CHECKPOINT_DIR}/{stem}{suffix}" for stem in model_files.STEMS.values()
              for suffix in (model_files.PICKLED, model_files.TENSORS, model_files.METADATA)]
    for name in stale:
        (target / name).unlink(missing_ok=True)
    shutil.rmtree(target / ADVERSARY_DIR, ignore_errors=True)
    for name in SHARED_FILES:
        atomic_write_bytes(target / name, (run / name).read_bytes())
    for curve in sorted((run / ADVERSARY_DIR).glob("*.csv")):
        atomic_write_bytes(target / ADVERSARY_DIR / curve.name, curve.read_bytes())
    for stem, model in models.items():
        model_files.save(target / CHECKPOINT_DIR / stem, model)
    for name in OPTIONAL_FILES:
        if (run / name).is_file():
            atomic_write_bytes(target / name, (run / name).read_bytes())


def _unfinished(record: RunRecord) -> str | None:
    if not record.manifest.get("end_time"):
        return "training has not finished (manifest.json has no end_time)"
    if record.eval.empty:
        return "not evaluated (eval.csv is missing or empty)"
    absent = [name for name in SHARED_FILES if not (record.path / name).is_file()]
    if not model_files.model_path(record.path).is_file():
        absent.append(f"{CHECKPOINT_DIR}/model.pt (or model.safetensors)")
    return f"missing {', '.join(absent)}" if absent else None
