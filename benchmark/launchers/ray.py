"""The Ray launcher: each run group (benchmark.sweep.form_groups) is one Ray task, on a cluster (`--address`) or on a Ray instance it starts here.

Where the records go: the task itself writes the run directory, exactly as a local worker does (train with
resume, then evaluate), so a sweep's root must be on storage that every node sees at the same path (NFS, a
cluster file system, or one machine). Writing in place, rather than shipping files back to the driver,
keeps checkpoints on disk as training goes, so a task lost with its node resumes from its last checkpoint
when Ray retries it or when the sweep is run again. The driver checks each finished cell from its own view
of the root and reports a cell whose records it cannot see: the sign of a root that is not shared.

Every node needs this project installed at the same version (the task imports `benchmark`), and the root
is resolved to an absolute path here, so it must mean the same folder on every node.
"""

from __future__ import annotations

import dataclasses
import socket
from pathlib import Path

import ray

from benchmark import numerics
from benchmark.errors import UserError
from benchmark.launchers import LaunchOptions, OnDone, failed, groups
from benchmark.sweep import Cell, CellResult, cell_trained, error_line, run_group

# A task whose worker process or node dies is run again this many times; it resumes from its checkpoint.
RETRIES = 2
CONNECT_TIMEOUT = 10  # seconds to reach the cluster's GCS port before giving up


def launch(cells: list[Cell], options: LaunchOptions, on_done: OnDone) -> list[CellResult]:
    """Run the cells as Ray tasks, at most `options.workers` at a time (so a shared cluster is not flooded);
    the cluster's free CPUs and GPUs decide how many of those run at once."""
    started_here = not ray.is_initialized()
    if started_here:
        _connect(options)
    task = ray.remote(run_group).options(
        num_cpus=options.cpus_per_run, num_gpus=options.gpus_per_run, max_retries=RETRIES,
        runtime_env={"env_vars": numerics.PORTABLE_ENV} if options.portable else None,
    )
    queue = [[dataclasses.replace(cell, run_dir=Path(cell.run_dir).resolve()) for cell in unit] for unit in groups(cells, options)]
    queue.reverse()  # pop() from the end keeps the plan's order
    running: dict[ray.ObjectRef, list[Cell]] = {}
    results: list[CellResult] = []
    originals = {Path(cell.run_dir).resolve(): cell for cell in cells}
    try:
        while queue or running:
            while queue and len(running) < options.workers:
                unit = queue.pop()
                running[task.remote(unit)] = unit
            (ref,), _ = ray.wait(list(running), num_returns=1)
            for result in _outcome(ref, running.pop(ref), originals):
                results.append(result)
                on_done(result)
    except BaseException:
        for ref in running:  # interrupted: stop the cells in flight; a later run resumes them
            ray.cancel(ref, force=True)
        raise
    finally:
        if started_here:
            ray.shutdown()
    return results


def _connect(options: LaunchOptions) -> None:
    if options.address:
        _check_reachable(options.address)
        try:
            ray.init(address=options.address, logging_level="WARNING")
        except (ConnectionError, RuntimeError, ValueError) as err:
            reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise UserError(f"cannot join the Ray cluster at {options.address}: {reason}") from None
    else:
        # A private instance on this machine, sized to the requested parallelism; it ends with the sweep.
        cpus = max(1, round(options.workers * options.cpus_per_run))
        ray.init(address="local", num_cpus=cpus, include_dashboard=False, logging_level="WARNING")


def _check_reachable(address: str) -> None:
    """Fail in seconds on a HOST:PORT nobody listens on: ray.init would wait about ten minutes for it."""
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit() or "://" in address:
        return  # "auto", "ray://...": left to Ray
    try:
        socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT).close()
    except OSError as err:
        raise UserError(f"cannot join the Ray cluster at {address}: {err.strerror or err} (is `ray start --head` running there?)") from None


def _outcome(ref: ray.ObjectRef, sent: list[Cell], originals: dict[Path, Cell]) -> list[CellResult]:
    """The task's results, under the run directories the caller planned; a lost task fails all its cells."""
    try:
        results: list[CellResult] = ray.get(ref)
    except ray.exceptions.RayError as err:  # the worker or its node died, or the task was cancelled
        return [failed(originals[c.run_dir], f"ray task failed: {error_line(err)}") for c in sent]
    return [_visible(result, c, originals[c.run_dir]) for result, c in zip(results, sent, strict=True)]


def _visible(result: CellResult, sent: Cell, cell: Cell) -> CellResult:
    result = dataclasses.replace(result, run_dir=cell.run_dir)
    if result.ok and not cell_trained(sent):
        return dataclasses.replace(
            result,
            error=f"the task finished but its records are not visible here under {sent.run_dir}: "
            "--out must be on storage every Ray node sees at the same path",
        )
    return result
