"""rliable's stratified bootstrap, deterministic and vectorised over many cells at once.

rliable draws its resampling indices from NumPy's global generator (`np.random.choice`), so each call here
seeds that generator and restores it afterwards: the same runs always give the same report, and nothing
else in the process sees its random stream moved.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from types import ModuleType

import numpy as np
import pandas as pd
import scipy.stats

CONFIDENCE = 0.95
DEFAULT_REPS = 2000  # rliable's own default for profiles; percentile CIs at 2-digit precision need no more
_CHUNK = 512  # cells bootstrapped together: bounds memory (reps x 2 x cells floats) on a large grid


@functools.cache
def rliable_library() -> ModuleType:
    """`rliable.library`, imported once.

    rliable 1.2 requires arch < 8, and arch 7.2 calls pandas' `deprecate_kwarg` with its pre-3.0 signature
    (pandas 3 added a leading warning class), so importing it under pandas 3 fails. The adapter below is
    installed only for the duration of that import and only when pandas has the new signature.
    """
    import pandas.util._decorators as decorators

    original = decorators.deprecate_kwarg

    def compatible(*args, **kwargs):
        if args and isinstance(args[0], str):
            return original(FutureWarning, *args, **kwargs)
        return original(*args, **kwargs)

    decorators.deprecate_kwarg = compatible
    try:
        from rliable import library
    finally:
        decorators.deprecate_kwarg = original
    return library


@contextmanager
def seeded(seed: int) -> Iterator[None]:
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(state)


def mean_and_iqm(scores: np.ndarray) -> np.ndarray:
    """Per column of a (runs x cells) matrix, rliable's aggregate mean then IQM (25% trimmed mean) of that
    column alone; computed for all columns in one call so one bootstrap serves a whole grid."""
    return np.concatenate([scores.mean(axis=0), scipy.stats.trim_mean(scores, 0.25, axis=0)])


STAT_COLUMNS = ("seeds", "mean", "mean_ci_low", "mean_ci_high", "iqm", "iqm_ci_low", "iqm_ci_high")


def cell_estimates(frame: pd.DataFrame, keys: Sequence[str], value: str, reps: int, seed: int = 0) -> pd.DataFrame:
    """One row per group of `keys` (each row of `frame` is one seed's score): the number of seeds, mean and
    IQM, each with its 95% stratified-bootstrap percentile interval over seeds.

    Each cell is its own stratum, so bootstrapping many cells in one matrix resamples every cell's seeds
    independently: the same as bootstrapping each cell alone. Cells are batched by seed count because the
    matrix must be rectangular.
    """
    groups = [(k if isinstance(k, tuple) else (k,), v.to_numpy(float)) for k, v in frame.groupby(list(keys), sort=True)[value]]
    stats = np.full((len(groups), len(STAT_COLUMNS)), np.nan)
    by_seeds: dict[int, list[int]] = defaultdict(list)
    for index, (_, scores) in enumerate(groups):
        by_seeds[len(scores)].append(index)
    with seeded(seed):
        for seeds, indices in sorted(by_seeds.items()):
            for start in range(0, len(indices), _CHUNK):
                chunk = indices[start : start + _CHUNK]
                matrix = np.stack([groups[i][1] for i in chunk], axis=1)
                stats[chunk] = _bootstrap(matrix, reps, seeds)
    table = pd.DataFrame([key for key, _ in groups], columns=list(keys))
    table[list(STAT_COLUMNS)] = stats
    return table.astype({"seeds": int})


def _bootstrap(matrix: np.ndarray, reps: int, seeds: int) -> np.ndarray:
    point, interval = rliable_library().get_interval_estimates(
        {"cells": matrix}, mean_and_iqm, reps=reps, confidence_interval_size=CONFIDENCE
    )
    cells = matrix.shape[1]
    point, low, high = point["cells"], interval["cells"][0], interval["cells"][1]
    mean, iqm = slice(0, cells), slice(cells, 2 * cells)
    return np.column_stack(
        [np.full(cells, seeds), point[mean], low[mean], high[mean], point[iqm], low[iqm], high[iqm]]
    )


def performance_profiles(
    scores: dict[str, np.ndarray], taus: np.ndarray, reps: int, seed: int = 0
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """rliable's score-distribution profiles: per method, the fraction of (run, task) scores above each tau,
    with 95% stratified-bootstrap bands."""

    def above(matrix: np.ndarray, tau_list: np.ndarray) -> np.ndarray:
        # rliable's default evaluates one tau at a time in Python; this is the same fraction for all taus
        return (matrix[..., None] > np.asarray(tau_list)).mean(axis=(0, 1))

    with seeded(seed):
        return rliable_library().create_performance_profile(
            scores, taus, custom_profile_func=above, reps=reps, confidence_interval_size=CONFIDENCE
        )


def improvement_probability(x: np.ndarray, y: np.ndarray) -> float:
    """rliable's probability of improvement P(X > Y) of two (runs x tasks) matrices: per task the
    Mann-Whitney U statistic over all run pairs divided by their number (ties count one half), averaged over
    tasks; vectorised over tasks because the bootstrap calls it thousands of times."""
    greater = (x[:, None, :] > y[None, :, :]).mean(axis=(0, 1))
    ties = (x[:, None, :] == y[None, :, :]).mean(axis=(0, 1))
    return float(np.mean(greater + 0.5 * ties))


def improvement_probabilities(
    pairs: dict[str, tuple[np.ndarray, np.ndarray]], reps: int, seed: int = 0
) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """Per named pair (X, Y): P(X > Y) and its 95% interval, resampling the runs of X and Y independently
    within each task (rliable's stratified independent bootstrap)."""
    with seeded(seed):
        point, interval = rliable_library().get_interval_estimates(
            {name: list(pair) for name, pair in pairs.items()},
            improvement_probability,
            reps=reps,
            confidence_interval_size=CONFIDENCE,
        )
    return {k: float(v) for k, v in point.items()}, interval
