"""Per-map constant tables of the simulator, as tensors indexed by unit slot.

A map's compositions never change, so each unit slot (agents first, then enemies, in SMAC's order) has fixed
unit data; pairwise quantities (damage of one attack, weapon reach, collision rules) are precomputed as
[N, N] tables so that the step only gathers from them instead of branching on unit types.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from benchmark.envs.maps import MOVE_AMOUNT, MapSpec
from benchmark.envs.units import UnitType

HALF_GAP = 6.5  # each team's formation centre lies this far from the map centre: 13 apart, beyond sight 9
MAX_PER_COLUMN = 5


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
    max_cd: torch.Tensor  # SMAC's normaliser of the cooldown state feature
    type_onehot: torch.Tensor  # [N, unit_type_bits]
    hit: torch.Tensor  # [N, N] raw damage of one attack of i on j; 0 within a team
    reach: torch.Tensor  # [N, N] centre distance at which i's weapon reaches j: range + both radii
    opponent: torch.Tensor  # [N, N] bool
    min_gap: torch.Tensor  # [N, N] r_i + r_j
    collide: torch.Tensor  # [N, N] bool, False on the diagonal
    share: torch.Tensor  # [N, N] the part of an overlap that i (not j) moves to resolve
    fallback: torch.Tensor  # [N, N, 2] push direction for units on the very same point
    formation: torch.Tensor  # [N, 2] start positions before jitter
    ally_center: torch.Tensor  # [2]
    lower: torch.Tensor  # [N, 1] lowest coordinate of a unit's centre
    upper: torch.Tensor  # [N, 2] highest coordinate
    others: torch.Tensor  # [n_agents, n_agents - 1]: the allies agent a observes, in id order
    moves: torch.Tensor  # [4, 2] displacement of the move actions north, south, east, west
    centre: torch.Tensor  # [2] map centre
    extent: torch.Tensor  # [2] playable width, height
    action_ids: torch.Tensor  # arange(n_actions)

    @property
    def n_units(self) -> int:
        return self.n_agents + self.n_enemies


def build_roster(spec: MapSpec, device: torch.device) -> Roster:
    units = spec.ally_units + spec.enemy_units
    n_a, n = spec.n_agents, len(units)

    def column(values: list[float], dtype: torch.dtype = torch.float32) -> torch.Tensor:
        return torch.tensor(values, dtype=dtype, device=device)

    def table(fn) -> torch.Tensor:
        return column([[fn(i, a, j, b) for j, b in enumerate(units)] for i, a in enumerate(units)])

    team = [0 if i < n_a else 1 for i in range(n)]
    opponent = table(lambda i, a, j, b: float(team[i] != team[j])).bool()
    mobile = [u.speed > 0 for u in units]
    radius = column([u.radius for u in units])
    size = column(list(spec.size))
    return Roster(
        spec=spec, n_agents=n_a, n_enemies=n - n_a,
        slots=torch.arange(n, device=device), team=column(team, torch.long),
        hp_max=column([u.health for u in units]), sh_max=column([u.shield for u in units]),
        armor=column([u.armor for u in units]), radius=radius, speed=column([u.speed for u in units]),
        cooldown=column([u.cooldown for u in units]), attacks=column([float(u.attacks) for u in units]),
        hp_regen=column([u.health_regen for u in units]),
        max_cd=column([u.smac_max_cooldown for u in units]),
        type_onehot=_type_onehot(spec, units, device),
        hit=table(lambda i, a, j, b: a.hit_damage(b)) * opponent,
        reach=table(lambda i, a, j, b: a.range + a.radius + b.radius),
        opponent=opponent,
        min_gap=table(lambda i, a, j, b: a.radius + b.radius),
        collide=table(lambda i, a, j, b: float(i != j and a.massive == b.massive)).bool(),
        share=table(lambda i, a, j, b: _share(mobile[i], mobile[j])),
        fallback=table(lambda i, a, j, b: [float((i > j) - (i < j)), 0.0]),
        formation=_formation(spec, units, team).to(device),
        ally_center=column([spec.size[0] / 2 - HALF_GAP, spec.size[1] / 2]),
        lower=radius.unsqueeze(1), upper=size - radius.unsqueeze(1),
        others=column([[j for j in range(n_a) if j != i] for i in range(n_a)], torch.long).view(n_a, n_a - 1),
        moves=column([[0.0, MOVE_AMOUNT], [0.0, -MOVE_AMOUNT], [MOVE_AMOUNT, 0.0], [-MOVE_AMOUNT, 0.0]]),
        centre=size / 2, extent=size, action_ids=torch.arange(spec.n_actions, device=device),
    )


def _share(mobile_i: bool, mobile_j: bool) -> float:
    """Mobile pairs split an overlap evenly; a rooted unit is never pushed, so the other takes all of it."""
    if not mobile_i:
        return 0.0
    return 0.5 if mobile_j else 1.0


def _type_onehot(spec: MapSpec, units: list[UnitType], device: torch.device) -> torch.Tensor:
    onehot = torch.zeros(len(units), spec.unit_type_bits, device=device)
    for i, unit in enumerate(units):
        if spec.unit_type_bits:
            onehot[i, spec.type_id(unit)] = 1.0
    return onehot


def _formation(spec: MapSpec, units: list[UnitType], team: list[int]) -> torch.Tensor:
    """Columns of up to five units facing the other team across the map centre."""
    cx, cy = spec.size[0] / 2, spec.size[1] / 2
    positions = []
    for side in (0, 1):
        members = [u for u, t in zip(units, team, strict=True) if t == side]
        spacing = 2 * max(u.radius for u in members) + 0.5
        direction = -1.0 if side == 0 else 1.0
        for k in range(len(members)):
            col, row = divmod(k, MAX_PER_COLUMN)
            rows = min(MAX_PER_COLUMN, len(members) - col * MAX_PER_COLUMN)
            positions.append([cx + direction * (HALF_GAP + col * spacing), cy + (row - (rows - 1) / 2) * spacing])
    return torch.tensor(positions, dtype=torch.float32)
