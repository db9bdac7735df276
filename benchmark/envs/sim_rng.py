"""Counter-based randomness for the simulator's starting positions.

Every environment owns a 32-bit seed and counts its episodes; the random numbers of an episode are a hash of
(env seed, episode number, draw number). So env i of a batch can be replayed alone (give a batch of one the
same env seed), a resumed run continues the same stream from (env seeds, episode counters), and CPU and CUDA
draw identical numbers, since only integer arithmetic is involved. Quality needs are modest: the numbers only
jitter start formations.
"""

from __future__ import annotations

import functools

import torch

MASK32 = 0xFFFFFFFF
_MULT = 0x45D9F3B  # < 2**27, so (x < 2**32) * _MULT never overflows int64


def mix32(x: torch.Tensor) -> torch.Tensor:
    """A 32-bit integer hash (xor-shift-multiply) of an int64 tensor holding values in [0, 2**32)."""
    x = (((x >> 16) ^ x) * _MULT) & MASK32
    x = (((x >> 16) ^ x) * _MULT) & MASK32
    return (x >> 16) ^ x


def derive_env_seeds(seed: int, batch_size: int, device: torch.device) -> torch.Tensor:
    """The per-environment seeds of a batch made with `seed`: env i gets hash(hash(seed) + i)."""
    base = mix32(torch.tensor(seed & MASK32, dtype=torch.long, device=device))
    return mix32((base + torch.arange(batch_size, device=device)) & MASK32)


def uniforms(env_seeds: torch.Tensor, episodes: torch.Tensor, count: int) -> torch.Tensor:
    """[k, count] floats in [0, 1): the draws of episode `episodes[i]` of the env seeded `env_seeds[i]`."""
    # the low and high halves of the counters (which pass 2**32) hashed by one call
    halves = mix32(torch.stack([episodes & MASK32, (episodes >> 32) & MASK32]))
    stream = mix32(env_seeds ^ halves[0] ^ halves[1])
    bits = mix32(stream.unsqueeze(1) ^ _draw_keys(count, env_seeds.device))
    return (bits >> 8).to(torch.float32) * 2.0**-24


@functools.lru_cache(maxsize=64)
def _draw_keys(count: int, device: torch.device) -> torch.Tensor:
    """[1, count] the hashes of the draw numbers, the same for every episode (never written to)."""
    return mix32((torch.arange(count, device=device) + 0x9E3779B9) & MASK32).unsqueeze(0)
