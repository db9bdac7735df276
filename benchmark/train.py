"""The training loop: collect, learn, test, record and checkpoint, for one run or a run group of several in
lock-step; a killed run (or group) resumes exactly."""

from __future__ import annotations

import json
import math
import time
import warnings
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from benchmark import checkpoint, model_files, numerics
from benchmark.config import RESUMABLE_KEYS, ConfigNote, RunConfig, load_run_config, same_experiment
from benchmark.device import configure_threads, keep_freed_memory, resolve_device
from benchmark.envs.groups import TestEnvs, make_group_env
from benchmark.errors import UserError
from benchmark.eval_records import retire_evaluations
from benchmark.manifest import new_manifest, now_iso
from benchmark.methods import METHODS
from benchmark.qmix.buffer import ReplayBuffer
from benchmark.qmix.controller import AgentController, linear_epsilon
from benchmark.qmix.learner import QLearner
from benchmark.qmix.stacked import run_state
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
from benchmark.runner import EpisodeRunner
from benchmark.streams import Live, RunGenerators, run_seeds
from benchmark.tb_log import TensorBoardSink, round_scalars


@dataclass
class Progress:
    env_steps: int = 0
    episodes: int = 0
    last_test: int | None = None
    last_checkpoint: int = 0
    wall_seconds: float = 0.0
    losses: list[float] = field(default_factory=list)
    best_test: list[float] | None = None  # (win rate, return) of the test round saved as best.pt
    # Only with train.tensorboard: tag -> [sum, count] of the scalars logged since the last test round.
    scalars: dict[str, list[float]] = field(default_factory=dict)

    def add_scalars(self, tag_values: dict[str, list[float]]) -> None:
        for tag, values in tag_values.items():
            total = self.scalars.setdefault(tag, [0.0, 0])
            total[0], total[1] = total[0] + sum(values), total[1] + len(values)

    def take_scalar_means(self) -> dict[str, float]:
        means = {tag: total / count for tag, (total, count) in self.scalars.items() if count}
        self.scalars = {}
        return means


# Called for a run after every iteration with its progress, and with its new train.csv row after a test round.
ProgressHook = Callable[[Progress, dict | None], None]


def _no_progress(progress: Progress, row: dict | None) -> None:
    del progress, row


class GroupTrainer:
    """K runs (one map, one method, one network shape; seeds, train eps and steps may differ) trained in
    lock-step as one batched computation: one simulator holding the K x B environments, stacked networks,
    per-run replay buffers, optimiser states, gradient clips, target clocks, schedules and random streams.

    Each run keeps its own run directory, records and checkpoints, and computes what it would compute
    alone: run k of a group writes the train.csv of the same run trained by itself (to float tolerance;
    tests/test_groups.py). A run that is not learning this iteration (its buffer is still filling, or it
    has finished) keeps its state exactly, while the others go on.
    """

    def __init__(self, cfgs: Sequence[RunConfig], run_dirs: Sequence[Path]) -> None:
        self.cfgs, self.run_dirs = list(cfgs), [Path(d) for d in run_dirs]
        cfg = self.cfg = self.cfgs[0]
        _check_group(self.cfgs)
        self.device = resolve_device(cfg.train.device)
        configure_threads(cfg.train.threads)
        keep_freed_memory()
        seeds = [run_seeds(c.train.seed) for c in self.cfgs]
        live = Live()
        self.env = make_group_env(cfg, [s["env"] for s in seeds], cfg.env.batch_envs, self.device)
        self.test_envs = TestEnvs(cfg, [s["test_env"] for s in seeds], self.device)
        info = self.env.info
        self.mac = AgentController(info, cfg.qmix, self.device, [s["agent_init"] for s in seeds])
        self.mac.sequence_bf16 = cfg.train.precision == "bf16"
        self.learner = QLearner(self.mac, info.state_shape, cfg.qmix, [s["mixer_init"] for s in seeds])
        self.method = METHODS.get(cfg.method.name)(self.cfgs, self.learner, live)
        self.buffer = ReplayBuffer(
            info, cfg.qmix.buffer_size, self.device, [s["buffer"] for s in seeds], store_seen=self.method.learns_from_seen_obs,
            features=getattr(torch, cfg.qmix.buffer_dtype),
        )
        self.runner = EpisodeRunner(self.env, self.mac, RunGenerators([s["action"] for s in seeds], self.device, live))
        self.progress = [Progress() for _ in self.cfgs]
        self.rows: list[list[dict]] = [[] for _ in self.cfgs]
        self.final = [False] * len(self.cfgs)  # trained, tested and checkpointed at its last step, or failed
        # A run of a group that diverges stops with its error here while the others go on (alone, it raises).
        self.failures: dict[int, str] = {}
        self.tb = TensorBoardSink(self.run_dirs, cfg.train.tensorboard)
        # (an update's scalars [K] ("loss" only unless logging to TensorBoard), learning runs [K])
        self._unread_updates: list[tuple[dict[str, torch.Tensor], torch.Tensor]] = []

    # -- the loop -------------------------------------------------------------------------------------
    def run(self, on_progress: ProgressHook = _no_progress) -> None:
        started = [time.perf_counter() - p.wall_seconds for p in self.progress]  # a resumed run keeps its time

        def clock() -> None:
            for p, t0 in zip(self.progress, started, strict=True):
                p.wall_seconds = time.perf_counter() - t0

        while True:
            clock()
            due = [not done and self._test_due(k) for k, done in enumerate(self.final)]
            if any(due):
                for k, row in self._test_rows(due):
                    on_progress(self.progress[k], row)
            for k in self._finishing():
                self.save_checkpoint(k)
                self.final[k] = True
            if all(self.final):
                break
            self.iteration()
            for k, p in enumerate(self.progress):
                if not self.final[k]:
                    on_progress(p, None)
            clock()
            for k, (c, p) in enumerate(zip(self.cfgs, self.progress, strict=True)):
                if not self.final[k] and p.env_steps - p.last_checkpoint >= c.train.checkpoint_interval:
                    self.save_checkpoint(k)

    def _finishing(self) -> list[int]:
        return [k for k, (c, p) in enumerate(zip(self.cfgs, self.progress, strict=True))
                if not self.final[k] and p.env_steps >= c.train.steps]

    def _test_due(self, k: int) -> bool:
        p, steps = self.progress[k], self.cfgs[k].train
        if p.last_test is None:
            return True
        due = p.env_steps - p.last_test >= steps.test_interval
        return due or (p.env_steps >= steps.steps and p.last_test < p.env_steps)

    def collecting(self) -> list[bool]:
        return [not done and p.env_steps < c.train.steps for c, p, done in zip(self.cfgs, self.progress, self.final, strict=True)]

    def iteration(self) -> None:
        """One collect-and-learn step of every run still training: `batch_envs` episodes into its buffer,
        then one update once its buffer can sample."""
        runs, qmix = self.collecting(), self.cfg.qmix
        steps = [p.env_steps for p in self.progress]
        epsilon = [linear_epsilon(qmix, s) for s in steps]
        batch, stats = self.runner.run(epsilon, perturb=self.method.collect_perturb(steps, runs), runs=runs)
        self.buffer.insert(batch, runs)
        lengths = stats.lengths.view(len(runs), -1)
        for k, p in enumerate(self.progress):
            if runs[k]:
                p.env_steps += int(lengths[k].sum())
                p.episodes += lengths.shape[1]
        learning = torch.tensor(runs) & torch.tensor(self.buffer.can_sample(qmix.batch_size))
        if bool(learning.any()):
            sample = self.buffer.sample(qmix.batch_size, learning.tolist())
            scalars = self.method.update(sample, [p.env_steps for p in self.progress], learning)
            kept = scalars if self.tb.enabled else {"loss": scalars["loss"]}
            # Read at the next record, not now: no device sync.
            self._unread_updates.append(({key: v.detach() for key, v in kept.items()}, learning))
            self.learner.maybe_update_targets([p.episodes if learning[k] else -math.inf for k, p in enumerate(self.progress)])

        if self.tb.enabled:
            for k, p in enumerate(self.progress):
                p.add_scalars(self.method.take_scalars(k))

    def _read_losses(self) -> None:
        """Move the updates' losses (and for TensorBoard their other scalars) into each run's progress (one
        device-to-host copy per scalar for many updates); a run whose loss became NaN or infinite has diverged."""
        if not self._unread_updates:
            return
        updates, self._unread_updates = self._unread_updates, []
        learned = torch.stack([runs for _, runs in updates])
        values = {key: torch.stack([u[key] for u, _ in updates]).cpu() for key in updates[0][0]}
        for k in range(len(self.cfgs)):
            losses = values["loss"][learned[:, k], k]
            bad = losses[~torch.isfinite(losses)]
            if len(bad) and k not in self.failures:
                self._fail(k, self._diverged(k, f"the loss became {float(bad[0])}"))
            self.progress[k].losses.extend(losses.tolist())
            if self.tb.enabled:
                self.progress[k].add_scalars({f"train/{key}": v[learned[:, k], k].tolist() for key, v in values.items()})

    def _fail(self, k: int, err: UserError) -> None:
        if len(self.cfgs) == 1:
            raise err
        self.failures[k], self.final[k] = str(err), True

    def _diverged(self, k: int, what: str) -> UserError:
        p = self.progress[k]
        return UserError(
            f"{self.run_dirs[k]}: training diverged by env step {p.env_steps}: {what}; nothing after the checkpoint "
            f"at env step {p.last_checkpoint} was saved (lower qmix.lr or qmix.grad_norm_clip)"
        )

    def _test_rows(self, due: list[bool]) -> list[tuple[int, dict]]:
        """Greedy episodes with clean observations for the runs due a test round; their train.csv rows."""
        self._read_losses()
        runs = [k for k, d in enumerate(due) if d and k not in self.failures]
        if not runs:
            return []
        stats = self.test_envs.run(self.mac.view(runs), runs)
        out = []
        for i, k in enumerate(runs):
            p = self.progress[k]
            won, returns = stats.won.view(len(runs), -1)[i], stats.returns.view(len(runs), -1)[i]
            row = {
                "env_steps": p.env_steps,
                "test_win_rate": float(won.mean()),
                "test_return": float(returns.mean()),
                "loss": sum(p.losses) / len(p.losses) if p.losses else float("nan"),
                "epsilon": linear_epsilon(self.cfg.qmix, p.env_steps),
                "wall_seconds": round(p.wall_seconds, 3),
            }
            p.losses, p.last_test = [], p.env_steps
            previous = self.rows[k][-1] if self.rows[k] else None
            self.tb.log_round(k, p.env_steps, round_scalars(row, previous, p.take_scalar_means()))
            self.rows[k].append(row)
            write_csv(self.run_dirs[k] / TRAIN_FILE, self.rows[k], TRAIN_COLUMNS)
            self._keep_if_best(k, row)
            out.append((k, row))
        return out

    def _keep_if_best(self, k: int, row: dict) -> None:
        """Save the model as best.pt when this round's clean greedy win rate (then return) beats every earlier
        round's: the validation choice pymarl's logs and papers report, beside the last model."""
        score = [row["test_win_rate"], row["test_return"]]
        p = self.progress[k]
        if p.best_test is None or score > p.best_test:
            p.best_test = score
            checkpoint.save(self.run_dirs[k] / CHECKPOINT_DIR / checkpoint.BEST_MODEL_FILE, self.model_state(k))

    # -- checkpoints ----------------------------------------------------------------------------------
    def save_checkpoint(self, k: int) -> None:
        self._read_losses()
        if k in self.failures:
            return
        model = self.model_state(k)
        networks = (model["agent"], model["mixer"])
        if not all(torch.isfinite(t).all() for net in networks for t in net.values()):
            self._fail(k, self._diverged(k, "the networks hold NaN or infinite weights"))
            return
        self.progress[k].last_checkpoint = self.progress[k].env_steps
        state = {
            "format": STATE_FORMAT,
            "config": self.cfgs[k].to_dict(),
            "progress": asdict(self.progress[k]),
            "rows": len(self.rows[k]),
            "learner": self.learner.run_state_dict(k),
            "method": self.method.run_state_dict(k),
            "buffer": self.buffer.run_state_dict(k),
            "rng": {
                "env": _rows_of(self.env.rng_state(), k, len(self.cfgs)),
                "test_env": self.test_envs.rng_state(k),
                "runner": self.runner.generators.get_state(k),
            },
        }
        folder = self.run_dirs[k] / CHECKPOINT_DIR
        checkpoint.save(folder / checkpoint.STATE_FILE, state)
        checkpoint.save(folder / checkpoint.MODEL_FILE, model)
        self.method.write_records(k, self.run_dirs[k])

    def model_state(self, k: int) -> dict:
        return {
            "agent": self.mac.run_state(k),
            "mixer": run_state(self.learner.mixer, k),
            "env_info": asdict(self.env.info),
            "env_steps": self.progress[k].env_steps,
        }

    def restore(self, k: int) -> bool:
        """Continue run k from its last checkpoint, if there is one; rows written after it are dropped."""
        run_dir = self.run_dirs[k]
        path = run_dir / CHECKPOINT_DIR / checkpoint.STATE_FILE
        if not path.exists():
            # model.pt is written after last.pt, so a model without its resume state was exported: starting
            # over would silently replace the shared model and its records.
            if model_files.model_path(run_dir).exists():
                raise UserError(f"{run_dir} was exported without its resume state (last.pt); train into a new --out")
            return False
        state = checkpoint.load(path, self.device)
        if state.get("format") != STATE_FORMAT:
            raise UserError(f"checkpoint {path} was written by an older version of robust-qmix and cannot be resumed; "
                            "its records and model.pt stay usable; train into a new --out")
        if not self._same_run(k, state.get("config")):
            raise UserError(f"checkpoint {path} belongs to another run (its stored config differs from config.yaml); train into a new --out")
        try:
            self._load_state(k, state)
        except (KeyError, RuntimeError, TypeError, ValueError, AttributeError, IndexError) as err:
            raise UserError(f"checkpoint {path} does not match this run ({str(err).splitlines()[0][:120]})") from None
        return True

    def _same_run(self, k: int, stored: object) -> bool:
        """The checkpoint was written by this run (any number of steps): a last.pt copied from another
        run would otherwise resume silently and stitch two runs' train.csv together."""
        try:
            with warnings.catch_warnings():  # config.yaml's note has said what an old checkpoint's config drops
                warnings.simplefilter("ignore", ConfigNote)
                stored = RunConfig.from_stored(stored, "checkpoint")
            return same_experiment(stored, self.cfgs[k])
        except UserError:
            return False

    def finished(self, k: int) -> bool:
        """Trained to its steps, tested and checkpointed there: running again would change nothing."""
        p = self.progress[k]
        return p.env_steps >= self.cfgs[k].train.steps and not self._test_due(k) and p.last_checkpoint == p.env_steps

    def _load_state(self, k: int, state: dict) -> None:
        self.learner.load_run_state_dict(k, state["learner"])
        self.method.load_run_state_dict(k, state["method"])
        self.buffer.load_run_state_dict(k, state["buffer"])
        self.progress[k] = Progress(**state["progress"])
        rng = state["rng"]
        self.env.set_rng_state(_with_rows(self.env.rng_state(), k, len(self.cfgs), rng["env"]))
        self.test_envs.set_rng_state(k, rng["test_env"])
        self.runner.generators.set_state(k, rng["runner"])
        train_csv = self.run_dirs[k] / TRAIN_FILE
        rows = read_csv_rows(train_csv, TRAIN_COLUMNS)
        if len(rows) < state["rows"]:
            raise ValueError(f"train.csv has {len(rows)} rows, the checkpoint expects {state['rows']}")
        self.rows[k] = rows[: state["rows"]]
        if len(rows) > len(self.rows[k]):
            write_csv(train_csv, self.rows[k], TRAIN_COLUMNS)

    def close(self) -> None:
        self.env.close()  # StarCraft II games must not outlive their run (a sweep trains many in one process)
        self.test_envs.close()
        self.tb.close()


class Trainer(GroupTrainer):
    """A single run: a group of one, with the run's own progress and records at hand."""

    def __init__(self, cfg: RunConfig, run_dir: Path) -> None:
        super().__init__([cfg], [run_dir])
        self.run_dir = self.run_dirs[0]

    @property
    def run_progress(self) -> Progress:
        return self.progress[0]

    @property
    def run_rows(self) -> list[dict]:
        return self.rows[0]


STATE_FORMAT = 2  # last.pt layout: 2 = one run's slice of a run group (per-run streams from SeedSequence)
GROUP_VARYING = ("train.seed", "method.train_eps", "train.steps")  # what may differ between a group's runs


def group_key(cfg: RunConfig) -> RunConfig:
    """The part of a run's config that its group shares: runs with equal keys may train together."""
    return cfg.with_overrides({key: getattr(getattr(RunConfig(), key.split(".")[0]), key.split(".")[1]) for key in GROUP_VARYING})


def _check_group(cfgs: Sequence[RunConfig]) -> None:
    keys = {group_key(c) for c in cfgs}
    if len(keys) > 1:
        raise UserError(f"the runs of a group may differ only in {', '.join(GROUP_VARYING)}")
    if len(cfgs) > 1 and cfgs[0].env.backend != "sim":
        raise UserError(f"run groups need the built-in simulator; the {cfgs[0].env.backend} backend trains one run at a time")


def _rows_of(state: dict[str, torch.Tensor], k: int, runs: int) -> dict[str, torch.Tensor]:
    """Run k's part of a group env's per-environment random state."""
    return {key: value.view(runs, -1)[k].clone() for key, value in state.items()}


def _with_rows(state: dict[str, torch.Tensor], k: int, runs: int, part: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    out = {key: value.clone() for key, value in state.items()}
    for key, value in out.items():
        value.view(runs, -1)[k] = part[key].to(value.device)
    return out


def prepare_run_dir(cfg: RunConfig, run_dir: Path) -> RunConfig | None:
    """Check that `run_dir` is new, or holds this very run; returns the run's stored config when resuming.

    A finished or interrupted run may be continued with a larger `train.steps` and with TensorBoard logging
    switched on or off (RESUMABLE_KEYS); any other difference in the configuration is refused, since the
    records would then mix two experiments.
    """
    run_dir = Path(run_dir)
    config_path = run_dir / CONFIG_FILE
    if not config_path.exists():
        if run_dir.exists() and any(p.name != LOCK_FILE for p in run_dir.iterdir()):
            raise UserError(f"{run_dir} exists and is not a run directory; choose another --out")
        return None
    stored = load_run_config(config_path)
    old, new = stored.to_dict(), cfg.to_dict()
    for key in RESUMABLE_KEYS:
        section, name = key.split(".")
        old[section][name] = new[section][name]
    differ = [f"{s}.{k}" for s in new for k in new[s] if old.get(s, {}).get(k) != new[s][k]]
    if differ:
        raise UserError(f"{run_dir} holds a run with a different config ({', '.join(differ)}); choose another --out")
    return stored


def train(cfg: RunConfig, run_dir: Path, on_progress: ProgressHook = _no_progress) -> Trainer:
    """Train (or resume) the run in `run_dir`, holding its lock; nothing is written before the inputs are
    known to be good, and a run already trained to its steps is left untouched."""
    return _train_runs([cfg], [run_dir], on_progress, lambda: Trainer(cfg, run_dir))


def train_group(cfgs: Sequence[RunConfig], run_dirs: Sequence[Path], on_progress: ProgressHook = _no_progress) -> GroupTrainer:
    """`train` for the runs of a group at once (each run's directory locked, checked and resumed on its own)."""
    return _train_runs(cfgs, run_dirs, on_progress, lambda: GroupTrainer(cfgs, run_dirs))


def _train_runs(cfgs: Sequence[RunConfig], run_dirs: Sequence[Path], on_progress: ProgressHook,
                build: Callable[[], GroupTrainer]) -> GroupTrainer:
    with ExitStack() as locks:
        for run_dir in run_dirs:
            locks.enter_context(run_lock(run_dir))
        stored = [prepare_run_dir(c, d) for c, d in zip(cfgs, run_dirs, strict=True)]
        trainer = build()
        try:
            _train_locked(trainer, stored, on_progress)
        finally:
            trainer.close()
    return trainer


def _train_locked(trainer: GroupTrainer, stored: list[RunConfig | None], on_progress: ProgressHook) -> None:
    manifests = [_start_run(trainer, k, s) for k, s in enumerate(stored)]
    trainer.final = [m is None for m in manifests]
    if all(trainer.final):
        return
    trainer.run(on_progress)
    restarts = trainer.env.restarts + trainer.test_envs.restarts
    for k, manifest in enumerate(manifests):
        if manifest is None or k in trainer.failures:
            continue
        p = trainer.progress[k]
        manifest.update(
            end_time=now_iso(), env_steps=p.env_steps, wall_seconds=p.wall_seconds,
            env_restarts=int(manifest.get("env_restarts", 0)) + restarts,
        )  # fmt: skip
        write_json(trainer.run_dirs[k] / MANIFEST_FILE, manifest)


def _start_run(trainer: GroupTrainer, k: int, stored: RunConfig | None) -> dict | None:
    """Resume or start run k's records; None when it is already finished (nothing to do or write)."""
    cfg, run_dir = trainer.cfgs[k], trainer.run_dirs[k]
    manifest_path = run_dir / MANIFEST_FILE
    if stored is not None and trainer.restore(k):
        manifest = _read_manifest(manifest_path)
        _check_steps(trainer, k, stored)
        if trainer.finished(k) and manifest.get("end_time"):
            return None
        if trainer.progress[k].env_steps < cfg.train.steps:
            # Training changes the model, so evaluations and learned attacks of the old one are moved aside.
            retire_evaluations(run_dir, f"{trainer.progress[k].env_steps}steps")
        manifest["resumed"] = int(manifest.get("resumed", 0)) + 1
        if (now := numerics.current()) != manifest.get("numerics"):  # a segment computed otherwise
            manifest.setdefault("numerics_resumed", []).append(now)
    else:
        sc2_version = getattr(trainer.env, "sc2_version", None)
        manifest = new_manifest(cfg.env.backend, trainer.device, cfg.train.seed, sc2_version)
    manifest.update(group_size=len(trainer.cfgs), precision=cfg.train.precision)
    write_yaml(run_dir / CONFIG_FILE, cfg.to_dict())
    write_json(manifest_path, manifest)
    return manifest


def _check_steps(trainer: GroupTrainer, k: int, stored: RunConfig) -> None:
    """Refuse fewer steps than the model already has: config.yaml would then name a number it never had."""
    asked, done = trainer.cfgs[k].train.steps, trainer.progress[k].env_steps
    if asked < done and asked < stored.train.steps:
        raise UserError(f"{trainer.run_dirs[k]} has already trained {done} env steps; --steps must be at least {stored.train.steps}")


def _read_manifest(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        raise UserError(f"{path} is missing or unreadable; the run directory is damaged") from None
