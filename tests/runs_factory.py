"""Run directories as `robust-qmix train` + `evaluate` leave them, with win rates known exactly: shared by
the report tests (test_report.py, test_report_render.py)."""

from __future__ import annotations

import itertools
from pathlib import Path

from benchmark.config import RunConfig
from benchmark.records import EVAL_COLUMNS, TRAIN_COLUMNS, write_csv, write_json, write_yaml

EPISODES = 20
MAPS = ("2s3z", "3m")
CONFIGS = (("vanilla", 0.0), ("adv_train", 0.1), ("adv_train", 0.25), ("policy_reg", 0.1))
SEEDS = (0, 1, 2)
CELLS = (("none", 0.0), ("fgsm", 0.0), ("fgsm", 0.1), ("fgsm", 0.2))
TRAIN_STEPS = (0, 250, 500, 750, 1000)
REPS = 200  # bootstrap resamples: small, as the report tests check plumbing and exact numbers, not interval precision


def write_run(
    root: Path,
    *,
    map_name: str = "3m",
    method: str = "vanilla",
    train_eps: float = 0.0,
    seed: int = 0,
    wins: dict[tuple[str, float], int] | None = None,
    backend: str = "sim",
    episodes: int = EPISODES,
    finished: bool = True,
    settings: dict[str, object] | None = None,
) -> Path:
    """A run directory as `robust-qmix train` + `evaluate` leave it, with the given wins per (attack, eps);
    `settings`: config overrides beyond the run's identity (a knob setting)."""
    run = root / backend / map_name / method / f"eps{train_eps:g}" / f"seed{seed}"
    overrides = {
        "env.backend": backend,
        "env.map": map_name,
        "method.name": method,
        "method.train_eps": train_eps,
        "train.seed": seed,
        "train.steps": TRAIN_STEPS[-1],
        "train.test_interval": 250,
        **(settings or {}),
    }
    write_yaml(run / "config.yaml", RunConfig().with_overrides(overrides).to_dict())
    manifest = {
        "versions": {"python": "3.11.7", "torch": "2.13.0", "robust-qmix": "0.1.0"},
        "git_commit": "0123456789abcdef0123456789abcdef01234567",
        "backend": backend,
        "sc2_version": None,
        "device": "cpu",
        "seed": seed,
        "start_time": "2026-01-01T00:00:00+00:00",
        "end_time": "2026-01-01T00:10:00+00:00" if finished else None,
    }
    write_json(run / "manifest.json", manifest)
    train = [
        {"env_steps": s + seed, "test_win_rate": min(1.0, s / 1000 * 0.9), "test_return": s / 100, "loss": 0.1, "epsilon": 0.05, "wall_seconds": (s + 1) * 0.02 * (2 if method != "vanilla" else 1)}
        for s in TRAIN_STEPS
    ]
    write_csv(run / "train.csv", train, TRAIN_COLUMNS)
    rows = [
        {"attack": a, "test_eps": e, "episodes": episodes, "win_rate": w / episodes, "mean_return": 10.0 * w / episodes, "dead_allies": 1.0, "dead_enemies": 2.0}
        for (a, e), w in (wins or {("none", 0.0): episodes // 2}).items()
    ]
    write_csv(run / "eval.csv", rows, EVAL_COLUMNS)
    return run


def known_wins(map_name: str, method: str, train_eps: float, attack: str, test_eps: float, seed: int) -> int:
    """Deterministic, distinct-enough win counts: robust methods lose less under larger test eps."""
    base = {"vanilla": 0.9, "adv_train": 0.8, "policy_reg": 0.85}[method] - (0.1 if map_name == "2s3z" else 0.0)
    slope = {"vanilla": 3.0, "adv_train": 1.0 - train_eps, "policy_reg": 1.5}[method]
    rate = base - (slope * test_eps if attack != "none" else 0.0) + 0.05 * (seed - 1)
    return int(min(EPISODES, max(0, round(EPISODES * rate))))


def write_sweep(root: Path) -> Path:
    for map_name, (method, eps), seed in itertools.product(MAPS, CONFIGS, SEEDS):
        wins = {(a, e): known_wins(map_name, method, eps, a, e, seed) for a, e in CELLS}
        write_run(root, map_name=map_name, method=method, train_eps=eps, seed=seed, wins=wins)
    return root
