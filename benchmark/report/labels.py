"""Names, orders and colours shared by tables and figures, so a method looks the same everywhere."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable

import pandas as pd
import seaborn as sns

KEYS = ("backend", "map", "method", "train_eps", "attack", "test_eps")
REFERENCE = "vanilla"  # the method without a defence, that every other is compared with

METHOD_NAMES = {
    "vanilla": "Vanilla",
    "adv_train": "Adv. train",
    "policy_reg": "Policy reg.",
    "atla": "ATLA",
    "paad": "PA-AD",
}
ATTACK_NAMES = {
    "none": "No attack",
    "random": "Random noise",
    "fgsm": "FGSM",
    "pgd": "PGD",
    "atla": "ATLA adversary",
    "paad": "PA-AD adversary",
    "transfer": "Transfer",
}
# Index into seaborn's colour-blind palette per known method: the baseline in grey, robust methods in the
# hues that stay distinct under the common colour-vision deficiencies.
_METHOD_COLOUR_INDEX = {"vanilla": 7, "adv_train": 0, "policy_reg": 1, "atla": 2, "paad": 3}
_SPARE_COLOUR_INDEX = (4, 5, 6, 8, 9)
LINESTYLES = ("-", "--", ":", "-.")
MARKERS = ("o", "s", "^", "D", "v", "P")


def _ordered(values: Iterable[str], known: Iterable[str]) -> list[str]:
    """Known names in their fixed order, then the others alphabetically."""
    values, known = set(values), list(known)
    return [k for k in known if k in values] + sorted(values - set(known))


def method_order(methods: Iterable[str]) -> list[str]:
    return _ordered(methods, METHOD_NAMES)


def train_configs(frame: pd.DataFrame) -> list[tuple[str, float]]:
    """The (method, train eps) pairs of a frame's rows: methods in their fixed order, radii ascending; the
    rows of every table and the lines and bars of every figure, in this order."""
    methods = frame["method"]
    return [(m, float(e)) for m in method_order(methods.unique()) for e in sorted(frame.loc[methods == m, "train_eps"].unique())]


def map_order(maps: Iterable[str]) -> list[str]:
    """The maps in the order of the project's map table (README), unknown ones after them."""
    from benchmark.envs.maps import MAPS  # imports torch: only when a report is drawn

    return _ordered(maps, MAPS.names())


def attack_order(attacks: Iterable[str]) -> list[str]:
    # An attack label may carry options (`pgd[steps=30]`); it sorts after its plain attack.
    attacks = list(attacks)
    return sorted(attacks, key=lambda a: (_rank(base_attack(a), ATTACK_NAMES), base_attack(a), a))


def _rank(name: str, known: dict[str, str]) -> int:
    return list(known).index(name) if name in known else len(known)


def base_attack(attack: str) -> str:
    """The attack's name without its settings: `pgd[steps=30]` -> `pgd`."""
    return attack.split("[", 1)[0]


def attacked(summary: pd.DataFrame) -> pd.Series:
    """Whether each summary row is a cell under an attack at a positive radius."""
    return (summary["attack"].map(base_attack) != "none") & (summary["test_eps"] > 0)


def ignores_eps(attack: str) -> bool:
    """Whether an attack's cells are the same at every test eps: evaluation without attack (whatever its
    options) replays the same clean battles at each."""
    return base_attack(attack) == "none"


def method_name(method: str) -> str:
    return METHOD_NAMES.get(method, method)


def attack_name(attack: str) -> str:
    base, _, options = attack.partition("[")
    name = ATTACK_NAMES.get(base, base)
    return f"{name} [{options}" if options else name


def attack_phrase(attack: str) -> str:
    """`without attack` or `under FGSM`, for titles and captions."""
    return "without attack" if attack == "none" else f"under {attack_name(attack)}"


def row_label(method: str, train_eps: float) -> str:
    """A table row / legend entry: the method, and its training radius when it trains under attack."""
    return f"{method_name(method)} (ε={train_eps:g})" if train_eps > 0 else method_name(method)


def eps_text(eps: float) -> str:
    return f"{eps:g}"


def method_colours(methods: Iterable[str]) -> dict[str, tuple[float, float, float]]:
    palette = sns.color_palette("colorblind", 10)
    spare = itertools.cycle(_SPARE_COLOUR_INDEX)
    return {
        m: palette[_METHOD_COLOUR_INDEX[m] if m in _METHOD_COLOUR_INDEX else next(spare)]
        for m in method_order(methods)
    }


def slug(text: str) -> str:
    """A file-name-safe form of an attack or map label."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-") or "x"
