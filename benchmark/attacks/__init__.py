"""Test-time (and training-time) observation attacks, one registry.

An attack is a factory that takes an `AttackContext` and returns a `Perturb` for the runner, or None for
clean observations (every attack at eps = 0), registered together with its settings dataclass
(attacks/settings.py). Each perturbs only what the agents see, inside the L-inf ball of radius eps around
each attacked agent's observation. Adding an attack is one module plus one line here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import Field, dataclass, fields
from pathlib import Path
from typing import Any

from benchmark.attacks.ball import VictimSelector
from benchmark.attacks.context import AttackContext, AttackFactory
from benchmark.attacks.gradient import GradientAttack, step_perturb
from benchmark.attacks.learned import learned_perturb
from benchmark.attacks.noise import noise_perturb
from benchmark.attacks.settings import AttackConfig, BallConfig, LearnedConfig, PaadAttackConfig, PGDConfig, TransferConfig, label_fields, value_text
from benchmark.attacks.transfer import check_transfer, transfer_perturb
from benchmark.config import RunConfig, build, nest, parse_override, require
from benchmark.registry import Registry
from benchmark.runner import Perturb


@dataclass(frozen=True)
class Attack:
    make: AttackFactory
    config: type[AttackConfig]  # its settings
    summary: str  # one line for `robust-qmix attacks`
    # What the attack refuses before an evaluation plays any episode: (its settings, the evaluated run's
    # configuration and directory) -> None, or UserError.
    check: Callable[[Any, RunConfig, Path], None] = lambda settings, cfg, run_dir: None


def _victims(ctx: AttackContext) -> VictimSelector:
    return VictimSelector(ctx.options.victims, ctx.mac.info.n_agents, ctx.generator)


def _random(ctx: AttackContext) -> Perturb | None:
    return None if ctx.eps == 0 else noise_perturb(ctx.eps, _victims(ctx), ctx.options.clip, ctx.generator)


def _gradient(ctx: AttackContext, attack: GradientAttack) -> Perturb | None:
    if ctx.eps == 0:
        return None
    return step_perturb(attack, ctx.mac, ctx.eps, _victims(ctx), ctx.options.clip, ctx.generator)


ATTACKS: Registry[Attack] = Registry("attack")
ATTACKS.add("none", Attack(lambda ctx: None, AttackConfig, "clean observations"))
ATTACKS.add("random", Attack(_random, BallConfig, "uniform random noise in the ball"))
ATTACKS.add("fgsm", Attack(lambda ctx: _gradient(ctx, GradientAttack.fgsm()), BallConfig, "fast gradient sign method, one step (Goodfellow et al. 2015)"))
ATTACKS.add("pgd", Attack(lambda ctx: _gradient(ctx, GradientAttack.pgd(ctx.options.steps)), PGDConfig, "projected gradient descent from a random start (Madry et al. 2018)"))
ATTACKS.add("atla", Attack(lambda ctx: learned_perturb("atla", ctx), LearnedConfig, "a PPO adversary that perturbs directly, trained against the run (ATLA)"))
ATTACKS.add("paad", Attack(lambda ctx: learned_perturb("paad", ctx), PaadAttackConfig, "PA-AD: a learned director and a PGD actor, trained against the run"))
ATTACKS.add("transfer", Attack(
    lambda ctx: transfer_perturb(ctx, _victims(ctx)), TransferConfig,
    "black box: another run's model (source) crafts FGSM/PGD against itself, the run acts on it", check_transfer,
))  # fmt: skip


def parse_attack(spec: str) -> tuple[str, dict[str, Any]]:
    """An attack as a grid names it: its name, optionally with its own settings in eval.csv's label form,
    `pgd[steps=30]` or `paad[steps=30,ppo.lr=1e-3]` -> ("pgd", {"steps": 30}), values read as YAML scalars.
    This is how one grid holds two variants of one attack (PGD-10 and PGD-30)."""
    name, bracket, rest = spec.strip().partition("[")
    ATTACKS.get(name.strip())
    own: dict[str, Any] = {}
    if bracket:
        require(rest.endswith("]") and "[" not in rest, f"attack {spec!r} must look like name[key=value,...]")
        for item in filter(None, (part.strip() for part in rest[:-1].split(","))):
            nest(own, *parse_override(item))
    return name.strip(), own


def split_attacks(text: str) -> list[str]:
    """`none,pgd[steps=30,victims=1],fgsm` -> its three attacks: commas inside brackets belong to a setting."""
    return [part.strip() for part in re.split(r",(?![^\[]*\])", text) if part.strip()]


def attack_settings(spec: str, options: Mapping[str, Any]) -> AttackConfig:
    """The settings of attack `spec` (a name, or name[key=value,...]) from evaluation options (a nested
    mapping such as {"victims": 1, "ppo": {"lr": 1e-3}}), the spec's own settings over them; the options
    this attack does not have are left out, as they do not change it, but a spec's own must be its."""
    name, own = parse_attack(spec)
    cls = ATTACKS.get(name).config
    known = {f.name for f in fields(cls)}
    alien = sorted(set(own) - known)
    require(not alien, f"attack {spec!r}: {name} has no setting(s) {', '.join(alien)}; it has {', '.join(sorted(known))}")
    merged = {k: v for k, v in options.items() if k in known}
    for key, value in own.items():
        base = merged.get(key)
        merged[key] = {**base, **value} if isinstance(value, dict) and isinstance(base, dict) else value
    return build(cls, merged)


def attack_cells(attacks: Iterable[str], options: Mapping[str, Any]) -> dict[str, tuple[str, AttackConfig]]:
    """label -> (attack name, settings) for each attack (a name or name[key=value,...]) under `options`; two
    specs that come to the same settings are one cell. All of them test one checkpoint."""
    cells = {}
    for spec in attacks:
        name, _ = parse_attack(spec)
        settings = attack_settings(spec, options)
        cells.setdefault(attack_label(name, settings), (name, settings))
    models = sorted({s.model for _, s in cells.values()})
    require(len(models) == 1, f"one evaluation tests one checkpoint, but the attacks ask for {', '.join(models)}")
    return cells


def option_fields() -> list[Field]:
    """Every attack's settings fields, each name once, in registry order: the evaluation options there are."""
    found: dict[str, Field] = {}
    for name in ATTACKS:
        for f in fields(ATTACKS.get(name).config):
            found.setdefault(f.name, f)
    return list(found.values())


def check_options(options: Mapping[str, Any]) -> None:
    """Refuse an option that no attack has (a typo would otherwise change nothing, silently)."""
    known = {f.name for f in option_fields()}
    unknown = sorted(set(options) - known)
    require(not unknown, f"unknown attack option(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}")


def attack_label(name: str, settings: AttackConfig) -> str:
    """A cell's name in eval.csv: the attack, plus each of its settings that differs from its default (e.g.
    `pgd[steps=30,victims=1]`), so that cells run with other settings are neither mixed up with the default
    ones nor skipped as done."""
    changed = _changed(settings, type(settings)(), "")
    return f"{name}[{','.join(changed)}]" if changed else name


def _changed(settings: Any, defaults: Any, prefix: str) -> list[str]:
    out = []
    for f in label_fields(type(settings)):
        value, default = getattr(settings, f.name), getattr(defaults, f.name)
        if value == default:
            continue
        if hasattr(value, "__dataclass_fields__"):
            out += _changed(value, default, f"{prefix}{f.name}.")
        else:
            out.append(f"{prefix}{f.name}={value_text(value)}")
    return out


__all__ = [
    "ATTACKS", "Attack", "AttackContext", "AttackFactory", "attack_cells", "attack_label", "attack_settings", "check_options", "option_fields",
    "parse_attack", "split_attacks",
]
