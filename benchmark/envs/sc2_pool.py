"""The parent-process side of the `sc2` backend: B game workers, their time limits and their restarts.

A worker that dies, hangs past its time limit or reports a failed game is killed with its whole process
group (StarCraft II included) and replaced by a fresh one; `Games.restarts` counts these replacements.
Whether the lost game's episode must be re-run is the caller's decision (see sc2.py): this module only
guarantees that after any request every worker is alive and answering, or that a game which keeps
failing ends the run with a one-line UserError.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from benchmark.envs.sc2_worker import Factory, serve
from benchmark.errors import UserError

# forkserver: workers are forked from a small clean server that has imported the worker module once, so
# starting or restarting a worker is quick and never forks the (threaded) training process itself.
_CONTEXT = multiprocessing.get_context("forkserver")
_CONTEXT.set_forkserver_preload(["benchmark.envs.sc2_worker"])


@dataclass(frozen=True)
class Timeouts:
    """Seconds to wait for a worker's answer. A reset may launch StarCraft II, which is slow on a cold disk."""

    start: float = 120.0
    reset: float = 300.0
    step: float = 60.0
    close: float = 15.0


class WorkerFailed(Exception):
    """One worker did not answer properly; the message says how."""


class Worker:
    """One game in one process, reached through a pipe."""

    def __init__(self, factory: Factory, kwargs: dict[str, Any], timeouts: Timeouts) -> None:
        self.timeouts = timeouts
        self.conn, child = _CONTEXT.Pipe()
        self.process = _CONTEXT.Process(target=serve, args=(child, factory, kwargs), daemon=True)
        self.process.start()
        child.close()  # so that the worker's death reads as end-of-file here
        try:
            self.sizes: dict[str, int] = self.receive(time.monotonic() + timeouts.start)
        except WorkerFailed:
            self.kill()
            raise

    def send(self, command: str, argument: Any = None) -> None:
        try:
            self.conn.send((command, argument))
        except (OSError, ValueError) as err:
            raise WorkerFailed(f"could not send {command!r}: {err}") from None

    def receive(self, deadline: float) -> Any:
        try:
            ready = self.conn.poll(max(0.0, deadline - time.monotonic()))
            if not ready:
                raise WorkerFailed("no answer within the time limit (hung)")
            status, payload = self.conn.recv()
        except (EOFError, OSError):
            self.process.join(1.0)
            raise WorkerFailed(f"worker exited (code {self.process.exitcode})") from None
        if status != "ok":
            raise WorkerFailed(payload)
        return payload

    def ask_to_close(self) -> None:
        try:
            self.conn.send(("close", None))
        except (OSError, ValueError):
            pass  # already gone; kill() cleans up

    def finish(self, deadline: float) -> None:
        """Give the game until `deadline` to close itself, then make sure everything it started is gone."""
        self.process.join(max(0.0, deadline - time.monotonic()))
        self.kill()

    def kill(self) -> None:
        # The worker leads its own process group (see sc2_worker.serve); killing the group also ends the
        # StarCraft II process, which would otherwise outlive a killed worker.
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass  # the group is gone, or the worker died before it became a group leader
        if self.process.exitcode is None:
            self.process.kill()
        self.process.join(5.0)
        self.conn.close()


class Games:
    """B workers answering requests in parallel; failed workers are replaced before a request returns."""

    def __init__(self, factory: Factory, kwargs: Sequence[dict[str, Any]], timeouts: Timeouts,
                 max_failures: int = 3) -> None:
        self.factory, self.kwargs, self.timeouts = factory, list(kwargs), timeouts
        self.max_failures = max_failures
        self.restarts = 0
        self._failures = [0] * len(self.kwargs)  # consecutive failures per game
        self._starts = [0] * len(self.kwargs)
        self.workers: list[Worker | None] = [None] * len(self.kwargs)
        try:
            for i in range(len(self.kwargs)):
                self.workers[i] = self._start(i)
        except BaseException:
            self.close()
            raise

    def request(self, ids: Iterable[int], command: str, arguments: Sequence[Any] | None,
                timeout: float) -> tuple[dict[int, Any], dict[int, str]]:
        """Send `command` to the games `ids` at once and wait for all; returns (answers, failures).

        Failed games have already been replaced by fresh workers when this returns.
        """
        ids = list(ids)
        failed: dict[int, str] = {}
        for k, i in enumerate(ids):
            try:
                self._worker(i).send(command, None if arguments is None else arguments[k])
            except WorkerFailed as err:
                failed[i] = str(err)
        deadline = time.monotonic() + timeout
        answers: dict[int, Any] = {}
        for i in ids:
            if i in failed:
                continue
            try:
                answers[i] = self._worker(i).receive(deadline)
                self._failures[i] = 0
            except WorkerFailed as err:
                failed[i] = str(err)
        for i, reason in failed.items():
            self._replace(i, reason)
        return answers, failed

    def reset(self, ids: Iterable[int]) -> dict[int, Any]:
        """Reset games, retrying on fresh workers: a reset starts a new episode, so a retry loses nothing."""
        pending, results = list(ids), {}
        while pending:
            answers, failed = self.request(pending, "reset", None, self.timeouts.reset)
            results.update(answers)
            pending = sorted(failed)
        return results

    def close(self) -> None:
        """Close all games together (each SMAC game takes a moment to quit); safe to call twice."""
        workers = [w for w in self.workers if w is not None]
        self.workers = [None] * len(self.workers)
        for worker in workers:
            worker.ask_to_close()
        deadline = time.monotonic() + self.timeouts.close
        for worker in workers:
            worker.finish(deadline)

    def _worker(self, i: int) -> Worker:
        worker = self.workers[i]
        if worker is None:
            raise RuntimeError("the StarCraft II games are closed")
        return worker

    def _replace(self, i: int, reason: str) -> None:
        self._failures[i] += 1
        self._worker(i).kill()
        self.workers[i] = None
        self._give_up_if_stuck(i, reason)
        self.workers[i] = self._start(i)

    def _start(self, i: int) -> Worker:
        """Start game i's worker, retrying a failed start; every start after the game's first is a restart."""
        while True:
            if self._starts[i]:
                self.restarts += 1
            self._starts[i] += 1
            try:
                return Worker(self.factory, self.kwargs[i], self.timeouts)
            except WorkerFailed as err:
                self._failures[i] += 1
                self._give_up_if_stuck(i, str(err))

    def _give_up_if_stuck(self, i: int, reason: str) -> None:
        if self._failures[i] >= self.max_failures:
            self.close()
            raise UserError(f"StarCraft II game {i} failed {self._failures[i]} times in a row, last: {reason}; "
                            "see `robust-qmix doctor`")
