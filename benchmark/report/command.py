"""The `robust-qmix report` command (registered in benchmark/cli.py)."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.text import Text

from benchmark.cli_params import PresetParam, nonempty_path
from benchmark.report.stats import DEFAULT_REPS

_stderr = Console(stderr=True)


@click.command(context_settings={"help_option_names": ["-h", "--help"]})  # also when invoked on its own
@click.argument("runs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Report folder, e.g. reports/NAME.", callback=nonempty_path)
@click.option(
    "--baseline",
    type=click.Path(dir_okay=False, path_type=Path),
    help="summary.csv of an earlier report: adds per-cell differences and their significance.",
)
@click.option("--reps", type=int, default=DEFAULT_REPS, show_default=True, help="Bootstrap resamples per confidence interval.")
@click.option("--plan", "preset", type=PresetParam(), help="The preset RUNS (its sweep root) were swept from: report what of it is missing.")
@click.option("--sweeps", type=click.Path(file_okay=False, path_type=Path),
              help="A folder of sweep roots, one per knob setting (sweep --set ... --out DIR/NAME), set beside RUNS' configurations.")
@click.option("--cost", "cost_runs", type=click.Path(file_okay=False, path_type=Path),
              help="A sweep root (e.g. of the `cost` preset) whose wall time alone decides the training-cost claims.")
def report(
    runs: tuple[Path, ...], out: Path, baseline: Path | None, reps: int, preset: str | None, sweeps: Path | None, cost_runs: Path | None
) -> None:
    """Summarise RUNS (run directories or sweep roots) into tables, figures, report.html and report.pdf.

    \b
    Example:
      robust-qmix report runs/sweeps/faithful --out reports/faithful --baseline reports/results/summary.csv
      robust-qmix report reports/study/runs --plan validation --sweeps reports/study/sweeps --cost reports/study/cost --out reports/study
    """
    from benchmark.report.build import build_report  # the plotting stack loads only when a report is made

    def warn(message: str) -> None:
        # Text, not markup: run paths and attack labels such as pgd[steps=30] contain brackets
        _stderr.print(Text.assemble(("warning: ", "yellow"), message), soft_wrap=True)

    result = build_report(list(runs), out, baseline, reps, warn, preset, sweeps, cost_runs)
    skipped = f", {result.skipped} left out" if result.skipped else ""
    _stderr.print(Text(f"report {result.out}: {result.runs} run(s){skipped}; open {result.out / 'report.html'}"), soft_wrap=True)
