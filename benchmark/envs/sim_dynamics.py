"""One SMAC step (8 game loops) of B battles at once.

The step is resolved at step granularity, not loop by loop, because every weapon cooldown in the unit table
exceeds 8 loops, so a unit fires at most one volley per step; what happens inside the step is computed in
closed form:
  1. orders from the state at the start of the step: the agents' actions (an agent's unit is passive, as
     SMAC's copies are: it fires only at the enemy it was ordered to attack, and `stop` leaves it idle) and
     the enemies' built-in AI (auto-acquire of agents in weapon range, chasing, the map's order);
  2. movement: a unit walks toward its goal (straight, or toward the next cell of a path around walls and
     cliffs, sim_paths.py) at its speed for up to 8 loops; an attacker stops as soon as its weapon reaches
     the target's start-of-step position;
  3. fire: an attacker whose target is in reach (at the start, or after both moved) fires when its cooldown
     expires and it has arrived, if that is within the step; all of a step's volleys land at its end, so
     a unit that dies in a step still fires in it; splash and suicide attacks, heals;
  4. damage, shield and zerg regeneration, energy, then soft collisions, the map border and the ground: a
     unit that would end on (or cross) ground it may not stand on slides along one axis or stays put.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import torch

from benchmark.envs.maps import SIGHT_RANGE
from benchmark.envs.sim_paths import steer
from benchmark.envs.sim_rng import uniforms
from benchmark.envs.sim_roster import LOOPS_PER_STEP, Roster
from benchmark.envs.units import SHIELD_REGEN_DELAY_LOOPS, SHIELD_REGEN_PER_LOOP

UNIT_JITTER = 0.3  # each unit's start position: uniform in +-this per axis around its formation slot


@dataclass
class Battle:
    """The changing state of B battles; unit slots are agents first, then enemies."""

    pos: torch.Tensor  # [B, N, 2]
    health: torch.Tensor  # [B, N]
    shield: torch.Tensor  # [B, N]
    energy: torch.Tensor  # [B, N] (0 for units without energy)
    cooldown: torch.Tensor  # [B, N] loops until the weapon is ready
    since_hit: torch.Tensor  # [B, N] loops since the unit last took damage (shield regeneration)
    enemy_target: torch.Tensor  # [B, n_enemies] unit slot an enemy is attacking (or healing), -1 for none
    enemy_goal: torch.Tensor  # [B, 2] where the enemies attack-move to
    t: torch.Tensor  # [B] steps taken in the episode
    last_action: torch.Tensor  # [B, n_agents] -1 before the first step

    def assign(self, idx: torch.Tensor, other: Battle) -> None:
        """Overwrite the battles `idx` (a long tensor) with `other`'s, in place."""
        for f in fields(self):
            getattr(self, f.name).index_copy_(0, idx, getattr(other, f.name))

    def stacked(self, other: Battle) -> Battle:
        """These battles followed by `other`'s, as one batch."""
        return Battle(**{f.name: torch.cat([getattr(self, f.name), getattr(other, f.name)]) for f in fields(self)})


def start_battles(r: Roster, env_seeds: torch.Tensor, episodes: torch.Tensor) -> Battle:
    """Fresh battles where the game creates the units, each jittered by its env's (seed, episode) draws where
    the jittered point is ground it may stand on. The game's placement is the same every episode; the jitter
    stands in for StarCraft II's own randomness (such as its weapons' random cooldown variance), which the
    step does not model."""
    k, n = env_seeds.shape[0], r.n_units
    u = uniforms(env_seeds, episodes, 1 + 2 * n)
    formation = r.formation.expand(k, -1, -1)
    jittered = formation + (u[:, 1:].view(k, n, 2) * 2 - 1) * UNIT_JITTER
    jittered = torch.maximum(torch.minimum(jittered, r.upper), r.lower)
    pos = torch.where(stands(r, jittered).unsqueeze(-1), jittered, formation)
    full = torch.ones(k, n, device=pos.device)
    return Battle(
        pos=pos, health=full * r.hp_max, shield=full * r.sh_max, energy=full * r.energy_start,
        cooldown=torch.zeros_like(full), since_hit=full * SHIELD_REGEN_DELAY_LOOPS,
        enemy_target=torch.full((k, r.n_enemies), -1, dtype=torch.long, device=pos.device),
        enemy_goal=_enemy_goal(r, u[:, 0]), t=torch.zeros(k, dtype=torch.long, device=pos.device),
        last_action=torch.full((k, r.n_agents), -1, dtype=torch.long, device=pos.device),
    )


def _enemy_goal(r: Roster, u: torch.Tensor) -> torch.Tensor:
    """[k, 2] the point of the map's attack-move order, drawn at a uniform fraction `u` along the order's
    segment where it names a random point between the agents."""
    if r.enemy_order == "attack_move_between_agents":
        first, second = r.enemy_segment
        return first + u.unsqueeze(-1) * (second - first)
    return r.enemy_point.expand(u.shape[0], 2).clone()


def advance(r: Roster, b: Battle, actions: torch.Tensor) -> None:
    """Play one step of every battle in place; `actions` must already be valid (see SimEnv.step)."""
    alive = b.health > 0
    dist = _distances(b.pos)
    target, moving, goal = _orders(r, b, actions, alive, dist)
    ti = target.clamp(min=0)
    ti_xy = ti.unsqueeze(-1).expand(-1, -1, 2)  # gathers a target's coordinates
    new_pos, fires, fire_time, arrival = _move_and_fire(r, b, target, ti, ti_xy, moving, goal, dist)
    _apply_damage(r, b, ti, ti_xy, fires, new_pos)
    if r.has_healers:
        _heal(r, b, target, ti, arrival)
    alive = _regenerate(r, b)
    b.pos = _on_ground(r, b.pos, _separate(r, new_pos, alive))
    reloaded = r.cooldown - (LOOPS_PER_STEP - fire_time)
    b.cooldown = torch.where(fires, reloaded, (b.cooldown - LOOPS_PER_STEP).clamp(min=0))


def cells(r: Roster, pos: torch.Tensor) -> torch.Tensor:
    """Flat index into Roster.ground's grids of the cell under each point: SMAC's int() of each coordinate.
    Points lie within one cell of the map (units stay on it, a move mask looks 1 ahead), and int() rounds
    -1 < x < 0 to 0 as SMAC's bounds check then accepts, so only the padding past the far edges is needed.
    Converting to long truncates toward zero, as int() does."""
    return (pos.long() * r.cell_stride).sum(-1)


def stands(r: Roster, pos: torch.Tensor) -> torch.Tensor:
    """[B, N] whether each unit may stand at `pos` [B, N, 2]: on the map, on its kind of ground."""
    return r.ground[r.ground_of + cells(r, pos)]


def _on_ground(r: Roster, old: torch.Tensor, new: torch.Tensor) -> torch.Tensor:
    """`new` where each unit may stand there and halfway there, else its move along x alone, else along y
    alone, else `old`. A step moves a unit at most 1.5 map units, so checking the middle too keeps it from
    stepping over a one-cell cliff edge or wall. The six cells are combined from the old, new and middle
    cell coordinates and looked up at once."""
    xy = torch.stack([old, new, (old + new) / 2]).long() * r.cell_stride  # [3, B, N, 2]: old, new, middle
    # new, along x, along y; then the middle of each
    cell = xy[r.slide_x, ..., 0] + xy[r.slide_y, ..., 1]  # [6, B, N]
    ok = r.ground[r.ground_of + cell]
    new_ok, x_ok, y_ok = (ok[:3] & ok[3:]).unbind(0)
    # new if it may stand there, else along x, else along y, else old: per axis, x moves where new or along x
    # is fine, y where new is, or along y is and along x is not
    moved = torch.stack([new_ok | x_ok, new_ok | (y_ok & ~x_ok)], -1)
    return torch.where(moved, new, old)


def norm(vectors: torch.Tensor) -> torch.Tensor:
    """Length of [..., 2] vectors (elementwise hypot is cheaper than a reduction over a dimension of 2).

    The coordinates are strided views, so torch computes hypot with its scalar routine; its vectorised one
    (on contiguous inputs) differs in the last bit for a few inputs in a million, and every trajectory would
    change with it."""
    return torch.hypot(*vectors.unbind(-1))


def _distances(pos: torch.Tensor) -> torch.Tensor:
    return norm(pos.unsqueeze(2) - pos.unsqueeze(1))


def _nearest(r: Roster, dist: torch.Tensor, allowed: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    best, index = torch.where(allowed, dist, r.inf).min(-1)
    return index, best < r.inf


def _orders(r: Roster, b: Battle, actions: torch.Tensor, alive: torch.Tensor,
            dist: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Each unit's target slot (-1: none), whether it walks to a point instead, and that point."""
    n_a = r.n_agents
    # Agents: an attack order names a target (a healer's names an ally); stop and moves fire at nothing.
    # An order on a unit the attacker's weapon cannot hit (a ground weapon on a flyer) is refused by the game.
    # Roster.action_* hold these rules per (agent, action).
    agent_target = r.action_target.take(actions + r.action_row)
    agent_moves = r.action_moves[actions]
    agent_goal = b.pos[:, :n_a] + r.action_goal[actions]

    enemy_target = _enemy_targets(r, b, alive, dist)
    b.enemy_target = enemy_target
    target = torch.where(alive, torch.cat([agent_target, enemy_target], 1), r.no_slot)
    moving = torch.cat([agent_moves, enemy_target < 0], 1) & alive
    goal = torch.cat([agent_goal, _enemy_walk(r, b)], 1)
    return target, moving, goal


def _enemy_targets(r: Roster, b: Battle, alive: torch.Tensor, dist: torch.Tensor) -> torch.Tensor:
    """The built-in AI's targets [B, n_enemies] (unit slots, -1: walk to the order's goal): keep a target
    still in weapon range, else acquire the nearest agent in range, else chase the nearest in sight (any
    distance under an order to attack the agents); a healer heals the nearest hurt ally in sight."""
    n_a = r.n_agents
    enemy_dist = dist[:, n_a:]
    hittable = r.enemy_can_target & alive.unsqueeze(1)
    in_reach = hittable & (enemy_dist <= r.enemy_reach)
    near_reach, has_reach = _nearest(r, enemy_dist, in_reach)
    chase_zone = hittable if r.enemy_order == "attack_agents" else hittable & (enemy_dist < SIGHT_RANGE)
    near_chase, has_chase = _nearest(r, enemy_dist, chase_zone)
    cur = b.enemy_target
    keep = (cur >= 0) & in_reach.gather(2, cur.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    fresh = torch.where(has_reach, near_reach, torch.where(has_chase, near_chase, r.no_slot))
    target = torch.where(keep, cur, fresh)
    if r.has_healers:
        hurt = r.heal_ok[n_a:] & alive.unsqueeze(1) & (b.health < r.hp_max).unsqueeze(1) & (enemy_dist < SIGHT_RANGE)
        patient, has_patient = _nearest(r, enemy_dist, hurt)
        target = torch.where(r.healer[n_a:], torch.where(has_patient, patient, r.no_slot), target)
    return torch.where(alive[:, n_a:], target, r.no_slot)


def _enemy_walk(r: Roster, b: Battle) -> torch.Tensor:
    """[B, n_enemies, 2] where an enemy without a target walks: the order's point, or nowhere without one."""
    here = b.pos[:, r.n_agents:]
    if r.enemy_order == "none":
        return here
    return b.enemy_goal.unsqueeze(1).expand_as(here)


def _move_and_fire(r: Roster, b: Battle, target: torch.Tensor, ti: torch.Tensor, ti_xy: torch.Tensor,
                   moving: torch.Tensor, goal: torch.Tensor,
                   dist: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """New positions, who fires, at which loop of the step (fractional) each unit could fire, and at which it
    arrives in reach (after the end of the step where it does not). `ti` is the target clamped to a slot,
    `ti_xy` the same expanded over the two coordinates."""
    has = target >= 0
    start_dist = dist.gather(2, ti.unsqueeze(-1)).squeeze(-1)
    reach = r.reach[r.slots, ti]
    aim = torch.where(moving.unsqueeze(-1), goal, b.pos.gather(1, ti_xy))
    wanted = torch.where(has, (start_dist - reach).clamp(min=0), r.zero)
    if r.paths is not None:
        aim, detour = steer(r.paths, r.path_of, r.path_steps, r.path_size, b.pos, aim)
        wanted = torch.where(detour & (wanted > 0), norm(aim - b.pos), wanted)  # in reach: no walk at all
    vec = aim - b.pos
    length = norm(vec)
    wanted = torch.where(moving, length, wanted)
    travel = torch.minimum(wanted, r.step_reach)
    new_pos = b.pos + vec * (travel / length.clamp(min=1e-6)).unsqueeze(-1)

    end_dist = norm(new_pos - new_pos.gather(1, ti_xy))
    in_reach = has & ((start_dist <= reach) | (end_dist <= reach + 1e-4))  # a unit with a target never walks
    arrival = torch.where(in_reach, travel / r.speed_safe, r.step_loops)
    fire_time = torch.maximum(b.cooldown, arrival)
    fires = in_reach & r.fighter & (fire_time < LOOPS_PER_STEP)
    return new_pos, fires, fire_time, arrival


def _apply_damage(r: Roster, b: Battle, ti: torch.Tensor, ti_xy: torch.Tensor, fires: torch.Tensor,
                  pos: torch.Tensor) -> None:
    """Sum each unit's incoming volleys (raw damage and number of attacks), then split it (see split_damage).

    The sums are of whole and half points, exact in float32 in any order, so the sums stay deterministic
    even where (CUDA) they add in no fixed order. A suicide attacker dies with its volley."""
    attacks = torch.where(fires, r.attacks, r.zero)
    if r.has_splash:
        struck = _struck(r, b, ti, ti_xy, fires, pos).float()  # [B, attacker, victim]
        hits = torch.einsum("bi,bij->bj", attacks, struck)
        raw = torch.einsum("bi,bij->bj", attacks, struck * r.hit)
    else:
        per_unit = torch.stack([r.hit[r.slots, ti] * attacks, attacks], -1)  # [B, attacker, 2]
        totals = torch.zeros_like(per_unit).scatter_add_(1, ti_xy, per_unit)
        raw, hits = totals.unbind(-1)
    shield, health_damage = split_damage(raw, hits, b.shield, r.armor)
    b.health = (b.health - health_damage).clamp(min=0)
    if r.has_splash:
        b.health = torch.where(fires & r.suicide, 0.0, b.health)
    b.shield = shield
    b.since_hit = torch.where(raw > 0, r.zero, b.since_hit + LOOPS_PER_STEP)


def _struck(r: Roster, b: Battle, ti: torch.Tensor, ti_xy: torch.Tensor, fires: torch.Tensor,
            fired_from: torch.Tensor) -> torch.Tensor:
    """[B, attacker, victim] bool: the target of each volley, and the living foes its splash overlaps: a disc
    around the target, or a segment through it across the line of fire for a line splash. Attackers fire
    from where they stopped; the others are taken where the step found them, since most volleys leave early
    in the step (the weapon was ready, the target in reach)."""
    victim = b.pos.unsqueeze(1)  # [B, 1, victim, 2]
    target_pos = b.pos.gather(1, ti_xy)
    disc = norm(victim - target_pos.unsqueeze(2)) <= (r.splash_radial.unsqueeze(1) + r.radius).unsqueeze(0)
    fire_line = target_pos - fired_from
    across = torch.stack([-fire_line[..., 1], fire_line[..., 0]], -1) / norm(fire_line).clamp(min=1e-6).unsqueeze(-1)
    offset = victim - target_pos.unsqueeze(2)
    along = (offset * across.unsqueeze(2)).sum(-1)
    half = r.splash_line.view(1, -1, 1)
    to_segment = norm(offset - along.clamp(-half, half).unsqueeze(-1) * across.unsqueeze(2))
    line = (to_segment <= r.radius.view(1, 1, -1)) & (half > 0)
    foes = r.can_target & (b.health > 0).unsqueeze(1)
    area = ((disc & (r.splash_radial > 0).view(1, -1, 1)) | line) & foes
    direct = torch.nn.functional.one_hot(ti, r.n_units).bool()
    return (direct | area) & fires.unsqueeze(-1)


def split_damage(raw: torch.Tensor, hits: torch.Tensor, shield: torch.Tensor,
                 armor: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(shield left, health damage) from `hits` attacks totalling `raw` damage, applied in one go.

    SC2 applies each attack to the shield first; what overflows the shield loses the target's armor, but
    never drops below 0.5 per attack. The step only knows the sum and the count, so the attacks are taken
    as equal (mean size): floor(shield / mean) of them are swallowed whole, the other k reach health, and
    health loses max(overflow - armor * k, 0.5 * k). This is exact for one attack, and for equal attacks
    whenever no attack that reaches health is reduced below 0.5.
    """
    mean = raw / hits.clamp(min=1)
    swallowed = torch.minimum(torch.floor(shield / mean.clamp(min=1e-6)), hits)
    reaching = hits - swallowed
    overflow = (raw - shield).clamp(min=0)
    health_damage = torch.where(reaching > 0, torch.maximum(overflow - armor * reaching, 0.5 * reaching), 0.0)
    return (shield - raw).clamp(min=0), health_damage


def _heal(r: Roster, b: Battle, target: torch.Tensor, ti: torch.Tensor, arrival: torch.Tensor) -> None:
    """A healer with a living ally in heal range restores hit points from its arrival to the end of the step,
    as far as its energy and the ally's missing hit points allow, and pays energy for what it restored."""
    patient_health = b.health.gather(1, ti)
    healing = r.healer & (target >= 0) & (arrival < LOOPS_PER_STEP) & (patient_health > 0)
    affordable = b.energy / r.energy_per_heal.clamp(min=1e-6)
    amount = torch.minimum(r.heal_per_loop * (LOOPS_PER_STEP - arrival), affordable)
    amount = torch.where(healing, torch.minimum(amount, r.hp_max[ti] - patient_health), 0.0)
    restored = torch.zeros_like(b.health).scatter_add_(1, ti, amount)
    b.health = torch.where(b.health > 0, torch.minimum(b.health + restored, r.hp_max), 0.0)
    b.energy = b.energy - amount * r.energy_per_heal


def _regenerate(r: Roster, b: Battle) -> torch.Tensor:
    """Shields come back after SHIELD_REGEN_DELAY_LOOPS without damage; zerg heal all the time; energy comes
    back; the dead stay dead. Returns who is alive."""
    alive = b.health > 0
    regen_loops = (b.since_hit - SHIELD_REGEN_DELAY_LOOPS).clamp(0, LOOPS_PER_STEP)
    shield = torch.minimum(b.shield + regen_loops * SHIELD_REGEN_PER_LOOP, r.sh_max)
    b.shield = torch.where(alive, shield, r.zero)
    b.health = torch.where(alive, torch.minimum(b.health + r.hp_regen_step, r.hp_max), r.zero)
    if r.has_healers:  # the only units with energy
        energy = torch.minimum(b.energy + r.energy_per_loop * LOOPS_PER_STEP, r.energy_max)
        b.energy = torch.where(alive, energy, r.zero)
    return alive


def _separate(r: Roster, pos: torch.Tensor, alive: torch.Tensor) -> torch.Tensor:
    """One soft pass of pushing overlapping living units apart, then the map border."""
    diff = pos.unsqueeze(2) - pos.unsqueeze(1)  # [B, i, j, 2]: from j to i
    dist = norm(diff)
    pair = r.collide & alive.unsqueeze(2) & alive.unsqueeze(1)
    overlap = torch.where(pair, (r.min_gap - dist).clamp(min=0), r.zero)
    direction = torch.where((dist > 1e-6).unsqueeze(-1), diff / dist.clamp(min=1e-6).unsqueeze(-1), r.fallback)
    pos = pos + ((overlap * r.share).unsqueeze(-1) * direction).sum(2)
    return torch.maximum(torch.minimum(pos, r.upper), r.lower)
