"""Start positions as StarCraft II creates units: each at the free spot nearest its spawn point.

A map's script creates its units one call at a time (`Terrain.spawns`), and the game puts each new unit at
the nearest place to the call's point where it fits: its disc on walkable ground and clear of every unit
created before it on the same plane (ground units block ground units, air units air units). That is
deterministic, so every episode starts from the same formation, as in SMAC. A structure first snaps to
the cell grid its footprint sits on. A ground unit here needs the
whole square around its disc on walkable cells (SC2 lets a unit's edge overhang a cell's border a little).

Candidate spots lie on a grid of `STEP` map units around the point, tried nearest first (ties by angle,
counter-clockwise from east); SC2's own search is finer, so positions match it to within about a step.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from benchmark.envs.terrain import Terrain
from benchmark.envs.units import UNITS, UnitType

STEP = 0.125  # spacing of the candidate grid, in map units
SEARCH = 12.0  # farthest a unit is placed from its point
CHUNK = 256  # candidates tested at once


@dataclass(frozen=True)
class Placed:
    unit: UnitType
    team: int
    position: tuple[float, float]


def _candidates() -> np.ndarray:
    """Offsets from the spawn point, nearest first, ties counter-clockwise from east."""
    axis = np.arange(-SEARCH, SEARCH + STEP / 2, STEP)
    dx, dy = np.meshgrid(axis, axis, indexing="ij")
    offsets = np.stack([dx.ravel(), dy.ravel()], axis=1)
    distance = np.round(np.hypot(offsets[:, 0], offsets[:, 1]), 9)
    angle = np.round(np.mod(np.arctan2(offsets[:, 1], offsets[:, 0]), 2 * np.pi), 9)
    order = np.lexsort((angle, distance))
    return offsets[order][distance[order] <= SEARCH]


_OFFSETS = _candidates()


def on_ground(points: np.ndarray, clearance: float, walkable: np.ndarray) -> np.ndarray:
    """Whether a square of half-width `clearance` (at most one cell) around each point [K, 2] lies on walkable
    cells: its corners, edge midpoints and centre touch every cell the square does."""
    ok = np.ones(len(points), dtype=bool)
    width, height = walkable.shape
    for cx in (-clearance, 0.0, clearance):
        for cy in (-clearance, 0.0, clearance):
            x = np.floor(points[:, 0] + cx).astype(int)
            y = np.floor(points[:, 1] + cy).astype(int)
            inside = (x >= 0) & (x < width) & (y >= 0) & (y < height)
            ok &= inside & walkable[np.clip(x, 0, width - 1), np.clip(y, 0, height - 1)]
    return ok


def place(terrain: Terrain) -> list[Placed]:
    """Every unit of `terrain.spawns`, in creation order, at its spot."""
    placed: list[Placed] = []
    for spawn in terrain.spawns:
        unit = UNITS[spawn.unit]
        point = _on_footprint_grid(spawn.point, unit)
        for _ in range(spawn.count):
            placed.append(Placed(unit, spawn.team, _spot(unit, point, placed, terrain)))
    return placed


def _on_footprint_grid(point: tuple[float, float], unit: UnitType) -> tuple[float, float]:
    """A structure's square footprint covers whole cells, so its centre snaps to the nearest cell corner (an
    even footprint: the spine crawler's 2 x 2) or cell centre (an odd one); other units stand anywhere."""
    if "structure" not in unit.attributes:
        return point
    offset = 0.0 if round(2 * unit.radius) % 2 == 0 else 0.5
    x, y = (float(np.round(c - offset) + offset) for c in point)
    return x, y


def _spot(unit: UnitType, point: tuple[float, float], placed: list[Placed], terrain: Terrain) -> tuple[float, float]:
    same_plane = [p for p in placed if p.unit.flying == unit.flying]
    centres = np.array([p.position for p in same_plane]).reshape(-1, 2)
    gaps = np.array([p.unit.radius for p in same_plane]) + unit.radius
    # nearest first: the first chunk with a free spot holds the answer, so most of the grid is never tested
    for start in range(0, len(_OFFSETS), CHUNK):
        spots = np.asarray(point) + _OFFSETS[start:start + CHUNK]
        free = (np.linalg.norm(spots[:, None, :] - centres[None], axis=2) >= gaps - 1e-9).all(axis=1)
        if not unit.flying:
            free &= on_ground(spots, unit.radius - 1e-6, terrain.walkable)
        if free.any():
            first = spots[np.argmax(free)]
            return float(first[0]), float(first[1])
    raise ValueError(f"no room for a {unit.name} within {SEARCH} of {point}")


def start_positions(terrain: Terrain, type_order: tuple[str, ...] = ()) -> tuple[np.ndarray, np.ndarray]:
    """Agents' and enemies' start positions, [n_agents, 2] and [n_enemies, 2], in SMAC's unit order: agents
    sorted by unit type (`type_order`, the map's agents' type ids), then by x, then by y, as SMAC sorts
    them; enemies in creation order."""
    placed = place(terrain)
    agents = sorted((p for p in placed if p.team == 0),
                    key=lambda p: (type_order.index(p.unit.name) if type_order else 0, *p.position))
    enemies = [p for p in placed if p.team == 1]
    return (np.array([p.position for p in agents], dtype=np.float32),
            np.array([p.position for p in enemies], dtype=np.float32))
