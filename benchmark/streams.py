"""Random streams of a run group: each run draws from generators of its own, derived from its seed.

A run's streams (network init, environments, exploration, replay sampling, its method's perturbations,
its adversary) come from `numpy.random.SeedSequence(seed)`, so no two seeds share a stream, unlike seeds
plus small offsets, where seed 1's second stream is seed 2's first.

Tensors of a group hold its runs one after another along their leading dimension (run-major). A draw
for such a tensor takes each run's part from that run's generator, and only for the runs that are live
at that moment: a run that has finished its batch, or whose eps is 0, draws nothing, exactly as it would
draw nothing if it ran alone. That is what lets run k of a group reproduce run k trained alone.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

STREAMS = ("agent_init", "mixer_init", "env", "test_env", "action", "buffer", "method", "adversary")


def run_seeds(seed: int) -> dict[str, int]:
    """One independent 63-bit seed per named stream of the run seeded `seed`."""
    children = np.random.SeedSequence(seed).spawn(len(STREAMS))
    return {name: seed_of(child) for name, child in zip(STREAMS, children, strict=True)}


def seed_of(sequence: np.random.SeedSequence) -> int:
    """A 63-bit seed (what torch.Generator.manual_seed takes) drawn from a SeedSequence."""
    return int(sequence.generate_state(1, np.uint64)[0] >> np.uint64(1))


class Live:
    """Which runs of a group take part in what is being computed now (None: all of them)."""

    def __init__(self) -> None:
        self.runs: torch.Tensor | None = None  # [K] bool


class RunGenerators:
    """One torch.Generator per run; `enabled` (set by the owner, e.g. eps > 0) and the group's shared `live`
    mask decide which runs draw."""

    def __init__(self, seeds: Sequence[int], device: torch.device | str, live: Live | None = None) -> None:
        self.device = torch.device(device)
        self.generators = [torch.Generator(device=self.device).manual_seed(int(s)) for s in seeds]
        self.live = live or Live()
        self.enabled: torch.Tensor | None = None

    @classmethod
    def single(cls, seed: int, device: torch.device | str) -> RunGenerators:
        return cls([seed], device)

    def __len__(self) -> int:
        return len(self.generators)

    def drawing(self) -> list[bool]:
        mask = torch.ones(len(self), dtype=torch.bool)
        for extra in (self.live.runs, self.enabled):
            if extra is not None:
                mask &= extra.cpu()
        return mask.tolist()

    def rand(self, shape: Sequence[int], dtype: torch.dtype = torch.float32, steps: int | None = None) -> torch.Tensor:
        """Uniform [0, 1) of `shape`, whose leading dimension holds the runs' parts one after another.

        `steps`: draw dimension 1 at this length and keep its first shape[1] entries. Episode batches are cut
        to their longest episode, which depends on the other runs of a group; drawing at the episode
        limit keeps what each step gets the same however the batch was cut."""
        if steps is None:
            return self._draw(torch.rand, shape, dtype)
        full = (shape[0], steps, *shape[2:])
        return self._draw(torch.rand, full, dtype)[:, : shape[1]]

    def randn(self, shape: Sequence[int], dtype: torch.dtype = torch.float32) -> torch.Tensor:
        return self._draw(torch.randn, shape, dtype)

    def _draw(self, fn, shape: Sequence[int], dtype: torch.dtype) -> torch.Tensor:
        shape = tuple(shape)
        k = len(self)
        if shape[0] % k:
            raise ValueError(f"a draw of shape {shape} does not split into {k} runs")
        part = (shape[0] // k, *shape[1:])
        if k == 1:  # the common case, without a copy
            return fn(part, generator=self.generators[0], device=self.device, dtype=dtype)
        # One concatenation rather than a zero fill and a copy per run: on a GPU each op is a kernel launch,
        # and acting is launch-bound there (README, "On one GPU").
        idle = None
        parts = []
        for gen, draws in zip(self.generators, self.drawing(), strict=True):
            if draws:
                parts.append(fn(part, generator=gen, device=self.device, dtype=dtype))
            else:
                idle = torch.zeros(part, device=self.device, dtype=dtype) if idle is None else idle
                parts.append(idle)
        return torch.cat(parts)

    def subset(self, runs: Sequence[int]) -> RunGenerators:
        """The same generators (their state is shared) for some of the runs."""
        out = RunGenerators.__new__(RunGenerators)
        out.device, out.generators, out.live, out.enabled = self.device, [self.generators[i] for i in runs], Live(), None
        return out

    def get_state(self, run: int) -> torch.Tensor:
        return self.generators[run].get_state()

    def set_state(self, run: int, state: torch.Tensor) -> None:
        self.generators[run].set_state(state.cpu())
