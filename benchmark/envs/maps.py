"""SMAC maps as data, and their SMAC sizes without building an environment.

A map is its two compositions in SMAC's unit order, its episode limit, SMAC's `map_type` and
`unit_type_bits` (smac_maps.py), and the type-id order that the one-hot unit-type features use for each team.
SMAC sorts the agents by unit type id (then by position), and lists the enemies in the order the map's
script creates them (benchmark/envs/map_data, from each map's MapScript.galaxy). Type ids follow
`get_unit_type_id` in SMAC's starcraft2.py: an agent's id is its unit type minus the smallest agent unit type
(SMAC's copies of the units are numbered in the order the map's UnitData.xml defines them), an enemy's comes
from a per-map_type table of StarCraft II's stock unit ids, which puts the enemy zealot before the enemy
stalker on stalkers-and-zealots maps, the reverse of the agents' order. Adding a map is one `_add(...)` call.
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
    type_order: tuple[str, ...]  # agents' type id -> unit type; empty when unit_type_bits == 0
    map_type: str = ""  # SMAC's map_type
    enemy_type_order: tuple[str, ...] = ()  # enemies' type id -> unit type; empty when unit_type_bits == 0
    size: tuple[float, float] = (32.0, 32.0)  # playable width, height

    def __post_init__(self) -> None:
        for order in (self.type_order, self.enemy_type_order):
            if len(order) != self.unit_type_bits:
                raise ValueError(f"{self.name}: type orders must name unit_type_bits types")

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

    @property
    def ally_race(self) -> str:
        return self.ally_units[0].race

    @property
    def enemy_race(self) -> str:
        return self.enemy_units[0].race

    def type_id(self, unit: UnitType) -> int:
        """An agent's unit-type id (the index of its one-hot bit)."""
        return self.type_order.index(unit.name)

    def enemy_type_id(self, unit: UnitType) -> int:
        return self.enemy_type_order.index(unit.name)

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

# SMAC's get_unit_type_id per map_type: (agents' order, enemies' order); map types absent here have no type bits.
TYPE_ORDERS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "stalkers_and_zealots": (("stalker", "zealot"), ("zealot", "stalker")),  # enemy id = stock id - 73 (zealot)
    "colossi_stalkers_zealots": (("colossus", "stalker", "zealot"),) * 2,
    "MMM": (("marauder", "marine", "medivac"),) * 2,
    "bane": (("baneling", "zergling"),) * 2,
}


def _add(name: str, map_type: str, allies: dict[str, int], enemies: dict[str, int], limit: int,
         type_bits: int = 0) -> None:
    """`allies` in SMAC's agent order, `enemies` in the script's creation order."""
    ally_order, enemy_order = TYPE_ORDERS[map_type] if type_bits else ((), ())
    MAPS.add(name, MapSpec(name, tuple(allies.items()), tuple(enemies.items()), limit, type_bits, ally_order,
                           map_type, enemy_order))


# The study's four maps first, then SMAC's list (smac_maps.py).
_add("2m_vs_1z", "marines", {"marine": 2}, {"zealot": 1}, 150)
_add("3m", "marines", {"marine": 3}, {"marine": 3}, 60)
_add("3s_vs_3z", "stalkers", {"stalker": 3}, {"zealot": 3}, 150)
_add("2s3z", "stalkers_and_zealots", {"stalker": 2, "zealot": 3}, {"stalker": 2, "zealot": 3}, 120, 2)
_add("8m", "marines", {"marine": 8}, {"marine": 8}, 120)
_add("25m", "marines", {"marine": 25}, {"marine": 25}, 150)
_add("5m_vs_6m", "marines", {"marine": 5}, {"marine": 6}, 70)
_add("8m_vs_9m", "marines", {"marine": 8}, {"marine": 9}, 120)
_add("10m_vs_11m", "marines", {"marine": 10}, {"marine": 11}, 150)
_add("27m_vs_30m", "marines", {"marine": 27}, {"marine": 30}, 180)
_add("MMM", "MMM", {"marauder": 2, "marine": 7, "medivac": 1}, {"marine": 7, "marauder": 2, "medivac": 1}, 150, 3)
_add("MMM2", "MMM", {"marauder": 2, "marine": 7, "medivac": 1}, {"marine": 8, "marauder": 3, "medivac": 1}, 180, 3)
_add("3s5z", "stalkers_and_zealots", {"stalker": 3, "zealot": 5}, {"stalker": 3, "zealot": 5}, 150, 2)
_add("3s5z_vs_3s6z", "stalkers_and_zealots", {"stalker": 3, "zealot": 5}, {"stalker": 3, "zealot": 6}, 170, 2)
_add("3s_vs_4z", "stalkers", {"stalker": 3}, {"zealot": 4}, 200)
_add("3s_vs_5z", "stalkers", {"stalker": 3}, {"zealot": 5}, 250)
_add("1c3s5z", "colossi_stalkers_zealots", {"colossus": 1, "stalker": 3, "zealot": 5},
     {"colossus": 1, "stalker": 3, "zealot": 5}, 180, 3)
_add("corridor", "zealots", {"zealot": 6}, {"zergling": 24}, 400)
_add("6h_vs_8z", "hydralisks", {"hydralisk": 6}, {"zealot": 8}, 150)
_add("2s_vs_1sc", "stalkers", {"stalker": 2}, {"spine_crawler": 1}, 300)
_add("so_many_baneling", "zealots", {"zealot": 7}, {"baneling": 32}, 100)
_add("bane_vs_bane", "bane", {"baneling": 4, "zergling": 20}, {"zergling": 20, "baneling": 4}, 200, 2)
_add("2c_vs_64zg", "colossus", {"colossus": 2}, {"zergling": 64}, 400)


def env_info(name: str) -> EnvInfo:
    """A map's SMAC sizes, so that the CLI can list maps without building an environment."""
    return MAPS.get(name).info()
