"""report.pdf: the report as printable A4 landscape pages, drawn with matplotlib (no browser needed).

Pages, in the order of report.html: an overview (runs, software, how the numbers are computed), the tables
(as many per page as fit, a wide table split by whole maps), the comparison when there is one, the criteria
and the study's claims, one page per figure (vector, caption below), then the configuration as an appendix.
Every page is A4 landscape.
"""

from __future__ import annotations

import io
import itertools
import math
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure
from matplotlib.transforms import Bbox

from benchmark.report.claims import CRITERIA_NOTE, FAIL, Claim, criteria_display
from benchmark.report.content import COMPARISON_NOTE, STATISTICS_NOTE, ReportContent
from benchmark.report.facts import Sections
from benchmark.report.figures import ReportFigure
from benchmark.report.plotting import zoomed_copy
from benchmark.report.tables import MAX_COLUMNS, PaperTable, cell_text, column_eps_text

PAGE = (11.69, 8.27)  # A4 landscape, inches
MARGIN = 0.6
TEXT_WIDTH = PAGE[0] - 2 * MARGIN
ROW = 0.2  # table row height, inches: 9 pt text at about 1.6 line spacing
LINE = 0.18  # facts line height, inches
CAPTION_CHARACTERS = 190  # 8 pt text across TEXT_WIDTH (about 0.055 inch per character)
MAX_FIGURE_SCALE = 1.5  # a figure grows to fill its page, but not so much that its 9 pt labels look lost
GREY = "#444444"

Draw = Callable[[Axes, float, float], None]  # draws a block at (x, y): inches from the page's top-left


def render_pdf(content: ReportContent) -> tuple[bytes, int]:
    """The PDF's bytes and its number of pages."""
    pages = [*_overview_pages(content), *_table_pages(content.tables)]
    if content.comparison is not None:
        pages += _comparison_pages(content)
    pages += _claims_pages(content)
    appendix = _facts_pages("Appendix: configuration", content.facts.configuration)
    buffer = io.BytesIO()
    with PdfPages(buffer, metadata={"Title": content.title, "Creator": "robust-qmix report"}) as pdf:
        for page in pages:
            pdf.savefig(page)
        for number, figure in enumerate(content.figures, 1):
            _figure_page(pdf, figure, number)
        for page in appendix:
            pdf.savefig(page)
    return buffer.getvalue(), len(pages) + len(content.figures) + len(appendix)


def _page() -> tuple[Figure, Axes]:
    """A blank page whose axes use inches from the top-left corner."""
    figure = Figure(figsize=PAGE)
    ax = figure.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, PAGE[0])
    ax.set_ylim(PAGE[1], 0)
    ax.set_axis_off()
    return figure, ax


class _Flow:
    """Places blocks top to bottom, opening pages as they fill up. `columns(n)` starts a band of n columns
    below what is already on the page: a full column continues in the next one, the last on a new page."""

    GAP = 0.4

    def __init__(self) -> None:
        self.pages: list[Figure] = []
        self.ax: Axes | None = None
        self.count, self.column, self.top, self.y, self.lowest = 1, 0, MARGIN, math.inf, MARGIN  # no page yet

    @property
    def width(self) -> float:
        return (TEXT_WIDTH - self.GAP * (self.count - 1)) / self.count

    def columns(self, count: int) -> None:
        self.count, self.column = count, 0
        self.top = self.y = max(self.lowest, self.y) if self.ax is not None else math.inf

    def add(self, height: float, draw: Draw, keep_with_next: float = 0.0) -> None:
        """Draw a block of `height` inches; `keep_with_next` moves it on with what must follow it (a
        heading is not left alone at the bottom of a column)."""
        if self.y + height + keep_with_next > PAGE[1] - MARGIN:
            if self.column + 1 < self.count and self.ax is not None:
                self.column, self.y = self.column + 1, self.top
            else:
                figure, self.ax = _page()
                self.pages.append(figure)
                self.column, self.top = 0, MARGIN
                self.y = self.lowest = MARGIN
        draw(self.ax, MARGIN + self.column * (self.width + self.GAP), self.y)
        self.y += height
        self.lowest = max(self.lowest, self.y)

    def next_column(self) -> None:
        """Continue at the top of the next column of this band (e.g. to set two sections side by side)."""
        if self.column + 1 < self.count:
            self.column, self.y = self.column + 1, self.top

    def skip(self, height: float) -> None:
        self.y += height
        self.lowest = max(self.lowest, self.y)


def _text(text: str, size: float, **style) -> tuple[float, Draw]:
    """A paragraph block: its height and how to draw it."""
    lines = text.count("\n") + 1
    height = lines * size / 72 * 1.45 + 0.08

    def draw(ax: Axes, x: float, y: float) -> None:
        ax.text(x, y, text, fontsize=size, va="top", linespacing=1.45, **style)

    return height, draw


# ---- overview and appendix


def _overview_pages(content: ReportContent) -> list[Figure]:
    facts = content.facts
    flow = _Flow()
    flow.add(*_text(content.title, 18, weight="bold"))
    flow.add(*_text(f"Generated {content.generated} by robust-qmix report from {len(facts.runs)} run(s).", 9, color=GREY))
    flow.skip(0.15)
    flow.columns(len(facts.overview))
    for index, (heading, pairs) in enumerate(facts.overview):
        if index:
            flow.next_column()
        _pairs(flow, heading, pairs)
    flow.columns(1)
    if facts.skipped:
        flow.add(*_text(f"{len(facts.skipped)} run(s) left out", 11, weight="bold"), keep_with_next=LINE)
        for skipped in facts.skipped:
            flow.add(*_text(textwrap.fill(skipped.reason, 170, subsequent_indent="    "), 7.5, color="#8a5a00"))
        flow.skip(0.2)
    flow.add(*_text("How the numbers are computed", 11, weight="bold"), keep_with_next=LINE)
    flow.add(*_text(textwrap.fill(STATISTICS_NOTE.format(reps=content.reps), 175), 8.5))
    return flow.pages


def _facts_pages(title: str, sections: Sections) -> list[Figure]:
    if not sections:
        return []
    flow = _Flow()
    flow.add(*_text(title, 14, weight="bold"))
    flow.columns(2)
    for heading, pairs in sections:
        _pairs(flow, heading, pairs)
    return flow.pages


def _pairs(flow: _Flow, heading: str, pairs: Sequence[tuple[str, str]]) -> None:
    """A heading and its label/value lines, flowing down the columns."""
    flow.add(*_text(heading, 11, weight="bold"), keep_with_next=LINE)
    label_width = min(max(len(k) for k, _ in pairs) * 0.055 + 0.2, 2.4)
    characters = int((flow.width - label_width) / 0.06)  # monospace at 7.5 pt

    for key, value in pairs:
        lines = textwrap.wrap(value, characters, break_on_hyphens=False) or [""]

        def draw(ax: Axes, x: float, y: float, key=key, lines=lines) -> None:
            ax.text(x, y, key, fontsize=7.5, color="#555555", va="top")
            ax.text(x + label_width, y, "\n".join(lines), fontsize=7.5, va="top", family="monospace", linespacing=1.55)

        flow.add(LINE * len(lines), draw)
    flow.skip(0.12)


# ---- booktabs-style tables


@dataclass(frozen=True)
class _Grid:
    """A table to draw: optional spanning headers (text, first column, width), one header row, body."""

    spans: Sequence[tuple[str, int, int]]
    header: Sequence[str]
    rows: Sequence[Sequence[str]]
    bold: Sequence[Sequence[bool]]
    natural: bool = False  # columns as wide as their text, left-aligned: for a table with a free-text column

    @property
    def height(self) -> float:
        return ROW * (len(self.rows) + 1 + bool(self.spans)) + 0.05


def _table_pages(tables: Sequence[PaperTable]) -> list[Figure]:
    flow = _Flow()
    for number, table in enumerate(tables, 1):
        parts = table.split(MAX_COLUMNS)
        for index, part in enumerate(parts, 1):
            title = f"Table {number}. {table.title}" + (f" (part {index} of {len(parts)})" if len(parts) > 1 else "")
            _add_table(flow, title, table.caption, _paper_grid(part))
    return flow.pages


def _add_table(flow: _Flow, title: str, caption: str, grid: _Grid) -> None:
    """Title, caption and table as one block; a table too long for a page continues on the next."""
    note = textwrap.fill(caption, CAPTION_CHARACTERS)
    header_rows = 1 + bool(grid.spans)
    above = _text(title, 11)[0] + _text(note, 8)[0]
    per_page = max(int((PAGE[1] - 2 * MARGIN - above - 0.3) / ROW) - header_rows, 1)
    for start in range(0, max(len(grid.rows), 1), per_page):
        part = replace(grid, rows=grid.rows[start : start + per_page], bold=grid.bold[start : start + per_page])
        heading = title + (" (continued)" if start else "")

        def draw(ax: Axes, x: float, y: float, part=part, heading=heading) -> None:
            height, title_draw = _text(heading, 11, weight="bold")
            title_draw(ax, x, y)
            note_height, note_draw = _text(note, 8, color=GREY)
            note_draw(ax, x, y + height)
            _draw_grid(ax, part, y + height + note_height)

        flow.add(above + part.height + 0.35, draw)


def _paper_grid(table: PaperTable) -> _Grid:
    spans, position = [], 1
    for map_name, width in table.map_groups():
        spans.append((map_name, position, width))
        position += width
    header = ["Method \\ test ε", *(column_eps_text(eps) for _, eps in table.columns)]
    rows = [[label, *map(cell_text, cells)] for label, cells in zip(table.rows, table.cells)]
    bold = [[False, *(c is not None and c.bold for c in cells)] for cells in table.cells]
    return _Grid(spans, header, rows, bold)


def _draw_grid(ax: Axes, grid: _Grid, top: float) -> None:
    columns = len(grid.header)
    size = 9 if columns <= 10 else 8 if columns <= 14 else 7
    character = 0.075 * size / 9  # average width of a character at this size, inches
    first = min(character * max(len(r[0]) for r in [grid.header, *grid.rows]) + 0.3, 3.0)
    widest = max(len(text) for row in [grid.header, *grid.rows] for text in row[1:]) if columns > 1 else 0
    width = min(max(character * widest + 0.25, 0.5), (TEXT_WIDTH - first) / max(columns - 1, 1))
    x = [MARGIN, *(MARGIN + first + width * (c - 0.5) for c in range(1, columns))]
    right = MARGIN + first + width * (columns - 1)
    align = ["left", *["center"] * (columns - 1)]
    if grid.natural:
        widths = [character * max(len(row[c]) for row in [grid.header, *grid.rows]) + 0.25 for c in range(columns)]
        x = list(itertools.accumulate(widths[:-1], initial=MARGIN))
        right, align = x[-1] + widths[-1], ["left"] * columns

    def rule(y: float, start: float, end: float, weight: float) -> None:
        ax.plot([start, end], [y, y], color="black", linewidth=weight)

    y = top
    rule(y, MARGIN, right, 1.2)
    for text, start, count in grid.spans:
        left = MARGIN + first + width * (start - 1)
        ax.text(left + width * count / 2, y + ROW / 2, text, ha="center", va="center", fontsize=size, weight="bold")
        rule(y + ROW - 0.03, left + 0.06, left + width * count - 0.06, 0.6)
    y += ROW if grid.spans else 0
    for c, text in enumerate(grid.header):
        ax.text(x[c], y + ROW / 2, text, ha=align[c], va="center", fontsize=size)
    y += ROW
    rule(y, MARGIN, right, 0.7)
    for row, bold in zip(grid.rows, grid.bold):
        for c, text in enumerate(row):
            ax.text(x[c], y + ROW / 2, text, ha=align[c], va="center", fontsize=size, weight="bold" if bold[c] else "normal")
        y += ROW
    rule(y, MARGIN, right, 1.2)


# ---- comparison


def _comparison_pages(content: ReportContent) -> list[Figure]:
    comparison = content.comparison
    assert comparison is not None
    frame = comparison.changes()
    caption = f"{comparison.counts()} {COMPARISON_NOTE.format(alpha=comparison.alpha)}"
    title = "Significant changes against the baseline"
    flow = _Flow()
    if frame.empty:
        _add_text(flow, title, caption + "\n\nNo cell changed significantly.")
        return flow.pages
    rows = frame.astype(str).to_numpy().tolist()
    bold = [[r[0] == "drop", *[False] * (len(r) - 1)] for r in rows]
    _add_table(flow, title, caption, _Grid([], list(frame.columns), rows, bold))
    return flow.pages


def _add_text(flow: _Flow, title: str, text: str) -> None:
    """A titled paragraph, for a section without a table."""
    body = _text("\n".join(textwrap.fill(p, CAPTION_CHARACTERS) for p in text.split("\n")), 8)
    flow.add(*_text(title, 11, weight="bold"), keep_with_next=body[0])  # the title stays with its paragraph
    flow.add(*body)
    flow.skip(0.2)


def _text_grid(frame: pd.DataFrame, bold_where: str | None = None) -> _Grid:
    """A frame of display strings as a grid of natural-width columns, bold where a cell says `bold_where`."""
    rows = frame.astype(str).to_numpy().tolist()
    return _Grid([], list(frame.columns), rows, [[v == bold_where for v in row] for row in rows], natural=True)


# ---- criteria and claims


def _claims_pages(content: ReportContent) -> list[Figure]:
    """The criteria table, then each claim: its statement and verdict, rule and evidence, and its table."""
    flow = _Flow()
    if content.criteria.empty:
        _add_text(flow, "Criteria", f"{CRITERIA_NOTE}\n\nNo robust configuration shares a map with vanilla: nothing to check.")
    else:
        _add_table(flow, "Criteria", CRITERIA_NOTE, _text_grid(criteria_display(content.criteria), FAIL))
    flow.add(*_text("The study's claims", 14, weight="bold"), keep_with_next=LINE * 3)
    for claim in content.claims:
        _add_claim(flow, claim)
    return flow.pages


def _add_claim(flow: _Flow, claim: Claim) -> None:
    title = f"({claim.key}) {claim.statement}: {claim.verdict}"
    text = f"{claim.evidence} Rule: {claim.rule}"
    if claim.table is None or claim.table.empty:
        _add_text(flow, title, text)
    else:
        _add_table(flow, title, text, _text_grid(claim.table))


# ---- figures


def _figure_page(pdf: PdfPages, figure: ReportFigure, number: int) -> None:
    """The figure, vector, on an A4 landscape page with its caption below. A small figure grows to fill the
    page with its fonts kept at their point size; a figure too big for the page is zoomed out as a whole
    (fonts and lines too), as a printer would. The page is the figure's canvas widened to A4 (a bounding box
    larger than the figure), so the figure's layout is its own. Drawn on a copy: the report's figure stays."""
    size = figure.figure.get_size_inches()
    caption = textwrap.fill(f"Figure {number}. {figure.title}. {figure.caption}", CAPTION_CHARACTERS - 20)
    caption_height = (caption.count("\n") + 1) * 9 / 72 * 1.45 + 0.3
    scale = min(TEXT_WIDTH / size[0], (PAGE[1] - 2 * MARGIN - caption_height) / size[1], MAX_FIGURE_SCALE)
    width, height = size * scale
    fig = zoomed_copy(figure.figure, min(scale, 1.0))
    fig.set_size_inches(width, height)
    fig.draw_without_rendering()  # lays the figure out at its page size; then the layout stays as it is
    fig.set_layout_engine("none")
    for legend in fig.legends:
        # a figure legend is anchored to the figure's box, which the page-sized bounding box replaces while
        # saving: pin it where the layout put it, in figure coordinates (which saving keeps)
        extent = legend.get_window_extent().transformed(fig.transFigure.inverted())
        legend.set_loc("center")
        legend.set_bbox_to_anchor(extent, transform=fig.transFigure)
    left = (PAGE[0] - width) / 2
    # the caption starts at the page margin, under a centred figure
    fig.text((MARGIN - left) / width, -0.2 / height, caption, fontsize=9, va="top", ha="left", linespacing=1.45)
    used = height + caption_height
    top = MARGIN + max(0.0, (PAGE[1] - 2 * MARGIN - used) / 3)  # a little above centre, like a printed page
    pdf.savefig(fig, bbox_inches=Bbox([[-left, height + top - PAGE[1]], [PAGE[0] - left, height + top]]))

