"""Choosing the torch device from a config string, and the process settings training runs under."""

from __future__ import annotations

import ctypes

import torch

from benchmark.errors import UserError


def resolve_device(name: str) -> torch.device:
    """'auto' picks CUDA when present; asking for CUDA where there is none is a user error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise UserError(f"unknown device {name!r}; use cpu, cuda, cuda:N or auto") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise UserError(f"device {name!r} asked for, but torch sees no CUDA GPU here")
    if device.type not in ("cpu", "cuda"):
        raise UserError(f"unsupported device {name!r}; use cpu, cuda, cuda:N or auto")
    return device


def configure_threads(threads: int) -> None:
    """Set torch's intra-op threads; 0 keeps torch's default."""
    if threads > 0 and torch.get_num_threads() != threads:
        torch.set_num_threads(threads)


# glibc's mallopt parameters (malloc.h).
_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_THRESHOLD = -1, -2, -3
_KEEP_BYTES = 256 * 2**20


def keep_freed_memory() -> None:
    """Let glibc keep freed blocks of up to 256 MB for reuse instead of returning them to the system.

    Every learner update allocates and frees the same large temporaries (a batch of padded episodes through
    the GRU); with glibc's defaults each is a fresh mmap whose pages the kernel must fault in again, which
    cost a learning run ~13% of its wall time here (3m, one thread: 1,380 against 1,580 env-steps/s).
    A no-op where the C library is not glibc."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        for option, value in ((_M_MMAP_THRESHOLD, _KEEP_BYTES), (_M_TRIM_THRESHOLD, 16 * _KEEP_BYTES), (_M_TOP_PAD, _KEEP_BYTES)):
            libc.mallopt(option, value)
    except (OSError, AttributeError):
        pass
