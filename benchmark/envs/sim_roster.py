"""Per-map constant tables of the simulator, as tensors indexed by unit slot.

A map's compositions never change, so each unit slot (agents first, then enemies, in SMAC's order) has fixed
unit data; pairwise quantities (damage of one attack, weapon reach, collision rules) are precomputed as
[N, N] tables so that the step only gathers from them instead of branching on unit types. The map's ground
(terrain.py) is kept as flat tensors that a step indexes by cell.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from benchmark.envs.maps import MOVE_AMOUNT, MapSpec
from benchmark.envs.mechanics import mechanics
from benchmark.envs.terrain import Terrain
from benchmark.envs.units import UnitType

MAX_PER_COLUMN = 5
# SMAC's get_unit_type_id numbers the agents' types by its own unit ids (the order of MapSpec.type_order),
# but the enemies' by StarCraft II's built-in ids; the two orders differ only where the stalker (74) and
# zealot (73) meet without a colossus, so an enemy zealot is [1, 0] there and an ally zealot [0, 1].
ENEMY_TYPE_ORDER = {("stalker", "zealot"): ("zealot", "stalker")}


@dataclass(frozen=True)
class Roster:
    spec: MapSpec
    n_agents: int
    n_enemies: int
    slots: torch.Tensor  # arange(N)
    team: torch.Tensor  # [N] 0 agents, 1 enemies
    hp_max: torch.Tensor  # [N]
    sh_max: torch.Tensor
    armor: torch.Tensor
    radius: torch.Tensor
    speed: torch.Tensor  # map units per loop
    cooldown: torch.Tensor  # weapon cooldown in loops
    attacks: torch.Tensor
    hp_regen: torch.Tensor  # per loop
    max_cd: torch.Tensor  # SMAC's normaliser of the cooldown (a medivac's: energy) state feature
    type_onehot: torch.Tensor  # [N, unit_type_bits]
    hit: torch.Tensor  # [N, N] raw damage of one attack of i on j; 0 within a team and where i cannot hit j
    reach: torch.Tensor  # [N, N] centre distance at which i's weapon (a healer's heal) reaches j: range + radii
    opponent: torch.Tensor  # [N, N] bool
    min_gap: torch.Tensor  # [N, N] r_i + r_j
    collide: torch.Tensor  # [N, N] bool, False on the diagonal
    share: torch.Tensor  # [N, N] the part of an overlap that i (not j) moves to resolve
    fallback: torch.Tensor  # [N, N, 2] push direction for units on the very same point
    formation: torch.Tensor  # [N, 2] start positions
    lower: torch.Tensor  # [N, 1] lowest coordinate of a unit's centre
    upper: torch.Tensor  # [N, 2] highest coordinate
    others: torch.Tensor  # [n_agents, n_agents - 1]: the allies agent a observes, in id order
    moves: torch.Tensor  # [4, 2] displacement of the move actions north, south, east, west
    centre: torch.Tensor  # [2] centre of the whole map (SMAC's map_x / 2, map_y / 2)
    extent: torch.Tensor  # [2] playable width, height (SMAC's max_distance_x, _y)
    action_ids: torch.Tensor  # arange(n_actions)
    # ground
    grid_size: tuple[int, int]  # cells along x, y
    ground: torch.Tensor  # [3 * W * H] bool: walkable, walkable for cliff walkers, everywhere (flying)
    ground_of: torch.Tensor  # [N] long, offset into `ground` of the grid each unit stands on
    level: torch.Tensor  # [W * H] cliff level
    keeps_level: torch.Tensor  # [N] bool, the unit may only move between cells of one level
    enemy_order: str  # terrain.ORDER_KINDS
    enemy_point: torch.Tensor  # [2] the attack-move target of an "attack_move" order
    # mechanics
    splash_radial: torch.Tensor  # [N] radius of the splash around the attacker, 0 for none
    splash_line: torch.Tensor  # [N] half length of the line splash across the target, 0 for none
    suicide: torch.Tensor  # [N] bool
    healer: torch.Tensor  # [N] bool
    heal_ok: torch.Tensor  # [N, N] bool: i may heal j
    heal_per_loop: torch.Tensor  # [N]
    energy_per_heal: torch.Tensor  # [N]
    energy_start: torch.Tensor  # [N]
    energy_max: torch.Tensor  # [N]
    energy_per_loop: torch.Tensor  # [N]

    @property
    def n_units(self) -> int:
        return self.n_agents + self.n_enemies

    @property
    def has_healers(self) -> bool:
        return bool(self.healer.any())

    @property
    def has_splash(self) -> bool:
        return bool((self.splash_radial > 0).any() or (self.splash_line > 0).any())


def build_roster(spec: MapSpec, ground: Terrain, device: torch.device) -> Roster:
    units = spec.ally_units + spec.enemy_units
    mech = [mechanics(u.name) for u in units]
    n_a, n = spec.n_agents, len(units)

    def column(values: list, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        return torch.tensor(values, dtype=dtype, device=device)

    def table(fn) -> torch.Tensor:
        return column([[fn(i, a, j, b) for j, b in enumerate(units)] for i, a in enumerate(units)])

    team = [0 if i < n_a else 1 for i in range(n)]
    opponent = table(lambda i, a, j, b: float(team[i] != team[j])).bool()
    can_hit = table(lambda i, a, j, b: float(mech[i].hits_air or not mech[j].flying)).bool()
    heal_ok = table(lambda i, a, j, b: float(mech[i].heals and team[i] == team[j] and not mech[j].flying))
    mobile = [u.speed > 0 for u in units]
    radius = column([u.radius for u in units])
    size = column(list(ground.size))
    cells = ground.size[0] * ground.size[1]
    grids = np.stack([ground.walkable, ground.walkable_cliff, np.ones_like(ground.walkable)]).reshape(-1)
    grid_index = [2 if m.flying else 1 if m.cliff_walker else 0 for m in mech]
    point = ground.enemy_order.point
    return Roster(
        spec=spec, n_agents=n_a, n_enemies=n - n_a,
        slots=torch.arange(n, device=device), team=column(team, torch.long),
        hp_max=column([u.health for u in units]), sh_max=column([u.shield for u in units]),
        armor=column([u.armor for u in units]), radius=radius, speed=column([u.speed for u in units]),
        cooldown=column([u.cooldown for u in units]), attacks=column([float(u.attacks) for u in units]),
        hp_regen=column([u.health_regen for u in units]),
        max_cd=column([u.smac_max_cooldown for u in units]),
        type_onehot=_type_onehot(spec, units, device),
        hit=table(lambda i, a, j, b: a.hit_damage(b)) * opponent * can_hit,
        reach=table(lambda i, a, j, b: (mech[i].heal_range if mech[i].heals else a.range) + a.radius + b.radius),
        opponent=opponent,
        min_gap=table(lambda i, a, j, b: a.radius + b.radius),
        collide=table(lambda i, a, j, b: float(i != j and a.massive == b.massive
                                               and mech[i].flying == mech[j].flying)).bool(),
        share=table(lambda i, a, j, b: _share(mobile[i], mobile[j])),
        fallback=table(lambda i, a, j, b: [float((i > j) - (i < j)), 0.0]),
        formation=_formation(ground, units, team).to(device),
        lower=radius.unsqueeze(1), upper=size - radius.unsqueeze(1),
        others=column([[j for j in range(n_a) if j != i] for i in range(n_a)], torch.long).view(n_a, n_a - 1),
        moves=column([[0.0, MOVE_AMOUNT], [0.0, -MOVE_AMOUNT], [MOVE_AMOUNT, 0.0], [-MOVE_AMOUNT, 0.0]]),
        centre=size / 2, extent=column(list(spec.size)), action_ids=torch.arange(spec.n_actions, device=device),
        grid_size=tuple(ground.size), ground=torch.as_tensor(grids, device=device),
        ground_of=column([g * cells for g in grid_index], torch.long),
        level=torch.as_tensor(ground.level.reshape(-1).astype(np.int64), device=device),
        keeps_level=column([g == 0 for g in grid_index], torch.bool),
        enemy_order=ground.enemy_order.kind, enemy_point=column(list(point) if point else [0.0, 0.0]),
        splash_radial=column([m.splash_size if m.splash == "radial" else 0.0 for m in mech]),
        splash_line=column([m.splash_size if m.splash == "line" else 0.0 for m in mech]),
        suicide=column([m.suicide for m in mech], torch.bool), healer=column([m.heals for m in mech], torch.bool),
        heal_ok=heal_ok.bool(), heal_per_loop=column([m.heal_per_loop for m in mech]),
        energy_per_heal=column([m.energy_per_heal for m in mech]),
        energy_start=column([m.energy_start for m in mech]), energy_max=column([m.energy_max for m in mech]),
        energy_per_loop=column([m.energy_per_loop for m in mech]),
    )


def _share(mobile_i: bool, mobile_j: bool) -> float:
    """Mobile pairs split an overlap evenly; a rooted unit is never pushed, so the other takes all of it."""
    if not mobile_i:
        return 0.0
    return 0.5 if mobile_j else 1.0


def _type_onehot(spec: MapSpec, units: list[UnitType], device: torch.device) -> torch.Tensor:
    """SMAC's unit-type bits: the agents' types in spec.type_order, the enemies' in ENEMY_TYPE_ORDER's."""
    onehot = torch.zeros(len(units), spec.unit_type_bits, device=device)
    if not spec.unit_type_bits:
        return onehot
    enemy_order = ENEMY_TYPE_ORDER.get(spec.type_order, spec.type_order)
    for i, unit in enumerate(units):
        order = spec.type_order if i < spec.n_agents else enemy_order
        onehot[i, order.index(unit.name)] = 1.0
    return onehot


def _formation(ground: Terrain, units: list[UnitType], team: list[int]) -> torch.Tensor:
    """Columns of up to five units at each team's spawn point, the columns stacked away from the other team."""
    spawns = (ground.ally_spawn, ground.enemy_spawn)
    positions = []
    for side in (0, 1):
        members = [u for u, t in zip(units, team, strict=True) if t == side]
        spacing = 2 * max(u.radius for u in members) + 0.5
        (x, y), (other_x, _) = spawns[side], spawns[1 - side]
        away = 1.0 if x >= other_x else -1.0
        for k in range(len(members)):
            col, row = divmod(k, MAX_PER_COLUMN)
            rows = min(MAX_PER_COLUMN, len(members) - col * MAX_PER_COLUMN)
            positions.append([x + away * col * spacing, y + (row - (rows - 1) / 2) * spacing])
    return torch.tensor(positions, dtype=torch.float32)
