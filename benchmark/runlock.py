"""One writer per run directory: an exclusive advisory lock on RUN/.lock that holds the writer's pid.

`train`, `evaluate` and `export` (into a run directory) each hold it while they write, so two commands on
one directory cannot interleave their records: the second is refused with one line naming the holder's
pid. The lock is `flock`, which the kernel drops when its holder dies however it dies (kill -9, the OOM
killer), so a stale lock file of a dead process is simply taken over. Holding the lock also proves that
any temporary file left in the directory belongs to a writer that died mid-write, so those are removed.
"""

from __future__ import annotations

import errno
import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from benchmark.errors import UserError

LOCK_FILE = ".lock"
TEMP_GLOB = ".*.tmp"  # what records.atomic_save names its temporary files
_TEMP_FOLDERS = (".", "checkpoints", "adversaries")  # where run records are written


@contextmanager
def run_lock(run_dir: Path) -> Iterator[Path]:
    """Hold RUN/.lock (creating RUN if needed) for the body; UserError if another live process holds it.

    A directory this call created is removed again when the body wrote nothing into it (a refused input
    leaves no trace), and so is the lock file when the lock is released."""
    run_dir = Path(run_dir)
    created = _make_dir(run_dir)
    fd = None
    try:
        fd = _acquire(run_dir / LOCK_FILE, run_dir)
        remove_stale_temporaries(run_dir)
        yield run_dir
    finally:
        if fd is not None:
            _release(run_dir / LOCK_FILE, fd)
        if created and not any(run_dir.iterdir()):
            run_dir.rmdir()


def _release(path: Path, fd: int) -> None:
    """Remove the lock file while still holding it (so no litter is left), then drop the lock. A process
    that opened the old file meanwhile finds it unlinked after its flock and retries on a new one."""
    try:
        if _same_file(fd, path):
            path.unlink()
    except OSError:
        pass  # a read-only or vanished folder: the flock still ends with the descriptor
    finally:
        os.close(fd)


def _make_dir(run_dir: Path) -> bool:
    if run_dir.is_dir():
        return False
    if run_dir.exists():
        raise UserError(f"{run_dir} is a file, not a directory; choose another --out")
    blocker = next((p for p in run_dir.parents if p.exists() and not p.is_dir()), None)
    if blocker is not None:
        raise UserError(f"cannot create {run_dir}: {blocker} is a file")
    run_dir.mkdir(parents=True, exist_ok=True)
    return True


def _acquire(path: Path, run_dir: Path) -> int:
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as err:
            os.close(fd)
            if err.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):
                raise
            raise UserError(f"{run_dir} is in use by another robust-qmix process (pid {_holder(path)}); wait for it to end or stop it") from None
        # The file may have been unlinked by a holder cleaning up between our open and our flock; a lock on
        # an unlinked file guards nothing, so try again on the file now at the path.
        if _same_file(fd, path):
            _write_pid(fd)
            return fd
        os.close(fd)


def _same_file(fd: int, path: Path) -> bool:
    try:
        now = path.stat()
    except FileNotFoundError:
        return False
    held = os.fstat(fd)
    return (held.st_dev, held.st_ino) == (now.st_dev, now.st_ino)


def _write_pid(fd: int) -> None:
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)


def _holder(path: Path) -> str:
    try:
        return path.read_text().strip() or "unknown"
    except OSError:
        return "unknown"


def remove_stale_temporaries(run_dir: Path) -> None:
    """Temporary files of writes that were killed midway (only safe while holding the run's lock)."""
    for folder in _TEMP_FOLDERS:
        for tmp in (Path(run_dir) / folder).glob(TEMP_GLOB):
            tmp.unlink(missing_ok=True)
