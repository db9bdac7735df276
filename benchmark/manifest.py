"""What a run ran on: versions, commit, backend, device, times (manifest.json)."""

from __future__ import annotations

import platform
import subprocess
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

import torch

from benchmark import numerics

PACKAGES = ("robust-qmix", "torch", "numpy", "pandas", "click", "rich", "pyyaml")


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def cpu_name() -> str:
    """The CPU's model name (Linux's /proc/cpuinfo; platform.processor() elsewhere, often just the architecture):
    runs on two CPU models need not give the same floats (benchmark.numerics)."""
    return numerics.cpuinfo("model name") or platform.processor()


def git_commit() -> str | None:
    """The commit of the checkout the package runs from, if it runs from one."""
    root = Path(__file__).resolve().parent.parent
    try:
        out = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def new_manifest(backend: str, device: torch.device, seed: int, sc2_version: str | None) -> dict[str, Any]:
    return {
        "versions": package_versions(),
        "git_commit": git_commit(),
        "backend": backend,
        "sc2_version": sc2_version,
        "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else cpu_name(),
        "numerics": numerics.current(),
        "seed": seed,
        "start_time": now_iso(),
        "end_time": None,
        "resumed": 0,
    }
