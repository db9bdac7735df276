"""A map's ground as data: where units may stand, cliff levels, where each team spawns, and the enemies' order.

Grids use SMAC's pathing convention: `walkable[x, y]` covers the map-unit cell [x, x + 1) x [y, y + 1),
x along the map's width and y along its height, for the whole map (`size`), not only its playable part.
A ground unit may stand on a cell only where `walkable` is True and may move between cells only of equal
`level`; a cliff walker (the colossus) ignores levels and needs only `walkable_cliff` (ground of any level).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# What the map's trigger script orders the enemies to do at spawn.
ORDER_KINDS = ("attack_move", "attack_move_between_agents", "attack_agents", "none")


@dataclass(frozen=True)
class EnemyOrder:
    kind: str  # one of ORDER_KINDS
    point: tuple[float, float] | None = None  # attack-move target; None for the other kinds

    def __post_init__(self) -> None:
        if self.kind not in ORDER_KINDS:
            raise ValueError(f"unknown enemy order {self.kind!r}")
        if (self.kind == "attack_move") != (self.point is not None):
            raise ValueError("an attack_move order needs a point, and only it has one")


@dataclass(frozen=True, eq=False)
class Terrain:
    size: tuple[int, int]  # map width, height in map units (SMAC's map_x, map_y)
    walkable: np.ndarray  # bool [width, height]
    level: np.ndarray  # int8 [width, height], cliff level of each cell (0 where the map is flat)
    walkable_cliff: np.ndarray  # bool [width, height], ground a cliff walker may stand on
    ally_spawn: tuple[float, float]  # the agents' team is created around this point
    enemy_spawn: tuple[float, float]
    enemy_order: EnemyOrder

    def __post_init__(self) -> None:
        shape = tuple(self.size)
        for name in ("walkable", "level", "walkable_cliff"):
            if getattr(self, name).shape != shape:
                raise ValueError(f"terrain {name} must have shape {shape}, got {getattr(self, name).shape}")


def open_square(size: int = 32, gap: float = 13.0) -> Terrain:
    """Flat, fully walkable ground with the teams `gap` apart across the centre: the simulator's old arena,
    kept for tests that need ground without walls."""
    walkable = np.ones((size, size), dtype=bool)
    centre = size / 2
    return Terrain(
        size=(size, size), walkable=walkable, level=np.zeros((size, size), dtype=np.int8),
        walkable_cliff=walkable.copy(), ally_spawn=(centre - gap / 2, centre), enemy_spawn=(centre + gap / 2, centre),
        enemy_order=EnemyOrder("attack_move", (centre - gap / 2, centre)),
    )
