"""`robust-qmix` run as a user runs it (a fresh interpreter), a tiny sweep preset, and the CSV records a sweep
leaves: shared by the command-line tests (test_export, test_regress, test_sweep, test_train,
test_ray_launcher)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

# Two cells (vanilla, adv_train) on 3m, a few seconds each on the simulator, evaluated with and without FGSM.
TINY = {
    "backend": "sim",
    "maps": ["3m"],
    "methods": {"vanilla": [0], "adv_train": [0.1]},
    "seeds": [0],
    "steps": 600,
    "settings": {
        "env.batch_envs": 4,
        "qmix.batch_size": 4,
        "qmix.buffer_size": 32,
        "method.attack_steps": 2,
        "train.test_interval": 300,
        "train.test_episodes": 4,
        "train.checkpoint_interval": 300,
    },
    "eval": {"attacks": ["none", "fgsm"], "eps": [0, 0.1], "episodes": 4, "adversary_steps": 0},
}
TIME_DEPENDENT = ("wall_seconds",)  # the only train.csv column that may differ between two identical runs


# `robust-qmix` with this interpreter, whether or not the venv's bin folder is on PATH
CLI = (sys.executable, "-c", "from benchmark.cli import main; main()")


def run_cli(*args: str, timeout: float = 600, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """`robust-qmix ARGS` to its end, its output captured; `timeout` only guards against a hang."""
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=timeout, env=env)


def preset_file(folder: Path, preset: dict[str, Any] = TINY, name: str = "tiny.yaml", **changes: Any) -> Path:
    """`preset`, with top-level keys replaced by `changes` (tiny_preset), as a YAML file for `--preset`."""
    path = Path(folder) / name
    path.write_text(yaml.safe_dump(tiny_preset(preset, **changes)))
    return path


def tiny_preset(preset: dict[str, Any] = TINY, **changes: Any) -> dict[str, Any]:
    """`preset` with top-level keys replaced by `changes`, keeping of its settings only those one of its
    methods has (a preset may not set what none of its methods has)."""
    from benchmark.sweep import settings_for

    data = {**preset, **changes}
    settings = data.get("settings", {})
    data["settings"] = {k: v for k, v in settings.items() if any(k in settings_for(settings, m) for m in data["methods"])}
    return data


def csv_records(root: Path) -> dict[str, pd.DataFrame]:
    """Every CSV below `root` by its relative path, train.csv without its time-dependent columns: what two
    identical sweeps must agree on exactly."""
    out = {}
    for path in sorted(root.rglob("*.csv")):
        frame = pd.read_csv(path)
        out[str(path.relative_to(root))] = frame.drop(columns=list(TIME_DEPENDENT)) if path.name == "train.csv" else frame
    return out
