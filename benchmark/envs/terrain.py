"""A map's ground as data: where units may stand, cliff levels, where each team spawns, and the enemies' order.

Grids use SMAC's pathing convention: `walkable[x, y]` covers the map-unit cell [x, x + 1) x [y, y + 1),
x along the map's width and y along its height, for the whole map (`size`), not only its playable part.
A ground unit may stand on a cell only where `walkable` is True; a cliff walker (the colossus) may also
cross cliffs, so it needs only `walkable_cliff`. `level` is each cell's cliff level, fractional on ramps. On
SMAC's maps neighbouring walkable cells never differ by a whole level (a cliff edge is never walkable, and
ramps climb in steps of at most 3/8 of a level), so `walkable` alone decides where a ground unit may go.

`terrain(name)` reads the data the package ships for SMAC's maps (map_data/smac_terrain.json), which
`python -m benchmark.envs.derive_maps SMAC_MAPS_DIR` regenerates from SMAC's map archives; that module's
docstring says what it reads and what it approximates.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from benchmark.errors import UserError

DATA_FILE = Path(__file__).with_name("map_data") / "smac_terrain.json"
HEIGHT_STEPS_PER_LEVEL = 8  # the data file stores heights in eighths of a cliff level, one base-32 digit each

# What the map's trigger script orders the enemies to do at spawn.
ORDER_KINDS = ("attack_move", "attack_move_between_agents", "attack_agents", "none")


@dataclass(frozen=True)
class EnemyOrder:
    kind: str  # one of ORDER_KINDS
    point: tuple[float, float] | None = None  # attack-move target; None for the other kinds
    # attack_move_between_agents: the script draws the target between these two points (the Galaxy library's
    # RandomPointBetweenPoints) each time it spawns the teams; on 2m_vs_1z both lie at y 12, so on a segment
    segment: tuple[tuple[float, float], tuple[float, float]] | None = None

    def __post_init__(self) -> None:
        if self.kind not in ORDER_KINDS:
            raise ValueError(f"unknown enemy order {self.kind!r}")
        if (self.kind == "attack_move") != (self.point is not None):
            raise ValueError("an attack_move order needs a point, and only it has one")
        if (self.kind == "attack_move_between_agents") != (self.segment is not None):
            raise ValueError("an attack_move_between_agents order needs a segment, and only it has one")


@dataclass(frozen=True)
class Spawn:
    """One creation call of the map's script: `count` units of one type for one team at one point."""

    team: int  # 0 the agents, 1 the enemies
    unit: str  # a name in benchmark.envs.units.UNITS
    count: int
    point: tuple[float, float]


@dataclass(frozen=True, eq=False)
class Terrain:
    size: tuple[int, int]  # map width, height in map units (SMAC's map_x, map_y)
    walkable: np.ndarray  # bool [width, height]
    level: np.ndarray  # float32 [width, height], cliff level of each cell (fractional on ramps)
    walkable_cliff: np.ndarray  # bool [width, height], ground a cliff walker may stand on
    ally_spawn: tuple[float, float]  # the agents' team is created around this point (the mean of `spawns`')
    enemy_spawn: tuple[float, float]
    enemy_order: EnemyOrder
    # the script's creation calls in its order, which is SMAC's enemy order; empty: one call per team at
    # ally_spawn / enemy_spawn
    spawns: tuple[Spawn, ...] = ()

    def __post_init__(self) -> None:
        shape = tuple(self.size)
        for name in ("walkable", "level", "walkable_cliff"):
            if getattr(self, name).shape != shape:
                raise ValueError(f"terrain {name} must have shape {shape}, got {getattr(self, name).shape}")
        if (self.walkable & ~self.walkable_cliff).any():
            raise ValueError("a cliff walker must be able to stand wherever a ground unit can")


def open_square(size: int = 32, gap: float = 13.0) -> Terrain:
    """Flat, fully walkable ground with the teams `gap` apart across the centre: the simulator's old arena,
    kept for tests that need ground without walls."""
    walkable = np.ones((size, size), dtype=bool)
    centre = size / 2
    return Terrain(
        size=(size, size), walkable=walkable, level=np.zeros((size, size), dtype=np.float32),
        walkable_cliff=walkable.copy(), ally_spawn=(centre - gap / 2, centre), enemy_spawn=(centre + gap / 2, centre),
        enemy_order=EnemyOrder("attack_move", (centre - gap / 2, centre)),
    )


def terrain(map_name: str) -> Terrain:
    """The ground of one of SMAC's maps, as derived from its map archive."""
    maps = _data()
    if map_name not in maps:
        raise UserError(f"no terrain data for map {map_name!r}; known: {', '.join(sorted(maps))}")
    return _build(maps[map_name])


@cache
def _data() -> dict:
    return json.loads(DATA_FILE.read_text())["maps"]


def _grid(rows: list[str]) -> np.ndarray:
    """Rows drawn top (highest y) first -> a [width, height] array of characters."""
    return np.array([list(row) for row in reversed(rows)]).T


def _build(entry: dict) -> Terrain:
    ground = _grid(entry["ground"])
    level = np.vectorize(lambda c: int(c, 32))(_grid(entry["height"])).astype(np.float32) / HEIGHT_STEPS_PER_LEVEL
    spawns = tuple(Spawn(team=s["player"] - 1, unit=s["unit"], count=s["count"], point=tuple(s["point"]))
                   for s in entry["spawns"])
    return Terrain(
        size=tuple(entry["size"]), walkable=ground == "w", level=level, walkable_cliff=np.isin(ground, ["w", "c"]),
        ally_spawn=_centre(spawns, 0), enemy_spawn=_centre(spawns, 1), enemy_order=_order(entry["enemy_order"]),
        spawns=spawns,
    )


def _centre(spawns: tuple[Spawn, ...], team: int) -> tuple[float, float]:
    mine = [s for s in spawns if s.team == team]
    weights = np.array([s.count for s in mine], dtype=float)
    centre = (np.array([s.point for s in mine]) * weights[:, None]).sum(0) / weights.sum()
    return float(centre[0]), float(centre[1])


def _order(entry: dict) -> EnemyOrder:
    point = tuple(entry["point"]) if "point" in entry else None
    segment = tuple(tuple(p) for p in entry["segment"]) if "segment" in entry else None
    return EnemyOrder(entry["kind"], point, segment)
