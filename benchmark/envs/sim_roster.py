"""Per-map constant tables of the simulator, as tensors indexed by unit slot.

A map's compositions never change, so each unit slot (agents first, then enemies, in SMAC's order) has fixed
unit data; pairwise quantities (damage of one attack, weapon reach, collision rules) are precomputed as
[N, N] tables so that the step only gathers from them instead of branching on unit types. The map's ground
(terrain.py) is kept as flat tensors that a step indexes by cell.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass

import numpy as np
import torch

from benchmark.envs.formation import start_positions
from benchmark.envs.maps import MOVE_AMOUNT, N_NO_ATTACK_ACTIONS, MapSpec
from benchmark.envs.sim_layout import obs_index, state_index
from benchmark.envs.sim_paths import first_steps, step_offsets
from benchmark.envs.terrain import Spawn, Terrain
from benchmark.envs.units import UnitType

LOOPS_PER_STEP = 8  # game loops per SMAC step (its step_mul)
GROUNDS = 3  # grids in Roster.ground: walkable, walkable for cliff walkers, everywhere (flying)


@dataclass(frozen=True)
class Roster:
    spec: MapSpec
    n_agents: int
    n_enemies: int
    slots: torch.Tensor  # arange(N)
    hp_max: torch.Tensor  # [N]
    sh_max: torch.Tensor
    armor: torch.Tensor
    radius: torch.Tensor
    speed: torch.Tensor  # map units per loop
    cooldown: torch.Tensor  # weapon cooldown in loops
    attacks: torch.Tensor
    max_cd: torch.Tensor  # SMAC's normaliser of the cooldown (a medivac's: energy) state feature
    type_onehot: torch.Tensor  # [N, unit_type_bits]
    hit: torch.Tensor  # [N, N] raw damage of one attack of i on j; 0 within a team and where i cannot hit j
    reach: torch.Tensor  # [N, N] centre distance at which i's weapon (a healer's heal) reaches j: range + radii
    can_target: torch.Tensor  # [N, N] bool: j is a foe that i's weapon can hit (hit > 0)
    min_gap: torch.Tensor  # [N, N] r_i + r_j
    collide: torch.Tensor  # [N, N] bool, False on the diagonal
    share: torch.Tensor  # [N, N] the part of an overlap that i (not j) moves to resolve
    fallback: torch.Tensor  # [N, N, 2] push direction for units on the very same point
    formation: torch.Tensor  # [N, 2] start positions, where StarCraft II creates the units (formation.py)
    lower: torch.Tensor  # [N, 1] lowest coordinate of a unit's centre
    upper: torch.Tensor  # [N, 2] highest coordinate
    others: torch.Tensor  # [n_agents, n_agents - 1]: the allies agent a observes, in id order
    centre: torch.Tensor  # [2] centre of the whole map (SMAC's map_x / 2, map_y / 2)
    extent: torch.Tensor  # [2] playable width, height (SMAC's max_distance_x, _y)
    # ground
    ground: torch.Tensor  # [GROUNDS * (W + 1) * (H + 1)] bool: walkable, walkable for cliff walkers, on the map
    ground_of: torch.Tensor  # [N] long, offset into `ground` of the grid each unit stands on
    paths: torch.Tensor | None  # flat [C, C] first steps on walkable, then on cliff walkable (sim_paths);
    # None where no unit's ground holds an obstacle
    path_of: torch.Tensor  # [N] long, offset into `paths` of each unit's table, -1 for a flyer
    path_size: tuple[int, int]  # the map's cells along x, y
    path_steps: torch.Tensor  # [9, 2] sim_paths.step_offsets
    enemy_order: str  # terrain.ORDER_KINDS
    enemy_point: torch.Tensor  # [2] an "attack_move" order's target
    enemy_segment: torch.Tensor  # [2, 2] the ends of an "attack_move_between_agents" order's segment
    # mechanics
    splash_radial: torch.Tensor  # [N] radius of the splash around the target, 0 for none
    splash_line: torch.Tensor  # [N] half length of the line splash across the target, 0 for none
    suicide: torch.Tensor  # [N] bool
    healer: torch.Tensor  # [N] bool
    heal_ok: torch.Tensor  # [N, N] bool: i may heal j
    heal_per_loop: torch.Tensor  # [N]
    energy_per_heal: torch.Tensor  # [N]
    energy_start: torch.Tensor  # [N]
    energy_max: torch.Tensor  # [N]
    energy_per_loop: torch.Tensor  # [N]
    # derived once so that a step only looks them up (each saves ops per step; see sim_layout)
    sh_norm: torch.Tensor  # [N] sh_max, at least 1: the shield feature's normaliser
    half_moves: torch.Tensor  # [4, 2] half of the moves north, south, east, west: where SMAC's can_move looks
    cell_stride: torch.Tensor  # [2] long: flat cell index = x * stride[0] + y * stride[1]
    slide_x: torch.Tensor  # [6] long: which of (old, new, middle) point gives the x (slide_y: the y) of the
    slide_y: torch.Tensor  # cells a move is checked at: new, along x, along y, then the middle of each
    action_target: torch.Tensor  # [n_agents * n_actions] long: slot an agent's action attacks (heals), -1: none
    # or an order the game refuses (a ground weapon on a flyer); row a starts at a * n_actions
    action_row: torch.Tensor  # [n_agents] long: a * n_actions
    action_moves: torch.Tensor  # [n_actions] bool: a move action
    action_goal: torch.Tensor  # [n_actions, 2] a move action's displacement (the nearest move's for the
    # others, never used)
    step_reach: torch.Tensor  # [N] speed * LOOPS_PER_STEP: the farthest a unit walks in a step
    speed_safe: torch.Tensor  # [N] speed, at least 1e-6
    hp_regen_step: torch.Tensor  # [N] hit points a unit regenerates per step (zerg)
    fighter: torch.Tensor  # [N] bool: not a healer
    enemy_can_target: torch.Tensor  # can_target[n_agents:]
    enemy_reach: torch.Tensor  # reach[n_agents:]
    ally_flag: torch.Tensor  # [1, n_agents, n_agents] ones: the first observation column of an ally
    obs_index: torch.Tensor  # sim_layout.obs_index
    state_index: torch.Tensor  # sim_layout.state_index
    last_action_onehot: torch.Tensor  # [1 + n_actions, n_actions]: row a + 1 is action a's one-hot, row 0 (no
    # action yet) zeros
    zero: torch.Tensor  # 0-dim constants for torch.where, which would otherwise build a tensor per call
    inf: torch.Tensor
    no_slot: torch.Tensor  # -1, long
    step_loops: torch.Tensor  # float LOOPS_PER_STEP
    # what the map has at all, so that a step skips what it does not (plain bools: no device sync)
    has_healers: bool
    has_splash: bool  # splash or suicide attacks

    @property
    def n_units(self) -> int:
        return self.n_agents + self.n_enemies


def build_roster(spec: MapSpec, ground: Terrain, device: torch.device) -> Roster:
    units = spec.ally_units + spec.enemy_units
    n_a, n = spec.n_agents, len(units)

    def column(values: list, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        return torch.tensor(values, dtype=dtype, device=device)

    def table(fn) -> torch.Tensor:
        return column([[fn(i, a, j, b) for j, b in enumerate(units)] for i, a in enumerate(units)])

    team = [0 if i < n_a else 1 for i in range(n)]
    opponent = table(lambda i, a, j, b: float(team[i] != team[j])).bool()
    can_hit = table(lambda i, a, j, b: float(a.hits_air or not b.flying)).bool()
    heals = [u.heal_rate > 0 for u in units]
    mobile = [u.speed > 0 for u in units]
    radius = column([u.radius for u in units])
    size = column(list(ground.size))
    grids, grid_size = _grids(ground)
    cells = grid_size[0] * grid_size[1]
    order = ground.enemy_order
    speed, hp_regen = column([u.speed for u in units]), column([u.health_regen for u in units])
    hit = table(lambda i, a, j, b: a.hit_damage(b)) * opponent * can_hit
    reach = table(lambda i, a, j, b: (a.heal_range if heals[i] else a.range) + a.radius + b.radius)
    can_target = opponent & can_hit & table(lambda i, a, j, b: float(a.attacks > 0)).bool()
    moves = column([[0.0, MOVE_AMOUNT], [0.0, -MOVE_AMOUNT], [MOVE_AMOUNT, 0.0], [-MOVE_AMOUNT, 0.0]])
    target_offset = column([0 if heals[i] else n_a for i in range(n_a)], torch.long)
    order_ok = _order_ok(units, n_a, heals, spec.n_actions, device)
    sh_max, healer = column([u.shield for u in units]), column(heals, torch.bool)
    return Roster(
        **_action_tables(spec, target_offset, order_ok, moves),
        sh_norm=sh_max.clamp(min=1), half_moves=moves / 2, cell_stride=column([grid_size[1], 1], torch.long),
        slide_x=column([1, 1, 0, 2, 2, 0], torch.long), slide_y=column([1, 0, 1, 2, 0, 2], torch.long),
        step_reach=speed * LOOPS_PER_STEP, speed_safe=speed.clamp(min=1e-6), hp_regen_step=hp_regen * LOOPS_PER_STEP,
        fighter=~healer, enemy_can_target=can_target[n_a:], enemy_reach=reach[n_a:],
        ally_flag=torch.ones(1, n_a, n_a, device=device),
        obs_index=obs_index(spec, device), state_index=state_index(spec, device),
        last_action_onehot=torch.cat([torch.zeros(1, spec.n_actions), torch.eye(spec.n_actions)]).to(device),
        zero=column(0.0), inf=column(float("inf")), no_slot=column(-1, torch.long),
        step_loops=column(float(LOOPS_PER_STEP)),
        spec=spec, n_agents=n_a, n_enemies=n - n_a,
        slots=torch.arange(n, device=device),
        hp_max=column([u.health for u in units]), sh_max=sh_max,
        armor=column([u.armor for u in units]), radius=radius, speed=speed,
        cooldown=column([u.cooldown for u in units]), attacks=column([float(u.attacks) for u in units]),
        max_cd=column([u.smac_max_cooldown for u in units]),
        type_onehot=_type_onehot(spec, units, device),
        hit=hit, reach=reach, can_target=can_target,
        min_gap=table(lambda i, a, j, b: a.radius + b.radius),
        collide=table(lambda i, a, j, b: float(i != j and a.massive == b.massive and a.flying == b.flying)).bool(),
        share=table(lambda i, a, j, b: _share(mobile[i], mobile[j])),
        fallback=table(lambda i, a, j, b: [float((i > j) - (i < j)), 0.0]),
        formation=_formation(spec, ground).to(device),
        lower=radius.unsqueeze(1), upper=size - radius.unsqueeze(1),
        others=column([[j for j in range(n_a) if j != i] for i in range(n_a)], torch.long).view(n_a, n_a - 1),
        centre=size / 2, extent=column(list(spec.size)),
        ground=torch.as_tensor(grids, device=device),
        ground_of=column([cells * (2 if u.flying else 1 if u.cliff_walker else 0) for u in units], torch.long),
        paths=_paths(ground, units, device), path_size=tuple(ground.size), path_steps=step_offsets(device),
        path_of=column([-1 if u.flying else ground.walkable.size ** 2 * u.cliff_walker for u in units], torch.long),
        enemy_order=order.kind, enemy_point=column(list(order.point or (0.0, 0.0))),
        enemy_segment=column([list(p) for p in order.segment or ((0.0, 0.0), (0.0, 0.0))]),
        splash_radial=column([u.splash_radius for u in units]), splash_line=column([u.line_splash for u in units]),
        suicide=column([u.suicide for u in units], torch.bool), healer=healer,
        heal_ok=table(lambda i, a, j, b: float(heals[i] and team[i] == team[j]
                                               and "biological" in b.attributes)).bool(),
        heal_per_loop=column([u.heal_rate for u in units]),
        energy_per_heal=column([u.heal_energy_per_hp for u in units]),
        energy_start=column([u.energy_start for u in units]), energy_max=column([u.energy_max for u in units]),
        energy_per_loop=column([u.energy_regen for u in units]),
        has_healers=any(heals),
        has_splash=any(u.splash_radius > 0 or u.line_splash > 0 or u.suicide for u in units),
    )


def _action_tables(spec: MapSpec, target_offset: torch.Tensor, order_ok: torch.Tensor,
                   moves: torch.Tensor) -> dict[str, torch.Tensor]:
    """Roster's action_* lookups: what each (agent, action) orders, as the step would otherwise compute it."""
    n_a, n_actions = spec.n_agents, spec.n_actions
    actions = torch.arange(n_actions, device=moves.device)
    attack = (actions >= N_NO_ATTACK_ACTIONS) & order_ok
    target = torch.where(attack, actions - N_NO_ATTACK_ACTIONS + target_offset.unsqueeze(1), -1)
    return {"action_target": target.reshape(-1), "action_row": torch.arange(n_a, device=moves.device) * n_actions,
            "action_moves": (actions >= 2) & (actions < N_NO_ATTACK_ACTIONS),
            "action_goal": moves[(actions - 2).clamp(0, 3)]}


def _order_ok(units: list[UnitType], n_a: int, heals: list[bool], n_actions: int, device: torch.device) -> torch.Tensor:
    """[n_agents, n_actions]: every order but an attack with a ground-only weapon on a flyer."""
    ok = torch.ones(n_a, n_actions, dtype=torch.bool, device=device)
    for a in range(n_a):
        for e, enemy in enumerate(units[n_a:]):
            ok[a, N_NO_ATTACK_ACTIONS + e] = heals[a] or units[a].hits_air or not enemy.flying
    return ok


def _paths(ground: Terrain, units: list[UnitType], device: torch.device) -> torch.Tensor | None:
    """First-step tables for the ground units' grids, or None where no ground unit ever needs a detour."""
    tables = [_first_steps(g.shape, g.tobytes()) for g in (ground.walkable, ground.walkable_cliff)]
    if not any(tables[u.cliff_walker].any() for u in units if not u.flying):
        return None
    return torch.from_numpy(np.concatenate([t.reshape(-1) for t in tables])).to(device)


@functools.lru_cache(maxsize=32)
def _first_steps(shape: tuple[int, int], walkable: bytes) -> np.ndarray:
    """sim_paths.first_steps, once per grid: a map's environments share it (0.1-0.2 s each to compute)."""
    return first_steps(np.frombuffer(walkable, dtype=bool).reshape(shape))


def _grids(ground: Terrain) -> tuple[np.ndarray, tuple[int, int]]:
    """Roster.ground's grids, flat, each padded with a row and a column of no ground past the map's far
    edges, so that a lookup needs no bounds check (sim_dynamics.cells)."""
    width, height = ground.size
    grids = np.zeros((GROUNDS, width + 1, height + 1), dtype=bool)
    grids[:, :width, :height] = [ground.walkable, ground.walkable_cliff, np.ones_like(ground.walkable)]
    return grids.reshape(-1), (width + 1, height + 1)


def _share(mobile_i: bool, mobile_j: bool) -> float:
    """Mobile pairs split an overlap evenly; a rooted unit is never pushed, so the other takes all of it."""
    if not mobile_i:
        return 0.0
    return 0.5 if mobile_j else 1.0


def _type_onehot(spec: MapSpec, units: list[UnitType], device: torch.device) -> torch.Tensor:
    """SMAC's unit-type bits: the agents' ids in spec.type_order, the enemies' in spec.enemy_type_order."""
    onehot = torch.zeros(len(units), spec.unit_type_bits, device=device)
    for i, unit in enumerate(units):
        if spec.unit_type_bits:
            onehot[i, spec.type_id(unit) if i < spec.n_agents else spec.enemy_type_id(unit)] = 1.0
    return onehot


def _formation(spec: MapSpec, ground: Terrain) -> torch.Tensor:
    """[N, 2] where the game creates the units. Ground without the script's creation calls (a hand-built
    arena) gets one call per unit type of each team, at the team's spawn point."""
    if not ground.spawns:
        calls = [Spawn(0, name, count, ground.ally_spawn) for name, count in spec.allies]
        calls += [Spawn(1, name, count, ground.enemy_spawn) for name, count in spec.enemies]
        ground = dataclasses.replace(ground, spawns=tuple(calls))
    agents, enemies = start_positions(ground, spec.type_order)
    return torch.from_numpy(np.concatenate([agents, enemies]))
