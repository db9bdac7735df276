"""Each attack's own settings, as a frozen dataclass registered with it (benchmark/attacks/__init__.py).

The fields are what `robust-qmix evaluate` exposes as options (a field's metadata holds its flag and help),
what a preset's `eval` may set, and what an evaluation cell's label names when they differ from their
defaults (attack_label). A subclass adds its own fields to those of its parent.
"""

from __future__ import annotations

import dataclasses
import inspect
from dataclasses import dataclass, field
from typing import Any

from benchmark.config import MODEL_CHOICES, PGD_STEPS, VICTIMS_ALL, AdversaryConfig, require


def option(default: Any, help: str, flag: str | None = None, **more: Any) -> Any:
    """A settings field that is also a command-line option (`flag`: its name if not the field's)."""
    return field(default=default, metadata={"help": help, "flag": flag, **more})


@dataclass(frozen=True)
class AttackConfig:
    """What every attack, clean play included, is evaluated on."""

    model: str = option(
        "last", "The run's checkpoint: last (model.pt) or best (best.pt, best clean test round).", choices=MODEL_CHOICES
    )

    def __post_init__(self) -> None:
        require(self.model in MODEL_CHOICES, f"model must be {' or '.join(MODEL_CHOICES)}, got {self.model!r}")


@dataclass(frozen=True)
class BallConfig(AttackConfig):
    """An attack inside the L-inf ball around the observations of some or all agents."""

    victims: int = option(VICTIMS_ALL, "Attack this many random agents per episode (0 = all).")
    # Clip perturbed features to SMAC's normalised range [-1, 1]. Off by default: the study bounds only
    # ||delta||_inf, as Huang et al. 2017 and SA-DQN do for their (unbounded-feature) inputs.
    clip: bool = option(False, "Clip perturbed features to [-1, 1].")

    def __post_init__(self) -> None:
        super().__post_init__()
        require(self.victims >= 0, f"victims must be >= 0 (0 = all agents), got {self.victims}")


@dataclass(frozen=True)
class PGDConfig(BallConfig):
    steps: int = option(PGD_STEPS, "PGD iterations (also PA-AD's actor and a transfer's source).", flag="pgd-steps")

    def __post_init__(self) -> None:
        super().__post_init__()
        require(self.steps >= 1, f"attack steps must be >= 1, got {self.steps}")


TRANSFER_BASES = ("pgd", "fgsm")  # how a transfer attack's source model crafts its perturbation


@dataclass(frozen=True)
class TransferConfig(PGDConfig):
    """A black-box transfer attack: another run's model crafts the perturbation, the evaluated run acts on it.

    `source` has no default that could mean anything: an empty one is refused when the attack is evaluated
    (attacks/transfer.py), not here, since a cell's label compares its settings with the class's defaults."""

    source: str = option("", "Transfer: the run directory whose model crafts the perturbation, relative to the evaluated run's (e.g. ../seed1) or absolute.")
    source_model: str = option("last", "Transfer: the source run's checkpoint, last or best.", choices=MODEL_CHOICES)
    base: str = option("pgd", "Transfer: how the source crafts, pgd (--pgd-steps) or fgsm.", flag="transfer-base", choices=TRANSFER_BASES)

    def __post_init__(self) -> None:
        super().__post_init__()
        require(self.source_model in MODEL_CHOICES, f"source_model must be {' or '.join(MODEL_CHOICES)}, got {self.source_model!r}")
        require(self.base in TRANSFER_BASES, f"transfer base must be {' or '.join(TRANSFER_BASES)}, got {self.base!r}")


@dataclass(frozen=True)
class LearnedConfig(BallConfig):
    """A PPO adversary trained against the victim before it is evaluated, kept in the victim's run directory
    and reused."""

    # 100k env steps is the scale of the study's short runs, not a claim of convergence: an adversary
    # trained longer is stronger.
    adversary_steps: int = option(100_000, "Env steps to train a learned attack against the run.")
    ppo: AdversaryConfig = field(default_factory=AdversaryConfig)  # set with --set ppo.KEY=VALUE

    def __post_init__(self) -> None:
        super().__post_init__()
        require(self.adversary_steps >= 0, f"adversary steps must be >= 0, got {self.adversary_steps}")


@dataclass(frozen=True)
class PaadAttackConfig(PGDConfig, LearnedConfig):
    """PA-AD: a learned director whose chosen direction a PGD actor realises inside the ball."""


def value_text(value: object) -> str:
    """A setting's value as the command line and YAML write it (booleans as true/false)."""
    return str(value).lower() if isinstance(value, bool) else str(value)


def label_fields(cls: type) -> list[dataclasses.Field]:
    """A settings class's fields, each class's own before its bases' (in method resolution order): the
    order an evaluation cell's label names them in."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    names = dict.fromkeys(name for klass in cls.__mro__ for name in inspect.get_annotations(klass))
    return [fields[name] for name in names if name in fields]
