"""Launchers: how a sweep's pending cells are run (a local process pool, a Ray cluster).

A launcher is `launch(cells, options, on_done) -> list[CellResult]`: it forms run groups of the cells
(`groups`) and runs `benchmark.sweep.run_group` on each, calls `on_done` with each cell's result as it
arrives (in completion order) and returns them all. A
failed cell is a result with `error` set, never an exception that stops the other cells. Adding a
launcher is one module plus one line here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module

from benchmark.errors import UserError
from benchmark.registry import Registry
from benchmark.sweep import Cell, CellResult, auto_group_size, form_groups

OnDone = Callable[[CellResult], None]
Launcher = Callable[[list[Cell], "LaunchOptions", OnDone], list[CellResult]]


@dataclass(frozen=True)
class LaunchOptions:
    workers: int = 1  # cells run at once
    address: str | None = None  # a cluster to join (Ray's address); None: start or use a local one
    gpus_per_run: float = 0  # accelerator share each cell reserves (Ray); 0 = CPU only
    cpus_per_run: float = 1  # one torch thread per run (train.threads), so one core each
    group_size: int = 0  # runs trained together in one process (benchmark.sweep.form_groups); 0 = auto
    portable: bool = False  # train in worker processes under benchmark.numerics.PORTABLE_ENV

    def __post_init__(self) -> None:
        if self.workers < 1:
            raise UserError(f"--workers must be >= 1, got {self.workers}")
        if self.group_size < 0:
            raise UserError(f"--group-size must be >= 0 (0 = auto), got {self.group_size}")
        if self.gpus_per_run < 0 or self.cpus_per_run <= 0:
            raise UserError("gpus_per_run must be >= 0 and cpus_per_run > 0")


def groups(cells: list[Cell], options: LaunchOptions) -> list[list[Cell]]:
    size = options.group_size or auto_group_size(cells, options.workers)
    return form_groups(cells, size)


def failed(cell: Cell, message: str) -> CellResult:
    """The result of a cell whose worker died before it could report (a crashed process, say)."""
    return CellResult(cell.run_dir, 0, 0, 0.0, message)


def _lazy(module: str) -> Launcher:
    """Import a launcher's module on first use, so that its dependencies (ray) are needed only by it."""

    def launch(cells: list[Cell], options: LaunchOptions, on_done: OnDone) -> list[CellResult]:
        try:
            target = import_module(module).launch
        except ModuleNotFoundError as err:
            raise UserError(f"launcher {module.rsplit('.', 1)[-1]!r} is unavailable: {err}") from None
        return target(cells, options, on_done)

    return launch


LAUNCHERS: Registry[Launcher] = Registry("launcher")
LAUNCHERS.add("local", _lazy("benchmark.launchers.local"))
LAUNCHERS.add("ray", _lazy("benchmark.launchers.ray"))

__all__ = ["LAUNCHERS", "LaunchOptions", "Launcher", "OnDone", "failed"]
