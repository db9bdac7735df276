"""Paper-style tables: methods as rows, maps x test eps as columns, one table per (backend, attack).

An evaluation without attack does not depend on the test eps (every eps replays the same clean battles), so
its table has one column per map (test eps None) instead of the same number under every eps. A column's best
mean is bold only where it beats another row's: a column of ties (all zeros, a single row) has no bold cell.
One model (`PaperTable`) is rendered three ways (Markdown, LaTeX booktabs, HTML), so the three always agree
on numbers and on which cell is bold.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, replace
from itertools import groupby

import pandas as pd

from benchmark.report.labels import (
    attack_order,
    attack_phrase,
    eps_text,
    ignores_eps,
    map_order,
    row_label,
    slug,
    train_configs,
)

MAX_COLUMNS = 16  # data columns of one part of a table in report.html and report.pdf: "100 ± 12" stays legible


@dataclass(frozen=True)
class Cell:
    mean: float
    low: float
    high: float
    seeds: int
    bold: bool

    def parts(self) -> tuple[str, str | None]:
        """Mean and CI half-width in percent; no half-width for one seed, whose interval says nothing."""
        half = (self.high - self.low) / 2
        width = f"{100 * half:.0f}" if self.seeds > 1 and math.isfinite(half) else None
        return f"{100 * self.mean:.0f}", width


def cell_text(cell: Cell | None, empty: str = "–", interval: str = "{mean} ± {half}", best: str = "{}", plain: str = "{}") -> str:
    """One cell in a renderer's markup: `interval` joins mean and half-width (a single seed shows the mean
    alone), then `best` or `plain` wraps it; `empty` stands for a cell without runs."""
    if cell is None:
        return empty
    mean, half = cell.parts()
    text = interval.format(mean=mean, half=half) if half else mean
    return (best if cell.bold else plain).format(text)


@dataclass(frozen=True)
class PaperTable:
    name: str  # file stem
    title: str
    caption: str
    columns: tuple[tuple[str, float | None], ...]  # (map, test eps); None: the same at every eps
    rows: tuple[str, ...]
    cells: tuple[tuple[Cell | None, ...], ...]

    def map_groups(self) -> list[tuple[str, int]]:
        """Each map with its number of (consecutive) eps columns, for spanning headers."""
        return [(m, len(list(g))) for m, g in groupby(c[0] for c in self.columns)]

    def split(self, max_columns: int) -> list[PaperTable]:
        """The table in as few parts of whole maps as keep each within `max_columns` data columns (a map
        wider than that is a part alone), the parts about equally wide: for a page or a screen."""
        total = len(self.columns)
        target = math.ceil(total / math.ceil(total / max_columns)) if total else 0
        parts: list[list[int]] = [[]]
        start = 0
        for _, width in self.map_groups():
            if parts[-1] and len(parts[-1]) + width > target:
                parts.append([])
            parts[-1].extend(range(start, start + width))
            start += width
        return [
            replace(
                self,
                name=f"{self.name}_part{number}" if len(parts) > 1 else self.name,
                columns=tuple(self.columns[c] for c in part),
                cells=tuple(tuple(row[c] for c in part) for row in self.cells),
            )
            for number, part in enumerate(parts, 1)
        ]


def paper_tables(summary: pd.DataFrame, reps: int) -> list[PaperTable]:
    backends = sorted(summary["backend"].unique())
    tables = []
    for backend in backends:
        part = summary[summary["backend"] == backend]
        for attack in attack_order(part["attack"].unique()):
            prefix = f"{backend}_" if len(backends) > 1 else ""
            tables.append(_table(part[part["attack"] == attack], f"{prefix}win_rate_{slug(attack)}", reps))
    return tables


def _table(part: pd.DataFrame, name: str, reps: int) -> PaperTable:
    backend, attack = part["backend"].iloc[0], part["attack"].iloc[0]
    if ignores_eps(attack):
        part = _one_eps_per_cell(part)
    columns = tuple(
        (m, None if ignores_eps(attack) else e)
        for m in map_order(part["map"].unique())
        for e in sorted(part.loc[part["map"] == m, "test_eps"].unique().astype(float))
    )
    configs = train_configs(part)
    index = {(r.method, r.train_eps, r.map, None if ignores_eps(attack) else r.test_eps): r for r in part.itertuples()}
    grid = [[index.get((m, e, c_map, c_eps)) for c_map, c_eps in columns] for m, e in configs]
    bold = [_bold(column) for column in zip(*grid)]
    cells = tuple(
        tuple(None if r is None else Cell(r.mean, r.mean_ci_low, r.mean_ci_high, r.seeds, b) for r, b in zip(row, column_bold))
        for row, column_bold in zip(grid, zip(*bold))
    )
    seeds = sorted(part["seeds"].unique())
    if seeds[-1] == 1:
        numbers = "one seed per cell, so no confidence interval"
    else:
        numbers = (
            f"mean over seeds ± half-width of the 95% stratified-bootstrap confidence interval (rliable, {reps} "
            f"resamples); {seeds[0] if len(seeds) == 1 else f'{seeds[0]} to {seeds[-1]}'} seeds per cell"
            + (" (a cell with one seed has no interval)" if seeds[0] == 1 else "")
        )
    layout = "columns are maps (the same at every test ε)" if ignores_eps(attack) else "columns are maps × test ε"
    caption = (
        f"Test win rate (%) {attack_phrase(attack)} on the {backend} backend: {numbers}; {layout}; "
        "best mean per column in bold where it beats another row's."
    )
    title = f"Win rate {attack_phrase(attack)} ({backend})"
    return PaperTable(name, title, caption, columns, tuple(row_label(m, e) for m, e in configs), cells)


def _one_eps_per_cell(part: pd.DataFrame) -> pd.DataFrame:
    """Each (method, train eps, map)'s row with the most seeds (then the smallest eps): the eps-free cell."""
    ordered = part.sort_values(["seeds", "test_eps"], ascending=[False, True], kind="stable")
    return ordered.drop_duplicates(["method", "train_eps", "map"]).sort_index()


def _bold(column: tuple) -> list[bool]:
    """Which cells of a column hold its best mean, where some other cell's mean is lower."""
    means = [r.mean for r in column if r is not None]
    best = max(means, default=math.nan)
    if all(math.isclose(m, best) for m in means):
        return [False] * len(column)
    return [r is not None and math.isclose(r.mean, best) for r in column]


def column_eps_text(eps: float | None) -> str:
    """A column's test eps in a header row; `any` for a column that holds the same at every eps."""
    return "any" if eps is None else eps_text(eps)


# ---- Markdown


def to_markdown(table: PaperTable) -> str:
    header = ["Method", *(m if e is None else f"{m} ε={eps_text(e)}" for m, e in table.columns)]
    lines = [f"### {table.title}", "", md_row(header), md_row([":--", *["--:"] * len(table.columns)])]
    for label, row in zip(table.rows, table.cells):
        lines.append(md_row([label, *(cell_text(c, best="**{}**") for c in row)]))
    return "\n".join([*lines, "", table.caption, ""])


def md_row(cells: list[str]) -> str:
    return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"


# ---- LaTeX (booktabs)

_LATEX = {c: f"\\{c}" for c in "&%$#_{}"} | {
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "\\": r"\textbackslash{}",
    "ε": r"$\epsilon$",
    "±": r"$\pm$",
    "×": r"$\times$",
    "–": "--",
}


def latex_escape(text: str) -> str:
    return "".join(_LATEX.get(c, c) for c in text)


def to_latex(table: PaperTable) -> str:
    groups = table.map_groups()
    spec = "l" + "".join(" " + "c" * n for _, n in groups)
    spans, rules, start = [], [], 2
    for name, n in groups:
        spans.append(rf"\multicolumn{{{n}}}{{c}}{{{latex_escape(name)}}}")
        rules.append(rf"\cmidrule(lr){{{start}-{start + n - 1}}}")
        start += n
    lines = [
        "% Requires \\usepackage{booktabs,adjustbox}.",
        r"\begin{table}[tbp]",
        r"\centering",
        rf"\caption{{{latex_escape(table.caption)}}}",
        rf"\label{{tab:{table.name.replace('_', '-')}}}",
        r"\begin{adjustbox}{max width=\linewidth}",  # shrinks a wide table to the column, never enlarges
        rf"\begin{{tabular}}{{{spec}}}",
        r"\toprule",
        " & ".join(["", *spans]) + r" \\",
        " ".join(rules),
        " & ".join([r"Method \quad test $\epsilon$", *(column_eps_text(e) for _, e in table.columns)]) + r" \\",
        r"\midrule",
        *(" & ".join([latex_escape(label), *map(_latex_cell, row)]) + r" \\" for label, row in zip(table.rows, table.cells)),
        r"\bottomrule",
        r"\end{tabular}",
        r"\end{adjustbox}",
        r"\end{table}",
    ]
    return "\n".join(lines) + "\n"


def _latex_cell(cell: Cell | None) -> str:
    return cell_text(cell, empty="--", interval="{mean} $\\pm$ {half}", best="\\textbf{{{}}}")


# ---- HTML


def to_html(table: PaperTable, caption: bool = True) -> str:
    """The table as an HTML fragment; report.html sets its caption apart, above the table (caption=False)."""
    esc = html.escape
    spans = "".join(f'<th colspan="{n}" class="map">{esc(m)}</th>' for m, n in table.map_groups())
    eps = "".join(f"<th>{esc(column_eps_text(e))}</th>" for _, e in table.columns)
    body = "".join(
        f'<tr><th scope="row">{esc(label)}</th>{"".join(map(_html_cell, row))}</tr>' for label, row in zip(table.rows, table.cells)
    )
    caption_html = f"<caption>{esc(table.caption)}</caption>" if caption else ""
    return (
        f'<table class="paper" id="{esc(table.name)}">{caption_html}'
        f'<thead><tr><th></th>{spans}</tr><tr><th>Method \\ test ε</th>{eps}</tr></thead>'
        f"<tbody>{body}</tbody></table>"
    )


def _html_cell(cell: Cell | None) -> str:
    return cell_text(
        cell, '<td class="empty">–</td>', '{mean}<span class="ci"> ± {half}</span>', '<td class="best"><strong>{}</strong></td>', "<td>{}</td>"
    )
