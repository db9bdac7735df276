"""Choosing the torch device from a config string."""

from __future__ import annotations

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
