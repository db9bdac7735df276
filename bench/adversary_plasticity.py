"""Does an alternating run's in-training adversary still learn? (an ATLA or PA-AD run with its resume state)

    .venv/bin/python -m bench.adversary_plasticity RUN [--steps 60000] [--episodes 128]

Against the run's final agents, at the run's train eps, as a learned-attack cell of a scratch copy of the
run (the run itself is not touched): the adversary the run trained against (checkpoints/last.pt) as it
is; the same trained STEPS more env steps; the same with a fresh critic and optimiser; the same with its
log-std back at its initial value; and a fresh adversary trained STEPS. Prints the agents' win rate and
return under each, and each one's training win rate per 10k env steps. A fresh adversary that wins far more
than the continued one means the in-training adversary lost the ability to learn. Every adversary has the
run's own adversary settings (PPO, victims, clip, PA-AD's actor steps). With method.adversary_reset, "as
trained" is the adversary since the run's last restart.
"""

from __future__ import annotations

import argparse
import copy
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import pandas as pd
import torch
from rich.console import Console
from rich.table import Table

from benchmark import checkpoint
from benchmark.attacks import attack_settings
from benchmark.attacks.adversary import new_adversary
from benchmark.attacks.learned import ADVERSARY_DIR, adversary_file
from benchmark.checkpoint import STATE_FILE
from benchmark.config import RunConfig
from benchmark.envs.maps import MAPS
from benchmark.eval_records import EVAL_MODEL_FILE, claim_for_model, model_identity
from benchmark.evaluate import evaluate
from benchmark.methods.alternating import AtlaConfig, actor_steps
from benchmark.records import CHECKPOINT_DIR, EVAL_FILE, load_run

CPU = torch.device("cpu")


def run_options(cfg: RunConfig, adversary_steps: int) -> dict:
    """The learned attack's settings that make it the adversary the run trained against."""
    m = cfg.method
    options = {"adversary_steps": adversary_steps, "victims": m.victims, "clip": m.clip_obs, "ppo": asdict(m.adversary)}
    return {**options, "steps": actor_steps(m)} if actor_steps(m) else options


def fresh_critic(cfg: RunConfig) -> Callable[[dict], None]:
    def change(trainer: dict) -> None:
        fresh = new_adversary(cfg.method.name, MAPS.get(cfg.env.map).info(), cfg.method.adversary, 1, CPU)
        trainer["adversary"].update({k: v for k, v in fresh.state_dict().items() if k.startswith("critic")})
        fresh.load_state_dict(trainer["adversary"])
        trainer["optimizer"] = torch.optim.Adam(fresh.parameters(), lr=cfg.method.adversary.lr).state_dict()

    return change


def initial_std(cfg: RunConfig) -> Callable[[dict], None]:
    def change(trainer: dict) -> None:
        log_std = trainer["adversary"]["actor.log_std"]
        trainer["adversary"]["actor.log_std"] = torch.full_like(log_std, cfg.method.adversary.init_log_std)

    return change


def variant(run: Path, scratch: Path, name: str, cfg: RunConfig, state: dict | None, steps: int, episodes: int):
    """One learned-attack cell on a copy of the run; `state`: the in-training trainer to start from."""
    copy_dir = scratch / name
    # the model and its config only: no earlier evaluation for this one to count as done or move aside
    shutil.copytree(run, copy_dir, ignore=shutil.ignore_patterns(ADVERSARY_DIR, EVAL_FILE, EVAL_MODEL_FILE, STATE_FILE))
    claim_for_model(copy_dir, model_identity(copy_dir))
    kind, eps = cfg.method.name, cfg.method.train_eps
    start = state["env_steps"] if state else 0
    options = run_options(cfg, start + steps)
    if state is not None:
        path = copy_dir / ADVERSARY_DIR / adversary_file(kind, eps, attack_settings(kind, options))
        path.parent.mkdir()
        checkpoint.save(path, {"trainer": state, "done": False})
    (row,) = evaluate(copy_dir, episodes, [kind], [eps], options=options)
    curve = pd.read_csv(next((copy_dir / ADVERSARY_DIR).glob("*.csv")))
    if state is not None and not (curve["env_steps"] == start).any():  # a failed load trains from scratch
        raise SystemExit(f"{name}: the run's adversary did not load; its curve starts afresh")
    curve = curve[curve["env_steps"] > start]
    bins = (curve["env_steps"] - start) // 10_000
    return row, curve.groupby(bins)["victim_win_rate"].mean().round(2).tolist()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--steps", type=int, default=60_000)
    parser.add_argument("--episodes", type=int, default=128)
    args = parser.parse_args()
    record = load_run(args.run)
    cfg = RunConfig.from_stored(record.config, str(args.run))
    trained = checkpoint.load(args.run / CHECKPOINT_DIR / STATE_FILE, CPU)["method"].get("trainer")
    if not isinstance(cfg.method, AtlaConfig) or trained is None:
        raise SystemExit(f"{args.run}: not an ATLA or PA-AD run whose adversary has trained")
    variants = {
        "as trained (0 more steps)": (trained, None, 0),
        "continued": (trained, None, args.steps),
        "continued, fresh critic and optimiser": (trained, fresh_critic(cfg), args.steps),
        "continued, initial log-std": (trained, initial_std(cfg), args.steps),
        "fresh adversary": (None, None, args.steps),
    }
    table = Table(title=f"{args.run}: the agents against adversaries at eps {cfg.method.train_eps:g}")
    for column in ("adversary", "env steps", "win rate", "mean return", "training win rate per 10k steps"):
        table.add_column(column)
    with tempfile.TemporaryDirectory() as scratch:
        for k, (name, (state, change, steps)) in enumerate(variants.items()):
            state = copy.deepcopy(state)
            if change is not None:
                change(state)
            row, curve = variant(args.run, Path(scratch), str(k), cfg, state, steps, args.episodes)
            table.add_row(name, str(steps), f"{row['win_rate']:.3f}", f"{row['mean_return']:.2f}", str(curve))
    Console().print(table)


if __name__ == "__main__":
    main()
