"""Portable CPU numerics: the environment meant to give a training run the same floats on any x86-64 CPU.

A run on the CPU is exactly repeatable on one machine, but not across machines: torch's own kernels
(ATen) dispatch on the CPU's instruction set, and AVX-512 and AVX2 kernels sum in different orders; MKL,
which does torch's matrix products, picks its code path by CPU model and vendor as well. A rounding
difference in one update grows into another policy (ATen's AVX2 and plain kernels, on one machine, gave
weights 1e-5 apart after 20k steps of 3m), and a training run's win rate varies from policy to policy far
more than an evaluation's 256 battles can hide: with the same code, the `ci` preset's vanilla run won 0.63
of its battles on the machine that made the gate's first baseline and 0.39 on a CI machine. Where a result
must carry over between machines (the CI gate's committed baseline) the runs pin:

- ATen to its AVX2 kernels (a CPU without AVX2 falls back to lesser ones, which the gate refuses:
  `check_portable`);
- MKL to its COMPATIBLE branch (SSE2, the branch MKL's reproducibility mode keeps identical on Intel and
  non-Intel CPUs; its AVX2 branch is honoured on Intel CPUs only);
- oneDNN to AVX2, and NumPy's runtime dispatch to at most AVX2 (the simulator's arithmetic is exact by
  design, these two are a guard for ops a later change might add).

That the pinned runs agree across CPU models follows from MKL's and ATen's documented dispatch; so far it
has been run on one CPU model only (README, "Reproducibility across machines"). The cost: under MKL's
COMPATIBLE branch a 3m training run made about a third fewer env steps per second on this project's
2-core AMD machine, so only the gate pins by default (`regress`; `sweep --portable` for a study meant to be
rerun elsewhere). ATen fixes its kernels and MKL its branch at their first use in a process, so the pins are
set for fresh worker processes (benchmark.launchers), never switched inside one that has computed.
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
        "cpu_isa": _cpu_isa(),
        "mkl_branch": _mkl_branch(),
        **{key: os.environ.get(key) for key in PORTABLE_ENV},
    }


def cpuinfo(field: str) -> str | None:
    """A field of the first CPU in Linux's /proc/cpuinfo ("model name", "flags"); None elsewhere."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return None
    return next((line.partition(":")[2].strip() for line in lines if line.split(":")[0].strip() == field), None)


def _cpu_isa() -> list[str]:
    """Which of the instruction sets that pick kernels this CPU has ([] where /proc/cpuinfo is absent): a
    model name such as "AMD EPYC" does not tell an AVX-512 generation from an AVX2 one."""
    flags = (cpuinfo("flags") or "").split()
    return [isa for isa in ("avx2", "fma", "avx512f", "avx512_bf16", "amx_tile") if isa in flags]


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
    """While open, processes started from this one get PORTABLE_ENV (when `portable`); the environment is
    restored after. This process must not compute inside: its own ATen and MKL would pick the pins up
    only if this were their first use."""
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


def check_portable(manifests: dict[str, dict]) -> list[str]:
    """The runs (name -> manifest.json) that did not train wholly on the CPU under PORTABLE_ENV, each with why."""
    problems = []
    for name, manifest in manifests.items():
        segments = [manifest.get("numerics") or {}, *manifest.get("numerics_resumed", [])]
        if manifest.get("device", "cpu") != "cpu":
            problems.append(f"{name}: trained on {manifest['device']}")
        elif bad := [n for n in segments if not _pinned(n)]:
            problems.append(f"{name}: trained with MKL branch {bad[0].get('mkl_branch')}, ATen {bad[0].get('cpu_capability')}")
    return problems


def _pinned(numerics: dict[str, Any]) -> bool:
    return numerics.get("mkl_branch") == "COMPATIBLE" and numerics.get("cpu_capability") == "AVX2"
