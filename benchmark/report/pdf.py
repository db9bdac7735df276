"""report.pdf: the report as printable A4 landscape pages, drawn with matplotlib (no browser needed).

Pages: facts (runs, software, configuration, statistics), one page per table (split when a table is too
wide or too long for a page), the comparison when there is one, then one page per figure (vector).
"""

from __future__ import annotations

import io
import math
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass

from matplotlib.axes import Axes
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure

from benchmark.report.content import ReportContent
from benchmark.report.figures import ReportFigure
from benchmark.report.html import COMPARISON_NOTE, STATISTICS_NOTE, comparison_counts, comparison_rows
from benchmark.report.labels import eps_text
from benchmark.report.tables import PaperTable

PAGE = (11.69, 8.27)  # A4 landscape, inches
MARGIN = 0.6
MAX_TABLE_COLUMNS = 18  # data columns per page: more would shrink "100 ± 12" below a printable size
ROW = 0.26  # table row height, inches
LINE = 0.18  # facts line height, inches


def render_pdf(content: ReportContent) -> tuple[bytes, int]:
    """The PDF's bytes and its number of pages."""
    pages = [*_facts_pages(content), *(p for t in content.tables for p in _table_pages(t))]
    if content.comparison is not None:
        pages += _comparison_pages(content)
    buffer = io.BytesIO()
    with PdfPages(buffer, metadata={"Title": content.title, "Creator": "robust-qmix report"}) as pdf:
        for page in pages:
            pdf.savefig(page)
        for number, figure in enumerate(content.figures, 1):
            _figure_page(pdf, figure, number)
        count = len(pages) + len(content.figures)
    return buffer.getvalue(), count


def _figure_page(pdf: PdfPages, figure: ReportFigure, number: int) -> None:
    """The figure scaled up to fill an A4 landscape page (fonts keep their point size, so they print at it),
    with its caption on top. Runs after the figure's own files are written: those stay caption-free, as a
    paper's figures are."""
    fig = figure.figure
    width, height = fig.get_size_inches()
    scale = min(PAGE[0] / width, PAGE[1] / height)
    fig.set_size_inches(width * scale, height * scale)
    characters = int(width * scale * 72 / (9 * 0.55))  # 9 pt text averages about 0.55 em per character
    fig.suptitle(textwrap.fill(f"Figure {number}. {figure.caption}", characters), x=0.01, ha="left", fontsize=9)
    pdf.savefig(fig)


def _page() -> tuple[Figure, Axes]:
    """A blank page whose axes use inches from the top-left corner."""
    figure = Figure(figsize=PAGE)
    ax = figure.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, PAGE[0])
    ax.set_ylim(PAGE[1], 0)
    ax.set_axis_off()
    return figure, ax


# ---- facts pages


@dataclass(frozen=True)
class _Line:
    kind: str  # "title", "heading", "pair" or "text"
    text: str
    value: str = ""


def _facts_lines(content: ReportContent) -> list[_Line]:
    facts = content.facts
    lines = [_Line("title", content.title), _Line("text", f"Generated {content.generated} from {len(facts.runs)} run(s).")]
    for heading, pairs in facts.sections:
        lines += [_Line("heading", heading), *(_Line("pair", k, v) for k, v in pairs)]
    if facts.skipped:
        lines.append(_Line("heading", f"{len(facts.skipped)} run(s) left out"))
        lines += [_Line("text", s.reason) for s in facts.skipped]
    lines += [_Line("heading", "How the numbers are computed"), _Line("text", STATISTICS_NOTE.format(reps=content.reps))]
    return lines


_HEIGHT = {"title": 0.45, "heading": 0.32, "pair": LINE, "text": LINE}
_COLUMN_WIDTH = (PAGE[0] - 2 * MARGIN) / 2 - 0.2


def _wrapped(line: _Line) -> list[str]:
    """The line's printed lines: paragraphs wrap to the column, values of pairs to the value's space."""
    if line.kind == "text":
        return textwrap.wrap(line.text, 95)
    if line.kind == "pair":
        return textwrap.wrap(line.value, 50, break_on_hyphens=False) or [""]
    return [line.text]


def _facts_pages(content: ReportContent) -> list[Figure]:
    """Lines flow down the left column, then the right one, then onto a new page."""
    pages: list[Figure] = []
    column, y = 1, math.inf  # as if the right column of a previous page were full
    for line in _facts_lines(content):
        height = _HEIGHT[line.kind] * len(_wrapped(line))
        if y + height > PAGE[1] - MARGIN:
            column, y = column + 1, MARGIN
            if column == 2:
                figure, ax = _page()
                pages.append(figure)
                column = 0
        _draw_line(ax, line, MARGIN + column * (_COLUMN_WIDTH + 0.4), y)
        y += height
    return pages


def _draw_line(ax: Axes, line: _Line, x: float, y: float) -> None:
    if line.kind == "title":
        ax.text(x, y, line.text, fontsize=16, weight="bold", va="top")
    elif line.kind == "heading":
        ax.text(x, y + 0.1, line.text, fontsize=10.5, weight="bold", va="top")
    elif line.kind == "pair":
        ax.text(x, y, line.text, fontsize=7.5, color="#555555", va="top")
        ax.text(x + 1.9, y, "\n".join(_wrapped(line)), fontsize=7.5, va="top", family="monospace", linespacing=1.55)
    else:
        ax.text(x, y, "\n".join(_wrapped(line)), fontsize=7.5, va="top", linespacing=1.5)


# ---- booktabs-style tables


@dataclass(frozen=True)
class _Grid:
    """A table to draw: optional spanning headers (text, first column, width), one header row, body."""

    spans: Sequence[tuple[str, int, int]]
    header: Sequence[str]
    rows: Sequence[Sequence[str]]
    bold: Sequence[Sequence[bool]]


def _table_pages(table: PaperTable) -> list[Figure]:
    pages = []
    for columns in _column_chunks(table):
        grid = _paper_grid(table, columns)
        for rows in _row_chunks(len(grid.rows), header_rows=2):
            part = _Grid(grid.spans, grid.header, [grid.rows[r] for r in rows], [grid.bold[r] for r in rows])
            pages.append(_grid_page(table.title, table.caption, part))
    return pages


def _column_chunks(table: PaperTable) -> list[list[int]]:
    """Whole maps per page, as many as fit MAX_TABLE_COLUMNS (a map wider than that gets a page alone)."""
    chunks: list[list[int]] = [[]]
    start = 0
    for _, width in table.map_groups():
        if chunks[-1] and len(chunks[-1]) + width > MAX_TABLE_COLUMNS:
            chunks.append([])
        chunks[-1].extend(range(start, start + width))
        start += width
    return chunks


def _row_chunks(count: int, header_rows: int) -> list[range]:
    per_page = int((PAGE[1] - 2 * MARGIN - 1.3) / ROW) - header_rows
    return [range(i, min(i + per_page, count)) for i in range(0, count, per_page)] or [range(0)]


def _paper_grid(table: PaperTable, columns: list[int]) -> _Grid:
    spans, position = [], 1
    for map_name, width in table.map_groups():
        chosen = [c for c in columns if table.columns[c][0] == map_name]
        if chosen:
            spans.append((map_name, position, len(chosen)))
            position += len(chosen)
    header = ["Method \\ test ε", *(eps_text(table.columns[c][1]) for c in columns)]
    rows, bold = [], []
    for label, cells in zip(table.rows, table.cells):
        chosen = [cells[c] for c in columns]
        rows.append([label, *(_cell_text(c) for c in chosen)])
        bold.append([False, *(c is not None and c.bold for c in chosen)])
    return _Grid(spans, header, rows, bold)


def _cell_text(cell) -> str:
    if cell is None:
        return "–"
    mean, half = cell.parts()
    return f"{mean} ± {half}" if half else mean


def _grid_page(title: str, caption: str, grid: _Grid) -> Figure:
    figure, ax = _page()
    ax.text(MARGIN, MARGIN, title, fontsize=13, weight="bold", va="top")
    ax.text(MARGIN, MARGIN + 0.4, textwrap.fill(caption, 150), fontsize=8, va="top", color="#333333")
    _draw_grid(ax, grid, top=MARGIN + 1.1)
    return figure


def _draw_grid(ax: Axes, grid: _Grid, top: float) -> None:
    columns = len(grid.header)
    longest = max(len(r[0]) for r in [grid.header, *grid.rows])
    first = min(0.075 * longest + 0.3, 3.0)
    width = min((PAGE[0] - 2 * MARGIN - first) / max(columns - 1, 1), 1.6)
    size = 9 if columns <= 9 else 8 if columns <= 13 else 7
    x = [MARGIN + first + width * (c - 0.5) for c in range(columns)]
    x[0] = MARGIN
    right = MARGIN + first + width * (columns - 1)

    def rule(y: float, start: float, end: float, weight: float) -> None:
        ax.plot([start, end], [y, y], color="black", linewidth=weight)

    y = top
    rule(y, MARGIN, right, 1.2)
    if grid.spans:
        for text, start, count in grid.spans:
            centre = MARGIN + first + width * (start - 1 + count / 2)
            ax.text(centre, y + ROW / 2, text, ha="center", va="center", fontsize=size, weight="bold")
            rule(y + ROW - 0.03, MARGIN + first + width * (start - 1) + 0.06, MARGIN + first + width * (start - 1 + count) - 0.06, 0.6)
        y += ROW
    for c, text in enumerate(grid.header):
        ax.text(x[c], y + ROW / 2, text, ha="left" if c == 0 else "center", va="center", fontsize=size)
    y += ROW
    rule(y, MARGIN, right, 0.7)
    for row, bold in zip(grid.rows, grid.bold):
        for c, text in enumerate(row):
            ax.text(x[c], y + ROW / 2, text, ha="left" if c == 0 else "center", va="center", fontsize=size, weight="bold" if bold[c] else "normal")
        y += ROW
    rule(y, MARGIN, right, 1.2)


# ---- comparison


def _comparison_pages(content: ReportContent) -> list[Figure]:
    comparison = content.comparison
    assert comparison is not None
    frame = comparison_rows(comparison)
    caption = f"{comparison_counts(comparison)} {COMPARISON_NOTE.format(alpha=comparison.alpha)}"
    title = "Significant changes against the baseline"
    if frame.empty:
        figure, ax = _page()
        ax.text(MARGIN, MARGIN, title, fontsize=13, weight="bold", va="top")
        ax.text(MARGIN, MARGIN + 0.4, textwrap.fill(caption, 150) + "\n\nNo cell changed significantly.", fontsize=8, va="top")
        return [figure]
    rows = frame.astype(str).to_numpy().tolist()
    bold = [[r[0] == "drop", *[False] * (len(r) - 1)] for r in rows]
    return [
        _grid_page(title, caption, _Grid([], list(frame.columns), [rows[i] for i in chunk], [bold[i] for i in chunk]))
        for chunk in _row_chunks(len(rows), header_rows=1)
    ]
