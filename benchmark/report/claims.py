"""Criteria and the study's claims, decided by fixed rules from summary.csv and the training cost.

The verdicts are computed, never written by hand, so that a report says what its own numbers support and
a new sweep can overturn a claim. `criteria` checks each robust configuration against vanilla on the same
map (clean win rate kept, gradient attacks resisted); `claims` judges the study's statements from those
checks and the summary. Each claim's rule is the docstring of the function that decides it, and the report
prints that docstring next to the verdict, so the rule shown is the rule applied.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import pandas as pd
import scipy.stats

from benchmark.report.labels import REFERENCE, attack_name, attack_order, attacked, base_attack, map_order, method_name, method_order, row_label
from benchmark.report.runs import EPS_DIGITS
from benchmark.report.stats import CONFIDENCE
from benchmark.report.tables import md_row

ROBUST_METHODS = ("adv_train", "policy_reg", "atla", "paad")
GRADIENT_ATTACKS = ("fgsm", "pgd")
LEARNED_ATTACKS = ("atla", "paad")
CLEAN_TOLERANCE = 0.15  # a robust method may lose this much clean win rate against vanilla
ROBUST_MARGIN = 0.2  # and must win this much more often than vanilla under a gradient attack
VANILLA_BROKEN = 0.5  # an attack check counts only where it brings vanilla below this win rate
ROUNDING = 1e-9  # win rates are ratios of counts: a boundary hit exactly must not fail by a float's last bit
PAAD_EPS_RANGE = (0.05, 0.5)  # the training radii the PA-AD ablation asks for
PAAD_EPS_COUNT = 3

PASS, FAIL, NOT_APPLICABLE, MISSING = "pass", "fail", "n/a", "missing"
HOLDS, DOES_NOT_HOLD, INCONCLUSIVE, NOT_RUN, MEASURED = "holds", "does not hold", "inconclusive", "not run", "measured"
SEED_INTERVALS, EPISODE_INTERVALS = "seeds", "episodes (1 seed)"
CLEAN = "clean"

CELL = ("backend", "map", "attack", "test_eps")  # what two configurations are compared in
CRITERIA_COLUMNS = (
    "backend",
    "map",
    "method",
    "train_eps",
    "check",
    "test_eps",
    "status",
    "mean",
    "low",
    "high",
    "vanilla_mean",
    "vanilla_low",
    "vanilla_high",
    "margin",
    "interval",
    "reason",
)

CRITERIA_NOTE = (
    f"Each robust configuration against vanilla on the same map. clean: its win rate without attack (test ε 0) "
    f"must be at least vanilla's minus {100 * CLEAN_TOLERANCE:.0f} points. Each FGSM or PGD variant, at test ε "
    f"equal to the method's training ε, counts only where vanilla wins under {100 * VANILLA_BROKEN:.0f}% (else "
    f"n/a); it passes when the method wins at least {100 * ROBUST_MARGIN:.0f} points more often than vanilla and "
    f"the two 95% intervals do not overlap. Intervals are the seeds' bootstrap intervals of summary.csv when both "
    f"sides have two or more seeds, else Wilson score intervals on the pooled episodes of both sides. missing: "
    f"vanilla or the method has no such cell. Win rates in %, with their interval in brackets."
)


@dataclass(frozen=True)
class Estimate:
    mean: float
    low: float
    high: float


@dataclass(frozen=True)
class Claim:
    key: str
    statement: str
    rule: str
    verdict: str
    evidence: str  # one or two sentences, ending in a full stop
    table: pd.DataFrame | None = None  # in display form (strings), or None


# ---- intervals and cell comparisons


def wilson(wins: int, episodes: int) -> tuple[float, float]:
    """The 95% Wilson score interval of a win rate from pooled episodes: with one seed the bootstrap over
    seeds has nothing to resample, but the episodes still say how precisely the rate is known."""
    interval = scipy.stats.binomtest(int(wins), int(episodes)).proportion_ci(CONFIDENCE, method="wilson")
    return float(interval.low), float(interval.high)


def paired_estimates(a: Mapping, b: Mapping) -> tuple[Estimate, Estimate, str]:
    """Both sides' means and intervals on one footing: the seeds' bootstrap when both have >= 2 seeds, else
    Wilson intervals on pooled episodes for both (one bootstrap point against a real interval would compare
    unlike things)."""
    if a["seeds"] >= 2 and b["seeds"] >= 2:
        return (*(Estimate(r["mean"], r["mean_ci_low"], r["mean_ci_high"]) for r in (a, b)), SEED_INTERVALS)
    return (*(Estimate(r["mean"], *wilson(r["wins"], r["episodes"])) for r in (a, b)), EPISODE_INTERVALS)


def separation(a: Estimate, b: Estimate) -> int:
    """+1 when a's interval lies wholly above b's, -1 when wholly below, 0 when they overlap."""
    return 1 if a.low > b.high else -1 if a.high < b.low else 0


def percent(value: float) -> str:
    return f"{100 * value:.0f}%"


def _points(difference: float) -> str:
    """A difference in percentage points, to a tenth unless whole: rounded to whole points, +19.5 would read
    "+20 (< 20)" beside the threshold it missed."""
    points = 100 * difference
    return f"{points:+.0f}" if abs(points - round(points)) < 1e-6 else f"{points:+.1f}"


def estimate_text(mean: float, low: float, high: float) -> str:
    """`62 [55, 70]`: a win rate and its interval in percent, `–` for a missing cell."""
    return "–" if pd.isna(mean) else f"{100 * mean:.0f} [{100 * low:.0f}, {100 * high:.0f}]"


# ---- criteria


def criteria(summary: pd.DataFrame) -> pd.DataFrame:
    """criteria.csv: per (backend, map, robust configuration) the clean check and one check per FGSM/PGD
    attack label of that map, with both sides' numbers, the margin asked for and a one-line reason."""
    cells = {_key(r): r for r in summary.to_dict("records")}
    rows = []
    for backend in sorted(summary["backend"].unique()):
        part = summary[summary["backend"] == backend]
        for map_name in map_order(part["map"].unique()):
            grid = part[part["map"] == map_name]
            gradient = [a for a in attack_order(grid["attack"].unique()) if base_attack(a) in GRADIENT_ATTACKS]
            for method in method_order(grid["method"].unique()):
                if method == REFERENCE:
                    continue
                for train_eps in sorted(grid.loc[grid["method"] == method, "train_eps"].unique()):
                    config = grid[(grid["method"] == method) & (grid["train_eps"] == train_eps)]
                    rows.append(_clean_check(config, grid[grid["method"] == REFERENCE]))
                    rows += [_attack_check(cells, backend, map_name, method, train_eps, attack) for attack in gradient]
    return pd.DataFrame(rows, columns=list(CRITERIA_COLUMNS))


def _key(row: Mapping) -> tuple:
    return row["backend"], row["map"], row["method"], float(row["train_eps"]), row["attack"], round(float(row["test_eps"]), EPS_DIGITS)


def _clean_cell(rows: pd.DataFrame) -> dict | None:
    """A configuration's clean row: test ε 0, else its smallest ε (a clean battle is the same at any ε)."""
    clean = rows[rows["attack"] == "none"].sort_values("test_eps", kind="stable")
    return None if clean.empty else clean.iloc[0].to_dict()


_NO_ESTIMATE = Estimate(float("nan"), float("nan"), float("nan"))  # a side without its cell


def _check_row(
    keys: dict,
    check: str,
    test_eps: float,
    status: str,
    margin: float,
    reason: str,
    pair: tuple[Estimate, Estimate, str] = (_NO_ESTIMATE, _NO_ESTIMATE, ""),
) -> dict:
    method, vanilla, interval = pair
    return {
        **keys,
        "check": check,
        "test_eps": test_eps,
        "status": status,
        "mean": method.mean,
        "low": method.low,
        "high": method.high,
        "vanilla_mean": vanilla.mean,
        "vanilla_low": vanilla.low,
        "vanilla_high": vanilla.high,
        "margin": margin,
        "interval": interval,
        "reason": reason,
    }


def _clean_check(config: pd.DataFrame, vanilla_rows: pd.DataFrame) -> dict:
    """Pass iff the method's clean win rate >= vanilla's - CLEAN_TOLERANCE."""
    first = config.iloc[0]
    keys = {k: first[k] for k in ("backend", "map", "method", "train_eps")}
    method, vanilla = _clean_cell(config), _clean_cell(vanilla_rows)
    if method is None or vanilla is None:
        absent = "the method has no clean cell" if method is None else "vanilla has no clean cell on this map"
        return _check_row(keys, CLEAN, 0.0, MISSING, -CLEAN_TOLERANCE, absent)
    pair = paired_estimates(method, vanilla)
    gap = pair[0].mean - pair[1].mean
    passed = gap >= -CLEAN_TOLERANCE - ROUNDING
    reason = f"{_points(gap)} points against vanilla ({'>=' if passed else '<'} {-100 * CLEAN_TOLERANCE:.0f})"
    return _check_row(keys, CLEAN, float(method["test_eps"]), PASS if passed else FAIL, -CLEAN_TOLERANCE, reason, pair)


def _attack_check(cells: dict, backend: str, map_name: str, method: str, train_eps: float, attack: str) -> dict:
    """At test ε = train ε, applicable where vanilla wins < VANILLA_BROKEN; pass iff the method wins
    >= ROBUST_MARGIN more and its interval lies wholly above vanilla's."""
    keys = {"backend": backend, "map": map_name, "method": method, "train_eps": train_eps}
    eps = round(float(train_eps), EPS_DIGITS)
    row = cells.get((backend, map_name, method, float(train_eps), attack, eps))
    vanilla = cells.get((backend, map_name, REFERENCE, 0.0, attack, eps))
    if row is None or vanilla is None:
        absent = "the method" if row is None else "vanilla"
        return _check_row(keys, attack, eps, MISSING, ROBUST_MARGIN, f"{absent} has no cell at test ε {eps:g}")
    pair = paired_estimates(row, vanilla)
    method_estimate, vanilla_estimate, _ = pair
    if vanilla_estimate.mean >= VANILLA_BROKEN:
        reason = f"vanilla still wins >= {percent(VANILLA_BROKEN)}: not broken by the attack"
        return _check_row(keys, attack, eps, NOT_APPLICABLE, ROBUST_MARGIN, reason, pair)
    gain = method_estimate.mean - vanilla_estimate.mean
    enough = gain >= ROBUST_MARGIN - ROUNDING
    side = separation(method_estimate, vanilla_estimate)
    intervals = {1: "intervals apart", 0: "intervals overlap", -1: "interval below"}[side]
    reason = f"{_points(gain)} points over vanilla ({'>=' if enough else '<'} {100 * ROBUST_MARGIN:.0f}), {intervals}"
    return _check_row(keys, attack, eps, PASS if enough and side > 0 else FAIL, ROBUST_MARGIN, reason, pair)


def criteria_display(frame: pd.DataFrame) -> pd.DataFrame:
    """The criteria as the report prints them: names, radii and percentages as text."""
    backends = frame["backend"].nunique() > 1
    return pd.DataFrame(
        {
            "map": [f"{b}/{m}" if backends else m for b, m in zip(frame["backend"], frame["map"])],
            "method": [method_name(m) for m in frame["method"]],
            "train ε": frame["train_eps"].map("{:g}".format),
            "check": [c if c == CLEAN else attack_name(c) for c in frame["check"]],
            "status": frame["status"],
            "method (%)": [estimate_text(*v) for v in zip(frame["mean"], frame["low"], frame["high"])],
            "vanilla (%)": [estimate_text(*v) for v in zip(frame["vanilla_mean"], frame["vanilla_low"], frame["vanilla_high"])],
            "reason": frame["reason"],
        }
    )


# ---- claims


@dataclass(frozen=True)
class _Data:
    summary: pd.DataFrame
    criteria: pd.DataFrame
    cost: pd.DataFrame

    def robust(self) -> list[str]:
        return [m for m in ROBUST_METHODS if m in set(self.summary["method"])]


Decision = tuple[str, str, pd.DataFrame | None]  # verdict, evidence, evidence table


def _attacked(summary: pd.DataFrame, bases: Iterable[str] | None = None) -> pd.DataFrame:
    """Cells under an attack at a positive radius (of the given base attacks, when named)."""
    keep = attacked(summary)
    return summary[keep & summary["attack"].map(base_attack).isin(list(bases)) if bases is not None else keep]


def _best_configs(rows: pd.DataFrame) -> pd.DataFrame:
    """Each method's rows at one training radius per (backend, map): the radius with the most of these cells,
    then the highest mean over them, so a method is judged at its best-tuned radius."""
    config = ["backend", "map", "method", "train_eps"]
    if rows.empty:  # grouping nothing would lose the columns
        return rows
    score = rows.groupby(config, as_index=False).agg(cells=("mean", "size"), average=("mean", "mean"))
    best = score.sort_values(["cells", "average"], ascending=False, kind="stable").drop_duplicates(config[:3])
    return rows.merge(best[config], on=config)


def _shared_cells(rows: pd.DataFrame) -> pd.DataFrame:
    """The rows of cells that every method on their map has, so no method is scored on cells others lack."""
    methods = rows.groupby(["backend", "map"])["method"].transform("nunique")
    present = rows.groupby(list(CELL))["method"].transform("nunique")
    return rows[present == methods]


@dataclass(frozen=True)
class _Tally:
    cells: int
    better: int  # cells where the first method's interval lies above the second's
    worse: int
    mean: float  # the first method's mean over the shared cells
    other_mean: float


def _tally(rows: pd.DataFrame, first: str, second: str) -> _Tally:
    """Compare two methods cell by cell on the cells both have."""
    pairs = rows[rows["method"] == first].merge(rows[rows["method"] == second], on=list(CELL), suffixes=("", "_other"))
    signs = []
    for record in pairs.to_dict("records"):
        other = {k.removesuffix("_other"): v for k, v in record.items() if k.endswith("_other")}
        a, b, _ = paired_estimates(record, other)
        signs.append(separation(a, b))
    return _Tally(len(pairs), signs.count(1), signs.count(-1), pairs["mean"].mean(), pairs["mean_other"].mean())


def _robust_beat_vanilla(data: _Data) -> Decision:
    """Per (method, map), a robust method beats vanilla when at least one of its applicable FGSM/PGD
    criteria passes and loses when it has applicable ones and all fail. Holds: all four robust methods are in
    the data and every (method, map) with applicable criteria beats vanilla. Does not hold: some method loses
    on every map where it has applicable criteria. Inconclusive otherwise (also when no criterion applies).
    Not run: no robust method in the data."""
    methods = data.robust()
    if not methods:
        return NOT_RUN, "no robust method in the data", None
    checks = data.criteria[(data.criteria["check"] != CLEAN) & data.criteria["status"].isin([PASS, FAIL])]
    beats = checks.groupby(["method", "backend", "map"])["status"].agg(lambda s: bool((s == PASS).any()))
    outcome = {m: beats[m].tolist() if m in beats.index.get_level_values(0) else [] for m in methods}
    table = pd.DataFrame(
        [
            {"method": method_name(m), "maps beaten": str(sum(o)), "maps lost": str(len(o) - sum(o)), "maps with applicable checks": str(len(o))}
            for m, o in outcome.items()
        ]
    )
    losers = [method_name(m) for m, o in outcome.items() if o and not any(o)]
    if losers:
        verb = "loses" if len(losers) == 1 else "lose"
        return DOES_NOT_HOLD, f"{', '.join(losers)} {verb} to vanilla on every map with an applicable check", table
    absent = [method_name(m) for m in ROBUST_METHODS if m not in methods]
    untested = [method_name(m) for m, o in outcome.items() if not o]
    if not absent and not untested and all(all(o) for o in outcome.values()):
        return HOLDS, "every robust method beats vanilla on every map with an applicable check", table
    gaps = [f"not in the data: {', '.join(absent)}"] if absent else []
    gaps += [f"no applicable check: {', '.join(untested)}"] if untested else []
    split = [f"{method_name(m)} on {map_name}" for (m, _, map_name), beat in beats.items() if not beat]
    verb = "loses" if len(split) == 1 else "lose"
    gaps += [f"{' and '.join(split)} {verb} to vanilla, each method winning on another map"] if not gaps else []
    return INCONCLUSIVE, _sentence("; ".join(gaps)), table


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def _paad_best(data: _Data) -> Decision:
    """Over attacked cells (an attack at test ε > 0) that every method on a map has, each method at its
    best training radius on that map, PA-AD is compared with every other method cell by cell: better where
    its interval lies wholly above the other's, worse where wholly below (intervals as in the criteria).
    Holds: against every other method PA-AD is better in more cells than worse and has the higher mean over
    the shared cells. Does not hold: some method has a higher mean and is better than PA-AD in more cells
    than worse. Inconclusive otherwise. Not run: no PA-AD in the data."""
    if "paad" not in set(data.summary["method"]):
        return NOT_RUN, "no PA-AD runs in the data", None
    rows = _best_configs(_attacked(data.summary))
    paad_maps = rows.loc[rows["method"] == "paad", ["backend", "map"]].drop_duplicates()
    rows = _shared_cells(rows.merge(paad_maps, on=["backend", "map"]))
    others = [m for m in method_order(rows["method"].unique()) if m != "paad"]
    tallies = {m: t for m in others if (t := _tally(rows, "paad", m)).cells}
    if not tallies:
        return INCONCLUSIVE, "no attacked cell that PA-AD shares with another method", None
    table = pd.DataFrame(
        [
            {
                "against": method_name(m),
                "cells": str(t.cells),
                "PA-AD better": str(t.better),
                "PA-AD worse": str(t.worse),
                "PA-AD mean (%)": f"{100 * t.mean:.0f}",
                "other mean (%)": f"{100 * t.other_mean:.0f}",
            }
            for m, t in tallies.items()
        ]
    )
    ahead = [method_name(m) for m, t in tallies.items() if t.other_mean > t.mean and t.worse > t.better]
    if ahead:
        verb = "has" if len(ahead) == 1 else "have"
        return DOES_NOT_HOLD, f"{', '.join(ahead)} {verb} a higher mean and more cells better than PA-AD than worse", table
    if all(t.better > t.worse and t.mean > t.other_mean for t in tallies.values()):
        return HOLDS, f"PA-AD leads every other method ({len(tallies)}) in cells and in mean", table
    return INCONCLUSIVE, "PA-AD does not lead every method both in cells and in mean, nor does any method lead it in both", table


def _check_estimates(check: Mapping) -> tuple[Estimate, Estimate]:
    """A criteria row's method and vanilla estimates."""
    return Estimate(check["mean"], check["low"], check["high"]), Estimate(check["vanilla_mean"], check["vanilla_low"], check["vanilla_high"])


def _adv_train_clean(data: _Data) -> Decision:
    """From the clean criteria of Adv. train (every map and training radius it has). Holds: every one
    passes. Does not hold: one fails with its interval wholly below vanilla's. Inconclusive otherwise (a
    failure within the intervals' overlap, or a missing cell). Not run: no Adv. train in the data."""
    if "adv_train" not in set(data.summary["method"]):
        return NOT_RUN, "no Adv. train runs in the data", None
    checks = data.criteria[(data.criteria["method"] == "adv_train") & (data.criteria["check"] == CLEAN)]
    table = criteria_display(checks)[["map", "train ε", "status", "method (%)", "vanilla (%)"]]
    clear = [r for r in checks.to_dict("records") if r["status"] == FAIL and separation(*_check_estimates(r)) < 0]
    if clear:
        return DOES_NOT_HOLD, f"{len(clear)} clean check(s) fail with the intervals apart", table
    if (checks["status"] == PASS).all() and not checks.empty:
        return HOLDS, f"all {len(checks)} clean check(s) pass", table
    counts = checks["status"].value_counts()
    return INCONCLUSIVE, ", ".join(f"{n} {s}" for s, n in counts.items()) or "no clean check", table


def _policy_reg_weak(data: _Data) -> Decision:
    """Unstable: Policy reg.'s mean seed std (summary.csv's std over its cells with >= 2 seeds) exceeds that
    of every other robust method with such cells. Weak: its mean win rate under learned attacks (ATLA or PA-AD adversaries, test
    ε > 0), on the cells it shares with each other robust method (each at its best radius per map), is below
    that method's. Holds: both. Does not hold: neither. Inconclusive: exactly one, or one of the two cannot
    be computed (no >= 2-seed cells, or no shared learned-attack cells). Not run: no Policy reg., no other
    robust method, or neither can be computed."""
    others = [m for m in data.robust() if m != "policy_reg"]
    if "policy_reg" not in data.robust() or not others:
        return NOT_RUN, "needs Policy reg. and another robust method in the data", None
    spread = data.summary[data.summary["seeds"] >= 2].groupby("method")["std"].mean()
    spread_others = [spread[m] for m in others if m in spread.index]
    unstable = bool(all(spread["policy_reg"] > s for s in spread_others)) if "policy_reg" in spread.index and spread_others else None
    learned = _best_configs(_attacked(data.summary, LEARNED_ATTACKS))
    tallies = {m: t for m in others if (t := _tally(learned, "policy_reg", m)).cells}
    weak = all(t.mean < t.other_mean for t in tallies.values()) if tallies else None
    rows = [
        {
            "method": method_name(m),
            "mean seed std (pp)": f"{100 * spread[m]:.1f}" if m in spread.index else "–",
            "learned-attack mean (%)": f"{100 * tallies[m].other_mean:.0f}" if m in tallies else "–",
            "Policy reg. on the same cells (%)": f"{100 * tallies[m].mean:.0f}" if m in tallies else "–",
        }
        for m in ["policy_reg", *others]
    ]
    table = pd.DataFrame(rows)
    words = {True: "yes", False: "no", None: "cannot tell"}
    evidence = f"unstable: {words[unstable]}; weak against learned adversaries: {words[weak]}"
    if unstable is None and weak is None:
        return NOT_RUN, "no cells with >= 2 seeds and no learned-attack cells to compare", table
    if unstable is None or weak is None:
        missing = "no >= 2-seed cells to compare spread" if unstable is None else "no shared learned-attack cells"
        return INCONCLUSIVE, f"{evidence} ({missing})", table
    verdict = HOLDS if unstable and weak else DOES_NOT_HOLD if not unstable and not weak else INCONCLUSIVE
    return verdict, evidence, table


def _cost_by_map(cost: pd.DataFrame) -> pd.DataFrame:
    """Mean wall seconds per million env steps, one row per (backend, map), one column per method."""
    means = cost.groupby(["backend", "map", "method"])["seconds_per_million_steps"].mean().unstack("method")
    return means[method_order(means.columns)]


def _atla_costliest(data: _Data) -> Decision:
    """From the runs' wall seconds per million env steps, averaged per method and map. Holds: ATLA is the
    costliest on every map where it and another method ran. Does not hold: on none of them. Inconclusive:
    on some, or on no such map. Not run: no ATLA run recorded its wall time."""
    if data.cost.empty or "atla" not in set(data.cost["method"]):
        return NOT_RUN, "no ATLA run recorded its wall time", None
    means = _cost_by_map(data.cost)
    compared = means[means["atla"].notna() & (means.notna().sum(axis=1) >= 2)]
    table = _cost_table(means)
    if compared.empty:
        return INCONCLUSIVE, "no map where ATLA and another method both ran", table
    costliest = int((compared.idxmax(axis=1) == "atla").sum())
    evidence = f"ATLA is the costliest on {costliest} of {len(compared)} map(s)"
    return HOLDS if costliest == len(compared) else DOES_NOT_HOLD if costliest == 0 else INCONCLUSIVE, evidence, table


def _map_size(map_name: str) -> tuple[int, int] | None:
    """(allies, enemies) of a map the registry knows."""
    from benchmark.envs.maps import MAPS  # imports torch: only when a report is built

    if map_name not in MAPS:
        return None
    spec = MAPS.get(map_name)
    return spec.n_agents, spec.n_enemies


def _cost_table(means: pd.DataFrame) -> pd.DataFrame:
    """The cost frame for display: maps from fewest to most agents (unknown maps last), whole seconds."""
    frame = means.reset_index()
    sizes = [_map_size(m) for m in frame["map"]]
    frame.insert(2, "units", [f"{s[0]} v {s[1]}" if s else "?" for s in sizes])
    frame = frame.iloc[sorted(range(len(frame)), key=lambda i: (sizes[i] is None, sizes[i] or (0, 0)))]
    for method in means.columns:
        frame[method] = frame[method].map(lambda v: "–" if pd.isna(v) else f"{v:.0f}")
    shown = frame.drop(columns="backend") if frame["backend"].nunique() == 1 else frame
    return shown.rename(columns={m: f"{method_name(m)} (s/M steps)" for m in means.columns}).reset_index(drop=True)


def _transfer(data: _Data) -> Decision:
    """Measured when the data hold an attack whose base name is `transfer`: each (map, configuration, test ε > 0)
    cell's mean win rate under it, beside the same configuration's under white-box PGD (the attack the
    transfer's source crafts with; its cell pools every seed of the configuration, the source's included)
    and under random noise of the same radius. Not run otherwise."""
    rows = _attacked(data.summary, ["transfer"])
    if rows.empty:
        return NOT_RUN, "no transfer attack in the data", None
    config = ["backend", "map", "method", "train_eps", "test_eps"]
    # the summary is in the report's order within a map (aggregate.sort_grid); maps as the criteria list them
    maps = map_order(rows["map"].unique())
    rows = rows.sort_values("map", key=lambda column: column.map(maps.index), kind="stable")
    table = pd.DataFrame(
        {
            "map": rows["map"].to_numpy(),
            "configuration": [row_label(m, e) for m, e in zip(rows["method"], rows["train_eps"])],
            "attack": [attack_name(a) for a in rows["attack"]],
            "ε": rows["test_eps"].map("{:g}".format).to_numpy(),
            "transfer (%)": (100 * rows["mean"]).map("{:.0f}".format).to_numpy(),
        }
    )
    for base, column in (("pgd", "white-box PGD (%)"), ("random", "random (%)")):
        same = data.summary[data.summary["attack"] == base].set_index(config)["mean"]
        found = [same.get(key) for key in rows[config].itertuples(index=False, name=None)]
        table[column] = ["–" if v is None else f"{100 * v:.0f}" for v in found]
    return MEASURED, f"{rows['attack'].nunique()} transfer attack label(s) over {len(rows)} cell(s)", table


def _paad_eps(data: _Data) -> Decision:
    """Measured when PA-AD was trained at >= 3 distinct radii spanning 0.05 to 0.5: its mean win rate over
    attacked cells (test ε > 0) per training radius. Not run otherwise."""
    paad = data.summary[data.summary["method"] == "paad"]
    radii = sorted(paad["train_eps"].unique())
    low, high = PAAD_EPS_RANGE
    if len(radii) < PAAD_EPS_COUNT or radii[0] > low + ROUNDING or radii[-1] < high - ROUNDING:
        found = f"PA-AD trained at ε {', '.join(f'{e:g}' for e in radii)}" if radii else "no PA-AD runs"
        return NOT_RUN, f"{found}; needs >= {PAAD_EPS_COUNT} radii from {low:g} to {high:g}", None
    attacked = _attacked(paad).groupby("train_eps")["mean"].agg(["mean", "size"]).reset_index()
    table = pd.DataFrame(
        {
            "train ε": attacked["train_eps"].map("{:g}".format),
            "attacked cells": attacked["size"].astype(str),
            "mean win rate (%)": (100 * attacked["mean"]).map("{:.0f}".format),
        }
    )
    return MEASURED, f"PA-AD at {len(radii)} training radii", table


def _cost_per_map(data: _Data) -> Decision:
    """Measured: mean wall seconds per million env steps per method and map, maps by their number of agents.
    A measurement, not a verdict. Not run when no run recorded its wall time."""
    if data.cost.empty:
        return NOT_RUN, "no run recorded its wall time", None
    means = _cost_by_map(data.cost)
    devices = ", ".join(sorted(data.cost["device"].astype(str).unique()))
    return MEASURED, f"{len(data.cost)} run(s) on {devices}", _cost_table(means)


_CLAIMS: tuple[tuple[str, str, Callable[[_Data], Decision]], ...] = (
    ("a", "All four robust methods beat vanilla under attack", _robust_beat_vanilla),
    ("b", "PA-AD is best overall", _paad_best),
    ("c", "Adv. train is about as good as vanilla on clean states", _adv_train_clean),
    ("d", "Policy reg. is unstable and weak against learned adversaries", _policy_reg_weak),
    ("e", "ATLA costs the most", _atla_costliest),
    ("f", "Open: transfer attacks", _transfer),
    ("g", "Open: PA-AD trained at ε 0.05 to 0.5", _paad_eps),
    ("h", "Open: wall-clock cost per method against map size", _cost_per_map),
)


def claims(summary: pd.DataFrame, cost: pd.DataFrame, checks: pd.DataFrame | None = None) -> list[Claim]:
    """Every claim with its verdict; `checks` is criteria(summary), computed here when not given."""
    data = _Data(summary, criteria(summary) if checks is None else checks, cost)
    return [claim_from(key, statement, decide, data) for key, statement, decide in _CLAIMS]


def claim_from(key: str, statement: str, decide: Callable[[object], Decision], data: object) -> Claim:
    """The claim `decide` makes of `data`, its rule being `decide`'s docstring."""
    verdict, evidence, table = decide(data)
    sentence = evidence if evidence.endswith(".") else f"{evidence}."  # a list may end in `Policy reg.`
    return Claim(key, statement, " ".join(inspect.getdoc(decide).split()), verdict, sentence, table)


# ---- claims.md


def _markdown_table(frame: pd.DataFrame) -> list[str]:
    rows = [md_row(list(frame.columns)), md_row([":--"] * len(frame.columns))]
    return rows + [md_row([str(v) for v in row]) for row in frame.itertuples(index=False)]


def claims_markdown(claim_list: Iterable[Claim], checks: pd.DataFrame) -> str:
    """claims.md: each claim with its verdict, rule and evidence, then the criteria table."""
    lines = ["# The study's claims", ""]
    for claim in claim_list:
        lines += [f"## ({claim.key}) {claim.statement}", "", f"**Verdict: {claim.verdict}.** {claim.evidence}", "", f"Rule: {claim.rule}", ""]
        if claim.table is not None and not claim.table.empty:
            lines += [*_markdown_table(claim.table), ""]
    lines += ["# Criteria", "", CRITERIA_NOTE, ""]
    lines += [*_markdown_table(criteria_display(checks)), ""] if not checks.empty else ["No robust configuration shares a map with vanilla.", ""]
    return "\n".join(lines)
