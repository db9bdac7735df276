"""What the summarised runs ran: configuration and manifest facts, as label/value pairs for report pages."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from benchmark.report.labels import map_order, row_label, train_configs
from benchmark.report.runs import Run, Skipped

Pairs = tuple[tuple[str, str], ...]
Sections = tuple[tuple[str, Pairs], ...]  # (heading, ((label, value), ...))


@dataclass(frozen=True)
class Facts:
    overview: Sections  # what a reader needs next to the results: runs, seeds, versions, commit
    configuration: Sections  # every setting, for the appendix
    runs: pd.DataFrame  # one row per summarised run
    skipped: tuple[Skipped, ...]


def gather_facts(runs: Sequence[Run], skipped: Sequence[Skipped]) -> Facts:
    flat = [_flatten(run.record.config) for run in runs]
    shared, varying = _split_config(flat)
    overview = (("Runs", _run_facts(runs)), ("Software", _software_facts(runs)))
    configuration = (("Settings that differ between runs", varying), ("Settings shared by all runs", shared))
    return Facts(_non_empty(overview), _non_empty(configuration), _run_table(runs), tuple(skipped))


def _non_empty(sections: Sections) -> Sections:
    return tuple((heading, pairs) for heading, pairs in sections if pairs)


def _counted(values: Iterable[Any]) -> str:
    """`a` when all runs agree, else `a (3 runs), b (1 run)`: a mixed set of runs should be visible."""
    counts = Counter("–" if v is None else str(v) for v in values)
    if len(counts) == 1:
        return next(iter(counts))
    return ", ".join(f"{v} ({n} run{'s' if n > 1 else ''})" for v, n in sorted(counts.items()))


def _run_facts(runs: Sequence[Run]) -> Pairs:
    manifests = [r.record.manifest for r in runs]
    starts = [str(m["start_time"]) for m in manifests if m.get("start_time")]
    ends = [str(m["end_time"]) for m in manifests if m.get("end_time")]
    configs = train_configs(pd.DataFrame([(r.method, r.train_eps) for r in runs], columns=["method", "train_eps"]))
    pairs = [
        ("runs", str(len(runs))),
        ("backend", _counted(r.backend for r in runs)),
        ("maps", ", ".join(map_order({r.map for r in runs}))),
        ("methods", ", ".join(row_label(m, e) for m, e in configs)),
        ("seeds", ", ".join(str(s) for s in sorted({r.seed for r in runs}))),
        ("training steps", _counted(r.record.config.get("train", {}).get("steps") for r in runs)),
        ("device", _counted(m.get("device") for m in manifests)),
    ]
    if starts or ends:
        pairs.append(("time span", f"{min(starts, default='?')} to {max(ends, default='?')}"))
    return tuple(pairs)


def _software_facts(runs: Sequence[Run]) -> Pairs:
    manifests = [r.record.manifest for r in runs]
    pairs = [("git commit", _counted(_short(m.get("git_commit")) for m in manifests))]
    if any(r.backend == "sc2" for r in runs):
        sc2 = [r.record.manifest.get("sc2_version") for r in runs if r.backend == "sc2"]
        pairs.append(("StarCraft II version", _counted(sc2)))
    versions = [m.get("versions") if isinstance(m.get("versions"), dict) else {} for m in manifests]
    for package in sorted({p for v in versions for p in v}):
        pairs.append((package, _counted(v.get(package) for v in versions)))
    return tuple(pairs)


def _short(commit: Any) -> str | None:
    return str(commit)[:12] if commit else None


def _flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, Mapping):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _split_config(flat: Sequence[dict[str, Any]]) -> tuple[Pairs, Pairs]:
    """Settings every run has with one value, and the others with each value's count of runs."""
    keys = sorted({k for f in flat for k in f})
    shared, varying = [], []
    for key in keys:
        values = [f.get(key) for f in flat]
        (shared if len({repr(v) for v in values}) == 1 else varying).append((key, _counted(values)))
    return tuple(shared), tuple(varying)


def _run_table(runs: Sequence[Run]) -> pd.DataFrame:
    rows = []
    for run in runs:
        manifest, train = run.record.manifest, run.record.train
        steps = manifest.get("env_steps", train["env_steps"].iloc[-1] if not train.empty else None)
        rows.append(
            {
                "run": str(run.record.path),
                "backend": run.backend,
                "map": run.map,
                "method": run.method,
                "train eps": run.train_eps,
                "seed": run.seed,
                "env steps": steps,
                "eval cells": len(run.record.eval),
                "device": manifest.get("device"),
                "commit": _short(manifest.get("git_commit")),
                "finished": manifest.get("end_time"),
            }
        )
    return pd.DataFrame(rows)
