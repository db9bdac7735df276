"""SMAC maps as data, and their SMAC sizes without building an environment.

A map is its two compositions (in SMAC's unit order: agents sorted by SMAC unit type id), its episode limit
and SMAC's `unit_type_bits` with the type-id order that the one-hot features use (smac_maps.py and
`get_unit_type_id` in starcraft2.py). Adding a map is one `_add(...)` call.
"""

from __future__ import annotations

from dataclasses import dataclass

from benchmark.envs.base import EnvInfo
from benchmark.envs.units import UNITS, UnitType
from benchmark.registry import Registry

SIGHT_RANGE = 9.0  # SMAC's unit_sight_range, for every unit
SHOOT_RANGE = 6.0  # SMAC's unit_shoot_range: the distance at which an attack action becomes available
MOVE_AMOUNT = 2.0  # SMAC's _move_amount
N_NO_ATTACK_ACTIONS = 6  # no-op, stop, 4 moves


@dataclass(frozen=True)
class MapSpec:
    name: str
    allies: tuple[tuple[str, int], ...]  # (unit type, count) in SMAC's agent order
    enemies: tuple[tuple[str, int], ...]
    episode_limit: int
    unit_type_bits: int
    type_order: tuple[str, ...]  # type id -> unit type; empty when unit_type_bits == 0
    size: tuple[float, float] = (32.0, 32.0)  # playable width, height

    def __post_init__(self) -> None:
        if len(self.type_order) != self.unit_type_bits:
            raise ValueError(f"{self.name}: type_order must name unit_type_bits types")

    @property
    def ally_units(self) -> list[UnitType]:
        return [UNITS[name] for name, count in self.allies for _ in range(count)]

    @property
    def enemy_units(self) -> list[UnitType]:
        return [UNITS[name] for name, count in self.enemies for _ in range(count)]

    @property
    def n_agents(self) -> int:
        return sum(count for _, count in self.allies)

    @property
    def n_enemies(self) -> int:
        return sum(count for _, count in self.enemies)

    @property
    def shield_bits_ally(self) -> int:
        return int(self.ally_units[0].race == "P")

    @property
    def shield_bits_enemy(self) -> int:
        return int(self.enemy_units[0].race == "P")

    def type_id(self, unit: UnitType) -> int:
        return self.type_order.index(unit.name)

    # Feature sizes, as SMAC's get_obs_*_feats_size and get_state_size with default flags.
    @property
    def enemy_feats(self) -> int:
        return 4 + self.unit_type_bits + 1 + self.shield_bits_enemy

    @property
    def ally_feats(self) -> int:
        return 4 + self.unit_type_bits + 1 + self.shield_bits_ally

    @property
    def own_feats(self) -> int:
        return 1 + self.shield_bits_ally + self.unit_type_bits

    @property
    def ally_state_feats(self) -> int:
        return 4 + self.shield_bits_ally + self.unit_type_bits

    @property
    def enemy_state_feats(self) -> int:
        return 3 + self.shield_bits_enemy + self.unit_type_bits

    @property
    def n_actions(self) -> int:
        return N_NO_ATTACK_ACTIONS + self.n_enemies

    def info(self) -> EnvInfo:
        n_a, n_e = self.n_agents, self.n_enemies
        obs = 4 + n_e * self.enemy_feats + (n_a - 1) * self.ally_feats + self.own_feats
        state = n_a * self.ally_state_feats + n_e * self.enemy_state_feats + n_a * self.n_actions
        return EnvInfo(n_agents=n_a, n_enemies=n_e, n_actions=self.n_actions, obs_shape=obs, state_shape=state,
                       episode_limit=self.episode_limit)


MAPS: Registry[MapSpec] = Registry("map")


def _add(name: str, allies: dict[str, int], enemies: dict[str, int], limit: int, types: tuple[str, ...] = ()) -> None:
    MAPS.add(name, MapSpec(name, tuple(allies.items()), tuple(enemies.items()), limit, len(types), types))


_add("2m_vs_1z", {"marine": 2}, {"zealot": 1}, 150)
_add("3m", {"marine": 3}, {"marine": 3}, 60)
_add("8m", {"marine": 8}, {"marine": 8}, 120)
_add("2s3z", {"stalker": 2, "zealot": 3}, {"stalker": 2, "zealot": 3}, 120, ("stalker", "zealot"))
_add("3s_vs_3z", {"stalker": 3}, {"zealot": 3}, 150)
_add("3s_vs_5z", {"stalker": 3}, {"zealot": 5}, 250)
_add("2s_vs_1sc", {"stalker": 2}, {"spine_crawler": 1}, 300)
_add("1c3s5z", {"colossus": 1, "stalker": 3, "zealot": 5}, {"colossus": 1, "stalker": 3, "zealot": 5}, 180,
     ("colossus", "stalker", "zealot"))


def env_info(name: str) -> EnvInfo:
    """A map's SMAC sizes, so that the CLI can list maps without building an environment."""
    return MAPS.get(name).info()
