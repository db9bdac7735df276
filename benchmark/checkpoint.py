"""Checkpoints: written atomically with a checksum of their content, read back with a clear error when broken.

torch reads a file with flipped bytes inside a tensor without complaint (its zip records carry no checked
CRC), so every checkpoint stores a sha256 of what it holds, under DIGEST_KEY, and `load` recomputes it.
The digest is of the content (tensors' bytes, keys, scalars), not of the file, so re-saving the same model
gives the same digest: it doubles as the model's identity (model_files.identity), which evaluation records use to
tell whether they describe the model now in the run directory. Files written before checksums existed
(no DIGEST_KEY) are read unchecked.
"""

from __future__ import annotations

import hashlib
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
DIGEST_KEY = "sha256"
_UNREADABLE = (RuntimeError, EOFError, OSError, pickle.UnpicklingError, zipfile.BadZipFile, ValueError, KeyError, AttributeError, TypeError)


def save(path: Path, obj: dict[str, Any]) -> None:
    stamped = {**obj, DIGEST_KEY: digest(obj)}
    atomic_save(path, lambda handle: _torch_save(stamped, handle))


def _torch_save(obj: dict[str, Any], handle: Any) -> None:
    """torch.save, but a failed write (a full disk) surfaces as the OSError it was, not as the RuntimeError
    torch's writer turns it into."""
    recorder = _WriteRecorder(handle)
    try:
        torch.save(obj, recorder)
    except RuntimeError:
        if recorder.error is not None:
            raise recorder.error from None
        raise


class _WriteRecorder:
    def __init__(self, handle: Any) -> None:
        self.handle, self.error = handle, None

    def write(self, data: bytes) -> int:
        try:
            return self.handle.write(data)
        except OSError as err:
            self.error = err
            raise

    def flush(self) -> None:
        self.handle.flush()


def load(path: Path, device: torch.device) -> dict[str, Any]:
    """The checkpoint's content (without its digest); UserError if it is missing, unreadable or altered."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"checkpoint {path} not found")
    try:
        obj = torch.load(path, map_location=device, weights_only=True)
    except _UNREADABLE as err:
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise UserError(f"checkpoint {path} is corrupt or unreadable ({reason[:120]})") from None
    if not isinstance(obj, dict):
        raise UserError(f"checkpoint {path} does not hold a state dictionary")
    stored = obj.pop(DIGEST_KEY, None)
    if stored is not None and stored != digest(obj):
        raise UserError(f"checkpoint {path} is corrupt (its content does not match its sha256 checksum)")
    return obj


def digest(obj: Any) -> str:
    """sha256 of a nested structure of dicts, lists, tensors and scalars, independent of dict order."""
    h = hashlib.sha256()
    _feed(h, obj)
    return h.hexdigest()


def _feed(h: Any, obj: Any) -> None:
    if isinstance(obj, dict):
        h.update(b"{")
        for key in sorted(obj, key=repr):
            h.update(repr(key).encode())
            _feed(h, obj[key])
        h.update(b"}")
    elif isinstance(obj, (list, tuple)):
        h.update(b"[")
        for item in obj:
            _feed(h, item)
        h.update(b"]")
    elif isinstance(obj, torch.Tensor):
        tensor = obj.detach().cpu().contiguous()
        h.update(f"T{tensor.dtype}{tuple(tensor.shape)}".encode())
        h.update(tensor.reshape(-1).view(torch.uint8).numpy())
    else:
        h.update(f"{type(obj).__name__}:{obj!r}".encode())
