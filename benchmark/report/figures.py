"""The report's figures: win rate vs test eps, training curves, train x test eps heat maps, rliable's
robustness profiles, training cost. Drawn with the kit in plotting.py, so every figure colours a method the
same way (colour-blind safe) and tells training radii apart by line style, marker or hatching, which survive
greyscale printing.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.ticker import EngFormatter, MaxNLocator

from benchmark.report.labels import (
    REFERENCE,
    attack_order,
    attack_phrase,
    attacked,
    eps_text,
    map_order,
    method_name,
    method_order,
    row_label,
    slug,
    train_configs,
)
from benchmark.report.plotting import (
    PANEL,
    Styles,
    figure_legend,
    grid,
    hide_unused,
    line_with_band,
    outer_labels,
    percent_axis,
    win_rate_band,
    wrap,
)
from benchmark.report.stats import improvement_probabilities, performance_profiles

HEATMAP = "viridis"  # perceptually uniform and colour-blind safe


@dataclass(frozen=True)
class ReportFigure:
    name: str  # file stem
    title: str
    caption: str  # the sentences after the title; renderers print "Title. Caption"
    figure: Figure


def _eps_ticks(ax: Axes, eps: Sequence[float]) -> None:
    """Ticks at the radii tested (when few enough to label), so a reader sees where the points are."""
    eps = sorted(eps)
    if len(eps) <= 8:
        ax.set_xticks(eps, [eps_text(e) for e in eps])


def _eps_curves(summary: pd.DataFrame) -> Iterator[tuple[str, pd.DataFrame]]:
    """Each attack's rows that have a test-eps axis to draw: tested at two radii or more, and an attack
    (without one, the radius changes nothing: a flat line or a uniform heat map says nothing)."""
    for attack in attack_order(summary["attack"].unique()):
        rows = summary[summary["attack"] == attack]
        if attack != "none" and rows["test_eps"].nunique() > 1:
            yield attack, rows


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
        for attack, rows in _eps_curves(part):
            figures.append(_win_rate_figure(rows, styles, f"win_rate_vs_eps_{slug(attack)}{suffix}", backend, attack))
    return figures


def _win_rate_figure(rows: pd.DataFrame, styles: Styles, name: str, backend: str, attack: str) -> ReportFigure:
    """A panel per (method, map), each with the reference (vanilla) drawn in for comparison: all methods in
    one panel would be a tangle of a dozen lines once several train radii are compared."""
    maps, methods = map_order(rows["map"].unique()), method_order(rows["method"].unique())
    row_methods = [m for m in methods if m != REFERENCE] or methods
    panels = [(method, m) for method in row_methods for m in maps]
    # a grid of methods x maps; with one of them alone, the panels wrap in rows instead
    layout = wrap(len(panels)) if len(row_methods) == 1 or len(maps) == 1 else (len(row_methods), len(maps))
    figure, axes = grid(*layout, sharex=True, sharey=True)
    for ax, (method, map_name) in zip(axes.flat, panels):
        cell = rows[rows["map"] == map_name]
        drawn = cell[cell["method"].isin({method, REFERENCE})]
        for config_method, eps in train_configs(drawn):
            line = drawn[(drawn["method"] == config_method) & (drawn["train_eps"] == eps)].sort_values("test_eps")
            style = styles.line(config_method, eps)
            win_rate_band(ax, line["test_eps"], line, style)
        ax.set_title(map_name if len(row_methods) == 1 else f"{method_name(method)} · {map_name}")
        percent_axis(ax)
        _eps_ticks(ax, rows["test_eps"].unique())
    hide_unused(axes, len(panels))
    outer_labels(axes, "test ε", "win rate (%)")
    figure_legend(figure, axes, styles)
    title = f"Win rate vs test ε {attack_phrase(attack)} ({backend})"
    caption = "Mean test win rate over seeds with 95% stratified-bootstrap confidence bands (rliable), one panel per map"
    if REFERENCE in methods and len(methods) > 1:
        caption += f" and method, with {method_name(REFERENCE)} drawn in every panel for reference"
    return ReportFigure(name, title, caption + ".", figure)


# ---- training curves


def training_curves(curves: pd.DataFrame) -> list[ReportFigure]:
    if curves.empty:
        return []
    figures = []
    styles = Styles(curves)
    for backend, suffix, part in _by_backend(curves):
        maps, methods = map_order(part["map"].unique()), method_order(part["method"].unique())
        figure, axes = grid(len(maps), len(methods), sharex=True, sharey=True)
        for row, map_name in enumerate(maps):
            for column, method in enumerate(methods):
                _curve_panel(axes[row, column], part[(part["map"] == map_name) & (part["method"] == method)], styles)
                axes[row, column].set_title(f"{map_name} · {method_name(method)}")
        outer_labels(axes, "env steps", "test win rate (%)")
        figure_legend(figure, axes, styles)
        title = f"Training curves ({backend})"
        caption = "Greedy test win rate during training, one panel per map and method; mean over seeds with 95% stratified-bootstrap intervals (rliable)."
        figures.append(ReportFigure(f"training_curves{suffix}", title, caption, figure))
    return figures


def _curve_panel(ax: Axes, rows: pd.DataFrame, styles: Styles) -> None:
    for eps in sorted(rows["train_eps"].unique()):
        line = rows[rows["train_eps"] == eps].sort_values("env_steps")
        method = line["method"].iloc[0]
        win_rate_band(ax, line["env_steps"], line, styles.line(method, eps) | {"marker": None})
    if rows.empty:
        ax.text(0.5, 0.5, "no runs", ha="center", va="center", transform=ax.transAxes, color="grey")
    # 250k, 1M: readable at a glance, unlike a "1e6" offset in the corner
    ax.xaxis.set_major_formatter(EngFormatter(sep=""))
    ax.xaxis.set_major_locator(MaxNLocator(4))
    percent_axis(ax)


# ---- heat maps


def heatmaps(summary: pd.DataFrame) -> list[ReportFigure]:
    figures = []
    for backend, suffix, part in _by_backend(summary):
        for attack, rows in _eps_curves(part):
            figures.append(_heatmap_figure(rows, f"heatmap_{slug(attack)}{suffix}", backend, attack))
    return figures


def _heatmap_figure(rows: pd.DataFrame, name: str, backend: str, attack: str) -> ReportFigure:
    """One panel per map; its rows are the training configurations, grouped by method (each group is that
    method's train ε × test ε map), its columns the test radii."""
    maps, configs = map_order(rows["map"].unique()), train_configs(rows)
    test_eps = sorted(rows["test_eps"].unique())
    layout = wrap(len(maps))
    width = layout[1] * (0.42 * len(test_eps) + 0.5) + 1.9  # room for the row labels and the colour bar
    height = layout[0] * (0.27 * len(configs) + 1.0) + 0.3
    figure = Figure(figsize=(width, height), layout="constrained")
    axes = figure.subplots(*layout, squeeze=False, sharey=True)
    for ax, map_name in zip(axes.flat, maps):
        _heatmap_panel(ax, rows[rows["map"] == map_name], configs, test_eps)
        ax.set_title(map_name)
    hide_unused(axes, len(maps))
    outer_labels(axes, "test ε", "")
    colourbar = ScalarMappable(Normalize(0, 100), HEATMAP)
    figure.colorbar(colourbar, ax=axes, label="mean win rate (%)", shrink=min(1.0, 4 / height), aspect=20)
    title = f"Train ε × test ε {attack_phrase(attack)} ({backend})"
    caption = (
        "Mean test win rate (%) over seeds, one panel per map: rows are the methods and their training radii, "
        "columns the test radii; an empty cell was not evaluated."
    )
    return ReportFigure(name, title, caption, figure)


def _heatmap_panel(ax: Axes, cell: pd.DataFrame, configs: Sequence[tuple[str, float]], test_eps: Sequence[float]) -> None:
    grid = cell.pivot_table(index=["method", "train_eps"], columns="test_eps", values="mean") * 100
    grid = grid.reindex(index=pd.MultiIndex.from_tuples(configs), columns=test_eps)
    grid.index = [row_label(m, e) for m, e in configs]
    grid.columns = [eps_text(e) for e in test_eps]
    sns.heatmap(grid, ax=ax, vmin=0, vmax=100, cmap=HEATMAP, annot=True, fmt=".0f", cbar=False, annot_kws={"fontsize": 7.5}, linewidths=0.5, linecolor="white")
    ax.tick_params(axis="y", rotation=0, length=0)
    ax.tick_params(axis="x", rotation=0, length=0)
    methods = [m for m, _ in configs]
    for y in range(1, len(methods)):
        if methods[y] != methods[y - 1]:
            ax.axhline(y, color="white", linewidth=3)  # a gap between methods' blocks


# ---- performance profiles and probability of improvement


def robustness_profiles(scores: pd.DataFrame, reps: int) -> list[ReportFigure]:
    """rliable's view over all attacked cells: score distributions and P(method > reference)."""
    figures = []
    for backend, suffix, part in _by_backend(scores):
        matrices, tasks, attacked = _score_matrices(part)
        if not matrices:
            continue
        cells = f"{tasks} {'attacked ' if attacked else ''}(map, attack, test ε) cells"
        figures.append(_profile_figure(matrices, cells, reps, f"profiles{suffix}", backend, Styles(part)))
    return figures


def _score_matrices(scores: pd.DataFrame) -> tuple[dict[tuple[str, float], np.ndarray], int, bool]:
    """Per (method, train eps), a (seeds x tasks) matrix over the tasks every seed of every configuration was
    tested on, their number, and whether they are attacked cells: tasks are the attacked (map, attack, test
    eps) cells, or all cells when nothing was attacked. rliable needs the matrices rectangular; taking the
    tasks all seeds share (not dropping the seeds that lack one) keeps a study evaluated part-way, where one
    attack has reached only some seeds, from losing every seed."""
    under_attack = scores[attacked(scores)]
    scores = under_attack if not under_attack.empty else scores
    task = ["map", "attack", "test_eps"]
    per_config = {c: scores[(scores["method"] == c[0]) & (scores["train_eps"] == c[1])] for c in train_configs(scores)}
    tested = [set(map(tuple, seed_rows[task].to_numpy())) for rows in per_config.values() for _, seed_rows in rows.groupby("seed")]
    common = set.intersection(*tested) if tested else set()
    if not common:
        return {}, 0, False
    # every seed of every configuration has all of `common`, so no matrix is empty or has holes
    matrices = {
        config: rows.pivot_table(index="seed", columns=task, values="win_rate")[sorted(common)].to_numpy()
        for config, rows in per_config.items()
    }
    return matrices, len(common), not under_attack.empty


def _profile_figure(matrices: dict, cells: str, reps: int, name: str, backend: str, styles: Styles) -> ReportFigure:
    configs = list(matrices)
    reference = next((c for c in configs if c[0] == REFERENCE), configs[0])
    others = [c for c in configs if c != reference]
    # the improvement panel lists every other configuration: give each a readable line
    height = max(PANEL[1] + 0.4, 0.24 * len(others) + 1.2) + 1.0
    figure, axes = grid(1, 2 if others else 1, height=height)
    _profile_panel(axes[0, 0], matrices, reps, styles)
    if others:
        _improvement_panel(axes[0, 1], matrices, reference, others, reps, styles)
    figure_legend(figure, axes[:, :1], styles)
    title = f"Robustness profiles ({backend})"
    caption = f"Over the {cells} tested for every method. Left: fraction of (seed, cell) win rates above τ (rliable performance profile)."
    if others:
        caption += (
            f" Right: probability that a method's win rate exceeds {row_label(*reference)}'s on a random cell "
            "(rliable probability of improvement); 0.5 means no difference."
        )
    caption += " Bands and bars: 95% stratified-bootstrap intervals."
    return ReportFigure(name, title, caption, figure)


def _profile_panel(ax: Axes, matrices: dict, reps: int, styles: Styles) -> None:
    taus = np.linspace(0, 1, 101)
    profiles, bands = performance_profiles({row_label(*c): m for c, m in matrices.items()}, taus, reps)
    for config in matrices:
        label = row_label(*config)
        style = styles.line(*config) | {"marker": None}
        line_with_band(ax, 100 * taus, profiles[label], bands[label][0], bands[label][1], style)
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
        maps = map_order(part["map"].unique())
        configs = train_configs(part)  # the same rows in every panel, so a shared y axis lines them up
        rows, columns = wrap(len(maps))
        height = rows * (0.28 * len(configs) + 1.0) + 0.6
        figure, axes = grid(rows, columns, height=height, sharey=True)
        styles = Styles(part)
        for ax, map_name in zip(axes.flat, maps):
            _cost_panel(ax, part[part["map"] == map_name], configs, styles)
            ax.set_title(map_name)
        hide_unused(axes, len(maps))
        outer_labels(axes, "wall seconds per 10⁶ env steps", "")
        devices = ", ".join(sorted(part["device"].unique()))
        title = f"Training cost ({backend}, {devices})"
        caption = (
            "Wall-clock seconds per million env steps, test episodes included, one panel per map; "
            "bars: mean over seeds, dots: single seeds."
        )
        figures.append(ReportFigure(f"training_cost{suffix}", title, caption, figure))
    return figures


def _cost_panel(ax: Axes, rows: pd.DataFrame, configs: Sequence[tuple[str, float]], styles: Styles) -> None:
    """Horizontal bars: method names stay horizontal and readable however many there are."""
    for y, (method, eps) in enumerate(configs):
        seconds = rows.loc[(rows["method"] == method) & (rows["train_eps"] == eps), "seconds_per_million_steps"]
        if seconds.empty:
            continue
        # hatching tells training radii of one method apart in greyscale, as line styles do in the line plots
        hatch = ("", "/", ".", "x")[styles.eps_index[eps] % 4]
        ax.barh(y, seconds.mean(), height=0.7, color=styles.colours[method], hatch=hatch, edgecolor="white", linewidth=0)
        ax.plot(seconds, np.full(len(seconds), y), "o", color="black", markersize=3)
    ax.set_yticks(range(len(configs)), [row_label(m, e) for m, e in configs])
    ax.set_ylim(len(configs) - 0.4, -0.6)  # first method on top, as in the tables
    ax.set_xlim(left=0)
    ax.xaxis.set_major_locator(MaxNLocator(4))
    ax.xaxis.set_major_formatter(EngFormatter(sep=""))
    ax.grid(axis="y", visible=False)
