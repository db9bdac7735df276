"""Adam and gradient-norm clipping over stacked parameters [K, ...], each run on its own.

A global clip would couple the runs of a group (one run's large gradient would shrink the others'), and
torch.optim.Adam keeps one step count for all: here each run has its own clip, its own step count, and
an update mask, so a run that does not learn this iteration (its buffer is still filling, or it has
finished) keeps its weights and moments exactly. The arithmetic is torch.optim.Adam's (defaults
betas 0.9/0.999, eps 1e-8) and torch.nn.utils.clip_grad_norm_'s.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

BETAS = (0.9, 0.999)
EPS = 1e-8


def clip_per_run(params: Sequence[torch.Tensor], max_norm: float) -> torch.Tensor:
    """Scale each run's gradients so that their joint L2 norm is at most max_norm; returns the norms [K]."""
    grads = [p.grad for p in params if p.grad is not None]
    norms = torch.stack([g.flatten(1).pow(2).sum(1) for g in grads]).sum(0).sqrt()
    scale = (max_norm / (norms + 1e-6)).clamp(max=1.0)
    for g in grads:
        g.mul_(scale.view(-1, *[1] * (g.dim() - 1)))
    return norms


class StackedAdam:
    def __init__(self, params: Sequence[torch.Tensor], lr: float) -> None:
        self.params, self.lr = list(params), lr
        runs = self.params[0].shape[0]
        self.steps = torch.zeros(runs, dtype=torch.long)
        self.exp_avg = [torch.zeros_like(p) for p in self.params]
        self.exp_avg_sq = [torch.zeros_like(p) for p in self.params]

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self, runs: torch.Tensor) -> None:
        """One Adam step for the runs where `runs` [K] bool (CPU) is True."""
        self.steps += runs.long()
        b1, b2 = BETAS
        t = self.steps.clamp(min=1).double()
        device = self.params[0].device
        step_size = (self.lr / (1 - b1**t)).float().to(device)
        root_bc2 = (1 - b2**t).sqrt().float().to(device)
        live = runs.to(device)
        for p, m, v in zip(self.params, self.exp_avg, self.exp_avg_sq, strict=True):
            if p.grad is None:
                continue
            shape = (-1, *[1] * (p.dim() - 1))
            keep = live.view(shape)
            g = p.grad
            m.copy_(torch.where(keep, m.lerp(g, 1 - b1), m))
            v.copy_(torch.where(keep, v * b2 + (1 - b2) * g * g, v))
            denom = v.sqrt() / root_bc2.view(shape) + EPS
            p.sub_(torch.where(keep, step_size.view(shape) * m / denom, 0.0))

    def run_state(self, run: int) -> dict:
        return {"step": int(self.steps[run]), "exp_avg": [m[run].clone() for m in self.exp_avg],
                "exp_avg_sq": [v[run].clone() for v in self.exp_avg_sq]}

    def load_run_state(self, run: int, state: dict) -> None:
        self.steps[run] = int(state["step"])
        for own, saved in ((self.exp_avg, state["exp_avg"]), (self.exp_avg_sq, state["exp_avg_sq"])):
            if len(own) != len(saved):
                raise ValueError(f"optimizer state holds {len(saved)} tensors, the networks {len(own)}")
            for tensor, value in zip(own, saved, strict=True):
                tensor[run].copy_(value)
