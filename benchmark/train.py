"""The training loop: collect, learn, test, record and checkpoint; a killed run resumes exactly."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from benchmark import checkpoint
from benchmark.config import RunConfig, load_yaml_config
from benchmark.device import configure_threads, resolve_device
from benchmark.envs import make_env
from benchmark.errors import UserError
from benchmark.eval_records import retire_evaluations
from benchmark.manifest import new_manifest, now_iso
from benchmark.methods import METHODS
from benchmark.qmix.buffer import ReplayBuffer
from benchmark.qmix.controller import AgentController, linear_epsilon
from benchmark.qmix.learner import QLearner
from benchmark.records import (
    CHECKPOINT_DIR,
    CONFIG_FILE,
    MANIFEST_FILE,
    TRAIN_COLUMNS,
    TRAIN_FILE,
    read_csv_rows,
    write_csv,
    write_json,
    write_yaml,
)
from benchmark.runlock import LOCK_FILE, run_lock
from benchmark.runner import EpisodeRunner, EpisodeStats

# Distinct random streams derived from the run's seed.
TEST_ENV_SEED, ACTION_SEED, TEST_ACTION_SEED, BUFFER_SEED = 1_000_003, 1, 2, 3


@dataclass
class Progress:
    env_steps: int = 0
    episodes: int = 0
    last_test: int | None = None
    last_checkpoint: int = 0
    wall_seconds: float = 0.0
    losses: list[float] = field(default_factory=list)
    best_test: list[float] | None = None  # (win rate, return) of the test round saved as best.pt


# Called after every iteration with the progress, and with the new train.csv row after a test round.
ProgressHook = Callable[[Progress, dict | None], None]


def _no_progress(progress: Progress, row: dict | None) -> None:
    del progress, row


class Trainer:
    def __init__(self, cfg: RunConfig, run_dir: Path) -> None:
        self.cfg, self.run_dir = cfg, Path(run_dir)
        self.device = resolve_device(cfg.train.device)
        configure_threads(cfg.train.threads)
        seed = cfg.train.seed
        torch.manual_seed(seed)
        method_cls = METHODS.get(cfg.method.name)
        self.env = make_env(cfg.env.backend, cfg.env.map, cfg.env.batch_envs, seed, self.device,
                            continuing_episode=cfg.env.continuing_episode)
        self.test_env = make_env(
            cfg.env.backend, cfg.env.map, cfg.train.test_episodes, seed + TEST_ENV_SEED, self.device
        )
        info = self.env.info
        self.mac = AgentController(info, cfg.qmix, self.device)
        self.learner = QLearner(self.mac, info.state_shape, cfg.qmix)
        self.method = method_cls(cfg, self.learner)
        self.buffer = ReplayBuffer(
            info, cfg.qmix.buffer_size, self.device, seed + BUFFER_SEED, store_seen=self.method.learns_from_seen_obs
        )
        self.runner = EpisodeRunner(self.env, self.mac, seed + ACTION_SEED)
        self.test_runner = EpisodeRunner(self.test_env, self.mac, seed + TEST_ACTION_SEED)
        self.progress = Progress()
        self.rows: list[dict] = []

    # -- the loop -------------------------------------------------------------------------------------
    def run(self, on_progress: ProgressHook = _no_progress) -> None:
        p = self.progress
        started = time.perf_counter() - p.wall_seconds  # a resumed run keeps counting its earlier time

        def clock() -> None:
            p.wall_seconds = time.perf_counter() - started

        while True:
            clock()
            if self._test_due():
                on_progress(p, self._test_row())
            if p.env_steps >= self.cfg.train.steps:
                break
            self.iteration()
            on_progress(p, None)
            if p.env_steps - p.last_checkpoint >= self.cfg.train.checkpoint_interval:
                clock()
                self.save_checkpoint()
        self.save_checkpoint()

    def _test_due(self) -> bool:
        p = self.progress
        if p.last_test is None:
            return True
        due = p.env_steps - p.last_test >= self.cfg.train.test_interval
        return due or (p.env_steps >= self.cfg.train.steps and p.last_test < p.env_steps)

    def iteration(self) -> None:
        """One collect-and-learn step: `batch_envs` episodes into the buffer, then one update once it can sample."""
        p = self.progress
        epsilon = linear_epsilon(self.cfg.qmix, p.env_steps)
        batch, stats = self.runner.run(epsilon, perturb=self.method.collect_perturb(p.env_steps))
        self.buffer.insert(batch)
        p.env_steps += stats.env_steps
        p.episodes += batch.filled.shape[0]
        if self.buffer.can_sample(self.cfg.qmix.batch_size):
            sample = self.buffer.sample(self.cfg.qmix.batch_size)
            loss = float(self.method.update(sample, p.env_steps)["loss"])
            if not math.isfinite(loss):
                raise self._diverged(f"the loss became {loss}")
            p.losses.append(loss)
            self.learner.maybe_update_targets(p.episodes)

    def _diverged(self, what: str) -> UserError:
        p = self.progress
        return UserError(
            f"training diverged at env step {p.env_steps}: {what}; nothing after the checkpoint at env step "
            f"{p.last_checkpoint} was saved (lower qmix.lr or qmix.grad_norm_clip)"
        )

    def test(self) -> EpisodeStats:
        """Greedy episodes with clean observations, one per test environment."""
        _, stats = self.test_runner.run(epsilon=0.0)
        return stats

    def _test_row(self) -> dict:
        p = self.progress
        stats = self.test()
        row = {
            "env_steps": p.env_steps,
            "test_win_rate": float(stats.won.mean()),
            "test_return": float(stats.returns.mean()),
            "loss": sum(p.losses) / len(p.losses) if p.losses else float("nan"),
            "epsilon": linear_epsilon(self.cfg.qmix, p.env_steps),
            "wall_seconds": round(p.wall_seconds, 3),
        }
        p.losses, p.last_test = [], p.env_steps
        self.rows.append(row)
        write_csv(self.run_dir / TRAIN_FILE, self.rows, TRAIN_COLUMNS)
        self._keep_if_best(row)
        return row

    def _keep_if_best(self, row: dict) -> None:
        """Save the model as best.pt when this round's clean greedy win rate (then return) beats every earlier
        round's: the validation choice pymarl's logs and papers report, beside the last model."""
        score = [row["test_win_rate"], row["test_return"]]
        if self.progress.best_test is None or score > self.progress.best_test:
            self.progress.best_test = score
            checkpoint.save(self.run_dir / CHECKPOINT_DIR / checkpoint.BEST_MODEL_FILE, self.model_state())

    # -- checkpoints ----------------------------------------------------------------------------------
    def save_checkpoint(self) -> None:
        networks = (self.mac.agent, self.learner.mixer)
        if not all(torch.isfinite(t).all() for net in networks for t in net.state_dict().values()):
            raise self._diverged("the networks hold NaN or infinite weights")
        self.progress.last_checkpoint = self.progress.env_steps
        state = {
            "config": self.cfg.to_dict(),
            "progress": asdict(self.progress),
            "rows": len(self.rows),
            "learner": self.learner.state_dict(),
            "method": self.method.state_dict(),
            "buffer": self.buffer.state_dict(),
            "rng": {
                "torch": torch.get_rng_state(),
                "env": self.env.rng_state(),
                "test_env": self.test_env.rng_state(),
                "runner": self.runner.generator.get_state(),
                "test_runner": self.test_runner.generator.get_state(),
            },
        }
        folder = self.run_dir / CHECKPOINT_DIR
        checkpoint.save(folder / checkpoint.STATE_FILE, state)
        checkpoint.save(folder / checkpoint.MODEL_FILE, self.model_state())

    def model_state(self) -> dict:
        return {
            "agent": self.mac.agent.state_dict(),
            "mixer": self.learner.mixer.state_dict(),
            "env_info": asdict(self.env.info),
            "env_steps": self.progress.env_steps,
        }

    def restore(self) -> bool:
        """Continue from the last checkpoint, if there is one; rows written after it are dropped."""
        path = self.run_dir / CHECKPOINT_DIR / checkpoint.STATE_FILE
        if not path.exists():
            # model.pt is written after last.pt, so a model without its resume state was exported: starting
            # over would silently replace the shared model and its records.
            if (self.run_dir / CHECKPOINT_DIR / checkpoint.MODEL_FILE).exists():
                raise UserError(f"{self.run_dir} was exported without its resume state (last.pt); train into a new --out")
            return False
        state = checkpoint.load(path, self.device)
        if not self._same_run(state.get("config")):
            raise UserError(f"checkpoint {path} belongs to another run (its stored config differs from config.yaml); train into a new --out")
        try:
            self._load_state(state)
        except (KeyError, RuntimeError, TypeError, ValueError, AttributeError) as err:
            raise UserError(f"checkpoint {path} does not match this run ({str(err).splitlines()[0][:120]})") from None
        return True

    def _same_run(self, stored: object) -> bool:
        """The checkpoint was written by this run (any number of steps): a last.pt copied from another
        run would otherwise resume silently and stitch two runs' train.csv together."""
        try:
            return RunConfig.from_dict(stored).with_overrides({"train.steps": self.cfg.train.steps}) == self.cfg
        except UserError:
            return False

    def finished(self) -> bool:
        """Trained to its steps, tested and checkpointed there: running again would change nothing."""
        p = self.progress
        return p.env_steps >= self.cfg.train.steps and not self._test_due() and p.last_checkpoint == p.env_steps

    def _load_state(self, state: dict) -> None:
        self.learner.load_state_dict(state["learner"])
        self.method.load_state_dict(state["method"])
        self.buffer.load_state_dict(state["buffer"])
        self.progress = Progress(**state["progress"])
        rng = state["rng"]
        torch.set_rng_state(rng["torch"].cpu())
        self.env.set_rng_state(rng["env"])
        self.test_env.set_rng_state(rng["test_env"])
        self.runner.generator.set_state(rng["runner"].cpu())
        self.test_runner.generator.set_state(rng["test_runner"].cpu())
        rows = read_csv_rows(self.run_dir / TRAIN_FILE, TRAIN_COLUMNS)
        if len(rows) < state["rows"]:
            raise ValueError(f"train.csv has {len(rows)} rows, the checkpoint expects {state['rows']}")
        self.rows = rows[: state["rows"]]
        if len(rows) > len(self.rows):
            write_csv(self.run_dir / TRAIN_FILE, self.rows, TRAIN_COLUMNS)


def prepare_run_dir(cfg: RunConfig, run_dir: Path) -> RunConfig | None:
    """Check that `run_dir` is new, or holds this very run; returns the run's stored config when resuming.

    A finished or interrupted run may be continued with a larger `train.steps`; any other difference in
    the configuration is refused, since the records would then mix two experiments.
    """
    run_dir = Path(run_dir)
    config_path = run_dir / CONFIG_FILE
    if not config_path.exists():
        if run_dir.exists() and any(p.name != LOCK_FILE for p in run_dir.iterdir()):
            raise UserError(f"{run_dir} exists and is not a run directory; choose another --out")
        return None
    stored = load_yaml_config(config_path)
    old, new = stored.to_dict(), cfg.to_dict()
    old["train"]["steps"] = new["train"]["steps"]
    differ = [f"{s}.{k}" for s in new for k in new[s] if old.get(s, {}).get(k) != new[s][k]]
    if differ:
        raise UserError(f"{run_dir} holds a run with a different config ({', '.join(differ)}); choose another --out")
    return stored


def train(cfg: RunConfig, run_dir: Path, on_progress: ProgressHook = _no_progress) -> Trainer:
    """Train (or resume) the run in `run_dir`, holding its lock; nothing is written before the inputs are
    known to be good, and a run already trained to its steps is left untouched."""
    with run_lock(run_dir):
        stored = prepare_run_dir(cfg, run_dir)
        trainer = Trainer(cfg, run_dir)
        try:
            _train_locked(trainer, stored, on_progress)
        finally:
            trainer.env.close()  # StarCraft II games must not outlive their run (a sweep trains many in one process)
            trainer.test_env.close()
    return trainer


def _train_locked(trainer: Trainer, stored: RunConfig | None, on_progress: ProgressHook) -> None:
    cfg, run_dir = trainer.cfg, trainer.run_dir
    manifest_path = run_dir / MANIFEST_FILE
    if stored is not None and trainer.restore():
        manifest = _read_manifest(manifest_path)
        _check_steps(trainer, stored)
        if trainer.finished() and manifest.get("end_time"):
            return
        if trainer.progress.env_steps < cfg.train.steps:
            # Training changes the model, so evaluations and learned attacks of the old one are moved aside.
            retire_evaluations(run_dir, f"{trainer.progress.env_steps}steps")
        manifest["resumed"] = int(manifest.get("resumed", 0)) + 1
    else:
        sc2_version = getattr(trainer.env, "sc2_version", None)
        manifest = new_manifest(cfg.env.backend, trainer.device, cfg.train.seed, sc2_version)
    write_yaml(run_dir / CONFIG_FILE, cfg.to_dict())
    write_json(manifest_path, manifest)
    trainer.run(on_progress)
    restarts = int(manifest.get("env_restarts", 0)) + trainer.env.restarts + trainer.test_env.restarts
    manifest.update(
        end_time=now_iso(), env_steps=trainer.progress.env_steps, wall_seconds=trainer.progress.wall_seconds, env_restarts=restarts
    )
    write_json(manifest_path, manifest)


def _check_steps(trainer: Trainer, stored: RunConfig) -> None:
    """Refuse fewer steps than the model already has: config.yaml would then name a number it never had."""
    asked, done = trainer.cfg.train.steps, trainer.progress.env_steps
    if asked < done and asked < stored.train.steps:
        raise UserError(f"{trainer.run_dir} has already trained {done} env steps; --steps must be at least {stored.train.steps}")


def _read_manifest(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        raise UserError(f"{path} is missing or unreadable; the run directory is damaged") from None
