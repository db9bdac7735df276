"""Greedy test episodes of a trained run under each (attack, test_eps) cell, appended to eval.csv."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from benchmark import model_files
from benchmark.attacks import ATTACKS, AttackContext, attack_cells, attack_label, check_options
from benchmark.attacks.settings import AttackConfig
from benchmark.config import RunConfig, load_run_config
from benchmark.device import configure_threads, resolve_device
from benchmark.envs import make_env
from benchmark.envs.maps import MAPS
from benchmark.errors import UserError
from benchmark.qmix.controller import AgentController
from benchmark.eval_records import claim_for_model, complete, done_cells, model_identity
from benchmark.records import CONFIG_FILE, EVAL_COLUMNS, EVAL_FILE, append_csv, read_csv_rows, write_csv
from benchmark.runlock import run_lock
from benchmark.runner import EpisodeRunner
from benchmark.streams import RunGenerators

# Evaluation episodes are the same battles for every cell (common random numbers), drawn from a seed of
# their own derived from the run's, so they differ from the run's training and test battles.
EVAL_TAG = 2_000_003
MAX_PARALLEL = 1024  # environments stepped together while evaluating


def evaluation_seed(seed: int) -> int:
    return int(np.random.SeedSequence([seed, EVAL_TAG]).generate_state(1, np.uint64)[0] >> np.uint64(1))


def load_policy(run_dir: Path, device: torch.device, which: str = "last") -> tuple[RunConfig, AgentController]:
    cfg = load_run_config(Path(run_dir) / CONFIG_FILE)
    return cfg, _load_agents(cfg, run_dir, device, which)


def _load_agents(cfg: RunConfig, run_dir: Path, device: torch.device, which: str = "last") -> AgentController:
    """The trained agents of a run (`which`: the last or the best checkpoint). Their sizes come from the map
    table, which every backend must match (sc2 checks it), so no environment (on sc2: a StarCraft II game)
    is started just to learn them."""
    model = model_files.load(model_files.model_path(run_dir, which), device)
    mac = AgentController(MAPS.get(cfg.env.map).info(), cfg.qmix, device)
    try:
        mac.load_run_state(0, model["agent"])
        mac.agent.requires_grad_(False)  # evaluated, never trained: attacks need gradients for observations only
    except (KeyError, RuntimeError, TypeError, AttributeError, ValueError) as err:
        raise UserError(f"{run_dir}: model checkpoint does not fit its config ({str(err).splitlines()[0][:100]})") from None
    return mac


def evaluate(
    run_dir: Path,
    episodes: int,
    attacks: Iterable[str] = ("none",),
    eps_values: Iterable[float] = (0.0,),
    device_name: str | None = None,
    options: Mapping[str, Any] | None = None,
) -> list[dict]:
    """Run every (attack, eps) cell not yet in eval.csv and append its row; returns the new rows.

    `attacks`: names, or name[key=value,...] for an attack with settings of its own (`pgd[steps=30]`).
    `options`: attack settings by field name (attacks/settings.py; nested for `ppo`), each applied to the
    attacks that have it. A cell run with non-default settings is recorded under a label naming them
    (attack_label). The run's lock is held throughout, so a second evaluation of the same run is refused
    rather than racing this one for eval.csv and adversaries/."""
    options = dict(options or {})
    if episodes < 1:
        raise UserError(f"--episodes must be >= 1, got {episodes}")
    attacks, eps_values = _unique(attacks), _unique(float(e) for e in eps_values)
    if not attacks or not eps_values:
        raise UserError("name at least one attack and one test eps")
    check_options(options)
    cells = attack_cells(attacks, options)
    bad = [e for e in eps_values if not 0 <= e <= 1]
    if bad:
        raise UserError(f"test eps must be in [0, 1], got {bad[0]}")
    run_dir = Path(run_dir)
    if not (run_dir / CONFIG_FILE).is_file():
        raise UserError(f"{run_dir} is not a run directory (no {CONFIG_FILE})")
    with run_lock(run_dir):
        return _evaluate_locked(run_dir, episodes, eps_values, device_name, cells)


def _evaluate_locked(
    run_dir: Path, episodes: int, eps_values: list[float], device_name: str | None, cells: dict[str, tuple[str, AttackConfig]]
) -> list[dict]:
    cfg = load_run_config(run_dir / CONFIG_FILE)
    device = resolve_device(device_name or cfg.train.device)
    settings = [s for _, s in cells.values()]
    mac = _load_agents(cfg, run_dir, device, settings[0].model)
    configure_threads(cfg.train.threads)
    victims = max(getattr(s, "victims", 0) for s in settings)
    if victims > mac.info.n_agents:
        raise UserError(f"--victims must be at most the map's {mac.info.n_agents} agents, got {victims}")
    for name, options in cells.values():  # an attack's refusals (a transfer's source) before any episode
        ATTACKS.get(name).check(options, cfg, run_dir)
    claim_for_model(run_dir, model_identity(run_dir))
    _drop_incomplete_rows(run_dir)
    done = done_cells(run_dir)
    new_rows = []
    for label, (name, options) in cells.items():
        for eps in eps_values:
            if (label, eps) in done:
                continue
            row = evaluate_cell(cfg, mac, name, eps, episodes, device, run_dir, options)
            new_rows.append(row)
            append_csv(run_dir / EVAL_FILE, [row], EVAL_COLUMNS)  # each cell is kept as soon as it is done
    return new_rows


def _unique(values: Iterable) -> list:
    """In order, each once: a value asked for twice is one cell, not two rows."""
    return list(dict.fromkeys(values))


def _drop_incomplete_rows(run_dir: Path) -> None:
    """Rows cut short (a damaged eval.csv) are removed, so their cells are evaluated again."""
    path = run_dir / EVAL_FILE
    frame = pd.DataFrame(read_csv_rows(path, EVAL_COLUMNS), columns=list(EVAL_COLUMNS))
    keep = complete(frame)
    if not keep.all():
        write_csv(path, frame[keep].to_dict("records"), EVAL_COLUMNS)


def evaluate_cell(
    cfg: RunConfig,
    mac: AgentController,
    attack: str,
    eps: float,
    episodes: int,
    device: torch.device,
    run_dir: Path | None = None,
    options: AttackConfig | None = None,
) -> dict:
    """One (attack, eps) cell's row; `options`: the attack's settings (its defaults if None)."""
    seed = evaluation_seed(cfg.train.seed)
    options = options or ATTACKS.get(attack).config()
    generator = RunGenerators.single(seed, device)
    perturb = ATTACKS.get(attack).make(AttackContext(mac, eps, generator, cfg, run_dir, options))
    outcomes = []
    for start in range(0, episodes, MAX_PARALLEL):
        size = min(MAX_PARALLEL, episodes - start)
        env = make_env(cfg.env.backend, cfg.env.map, size, seed + start, device)
        _, stats = EpisodeRunner(env, mac, RunGenerators.single(seed + start, device)).run(epsilon=0.0, perturb=perturb)
        env.close()
        outcomes.append(stats)
    cat = {k: torch.cat([getattr(s, k) for s in outcomes]) for k in ("won", "returns", "dead_allies", "dead_enemies")}
    return {
        "attack": attack_label(attack, options),
        "test_eps": eps,
        "episodes": episodes,
        "win_rate": float(cat["won"].mean()),
        "mean_return": float(cat["returns"].mean()),
        "dead_allies": float(cat["dead_allies"].mean()),
        "dead_enemies": float(cat["dead_enemies"].mean()),
    }
