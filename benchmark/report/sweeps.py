"""Sweeps of a robust method's knobs (kappa, inner PGD steps, ...), set beside the study's own runs.

A sweep is a sweep root of its own (`robust-qmix sweep ... --set method.kappa=0.3 --out DIR/NAME`): its
run directories have the same names as the study's (map/method/eps/seed), so they cannot share the study's
root or summary. The report takes a folder of such roots (`--sweeps DIR`) and labels each run by what its
config.yaml sets differently from the study's run of the same configuration, so the label is read from the
records, never typed. Which setting is chosen is decided on one cell only, FGSM at the train eps, so that
the other columns (PGD, PGD-30, the learned attacks) judge the choice without having made it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from benchmark.errors import UserError
from benchmark.report.aggregate import summarise
from benchmark.report.claims import MEASURED, NOT_RUN, ROUNDING, Claim, Decision, claim_from
from benchmark.report.labels import attack_name, attack_order, map_order, row_label
from benchmark.report.runs import EPS_DIGITS, Run, Skipped, collect_runs

STUDY_SETTING = "the study's"
CHOICE_ATTACK = "fgsm"
CONFIGURATION = ("backend", "map", "method", "train_eps")
IGNORED = ("train.seed",)  # seeds are pooled within a variant, never a variant themselves


def collect_sweeps(folder: Path) -> tuple[dict[str, tuple[Run, ...]], list[Skipped]]:
    """Each subfolder of `folder` is one sweep root: its runs, by the subfolder's name."""
    folder = Path(folder)
    if not folder.is_dir():
        raise UserError(f"--sweeps {folder}: no such folder")
    sweeps, skipped = {}, []
    for root in sorted(p for p in folder.iterdir() if p.is_dir()):
        found = collect_runs([root])
        sweeps[root.name] = found.runs
        skipped += found.skipped
    return sweeps, skipped


def variant(run: Run, study: Mapping[tuple, Run]) -> str | None:
    """What `run` sets differently from the study's run of its configuration (`kappa=0.3`); None when the
    study has no such run to compare with."""
    default = study.get(_config(run))
    if default is None:
        return None
    mine, theirs = _flat(run.record.config), _flat(default.record.config)
    changed = sorted(k for k in mine.keys() | theirs.keys() if k not in IGNORED and mine.get(k) != theirs.get(k))
    return ", ".join(f"{k.removeprefix('method.')}={mine.get(k)}" for k in changed) or STUDY_SETTING


def _config(run: Run) -> tuple:
    """The configuration a run belongs to: its identity without the seed (train eps already rounded)."""
    return run.identity[:-1]


def _flat(config: Mapping, prefix: str = "") -> dict[str, object]:
    flat = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        flat.update(_flat(value, f"{name}.") if isinstance(value, Mapping) else {name: value})
    return flat


def sweep_cells(study: Sequence[Run], sweeps: Mapping[str, Sequence[Run]], reps: int) -> pd.DataFrame:
    """summary.csv's rows for the study's runs of every swept configuration and for each sweep's runs, with
    a `variant` column."""
    by_config = {}
    for run in study:
        by_config.setdefault(_config(run), run)
    frames, swept = [], set()
    for runs in sweeps.values():
        labelled: dict[str, list[Run]] = {}
        for run in runs:
            label = variant(run, by_config)
            if label is not None:
                labelled.setdefault(label, []).append(run)
                swept.add(_config(run))
        frames += [summarise(group, reps).assign(variant=label) for label, group in labelled.items()]
    if not frames:
        return pd.DataFrame()
    defaults = [r for r in study if _config(r) in swept]
    frames.insert(0, summarise(defaults, reps).assign(variant=STUDY_SETTING))
    return pd.concat(frames, ignore_index=True)


def sweep_table(cells: pd.DataFrame) -> pd.DataFrame:
    """One row per (configuration, variant): seeds, clean win rate, and each attack at the train eps that
    every variant of the configuration has; `chosen` marks the best FGSM at the train eps."""
    rows = []
    maps = map_order(cells["map"].unique())
    for key, config in sorted(cells.groupby(list(CONFIGURATION)), key=lambda item: maps.index(item[0][1])):
        at_train = (config["test_eps"] - config["train_eps"]).abs() < 10**-EPS_DIGITS
        attacked = config[at_train & (config["attack"] != "none")]
        shared = [a for a, n in attacked.groupby("attack")["variant"].nunique().items() if n == config["variant"].nunique()]
        choice = _chosen(attacked[attacked["attack"] == CHOICE_ATTACK])
        for label, rows_of in config.groupby("variant", sort=False):
            clean = rows_of[(rows_of["attack"] == "none") & (rows_of["test_eps"] == 0)]["mean"]
            row = {"map": key[1], "configuration": row_label(key[2], key[3]), "variant": label,
                   "seeds": str(int(rows_of["seeds"].max())), "clean (%)": _percent(clean)}  # fmt: skip
            for attack in sorted(attack_order(shared), key=lambda a: a != CHOICE_ATTACK):  # the choosing cell first
                mine = attacked[(attacked["variant"] == label) & (attacked["attack"] == attack)]["mean"]
                row[f"{attack_name(attack)} ε={key[3]:g} (%)"] = _percent(mine)
            row["chosen"] = "yes" if label == choice else ""
            rows.append(row)
    return pd.DataFrame(rows)


def _chosen(fgsm: pd.DataFrame) -> str | None:
    """The variant with the highest FGSM win rate at the train eps; the study's setting wins a tie."""
    if fgsm.empty:
        return None
    best = fgsm["mean"].max()
    tied = fgsm[fgsm["mean"] >= best - ROUNDING]["variant"].tolist()
    return STUDY_SETTING if STUDY_SETTING in tied else tied[0]


def _percent(values: pd.Series) -> str:
    return f"{100 * values.iloc[0]:.0f}" if len(values) else "–"


def _decide(table: pd.DataFrame) -> Decision:
    """Measured when --sweeps holds runs of a configuration the study also ran: per map and configuration,
    each variant (what its runs' config.yaml sets differently from the study's runs of that configuration)
    with its clean win rate and its win rates at the train ε under every attack all variants share. The
    variant chosen has the highest FGSM win rate at the train ε (a tie goes to the study's setting); the
    other columns judge that choice and took no part in it. Not run otherwise."""
    if table.empty:
        return NOT_RUN, "no swept runs share a configuration with the study", None
    configs = table[["map", "configuration"]].drop_duplicates()
    return MEASURED, f"{len(table) - len(configs)} variant(s) of {len(configs)} configuration(s)", table


def sweeps_claim(cells: pd.DataFrame) -> Claim:
    """The sweeps as the report's last claim, from sweep_cells' rows."""
    table = sweep_table(cells) if not cells.empty else pd.DataFrame()
    return claim_from("i", "Sweeps of the robust methods' knobs", _decide, table)
