"""Everything one report shows, computed once and handed to each renderer (HTML, PDF)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from benchmark.report.facts import Facts
from benchmark.report.figures import ReportFigure
from benchmark.report.tables import PaperTable


@dataclass(frozen=True)
class Comparison:
    baseline: Path
    cells: pd.DataFrame  # summary rows with compare.COMPARE_COLUMNS
    gone: pd.DataFrame  # baseline cells the runs no longer have (grid keys only)
    alpha: float


@dataclass(frozen=True)
class ReportContent:
    title: str
    generated: str  # ISO time
    facts: Facts
    tables: tuple[PaperTable, ...]
    figures: tuple[ReportFigure, ...]
    comparison: Comparison | None
    reps: int
