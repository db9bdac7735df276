"""Build a report directory from run directories: the one function the command calls."""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from benchmark.errors import UserError
from benchmark.records import atomic_write_bytes, atomic_write_text
from benchmark.report import figures as fig
from benchmark.report.adversary_curves import adversary_table
from benchmark.report.aggregate import seed_scores, summarise, training_cost, training_curves
from benchmark.report.claims import claims, claims_markdown, criteria
from benchmark.report.compare import ALPHA, compare, read_baseline
from benchmark.report.content import Comparison, ReportContent
from benchmark.report.coverage import coverage, coverage_pairs
from benchmark.report.facts import Pairs, gather_facts
from benchmark.report.html import render_html
from benchmark.report.pdf import render_pdf
from benchmark.report.plotting import report_style
from benchmark.report.runs import Run, collect_runs
from benchmark.report.stats import DEFAULT_REPS
from benchmark.report.sweeps import collect_sweeps, sweep_cells, sweeps_claim
from benchmark.report.tables import paper_tables, to_html, to_latex, to_markdown

TITLE = "robust-qmix report"
TABLE_FORMATS = {"md": to_markdown, "tex": to_latex, "html": to_html}
FIGURE_FORMATS = ("png", "pdf")
FILE_LIST = ".report-files"  # what the last report wrote into its folder, one relative path a line


@dataclass(frozen=True)
class ReportResult:
    out: Path
    runs: int
    skipped: int
    pages: int  # of report.pdf
    files: tuple[Path, ...]


class _Writer:
    """Atomic writes under the report folder, remembering what this report produced.

    The list of files a report wrote is kept in FILE_LIST, so that the next report into the same folder
    removes only files an earlier report made: anything else a user keeps there is never touched."""

    def __init__(self, out: Path) -> None:
        self.out, self.written = Path(out), []

    def check_writable(self) -> None:
        """Fail now, before the slow part, if the folder cannot be written (read-only, full, a file)."""
        atomic_write_bytes(self.out / FILE_LIST, self._listing(self._previous()))

    def __call__(self, relative: str, data: bytes | str) -> None:
        path = self.out / relative
        (atomic_write_text if isinstance(data, str) else atomic_write_bytes)(path, data)
        self.written.append(path)

    def remove_stale(self) -> None:
        """Tables and figures of an earlier report in the same folder that this one did not produce (an
        attack no longer evaluated, say) would otherwise sit beside the new ones as if current."""
        keep = {p.relative_to(self.out).as_posix() for p in self.written}
        for relative in self._previous() - keep:
            (self.out / relative).unlink(missing_ok=True)
        atomic_write_bytes(self.out / FILE_LIST, self._listing(keep))

    def _previous(self) -> set[str]:
        try:
            names = (self.out / FILE_LIST).read_text().splitlines()
        except (FileNotFoundError, NotADirectoryError, UnicodeDecodeError):
            return set()
        return {n for n in names if n and not n.startswith(("/", "..")) and "/../" not in n}

    @staticmethod
    def _listing(names: set[str]) -> bytes:
        return "".join(f"{n}\n" for n in sorted(names)).encode()


def build_report(
    paths: Sequence[Path],
    out: Path,
    baseline: Path | None = None,
    reps: int = DEFAULT_REPS,
    warn: Callable[[str], None] = lambda message: None,
    preset: str | None = None,
    sweeps: Path | None = None,
    cost_runs: Path | None = None,
) -> ReportResult:
    """Summarise the runs under `paths` into `out`; a run that cannot be summarised is reported via `warn`
    and left out, and UserError is raised only when nothing can be summarised or an input is unusable.
    With `preset` (a name or YAML path) and one sweep root in `paths`, the report also says how much of
    that preset's grid the runs cover (coverage.csv and the overview). With `sweeps` (a folder of sweep
    roots, each one knob setting) the claims end with those settings set beside the runs' own (sweeps.py).
    With `cost_runs` (a sweep root, e.g. of the `cost` preset) the training cost and the claims on it come
    from those runs alone: wall time compares only across runs swept together on one machine, which the
    runs of a study trained over many sittings and machines are not; their win rates are not summarised."""
    if reps < 1:
        raise UserError(f"--reps must be >= 1, got {reps}")
    if preset is not None and len(paths) != 1:
        raise UserError(f"--plan needs the preset's one sweep root as RUNS, got {len(paths)} paths")
    baseline_frame = read_baseline(baseline) if baseline is not None else None  # fail before the slow part
    write = _Writer(out)
    found = collect_runs(paths)
    for skipped in found.skipped:
        warn(f"left out {skipped.reason}")
    if not found.runs:
        raise UserError(f"none of the {len(found.skipped)} run directories found can be summarised (see the warnings)")
    # The runs' backend when they share one: a preset swept with --backend sc2 is planned on sc2.
    backends = {r.backend for r in found.runs}
    covered = coverage(preset, Path(paths[0]), backends.pop() if len(backends) == 1 else None) if preset is not None else None
    swept, swept_skipped = collect_sweeps(sweeps) if sweeps is not None else ({}, [])
    for skipped in swept_skipped:
        warn(f"left out of the sweeps {skipped.reason}")
    cost, cost_source = _training_cost(found.runs, cost_runs, warn)
    write.check_writable()
    summary = summarise(found.runs, reps)
    comparison = None
    if baseline_frame is not None:
        summary, gone = compare(summary, baseline_frame)
        comparison = Comparison(Path(baseline), summary, gone, ALPHA)
        if not gone.empty:
            warn(f"{len(gone)} cell(s) of the baseline have no runs now (listed in the report)")
    write("summary.csv", summary.to_csv(index=False))
    tables = paper_tables(summary, reps)
    for table in tables:
        for suffix, render in TABLE_FORMATS.items():
            write(f"tables/{table.name}.{suffix}", render(table))
    checks = criteria(summary)
    verdicts = tuple(claims(summary, cost, checks))
    if sweeps is not None:
        swept_cells = sweep_cells(found.runs, swept, reps)
        write("sweeps.csv", swept_cells.to_csv(index=False))
        verdicts += (sweeps_claim(swept_cells),)
    write("criteria.csv", checks.to_csv(index=False))
    write("claims.md", claims_markdown(verdicts, checks))
    generated = datetime.now(timezone.utc).isoformat(timespec="seconds")
    facts = gather_facts(found.runs, found.skipped)
    facts = dataclasses.replace(facts, overview=(*facts.overview, ("Training cost", cost_source)))
    if covered is not None:
        write("coverage.csv", covered.to_csv(index=False))
        facts = dataclasses.replace(facts, overview=(*facts.overview, ("Coverage of the plan", coverage_pairs(preset, covered))))
    adversaries = adversary_table(found.runs)
    if not adversaries.empty:
        write("adversaries.csv", adversaries.to_csv(index=False))
    with report_style():  # the figures and the PDF's pages are drawn in it
        figures = _figures(found.runs, summary, cost, reps)
        images = {f.name: _write_figure(write, f) for f in figures}
        content = ReportContent(TITLE, generated, facts, tuple(tables), tuple(figures), comparison, reps, checks, verdicts)
        write("report.html", render_html(content, images))
        pdf, pages = render_pdf(content)
        write("report.pdf", pdf)
    write.remove_stale()
    return ReportResult(Path(out), len(found.runs), len(found.skipped), pages, tuple(write.written))


def _training_cost(runs: Sequence[Run], cost_runs: Path | None, warn: Callable[[str], None]) -> tuple[pd.DataFrame, Pairs]:
    """The cost frame and the overview's lines on where it comes from: `cost_runs` when given, else `runs`."""
    if cost_runs is None:
        return training_cost(runs), (("from", "the summarised runs' own wall time"),)
    found = collect_runs([cost_runs])
    for skipped in found.skipped:
        warn(f"left out of the cost runs {skipped.reason}")
    cost = training_cost(found.runs)
    if cost.empty:
        warn(f"no run under {cost_runs} recorded its wall time: the cost claims are not run")
    return cost, (("from", f"{len(cost)} run(s) of {cost_runs}, swept together"), ("runs' win rates", "not summarised"))


def _figures(runs: Sequence[Run], summary: pd.DataFrame, cost: pd.DataFrame, reps: int) -> list[fig.ReportFigure]:
    return [
        *fig.win_rate_vs_eps(summary),
        *fig.training_curves(training_curves(runs, reps)),
        *fig.heatmaps(summary),
        *fig.robustness_profiles(seed_scores(runs), reps),
        *fig.training_cost(cost),
    ]


def _write_figure(write: _Writer, figure: fig.ReportFigure) -> bytes:
    """Write the figure in every format; return its PNG for embedding."""
    rendered = {suffix: _save(figure.figure, suffix) for suffix in FIGURE_FORMATS}
    for suffix, data in rendered.items():
        write(f"figures/{figure.name}.{suffix}", data)
    return rendered["png"]


def _save(figure: Figure, suffix: str) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format=suffix)
    return buffer.getvalue()
