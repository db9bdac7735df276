"""Everything one report shows, computed once and handed to each renderer (HTML, PDF), with the words and
display rows both renderers print, so that the two say the same."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from benchmark.report.claims import Claim
from benchmark.report.compare import DROP, NEW, RISE, SAME
from benchmark.report.facts import Facts
from benchmark.report.figures import ReportFigure
from benchmark.report.labels import attack_name, method_name
from benchmark.report.tables import PaperTable


@dataclass(frozen=True)
class Comparison:
    baseline: Path
    cells: pd.DataFrame  # summary rows with compare.COMPARE_COLUMNS
    gone: pd.DataFrame  # baseline cells the runs no longer have (grid keys only)
    alpha: float

    def changes(self) -> pd.DataFrame:
        """The significant changes, drops first, in display form."""
        cells = self.cells[self.cells["change"].isin([DROP, RISE])]
        cells = cells.sort_values(["change", "p_holm"], key=lambda c: c.map({DROP: 0, RISE: 1}) if c.name == "change" else c)
        return pd.DataFrame(
            {
                "change": cells["change"],
                "backend": cells["backend"],
                "map": cells["map"],
                "method": [method_name(m) for m in cells["method"]],
                "train ε": cells["train_eps"].map("{:g}".format),
                "attack": [attack_name(a) for a in cells["attack"]],
                "test ε": cells["test_eps"].map("{:g}".format),
                "baseline (%)": (100 * cells["baseline_mean"]).map("{:.0f}".format),
                "now (%)": (100 * cells["mean"]).map("{:.0f}".format),
                "Δ pooled (pp)": (100 * cells["diff"]).map("{:+.1f}".format),
                "p (Holm)": cells["p_holm"].map("{:.2g}".format),
            }
        )

    def counts(self) -> str:
        counts = self.cells["change"].value_counts()
        text = ", ".join(f"{counts.get(k, 0)} {k}" for k in (DROP, RISE, SAME, NEW))
        return f"{len(self.cells)} cells compared with {self.baseline}: {text}; {len(self.gone)} baseline cell(s) missing now."


@dataclass(frozen=True)
class ReportContent:
    title: str
    generated: str  # ISO time
    facts: Facts
    tables: tuple[PaperTable, ...]
    figures: tuple[ReportFigure, ...]
    comparison: Comparison | None
    reps: int
    criteria: pd.DataFrame  # claims.criteria(summary), as in criteria.csv
    claims: tuple[Claim, ...]


COMPARISON_NOTE = (
    "Per cell, Fisher's exact test (two-sided) on wins and losses pooled over all test episodes of all seeds, "
    "p-values Holm-adjusted over all compared cells, significant at {alpha:g}. Δ is the difference of pooled "
    "per-episode win rates. The test conditions on the evaluated policies: seed-to-seed variation of training "
    "is not part of it."
)

STATISTICS_NOTE = (
    "Each cell's win rate is the fraction of greedy test episodes won (a time-out is not a win), one value per "
    "seed. Mean and IQM (interquartile mean, the 25% trimmed mean) are over seeds; their 95% confidence "
    "intervals are rliable's stratified percentile bootstrap with {reps} resamples, each cell its own stratum, "
    "resampling seeds. Tables show mean ± half the interval's width in percent; a cell from a single seed "
    "shows no interval. summary.csv holds every number, IQM and interval bounds included."
)
