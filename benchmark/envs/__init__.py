"""Environment backends behind one batched contract (see base.py).

Backends are imported lazily, so that `sc2` (which needs SMAC and StarCraft II) costs nothing where it is
not used. A backend module exposes `make(map_name, batch_size, seed, device, continuing_episode) -> BatchedEnv`.
"""

from __future__ import annotations

import importlib

import torch

from benchmark.config import EnvConfig
from benchmark.envs.base import BatchedEnv, EnvInfo, Observation, StepResult
from benchmark.registry import Registry

BACKENDS: Registry[str] = Registry("backend")
BACKENDS.add("sim", "benchmark.envs.sim")
BACKENDS.add("sc2", "benchmark.envs.sc2")


def make_env(backend: str, map_name: str, batch_size: int, seed: int, device: torch.device, *,
             continuing_episode: bool = EnvConfig.continuing_episode) -> BatchedEnv:
    module = importlib.import_module(BACKENDS.get(backend))
    return module.make(map_name, batch_size, seed, device, continuing_episode)


__all__ = ["BACKENDS", "BatchedEnv", "EnvInfo", "Observation", "StepResult", "make_env"]
