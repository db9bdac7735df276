"""The local launcher: a pool of `workers` spawned processes on this machine (one cell each at a time).

Spawn, not fork: each worker starts a fresh interpreter, so no torch thread pool or CUDA context is
inherited half-initialised, and runs behave as `robust-qmix train` would in a shell. One worker runs the
cells in this process, which is the same computation without the start-up cost.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool

from benchmark.launchers import LaunchOptions, OnDone, failed
from benchmark.sweep import Cell, CellResult, error_line, run_cell


def launch(cells: list[Cell], options: LaunchOptions, on_done: OnDone) -> list[CellResult]:
    results: list[CellResult] = []

    def finish(result: CellResult) -> None:
        results.append(result)
        on_done(result)

    if options.workers == 1 or len(cells) <= 1:
        for cell in cells:
            finish(run_cell(cell))
        return results
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=min(options.workers, len(cells)), mp_context=context) as pool:
        futures = {pool.submit(run_cell, cell): cell for cell in cells}
        try:
            for future in as_completed(futures):
                try:
                    finish(future.result())
                except BrokenProcessPool as err:  # a worker died (killed, out of memory): its cells failed
                    finish(failed(futures[future], f"worker process died ({err})"))
                except Exception as err:  # noqa: BLE001 - e.g. a result that could not be sent back
                    finish(failed(futures[future], error_line(err)))
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise
    return results
