"""Test-time (and training-time) observation attacks, one registry.

An attack factory takes an `AttackContext` and returns a `Perturb` for the runner, or None for clean
observations (every attack at eps = 0). Each perturbs only what the agents see, inside the L-inf ball of
radius eps around each attacked agent's observation. Adding an attack is one module plus one line here.
"""

from __future__ import annotations

from dataclasses import fields

from benchmark.attacks.ball import VictimSelector
from benchmark.attacks.context import AttackContext, AttackFactory
from benchmark.attacks.gradient import GradientAttack, step_perturb
from benchmark.attacks.learned import learned_perturb
from benchmark.attacks.noise import noise_perturb
from benchmark.config import AttackConfig
from benchmark.registry import Registry
from benchmark.runner import Perturb


def _victims(ctx: AttackContext) -> VictimSelector:
    return VictimSelector(ctx.options.victims, ctx.mac.info.n_agents, ctx.generator)


def _random(ctx: AttackContext) -> Perturb | None:
    return None if ctx.eps == 0 else noise_perturb(ctx.eps, _victims(ctx), ctx.options.clip, ctx.generator)


def _gradient(attack: GradientAttack) -> AttackFactory:
    def factory(ctx: AttackContext) -> Perturb | None:
        if ctx.eps == 0:
            return None
        return step_perturb(attack, ctx.mac, ctx.eps, _victims(ctx), ctx.options.clip, ctx.generator)

    return factory


def _pgd(ctx: AttackContext) -> Perturb | None:
    return _gradient(GradientAttack.pgd(ctx.options.steps))(ctx)


ATTACKS: Registry[AttackFactory] = Registry("attack")
ATTACKS.add("none", lambda ctx: None)
ATTACKS.add("random", _random)
ATTACKS.add("fgsm", _gradient(GradientAttack.fgsm()))
ATTACKS.add("pgd", _pgd)
ATTACKS.add("atla", lambda ctx: learned_perturb("atla", ctx))
ATTACKS.add("paad", lambda ctx: learned_perturb("paad", ctx))

# Options that change what each attack does, for labelling evaluation cells (see attack_label).
# `model` (which checkpoint of the victim) matters to every cell.
RELEVANT_OPTIONS = {
    "none": ("model",),
    "random": ("victims", "clip", "model"),
    "fgsm": ("victims", "clip", "model"),
    "pgd": ("steps", "victims", "clip", "model"),
    "atla": ("adversary_steps", "victims", "clip", "model"),
    "paad": ("steps", "adversary_steps", "victims", "clip", "model"),
}


def attack_label(name: str, options: AttackConfig) -> str:
    """A cell's name in eval.csv: the attack, plus each option that differs from its default and matters to
    it (e.g. `pgd[steps=30,victims=1]`), so that cells run with other options are neither mixed up with
    the default ones nor skipped as done."""
    defaults = AttackConfig()
    relevant = RELEVANT_OPTIONS.get(name, tuple(f.name for f in fields(AttackConfig)))
    changed = [f"{key}={_text(getattr(options, key))}" for key in relevant if getattr(options, key) != getattr(defaults, key)]
    return f"{name}[{','.join(changed)}]" if changed else name


def _text(value: object) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


__all__ = ["ATTACKS", "AttackContext", "AttackFactory", "attack_label"]
