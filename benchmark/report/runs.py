"""Collect run directories and keep only the complete, well-formed ones; say why each other one is left out.

Reading goes through `benchmark.records.load_run` (schema checks); this module adds what a report needs
beyond the schema: the run's identity in the study grid, finished training, and sane evaluation rows.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmark.errors import UserError
from benchmark.eval_records import complete, is_current
from benchmark.records import RecordError, RunRecord, find_runs, load_run

EPS_DIGITS = 6  # eps values are compared after rounding, so 0.1 from YAML and 0.1 from a CSV are one cell


@dataclass(frozen=True)
class Run:
    record: RunRecord
    backend: str
    map: str
    method: str
    train_eps: float
    seed: int

    @property
    def identity(self) -> tuple[str, str, str, float, int]:
        return (self.backend, self.map, self.method, self.train_eps, self.seed)


@dataclass(frozen=True)
class Skipped:
    path: Path
    reason: str


@dataclass(frozen=True)
class RunSet:
    runs: tuple[Run, ...]
    skipped: tuple[Skipped, ...]


def collect_runs(paths: Sequence[Path]) -> RunSet:
    """Every run directory at or below `paths`, validated. Raises UserError only for input the user must
    fix (a path that does not exist, no run directory at all); a bad run is skipped with its reason."""
    missing = [str(p) for p in paths if not Path(p).exists()]
    if missing:
        raise UserError(f"no such file or directory: {', '.join(missing)}")
    directories = find_runs(paths)
    if not directories:
        raise UserError(f"no run directories (folders holding config.yaml) under {', '.join(map(str, paths))}")
    runs: list[Run] = []
    skipped: list[Skipped] = []
    seen: dict[tuple, Path] = {}
    for directory in directories:
        try:
            run = validated_run(load_run(directory))
        except RecordError as err:
            skipped.append(Skipped(directory, str(err)))
            continue
        if run.identity in seen:
            skipped.append(Skipped(directory, f"{directory}: same backend, map, method, train eps and seed as {seen[run.identity]}"))
            continue
        seen[run.identity] = directory
        runs.append(run)
    return RunSet(tuple(runs), tuple(skipped))


def validated_run(record: RunRecord) -> Run:
    """The run's place in the grid, raising RecordError when it cannot be summarised."""
    where = record.path
    config = record.config
    run = Run(
        record=record,
        backend=_field(config, "env.backend", str, where),
        map=_field(config, "env.map", str, where),
        method=_field(config, "method.name", str, where),
        train_eps=round(float(_field(config, "method.train_eps", (int, float), where)), EPS_DIGITS),
        seed=int(_field(config, "train.seed", int, where)),
    )
    if "end_time" in record.manifest and not record.manifest["end_time"]:
        raise RecordError(f"{where}: partial run, training has not finished (manifest.json has no end_time)")
    _check_eval(record)
    if not is_current(record.path):
        raise RecordError(f"{where}: eval.csv describes an earlier model (the run was trained further or its model replaced); run evaluate again")
    return run


def _field(config: dict[str, Any], dotted: str, kind: type | tuple[type, ...], where: Path) -> Any:
    section, key = dotted.split(".")
    values = config.get(section)
    value = values.get(key) if isinstance(values, dict) else None
    if value is None:
        raise RecordError(f"{where}: config.yaml has no {dotted}")
    if not isinstance(value, kind) or isinstance(value, bool):
        raise RecordError(f"{where}: config.yaml {dotted} has the wrong type ({value!r})")
    return value


def _check_eval(record: RunRecord) -> None:
    where, frame = record.path / "eval.csv", record.eval
    if frame.empty:
        raise RecordError(f"{record.path}: partial run, eval.csv is missing or has no rows (not evaluated yet)")
    problems = {
        "missing values (a row cut short; evaluate redoes it)": not complete(frame).all(),
        "win_rate outside [0, 1]": not frame["win_rate"].between(0, 1).all(),
        "test_eps outside [0, 1]": not frame["test_eps"].between(0, 1).all(),
        "episodes not a positive whole number": not _positive_integers(frame["episodes"]),
        "the same (attack, test_eps) twice": frame.duplicated(["attack", "test_eps"]).any(),
    }
    bad = [name for name, found in problems.items() if found]
    if bad:
        raise RecordError(f"{where}: {'; '.join(bad)}")


def _positive_integers(values: Iterable[float]) -> bool:
    return all(math.isfinite(v) and v >= 1 and float(v).is_integer() for v in values)
