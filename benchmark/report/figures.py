"""The report's figures, drawn on matplotlib Figure objects (no pyplot state) in seaborn's style.

Every figure colours a method the same way (labels.method_colours, colour-blind safe) and tells training
radii apart by line style and marker, which survive greyscale printing.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import matplotlib
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure

from benchmark.report.labels import (
    LINESTYLES,
    MARKERS,
    attack_order,
    attack_phrase,
    eps_text,
    method_colours,
    method_name,
    method_order,
    row_label,
    slug,
)
from benchmark.report.stats import improvement_probabilities, performance_profiles

PANEL = (2.8, 2.2)  # inches per panel: a 4-panel row fits a landscape A4 page at readable font sizes
MAX_COLUMNS = 4
HEATMAP = "viridis"  # perceptually uniform and colour-blind safe


@dataclass(frozen=True)
class ReportFigure:
    name: str  # file stem
    title: str
    caption: str
    figure: Figure


@contextmanager
def report_style() -> Iterator[None]:
    """seaborn's paper style for everything drawn and saved inside, without touching global rcParams."""
    rc = {
        **sns.axes_style("whitegrid"),
        **sns.plotting_context("paper", font_scale=1.15),
        "pdf.fonttype": 42,  # TrueType in PDFs, which journals and text selection want
        "savefig.dpi": 150,
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

    def line(self, method: str, train_eps: float) -> dict[str, object]:
        i = self.eps_index[train_eps]
        return {
            "color": self.colours[method],
            "linestyle": LINESTYLES[i % len(LINESTYLES)],
            "marker": MARKERS[i % len(MARKERS)],
            "label": row_label(method, train_eps),
        }


def _configs(frame: pd.DataFrame) -> list[tuple[str, float]]:
    return [(m, e) for m in method_order(frame["method"].unique()) for e in sorted(frame.loc[frame["method"] == m, "train_eps"].unique())]


def _grid(rows: int, columns: int, height: float | None = None, **kwargs) -> tuple[Figure, np.ndarray]:
    size = (PANEL[0] * columns + 1.5, height or PANEL[1] * rows + 1.0)
    figure = Figure(figsize=size, layout="constrained")
    axes = figure.subplots(rows, columns, squeeze=False, **kwargs)
    return figure, axes


def _outer_labels(axes: np.ndarray, xlabel: str, ylabel: str) -> None:
    """Axis labels on the outer panels only: a shared axis needs saying once."""
    rows = axes.shape[0]
    for (r, c), ax in np.ndenumerate(axes):
        below = r + 1 < rows and axes[r + 1, c].get_visible()
        ax.set_xlabel("" if below else xlabel)
        ax.set_ylabel(ylabel if c == 0 else "")


def _wrap(count: int) -> tuple[int, int]:
    columns = min(count, MAX_COLUMNS)
    return -(-count // columns), columns


def _hide_unused(axes: np.ndarray, used: int) -> None:
    for ax in axes.flat[used:]:
        ax.set_visible(False)


def _legend(figure: Figure, axes: np.ndarray) -> None:
    """One legend for the figure, below the panels, from the first panel that drew each entry."""
    entries: dict[str, object] = {}
    for ax in axes.flat:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            entries.setdefault(label, handle)
    if entries:
        figure.legend(entries.values(), entries.keys(), loc="outside lower center", ncols=min(len(entries), 5), frameon=False)


def _line_with_band(ax: Axes, x, mean, low, high, style: dict[str, object]) -> None:
    ax.plot(x, mean, linewidth=1.5, markersize=4, **style)
    ax.fill_between(x, low, high, color=style["color"], alpha=0.15, linewidth=0)


def _percent_axis(ax: Axes) -> None:
    ax.set_ylim(-3, 103)
    ax.set_yticks([0, 25, 50, 75, 100])


def _by_backend(frame: pd.DataFrame) -> Iterator[tuple[str, str, pd.DataFrame]]:
    """(backend, file-name suffix, rows): the suffix is only needed when a report mixes backends."""
    backends = sorted(frame["backend"].unique())
    for backend in backends:
        yield backend, f"_{slug(backend)}" if len(backends) > 1 else "", frame[frame["backend"] == backend]


# ---- win rate vs test eps


def win_rate_vs_eps(summary: pd.DataFrame) -> list[ReportFigure]:
    figures = []
    styles = Styles(summary)
    for backend, suffix, part in _by_backend(summary):
        for attack in attack_order(part["attack"].unique()):
            rows = part[part["attack"] == attack]
            if rows["test_eps"].nunique() < 2:
                continue  # a single radius is a table cell, not a curve
            figures.append(_win_rate_figure(rows, styles, f"win_rate_vs_eps_{slug(attack)}{suffix}", backend, attack))
    return figures


def _win_rate_figure(rows: pd.DataFrame, styles: Styles, name: str, backend: str, attack: str) -> ReportFigure:
    maps = sorted(rows["map"].unique())
    figure, axes = _grid(*_wrap(len(maps)), sharey=True)
    for ax, map_name in zip(axes.flat, maps):
        cell = rows[rows["map"] == map_name]
        for method, eps in _configs(cell):
            line = cell[(cell["method"] == method) & (cell["train_eps"] == eps)].sort_values("test_eps")
            _line_with_band(ax, line["test_eps"], 100 * line["mean"], 100 * line["mean_ci_low"], 100 * line["mean_ci_high"], styles.line(method, eps))
        ax.set_title(map_name)
        _percent_axis(ax)
    _hide_unused(axes, len(maps))
    _outer_labels(axes, "test ε", "win rate (%)")
    _legend(figure, axes)
    title = f"Win rate vs test ε {attack_phrase(attack)} ({backend})"
    caption = f"{title}. Lines: mean over seeds; bands: 95% stratified-bootstrap confidence intervals (rliable)."
    return ReportFigure(name, title, caption, figure)


# ---- training curves


def training_curves(curves: pd.DataFrame) -> list[ReportFigure]:
    if curves.empty:
        return []
    figures = []
    styles = Styles(curves)
    for backend, suffix, part in _by_backend(curves):
        maps, methods = sorted(part["map"].unique()), method_order(part["method"].unique())
        figure, axes = _grid(len(maps), len(methods), sharex=True, sharey=True)
        for row, map_name in enumerate(maps):
            for column, method in enumerate(methods):
                _curve_panel(axes[row, column], part[(part["map"] == map_name) & (part["method"] == method)], styles)
                axes[row, column].set_title(f"{map_name} · {method_name(method)}")
        _outer_labels(axes, "env steps", "test win rate (%)")
        _legend(figure, axes)
        title = f"Training curves ({backend})"
        caption = f"{title}: greedy test win rate during training; mean over seeds with 95% stratified-bootstrap intervals (rliable)."
        figures.append(ReportFigure(f"training_curves{suffix}", title, caption, figure))
    return figures


def _curve_panel(ax: Axes, rows: pd.DataFrame, styles: Styles) -> None:
    for eps in sorted(rows["train_eps"].unique()):
        line = rows[rows["train_eps"] == eps].sort_values("env_steps")
        method = line["method"].iloc[0]
        _line_with_band(ax, line["env_steps"], 100 * line["mean"], 100 * line["mean_ci_low"], 100 * line["mean_ci_high"], styles.line(method, eps) | {"marker": None})
    if rows.empty:
        ax.text(0.5, 0.5, "no runs", ha="center", va="center", transform=ax.transAxes, color="grey")
    ax.ticklabel_format(axis="x", style="sci", scilimits=(0, 3))
    _percent_axis(ax)


# ---- heat maps


def heatmaps(summary: pd.DataFrame) -> list[ReportFigure]:
    figures = []
    for backend, suffix, part in _by_backend(summary):
        for attack in attack_order(part["attack"].unique()):
            rows = part[part["attack"] == attack]
            if rows["test_eps"].nunique() > 1:  # one radius has no test-eps axis to map
                figures.append(_heatmap_figure(rows, f"heatmap_{slug(attack)}{suffix}", backend, attack))
    return figures


def _heatmap_figure(rows: pd.DataFrame, name: str, backend: str, attack: str) -> ReportFigure:
    maps, methods = sorted(rows["map"].unique()), method_order(rows["method"].unique())
    # each method's panel as tall as its number of training radii, so rows look alike across methods
    heights = [0.4 * rows.loc[rows["method"] == m, "train_eps"].nunique() + 0.9 for m in methods]
    figure, axes = _grid(len(methods), len(maps), height=sum(heights) + 0.6, gridspec_kw={"height_ratios": heights})
    for r, method in enumerate(methods):
        for c, map_name in enumerate(maps):
            _heatmap_panel(axes[r, c], rows[(rows["method"] == method) & (rows["map"] == map_name)])
            axes[r, c].set_title(f"{method_name(method)} · {map_name}")
    _outer_labels(axes, "test ε", "train ε")
    colourbar = ScalarMappable(Normalize(0, 100), HEATMAP)
    figure.colorbar(colourbar, ax=axes, label="mean win rate (%)", shrink=min(0.8, 3 / sum(heights)), aspect=15)
    title = f"Train ε × test ε {attack_phrase(attack)} ({backend})"
    caption = f"{title}: mean win rate (%) over seeds per training radius (rows) and test radius (columns)."
    return ReportFigure(name, title, caption, figure)


def _heatmap_panel(ax: Axes, cell: pd.DataFrame) -> None:
    if cell.empty:
        ax.set_axis_off()
        ax.text(0.5, 0.5, "no runs", ha="center", va="center", transform=ax.transAxes, color="grey")
        return
    grid = cell.pivot_table(index="train_eps", columns="test_eps", values="mean") * 100
    grid.index = [eps_text(e) for e in grid.index]
    grid.columns = [eps_text(e) for e in grid.columns]
    sns.heatmap(grid, ax=ax, vmin=0, vmax=100, cmap=HEATMAP, annot=True, fmt=".0f", cbar=False, annot_kws={"fontsize": 8}, linewidths=0.5)
    ax.tick_params(axis="y", rotation=0)


# ---- performance profiles and probability of improvement


def robustness_profiles(scores: pd.DataFrame, reps: int) -> list[ReportFigure]:
    """rliable's view over all attacked cells: score distributions and P(method > reference)."""
    figures = []
    for backend, suffix, part in _by_backend(scores):
        matrices, tasks = _score_matrices(part)
        if not matrices:
            continue
        figures.append(_profile_figure(matrices, tasks, reps, f"profiles{suffix}", backend, Styles(part)))
    return figures


def _score_matrices(scores: pd.DataFrame) -> tuple[dict[tuple[str, float], np.ndarray], int]:
    """Per (method, train eps), a (seeds x tasks) matrix over the tasks every configuration was tested on;
    tasks are the attacked (map, attack, test eps) cells, or all cells when nothing was attacked. A seed
    that lacks one of those tasks is left out of the matrix, since rliable needs it rectangular."""
    attacked = scores[(scores["test_eps"] > 0) & (scores["attack"] != "none")]
    scores = attacked if not attacked.empty else scores
    task = ["map", "attack", "test_eps"]
    per_config = {c: scores[(scores["method"] == c[0]) & (scores["train_eps"] == c[1])] for c in _configs(scores)}
    common = set.intersection(*(set(map(tuple, rows[task].to_numpy())) for rows in per_config.values()))
    if not common:
        return {}, 0
    matrices = {}
    for config, rows in per_config.items():
        wide = rows.pivot_table(index="seed", columns=task, values="win_rate")[sorted(common)].dropna()
        if not wide.empty:
            matrices[config] = wide.to_numpy()
    return matrices, len(common)


def _profile_figure(matrices: dict, tasks: int, reps: int, name: str, backend: str, styles: Styles) -> ReportFigure:
    configs = list(matrices)
    reference = next((c for c in configs if c[0] == "vanilla"), configs[0])
    others = [c for c in configs if c != reference]
    figure, axes = _grid(1, 2 if others else 1)
    _profile_panel(axes[0, 0], matrices, reps, styles)
    if others:
        _improvement_panel(axes[0, 1], matrices, reference, others, reps, styles)
    _legend(figure, axes[:, :1])
    title = f"Robustness profiles ({backend})"
    caption = (
        f"{title}, over {tasks} (map, attack, test ε) cells tested for every method. Left: fraction of (seed, cell) "
        f"win rates above τ (rliable performance profile). Right: probability that a method's win rate exceeds "
        f"{row_label(*reference)}'s on a random cell (rliable probability of improvement). Bands and bars: 95% "
        f"stratified-bootstrap intervals."
    )
    return ReportFigure(name, title, caption, figure)


def _profile_panel(ax: Axes, matrices: dict, reps: int, styles: Styles) -> None:
    taus = np.linspace(0, 1, 101)
    profiles, bands = performance_profiles({row_label(*c): m for c, m in matrices.items()}, taus, reps)
    for config in matrices:
        label = row_label(*config)
        style = styles.line(*config) | {"marker": None}
        _line_with_band(ax, 100 * taus, profiles[label], bands[label][0], bands[label][1], style)
    ax.set_xlabel("win rate τ (%)")
    ax.set_ylabel("fraction of runs\nwith win rate > τ")
    ax.set_ylim(-0.03, 1.03)
    ax.set_title("Performance profile")


def _improvement_panel(ax: Axes, matrices: dict, reference, others: Sequence, reps: int, styles: Styles) -> None:
    pairs = {row_label(*c): (matrices[c], matrices[reference]) for c in others}
    point, interval = improvement_probabilities(pairs, reps)
    for y, config in enumerate(others):
        label = row_label(*config)
        low, high = interval[label][0].item(), interval[label][1].item()
        colour = styles.colours[config[0]]
        ax.plot([low, high], [y, y], color=colour, linewidth=6, alpha=0.45, solid_capstyle="butt")
        ax.plot([point[label]], [y], marker=styles.line(*config)["marker"], color=colour, markersize=6, linestyle="none")
    ax.axvline(0.5, color="grey", linestyle="--", linewidth=1)
    ax.set_yticks(range(len(others)), [row_label(*c) for c in others])
    ax.set_ylim(-0.6, len(others) - 0.4)
    ax.invert_yaxis()
    ax.set_xlim(-0.03, 1.03)
    ax.set_xlabel(f"P(method > {row_label(*reference)})")
    ax.set_title("Probability of improvement")


# ---- training cost


def training_cost(cost: pd.DataFrame) -> list[ReportFigure]:
    if cost.empty:
        return []
    figures = []
    for backend, suffix, part in _by_backend(cost):
        part = part.assign(label=[row_label(m, e) for m, e in zip(part["method"], part["train_eps"])])
        maps = sorted(part["map"].unique())
        figure, axes = _grid(*_wrap(len(maps)), sharey=True)
        palette = method_colours(part["method"].unique())
        for ax, map_name in zip(axes.flat, maps):
            _cost_panel(ax, part[part["map"] == map_name], palette)
            ax.set_title(map_name)
        _hide_unused(axes, len(maps))
        _outer_labels(axes, "", "seconds per 10⁶ env steps")
        devices = ", ".join(sorted(part["device"].unique()))
        title = f"Training cost ({backend}, {devices})"
        caption = f"{title}: wall-clock seconds per million env steps, test episodes included; bars: mean over seeds, dots: seeds."
        figures.append(ReportFigure(f"training_cost{suffix}", title, caption, figure))
    return figures


def _cost_panel(ax: Axes, rows: pd.DataFrame, palette: dict) -> None:
    order = [row_label(m, e) for m, e in _configs(rows)]
    colours = {row_label(m, e): palette[m] for m, e in _configs(rows)}
    sns.barplot(rows, x="label", y="seconds_per_million_steps", hue="label", order=order, palette=colours, errorbar=None, ax=ax, legend=False)
    sns.stripplot(rows, x="label", y="seconds_per_million_steps", order=order, color="black", size=3, ax=ax)
    ax.tick_params(axis="x", rotation=35)
    for tick in ax.get_xticklabels():
        tick.set_horizontalalignment("right")
