"""A run's trained model (agent and mixer) on disk, in either of its two formats, and the choice between them.

Training writes `model.pt` and `best.pt` (torch files, see checkpoint.py). What leaves a run directory to be
shared (`robust-qmix export`, the models shipped in checkpoints/) is written as `STEM.safetensors`, the
tensors (keys `agent.NAME`, `mixer.NAME`), beside `STEM.json`, everything else the model holds (the map's
sizes, its env steps) and the sha256 of the whole content. Neither file is a pickle, so loading a downloaded
model cannot run code. The sha256 is checkpoint.digest of the same dictionary the `.pt` holds, so a model
keeps its identity (the checksum eval.json names) when it is converted, and flipped bytes in either file are
caught as in a `.pt`.

A run directory where training wrote a `.pt` reads the `.pt`: training never writes safetensors, so a
`.pt` is the newer of the two wherever both are. Export never leaves a `.pt` beside the safetensors.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import safetensors
import safetensors.torch
import torch

from benchmark import checkpoint
from benchmark.errors import UserError
from benchmark.records import CHECKPOINT_DIR, atomic_write_bytes, write_json

# The model a `--model` choice names, by the stem of training's file for it.
STEMS = {"last": Path(checkpoint.MODEL_FILE).stem, "best": Path(checkpoint.BEST_MODEL_FILE).stem}
PICKLED, TENSORS, METADATA = Path(checkpoint.MODEL_FILE).suffix, ".safetensors", ".json"
FORMAT = 1  # of STEM.json; a reader refuses other values rather than guess what they mean
_SEPARATOR = "."  # between the part ("agent", "mixer") and the state dict key, which has dots of its own


def model_path(run_dir: Path, which: str = "last") -> Path:
    """The file `load` reads for a run's `which` model: the `.pt` if training wrote one, else the safetensors,
    else the `.pt` path (so that a run with neither says which file it lacks)."""
    folder = Path(run_dir) / CHECKPOINT_DIR
    pickled = folder / f"{STEMS[which]}{PICKLED}"
    safe = folder / f"{STEMS[which]}{TENSORS}"
    return safe if safe.is_file() and not pickled.is_file() else pickled


def load(path: Path, device: torch.device) -> dict[str, Any]:
    """The model's content, from a `.pt` or a safetensors file with its JSON; UserError if missing, unreadable or altered."""
    path = Path(path)
    if path.suffix != TENSORS:
        return checkpoint.load(path, device)
    meta = _read_metadata(path)
    tensors = _read_tensors(path, device)
    obj = {key: value for key, value in meta.items() if key not in ("format", checkpoint.DIGEST_KEY)}
    for key, tensor in tensors.items():
        part, _, name = key.partition(_SEPARATOR)
        obj.setdefault(part, {})[name] = tensor
    if meta.get(checkpoint.DIGEST_KEY) != checkpoint.digest(obj):
        raise UserError(f"model {path} is corrupt (its content does not match the sha256 checksum in {path.with_suffix(METADATA).name})")
    return obj


def identity(path: Path) -> str:
    """The sha256 of a model's content, checked: the same for a model as `.pt` and as safetensors."""
    return checkpoint.digest(load(path, torch.device("cpu")))


def save(path: Path, obj: dict[str, Any]) -> None:
    """Write `obj` (dicts of tensors, plus JSON-able values) as PATH.safetensors and PATH.json."""
    path = Path(path).with_suffix(TENSORS)
    tensors = {f"{part}{_SEPARATOR}{name}": tensor.detach().cpu().contiguous()
               for part, value in obj.items() if _is_tensor_dict(value) for name, tensor in value.items()}
    meta = {key: value for key, value in obj.items() if not _is_tensor_dict(value)}
    meta.update({"format": FORMAT, checkpoint.DIGEST_KEY: checkpoint.digest(obj)})
    # Tensors first: a write stopped between the two leaves a checksum that does not match, never a silent mix.
    atomic_write_bytes(path, safetensors.torch.save(dict(sorted(tensors.items()))))
    write_json(path.with_suffix(METADATA), meta)


def _is_tensor_dict(value: Any) -> bool:
    return isinstance(value, dict) and bool(value) and all(isinstance(v, torch.Tensor) for v in value.values())


def _read_metadata(path: Path) -> dict[str, Any]:
    meta_path = path.with_suffix(METADATA)
    if not meta_path.is_file():
        raise UserError(f"model {path} has no {meta_path.name} beside it (its metadata and checksum)")
    try:
        meta = json.loads(meta_path.read_text())
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise UserError(f"model metadata {meta_path} is unreadable ({str(err).splitlines()[0][:120]})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise UserError(f"model metadata {meta_path} is not a format-{FORMAT} robust-qmix model description")
    return meta


def _read_tensors(path: Path, device: torch.device) -> dict[str, torch.Tensor]:
    try:
        return safetensors.torch.load_file(path, device=str(device))
    except (safetensors.SafetensorError, OSError, ValueError, RuntimeError) as err:
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise UserError(f"model {path} is corrupt or unreadable ({reason[:120]})") from None
