"""Learned attacks at test time: an adversary trained against this very victim, stored in its run directory.

The file is keyed by everything that defines the adversary (kind, eps, budget, victims, clip, PA-AD's actor
steps, PPO settings other than the defaults), so a second evaluation reuses it and an interrupted training
continues from its last save. Next to each finished adversary (NAME.pt) its training curve is kept as
NAME.csv (CURVE_COLUMNS, one row per PPO iteration), to see whether and when its return plateaued.
"""

from __future__ import annotations

from pathlib import Path

from benchmark import checkpoint
from benchmark.attacks.adversary import AdversaryPerturb, new_adversary
from benchmark.attacks.adversary_training import CURVE_COLUMNS, AdversaryTrainer, adversary_seed
from benchmark.attacks.ball import VictimSelector
from benchmark.attacks.context import AttackContext
from benchmark.attacks.settings import LearnedConfig, PGDConfig
from benchmark.errors import UserError
from benchmark.records import write_csv
from benchmark.runner import Perturb

ADVERSARY_DIR = "adversaries"
SAVE_EVERY = 20  # PPO iterations between saves of an adversary still training


def adversary_file(kind: str, eps: float, options: LearnedConfig) -> str:
    parts = [kind, f"eps{eps:g}", f"steps{options.adversary_steps}", f"victims{options.victims}"]
    if kind == "paad":
        parts.append(f"actor{actor_steps(options)}")
    if options.clip:
        parts.append("clip")
    if options.model != "last":
        parts.append(options.model)
    ppo = sorted(options.ppo.__dict__.items() - type(options.ppo)().__dict__.items())
    parts += [f"{key}{value:g}" for key, value in ppo]
    return "_".join(parts) + ".pt"


def actor_steps(options: LearnedConfig) -> int:
    """PA-AD's actor's PGD iterations (ATLA's adversary has no actor)."""
    return options.steps if isinstance(options, PGDConfig) else 0


def learned_perturb(kind: str, ctx: AttackContext) -> Perturb | None:
    if ctx.eps == 0:
        return None
    trainer = _trained(kind, ctx)
    victims = VictimSelector(ctx.options.victims, ctx.mac.info.n_agents, ctx.generator)
    # Evaluated with the mean action: the attack the adversary believes best, not its exploration noise.
    return AdversaryPerturb(
        trainer.adversary, ctx.mac, ctx.eps, victims, ctx.options.clip, actor_steps(ctx.options), ctx.generator, sample=False
    )


def _trained(kind: str, ctx: AttackContext) -> AdversaryTrainer:
    try:
        return _train_or_load(kind, ctx)
    except _Damaged:
        return _train_or_load(kind, ctx)


def _train_or_load(kind: str, ctx: AttackContext) -> AdversaryTrainer:
    options, mac = ctx.options, ctx.mac
    adversary = new_adversary(kind, mac.info, options.ppo, adversary_seed(ctx.cfg), mac.device)
    trainer = AdversaryTrainer.for_run(adversary, mac, ctx.cfg, options.ppo, options.victims, options.clip, actor_steps(options))
    path = None if ctx.run_dir is None else Path(ctx.run_dir) / ADVERSARY_DIR / adversary_file(kind, ctx.eps, options)
    try:
        if path is not None and path.exists() and _resumed(trainer, path):
            return trainer
        while trainer.env_steps < options.adversary_steps:
            trainer.iteration(ctx.eps)
            if path is not None and trainer.iterations % SAVE_EVERY == 0:
                checkpoint.save(path, {"trainer": trainer.state_dict(), "done": False})
    finally:
        trainer.env.close()  # only its adversary is used from here on
    if path is not None:
        checkpoint.save(path, {"trainer": trainer.state_dict(), "done": True})
        write_csv(path.with_suffix(".csv"), trainer.curve_rows(), CURVE_COLUMNS)
    return trainer


def _resumed(trainer: AdversaryTrainer, path: Path) -> bool:
    """Load a kept adversary; True when it finished training. A damaged file is only a lost cache: it is
    deleted and the adversary trained again (from a fresh trainer, as a failed load may have changed it)."""
    try:
        state = checkpoint.load(path, trainer.mac.device)
        trainer.load_state_dict(state["trainer"])
        return bool(state["done"])
    except (UserError, KeyError, TypeError, ValueError, RuntimeError, AttributeError):
        path.unlink(missing_ok=True)
        raise _Damaged from None


class _Damaged(Exception):
    """A kept adversary that could not be loaded (and is now deleted)."""
