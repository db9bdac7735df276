"""Portable CPU numerics: the environment under which a training run gives the same floats on any x86-64 CPU.

A run on the CPU is exactly repeatable on one machine, but not across machines: torch's own kernels
(ATen) dispatch on the CPU's instruction set, and AVX-512 and AVX2 kernels sum in different orders; MKL,
which does torch's matrix products, picks its code path by CPU model and vendor as well. A rounding
difference in one update grows into another policy (ATen's AVX2 and plain kernels, on one machine, gave
weights 1e-5 apart after 20k steps of 3m), and a training run's win rate varies from policy to policy far
more than an evaluation's 256 battles can hide: with the same code, the `ci` preset's vanilla run won 0.63
of its battles on the machine that made the gate's first baseline and 0.39 on a CI machine. Where a result
must carry over between machines (the CI gate's committed baseline) the runs pin:

- ATen to its AVX2 kernels (every x86-64 CPU of the last decade has AVX2; one without falls back);
- MKL to its COMPATIBLE branch (SSE2, the branch MKL's reproducibility mode keeps identical on Intel and
  non-Intel CPUs; its AVX2 branch is honoured on Intel CPUs only);
- oneDNN to AVX2, and NumPy's runtime dispatch to at most AVX2 (the simulator's arithmetic is exact by
  design, these two are a guard for ops a later change might add).

The cost: MKL's SSE2 branch made a 3m training run ~30% slower on this project's 2-core AMD machines, so
only the gate pins by default (`regress`; `sweep --portable` for a study meant to be re-run elsewhere).
These must be in a process's environment before torch loads, so they apply to spawned worker processes
(benchmark.launchers); a process cannot switch its own.
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

PORTABLE_ENV: dict[str, str] = {
    "ATEN_CPU_CAPABILITY": "avx2",
    "MKL_CBWR": "COMPATIBLE",
    "ONEDNN_MAX_CPU_ISA": "AVX2",
    "NPY_DISABLE_CPU_FEATURES": "X86_V4 AVX512_ICL AVX512_SPR",
}


# MKL's names for the code branch its reproducibility mode runs (mkl_cbwr_get's values, mkl_cbwr.h).
_MKL_BRANCHES = {
    1: "off", 2: "AUTO", 3: "COMPATIBLE", 4: "SSE2", 8: "SSE4_2", 10: "AVX2", 12: "AVX512", 14: "AVX512_E1",
}  # fmt: skip


def current() -> dict[str, Any]:
    """What this process computes with: torch's CPU kernel set, MKL's reproducibility branch as MKL itself
    reports it, and the variables above as set here."""
    import torch

    return {
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "mkl_branch": _mkl_branch(),
        **{key: os.environ.get(key) for key in PORTABLE_ENV},
    }


def _mkl_branch() -> str | None:
    """MKL's CNR branch, read from the MKL that torch links statically; None where torch has none (e.g. ARM)."""
    import torch

    try:
        lib = ctypes.CDLL(str(Path(torch.__file__).parent / "lib" / "libtorch_cpu.so"))
        code = int(lib.mkl_serv_cbwr_get(1))  # 1: MKL_CBWR_BRANCH
    except (OSError, AttributeError):
        return None
    return _MKL_BRANCHES.get(code, str(code))


@contextmanager
def for_children(portable: bool) -> Iterator[None]:
    """While open, processes started from this one get PORTABLE_ENV (when `portable`); this process's own
    numerics stay as they were (its torch is loaded already), and its environment is restored after."""
    saved = {key: os.environ.get(key) for key in PORTABLE_ENV}
    if portable:
        os.environ.update(PORTABLE_ENV)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
