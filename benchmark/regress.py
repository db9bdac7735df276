"""Win-rate regression gate (`robust-qmix regress`): a preset's sweep, compared cell by cell with a baseline.

The baseline is a report summary.csv (benchmark/report/aggregate.py), so `robust-qmix report --baseline`
reads the same file; `--update` writes it from the current runs.

Decision rule, per (backend, map, method, train_eps, attack, test_eps) cell: Fisher's exact test on wins
and losses pooled over all seeds and test episodes, as benchmark/report/compare.py computes it; one-sided
(is the win rate now lower than the baseline's?) except on vanilla's attacked cells, where it is two-sided;
p-values Holm-adjusted over all compared cells; a cell fails when its adjusted p-value is below ALPHA =
0.01, as WORSE when it fell and as WEAKER ATTACK when one of vanilla's attacked cells rose. Why this rule:
- one-sided: the gate exists to catch a learner that got worse; a rise of a clean cell, or of a defended
  method's attacked cell, is good news, not a failure, and a one-sided test spends all its power on the
  direction that matters;
- two-sided on vanilla under attack (attack not none, test eps > 0): vanilla has no defence, so its win
  rate under an attack rising means the attack lost strength, and a weaker attack would make every robust
  method look better; a fall there is still a worse learner (or a stronger attack), and fails as WORSE;
- exact: the CI cells sit near 0% (strong attacks) and 100% (clean play), where a normal-approximation
  two-proportion test is wrong;
- Holm at 0.01: a false alarm would fail CI for nothing, so the chance of any false alarm over the whole grid
  is held at 1% (Holm controls it under any dependence between cells, e.g. the eps-0 cells of several
  attacks, which are the same battles);
- pooling over seeds asks whether these trained policies win less often: on CPU, under the portable
  numerics the gate trains with (benchmark/numerics.py), a fresh run with the same seeds reproduces the
  same policies exactly (on any x86-64 machine by design; shown on one CPU model so far), so any
  significant drop is a change of the code's behaviour.
A baseline cell that the new runs lack fails too (the grid lost coverage); a cell new to the grid passes and
is listed, to be added with `--update`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from rich.markup import escape
from rich.table import Table

from benchmark import numerics
from benchmark.errors import UserError
from benchmark.records import atomic_write_text
from benchmark.report.aggregate import summarise
from benchmark.report.compare import DROP, NEW, RISE, compare, read_baseline
from benchmark.report.labels import REFERENCE, attacked
from benchmark.report.runs import EPS_DIGITS, collect_runs
from benchmark.report.stats import DEFAULT_REPS

ALPHA = 0.01
WORSE, WEAKER, OK, MISSING = "WORSE", "WEAKER ATTACK", "ok", "MISSING"


@dataclass(frozen=True)
class Verdict:
    cells: pd.DataFrame  # the summary with compare.COMPARE_COLUMNS (one-sided p-values)
    missing: pd.DataFrame  # KEYS of baseline cells the new runs lack
    alpha: float

    @property
    def worse(self) -> pd.DataFrame:
        return self.cells[self.cells["change"] == DROP]

    @property
    def weaker(self) -> pd.DataFrame:
        """Cells that rose significantly: only vanilla's attacked cells are tested for a rise."""
        return self.cells[self.cells["change"] == RISE]

    @property
    def passed(self) -> bool:
        return self.worse.empty and self.weaker.empty and self.missing.empty


def guards_attack(summary: pd.DataFrame) -> pd.Series:
    """Whether each row is one of vanilla's attacked cells, tested in both directions."""
    return (summary["method"] == REFERENCE) & attacked(summary)


def judge(summary: pd.DataFrame, baseline: pd.DataFrame, alpha: float = ALPHA) -> Verdict:
    """The decision rule of the module docstring, on a summary and a baseline (both summary.csv frames)."""
    sides = guards_attack(summary).map({True: "two-sided", False: "less"})
    cells, missing = compare(summary, baseline, alpha, alternative=list(sides))
    return Verdict(cells, missing, alpha)


def load_baseline(path: Path) -> pd.DataFrame:
    if not Path(path).exists():
        raise UserError(f"baseline {path}: no such file (write one with --update)")
    return read_baseline(path)


def summary_of(run_dirs: Sequence[Path], reps: int = DEFAULT_REPS) -> pd.DataFrame:
    """summary.csv of exactly these run directories; every one must be complete and trained under the
    gate's portable numerics (benchmark/numerics.py)."""
    found = collect_runs(list(run_dirs))
    if found.skipped:
        raise UserError(f"{len(found.skipped)} run(s) cannot be compared (first: {found.skipped[0].reason})")
    # A reused --out from a plain sweep, or from before the gate pinned its numerics: its floats are its
    # machine's, and a baseline is not.
    if problems := numerics.check_portable({str(run.record.path): run.record.manifest for run in found.runs}):
        raise UserError(f"{len(problems)} run(s) not trained under the gate's portable numerics, so they cannot be "
                        f"judged against a baseline (first: {problems[0]}); use a new --out")
    return summarise(found.runs, reps)


def own_cells(summary: pd.DataFrame, planned: set[tuple[str, float]]) -> pd.DataFrame:
    """The summary's rows of a preset's own (attack label, test eps) cells. Runs shared by two presets (the
    CI gate's `ci` and `ci_learned`, one --out) hold both presets' evaluations; each gate judges, and
    writes as its baseline, only what it planned, so that its baseline does not depend on what else ran."""
    keys = {(label, round(eps, EPS_DIGITS)) for label, eps in planned}
    mine = [(a, round(e, EPS_DIGITS)) in keys for a, e in zip(summary["attack"], summary["test_eps"])]
    return summary[mine].reset_index(drop=True)


def write_baseline(summary: pd.DataFrame, path: Path) -> None:
    atomic_write_text(Path(path), summary.to_csv(index=False))


def verdict_table(verdict: Verdict, title: str) -> Table:
    table = Table(
        "map", "method", "train eps", "attack", "test eps", "baseline", "now", "difference", "p (Holm)", "verdict",
        title=title,
    )  # fmt: skip
    with_backend = len(set(verdict.cells["backend"]) | set(verdict.missing["backend"])) > 1
    for row in verdict.cells.itertuples(index=False):
        key = _key_cells(row, with_backend)
        now = _rate(row.wins, row.episodes)
        if row.change == NEW:
            table.add_row(*key, "-", now, "-", "-", "new (not in the baseline)")
            continue
        flagged = {DROP: WORSE, RISE: WEAKER}.get(row.change)
        table.add_row(
            *key,
            _rate(row.baseline_wins, row.baseline_episodes),
            now,
            f"{row.diff:+.3f}",
            f"{row.p_holm:.2g}",
            f"[bold red]{flagged}[/]" if flagged else OK,
        )
    for row in verdict.missing.itertuples(index=False):
        table.add_row(*_key_cells(row, with_backend), "?", "-", "-", "-", f"[bold red]{MISSING}[/] (no run now)")
    return table


def _key_cells(row, with_backend: bool) -> list[str]:
    where = f"{row.backend}/{row.map}" if with_backend else row.map
    return [escape(where), escape(row.method), f"{row.train_eps:g}", escape(row.attack), f"{row.test_eps:g}"]


def _rate(wins: float, episodes: float) -> str:
    return f"{wins / episodes:.3f} ({int(wins)}/{int(episodes)})"


def summary_line(verdict: Verdict) -> str:
    compared = int(verdict.cells["change"].ne(NEW).sum())
    rule = f"Fisher, one-sided but two-sided on vanilla under attack, Holm, alpha {verdict.alpha:g}"
    if verdict.passed:
        return f"no regression: {compared} cell(s) compared, none significantly worse and no attack weaker ({rule})"
    parts = []
    if not verdict.worse.empty:
        parts.append(f"{len(verdict.worse)} of {compared} cell(s) significantly worse")
    if not verdict.weaker.empty:
        parts.append(f"{len(verdict.weaker)} of vanilla's attacked cell(s) significantly higher (an attack got weaker)")
    if not verdict.missing.empty:
        parts.append(f"{len(verdict.missing)} baseline cell(s) missing")
    return f"regression: {', '.join(parts)} ({rule})"


__all__ = ["ALPHA", "Verdict", "guards_attack", "judge", "load_baseline", "own_cells", "summary_line", "summary_of", "verdict_table", "write_baseline"]
