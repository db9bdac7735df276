"""Walking around walls and cliffs: shortest paths between the cells of a map's ground, and steering by them.

StarCraft II moves a unit along a path around obstacles. The simulator keeps straight lines wherever they
are as short as a path (everywhere on a convex patch of ground) and, where the ground makes a detour
necessary, aims a unit at the centre of the neighbouring cell that starts its shortest path. Paths are
8-connected over the cells (a diagonal step needs both cells beside it: no cutting corners), computed once
per grid with scipy's Dijkstra and reduced to a table of first steps (int8, [C, C] for C cells), so a step
only gathers one byte per unit.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import shortest_path

# A straight line is kept while the path is at most this much longer than the grid's straight-line (octile)
# distance: the staircase that a diagonal map border makes of cells costs up to about a cell, which is no
# obstacle (at 1.5 the octagon and corridor maps need no detour at all, the walled ones still do).
DETOUR_SLACK = 1.5
NEIGHBOURS = [(dx, dy) for dx in (-1, 0, 1) for dy in (-1, 0, 1) if dx or dy]


def path_lengths(walkable: np.ndarray) -> np.ndarray:
    """[C, C] float32 shortest path lengths between the cells (index x * height + y) of a [width, height]
    grid; inf between cells that no path joins (and from or to a cell that is not walkable)."""
    width, height = walkable.shape
    index = np.arange(width * height).reshape(width, height)
    sources, targets, lengths = [], [], []
    for dx, dy in ((1, 0), (0, 1), (1, 1), (1, -1)):
        xs, ys = slice(0, width - dx), slice(max(0, -dy), height - max(0, dy))
        xt, yt = slice(dx, width), slice(max(0, dy), height - max(0, -dy))
        ok = walkable[xs, ys] & walkable[xt, yt]
        if dx and dy:
            ok &= walkable[xt, ys] & walkable[xs, yt]
        sources.append(index[xs, ys][ok])
        targets.append(index[xt, yt][ok])
        lengths.append(np.full(ok.sum(), np.hypot(dx, dy)))
    graph = csr_matrix((np.concatenate(lengths), (np.concatenate(sources), np.concatenate(targets))),
                       shape=(width * height, width * height))
    return shortest_path(graph, method="D", directed=False).astype(np.float32)


def first_steps(walkable: np.ndarray) -> np.ndarray:
    """[C, C] int8: from cell c toward cell g, 0 where the straight line will do (no detour needed, or no path
    at all), else 1 + the index in NEIGHBOURS of the neighbouring cell a shortest path starts with."""
    width, height = walkable.shape
    lengths = path_lengths(walkable)
    x, y = np.divmod(np.arange(width * height), height)
    dx, dy = np.abs(x[None] - x[:, None]), np.abs(y[None] - y[:, None])
    octile = np.maximum(dx, dy) + (2**0.5 - 1) * np.minimum(dx, dy)
    detour = np.isfinite(lengths) & (lengths > octile + DETOUR_SLACK)
    via = np.full((len(NEIGHBOURS), width * height, width * height), np.inf, dtype=np.float32)
    for k, (ox, oy) in enumerate(NEIGHBOURS):
        nx, ny = x + ox, y + oy
        inside = (nx >= 0) & (nx < width) & (ny >= 0) & (ny < height)
        via[k, inside] = lengths[(nx * height + ny)[inside]] + np.hypot(ox, oy)
    return np.where(detour, via.argmin(0) + 1, 0).astype(np.int8)


def step_offsets(device: torch.device) -> torch.Tensor:
    """[9, 2] the cell offset of each first_steps code: none, then NEIGHBOURS."""
    return torch.tensor([(0, 0), *NEIGHBOURS], dtype=torch.float32, device=device)


def steer(steps: torch.Tensor, steps_of: torch.Tensor, offsets: torch.Tensor, size: tuple[int, int],
          pos: torch.Tensor, aim: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(where each unit should head [B, N, 2], whether that is a detour [B, N]) on its way from `pos` to `aim`.

    `steps` holds the flat first_steps tables of the grids, `steps_of` [N] each unit's table offset (-1: it
    flies, and goes straight), `offsets` the step_offsets."""
    width, height = size
    cell = pos.trunc().long()
    goal = aim.trunc().long()
    goal = goal[..., 0].clamp(0, width - 1) * height + goal[..., 1].clamp(0, height - 1)
    code = steps[steps_of.clamp(min=0) + (cell[..., 0] * height + cell[..., 1]) * (width * height) + goal].long()
    code = torch.where(steps_of >= 0, code, 0)
    detour = code > 0
    waypoint = cell.to(pos.dtype) + offsets[code] + 0.5
    return torch.where(detour.unsqueeze(-1), waypoint, aim), detour
