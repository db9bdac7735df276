"""The local launcher: a pool of `workers` spawned processes on this machine (one run group each at a time).

Spawn, not fork: each worker starts a fresh interpreter, so no torch thread pool or CUDA context is
inherited half-initialised, and runs behave as `robust-qmix train` would in a shell. One worker runs the
cells in this process, which is the same computation without the start-up cost, unless the runs must use
portable numerics (benchmark.numerics): only a fresh process can start under them.

Workers never outlive the sweep: each sits in its own process group (so the terminal's Ctrl-C reaches only
the parent, which then stops them), gets SIGTERM from the kernel when the parent dies however it dies
(benchmark.stopping), and on SIGTERM abandons its cell cleanly: the run keeps its last checkpoint and
complete eval.csv rows, and releases its lock, so rerunning the sweep redoes exactly what was lost.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from types import FrameType

from benchmark import numerics
from benchmark.launchers import LaunchOptions, OnDone, failed, groups
from benchmark.stopping import EXIT_CODE, Terminated, die_with_parent, stop_on_sigterm
from benchmark.sweep import Cell, CellResult, error_line, run_group

STOP_WAIT_S = 60  # how long a stopped sweep waits for its workers to unwind before killing them


def launch(cells: list[Cell], options: LaunchOptions, on_done: OnDone) -> list[CellResult]:
    results: list[CellResult] = []

    def finish(result: CellResult) -> None:
        results.append(result)
        on_done(result)

    units = groups(cells, options)
    if not units or ((options.workers == 1 or len(units) == 1) and not options.portable):
        for unit in units:
            for result in run_group(unit):
                finish(result)
        return results
    with numerics.for_children(options.portable):  # every worker the pool starts, at any time, gets the pins
        _run_pool(units, min(options.workers, len(units)), finish)
    return results


def _run_pool(units: list[list[Cell]], workers: int, finish: OnDone) -> None:
    context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_start_worker, initargs=(os.getpid(),))
    futures = {pool.submit(_worker_group, unit): unit for unit in units}
    try:
        for future in as_completed(futures):
            try:
                outcome = future.result()
            except BrokenProcessPool as err:  # a worker died (killed, out of memory): its cells failed
                outcome = [failed(cell, f"worker process died ({err})") for cell in futures[future]]
            except Exception as err:  # noqa: BLE001 - e.g. a result that could not be sent back
                outcome = [failed(cell, error_line(err)) for cell in futures[future]]
            for result in outcome:
                finish(result)
    except BaseException:  # Ctrl-C or SIGTERM of the sweep: stop the workers before going
        pool.shutdown(wait=False, cancel_futures=True)
        _stop_workers()
        raise
    pool.shutdown(wait=True)


def _stop_workers() -> None:
    children = multiprocessing.active_children()
    for child in children:
        child.terminate()
    for child in children:
        child.join(STOP_WAIT_S)
        if child.is_alive():
            child.kill()


def _start_worker(parent_pid: int) -> None:
    os.setpgid(0, 0)
    signal.signal(signal.SIGTERM, _exit_now)
    die_with_parent(parent_pid)


def _exit_now(signum: int, frame: FrameType | None) -> None:
    """SIGTERM of a worker between cells: nothing to unwind."""
    del signum, frame
    os._exit(EXIT_CODE)


def _worker_group(cells: list[Cell]) -> list[CellResult]:
    stop_on_sigterm()
    try:
        return run_group(cells)
    except Terminated:
        os._exit(EXIT_CODE)  # the cell unwound (records consistent, lock released); take no further cell
    finally:
        signal.signal(signal.SIGTERM, _exit_now)
