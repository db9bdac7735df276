"""Checkpoints: written atomically, read back with a clear error when broken."""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path
from typing import Any

import torch

from benchmark.errors import UserError
from benchmark.records import atomic_save

STATE_FILE = "last.pt"  # everything needed to resume training
MODEL_FILE = "model.pt"  # the trained agent and mixer only, for evaluation and sharing
BEST_MODEL_FILE = "best.pt"  # the same, as of the test round with the best clean greedy win rate


def save(path: Path, obj: dict[str, Any]) -> None:
    atomic_save(path, lambda handle: torch.save(obj, handle))


def load(path: Path, device: torch.device) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise UserError(f"checkpoint {path} not found")
    try:
        obj = torch.load(path, map_location=device, weights_only=True)
    except (RuntimeError, EOFError, pickle.UnpicklingError, zipfile.BadZipFile, ValueError, KeyError) as err:
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise UserError(f"checkpoint {path} is corrupt or unreadable ({reason[:120]})") from None
    if not isinstance(obj, dict):
        raise UserError(f"checkpoint {path} does not hold a state dictionary")
    return obj
