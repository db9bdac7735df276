"""How a process stops when told to: SIGTERM becomes an exception that unwinds like Ctrl-C, and sweep
workers die with the process that started them.

`timeout`, `docker stop`, Slurm and the OOM killer stop a program with SIGTERM (then SIGKILL). By default
Python dies on SIGTERM without unwinding, so a checkpoint being written would leave its temporary file and
a sweep's workers would be orphaned, still writing into run directories that a rerun then races. As an
exception, SIGTERM runs every `finally` (temporary files removed, locks released, StarCraft II games
closed) and the command exits 143. Workers ask the kernel for SIGTERM when their parent dies (Linux
PR_SET_PDEATHSIG), which covers a parent killed with SIGKILL too.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from types import FrameType

EXIT_CODE = 128 + signal.SIGTERM
_PR_SET_PDEATHSIG = 1  # linux/prctl.h


class Terminated(BaseException):
    """SIGTERM arrived. A BaseException, so that handlers of a cell's own failures do not swallow it."""


def _raise(signum: int, frame: FrameType | None) -> None:
    del signum, frame
    raise Terminated("terminated by SIGTERM")


def stop_on_sigterm() -> None:
    signal.signal(signal.SIGTERM, _raise)


def die_with_parent(parent_pid: int) -> None:
    """Make this process receive SIGTERM when `parent_pid` (its parent) dies; call it first thing in a worker."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
    if os.getppid() != parent_pid:  # the parent died before the request took effect
        os.kill(os.getpid(), signal.SIGTERM)
