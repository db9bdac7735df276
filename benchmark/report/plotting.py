"""The drawing kit the report's figures share: style, per-method colours and line styles, panel grids,
one legend per figure, and a zoomed copy of a figure for a printed page. Figures are matplotlib Figure
objects (no pyplot state)."""

from __future__ import annotations

import itertools
import pickle
from collections.abc import Iterator
from contextlib import contextmanager

import matplotlib
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.collections import Collection
from matplotlib.figure import Figure
from matplotlib.layout_engine import ConstrainedLayoutEngine
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.text import Text

from benchmark.report.labels import LINESTYLES, MARKERS, method_colours, row_label

PANEL = (2.8, 2.2)  # inches per panel: a 4-panel row fits a landscape A4 page at readable font sizes
MAX_COLUMNS = 4
MAX_LEGEND_COLUMNS = 6


@contextmanager
def report_style() -> Iterator[None]:
    """seaborn's paper style for everything drawn and saved inside, without touching global rcParams."""
    rc = {
        **sns.axes_style("whitegrid"),
        **sns.plotting_context("paper", font_scale=1.15),
        "pdf.fonttype": 42,  # TrueType in PDFs, which journals and text selection want
        "savefig.dpi": 150,
        "hatch.linewidth": 0.6,  # hatching marks training radii; it should not outshout the bar's colour
        "figure.dpi": 100,
    }
    with matplotlib.rc_context(rc):
        yield


class Styles:
    """Colour per method, line style and marker per training eps, fixed for one report."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self.colours = method_colours(frame["method"].unique())
        eps = sorted(frame["train_eps"].unique())
        self.eps_index = {e: i for i, e in enumerate(eps)}
        self.method_of: dict[str, str] = {}  # legend label -> method, to group the legend by method

    def line(self, method: str, train_eps: float) -> dict[str, object]:
        i = self.eps_index[train_eps]
        label = row_label(method, train_eps)
        self.method_of[label] = method
        return {
            "color": self.colours[method],
            "linestyle": LINESTYLES[i % len(LINESTYLES)],
            "marker": MARKERS[i % len(MARKERS)],
            "label": label,
        }


def grid(rows: int, columns: int, height: float | None = None, **kwargs) -> tuple[Figure, np.ndarray]:
    # big grids get flatter, narrower panels, so that a whole figure still fits a printed page legibly
    panel_width = PANEL[0] if columns <= MAX_COLUMNS else PANEL[0] * 0.85
    panel_height = PANEL[1] if rows <= 2 else PANEL[1] * 0.8
    size = (panel_width * columns + 1.5, height or panel_height * rows + 1.0)
    figure = Figure(figsize=size, layout="constrained")
    axes = figure.subplots(rows, columns, squeeze=False, **kwargs)
    return figure, axes


def outer_labels(axes: np.ndarray, xlabel: str, ylabel: str) -> None:
    """Axis labels on the outer panels only: a shared axis needs saying once."""
    rows = axes.shape[0]
    for (r, c), ax in np.ndenumerate(axes):
        below = r + 1 < rows and axes[r + 1, c].get_visible()
        ax.set_xlabel("" if below else xlabel)
        ax.set_ylabel(ylabel if c == 0 else "")
        if not below:
            ax.tick_params(axis="x", labelbottom=True)  # a shared x axis hides them above a hidden panel


def wrap(count: int) -> tuple[int, int]:
    columns = min(count, MAX_COLUMNS)
    return -(-count // columns), columns


def hide_unused(axes: np.ndarray, used: int) -> None:
    for ax in axes.flat[used:]:
        ax.set_visible(False)


def figure_legend(figure: Figure, axes: np.ndarray, styles: Styles) -> None:
    """One legend for the figure, below the panels, from the first panel that drew each entry. Preferred: a
    column per method (its training radii below each other); else entries in rows, as many per row as fit
    the figure's width; only a legend that fits in no way widens the figure (it would be cut off)."""
    entries: dict[str, object] = {}
    for ax in axes.flat:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            entries.setdefault(label, handle)
    if not entries:
        return
    columns: dict[str, list[tuple[str, object]]] = {}
    for label, handle in entries.items():
        columns.setdefault(styles.method_of.get(label, label), []).append((label, handle))
    depth = max(map(len, columns.values()))
    layouts = []
    if len(columns) <= MAX_LEGEND_COLUMNS and depth > 1:
        blank = (" ", Line2D([], [], linestyle="none"))  # matplotlib fills legends column by column
        layouts.append(([e for column in columns.values() for e in column + [blank] * (depth - len(column))], len(columns)))
    plain = list(entries.items())
    layouts += [(plain, n) for n in range(min(len(plain), MAX_LEGEND_COLUMNS), 0, -1)]
    for number, (ordered, ncols) in enumerate(layouts, 1):
        labels, handles = zip(*ordered)
        legend = figure.legend(handles, labels, loc="outside lower center", ncols=ncols, frameon=False)
        legend.report_ncols = ncols  # read by zoomed_copy, which rebuilds the legend at a smaller size
        needed = legend.get_window_extent().width / figure.dpi + 0.3
        if needed <= figure.get_figwidth():
            return
        if number == len(layouts):
            figure.set_figwidth(needed)  # the narrowest layout, on a figure made wide enough for it
        else:
            legend.remove()


def zoomed_copy(figure: Figure, factor: float) -> Figure:
    """A copy of the figure whose sizes given in points (fonts, lines, markers, ticks, layout pads) are
    scaled by `factor`: drawn at `factor` times the figure's size, it is a reduced copy of the figure, as a
    printer would shrink it to fit a page. With factor 1, a plain copy."""
    copy = pickle.loads(pickle.dumps(figure))
    if factor == 1:
        return copy
    copy.draw_without_rendering()  # creates the tick labels, which are then scaled with the rest
    # a legend's spacing is fixed in points when it is made, so each is made anew at the smaller font
    legends = [([t.get_text() for t in legend.get_texts()], legend.get_texts()[0].get_fontsize(), legend.report_ncols) for legend in copy.legends]
    for legend in list(copy.legends):
        legend.remove()
    for artist in copy.findobj():
        if isinstance(artist, Text):
            artist.set_fontsize(artist.get_fontsize() * factor)
        elif isinstance(artist, Line2D):
            artist.set_linewidth(artist.get_linewidth() * factor)
            artist.set_markersize(artist.get_markersize() * factor)
            artist.set_markeredgewidth(artist.get_markeredgewidth() * factor)
        elif isinstance(artist, (Patch, Collection)):
            artist.set_linewidth(np.asarray(artist.get_linewidth()) * factor)
    for ax in copy.axes:
        for which, axis in itertools.product(("major", "minor"), "xy"):
            size, width, pad = (matplotlib.rcParams[f"{axis}tick.{which}.{key}"] for key in ("size", "width", "pad"))
            ax.tick_params(axis=axis, which=which, length=size * factor, width=width * factor, pad=pad * factor)
    engine = copy.get_layout_engine()
    if isinstance(engine, ConstrainedLayoutEngine):
        pads = engine.get()
        engine.set(w_pad=pads["w_pad"] * factor, h_pad=pads["h_pad"] * factor)
    drawn = {label: handle for ax in copy.axes for handle, label in zip(*ax.get_legend_handles_labels())}
    for labels, size, ncols in legends:
        handles = [drawn.get(label, Line2D([], [], linestyle="none")) for label in labels]
        legend = copy.legend(handles, labels, loc="outside lower center", ncols=ncols, frameon=False, fontsize=size * factor)
        legend.report_ncols = ncols
    return copy


def line_with_band(ax: Axes, x, mean, low, high, style: dict[str, object]) -> None:
    ax.plot(x, mean, linewidth=1.5, markersize=4, **style)
    ax.fill_between(x, low, high, color=style["color"], alpha=0.15, linewidth=0)


def win_rate_band(ax: Axes, x: pd.Series, rows: pd.DataFrame, style: dict[str, object]) -> None:
    """Rows of cell estimates (mean and its CI bounds, as fractions) as a line with its band, in percent."""
    line_with_band(ax, x, 100 * rows["mean"], 100 * rows["mean_ci_low"], 100 * rows["mean_ci_high"], style)


def percent_axis(ax: Axes) -> None:
    ax.set_ylim(-3, 103)
    ax.set_yticks([0, 25, 50, 75, 100])
