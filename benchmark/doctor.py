"""What this machine can run: torch and CUDA for every backend, StarCraft II and SMAC for `sc2`."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import torch


def checks() -> list[tuple[str, bool, str]]:
    cuda = torch.cuda.is_available()
    sc2_path = os.environ.get("SC2PATH", "")
    return [
        ("torch", True, torch.__version__),
        ("cuda", cuda, torch.cuda.get_device_name(0) if cuda else "no CUDA GPU visible; training runs on CPU"),
        ("sim backend", True, "built in"),
        ("SC2PATH", bool(sc2_path) and Path(sc2_path).is_dir(), sc2_path or "not set"),
        ("smac", _importable("smac"), "SMAC from its git repository (extra `sc2`)"),
        ("pysc2", _importable("pysc2"), "needed by SMAC"),
    ]


def _importable(module: str) -> bool:
    return importlib.util.find_spec(module) is not None
