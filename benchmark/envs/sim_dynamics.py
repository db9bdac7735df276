"""One SMAC step (8 game loops) of B battles at once.

The step is resolved at step granularity, not loop by loop, because every weapon cooldown in the unit table
exceeds 8 loops, so a unit fires at most one volley per step; what happens inside the step is computed in
closed form:
  1. orders from the state at the start of the step (agents' actions, the enemies' built-in AI);
  2. movement: a unit walks toward its goal at its speed for up to 8 loops; an attacker stops as soon as its
     weapon reaches the target's start-of-step position;
  3. fire: an attacker whose target is in reach (at the start, or after both moved) fires when its cooldown
     expires and it has arrived, if that is within the step; all of a step's volleys land at its end, so
     a unit that dies in a step still fires in it;
  4. damage, shield and zerg regeneration, then soft collisions and the map border.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import torch

from benchmark.envs.maps import N_NO_ATTACK_ACTIONS, SIGHT_RANGE
from benchmark.envs.sim_rng import uniforms
from benchmark.envs.sim_roster import Roster
from benchmark.envs.units import SHIELD_REGEN_DELAY_LOOPS, SHIELD_REGEN_PER_LOOP

LOOPS_PER_STEP = 8
UNIT_JITTER = 0.3  # each unit's start position: uniform in +-this per axis around its formation slot
TEAM_JITTER = 1.0  # each team's formation: shifted uniformly in +-this per axis


@dataclass
class Battle:
    """The changing state of B battles; unit slots are agents first, then enemies."""

    pos: torch.Tensor  # [B, N, 2]
    health: torch.Tensor  # [B, N]
    shield: torch.Tensor  # [B, N]
    cooldown: torch.Tensor  # [B, N] loops until the weapon is ready
    since_hit: torch.Tensor  # [B, N] loops since the unit last took damage (shield regeneration)
    enemy_target: torch.Tensor  # [B, n_enemies] agent slot an enemy is attacking, -1 for none
    ally_start: torch.Tensor  # [B, 2] where the enemies attack-move to
    t: torch.Tensor  # [B] steps taken in the episode
    last_action: torch.Tensor  # [B, n_agents] -1 before the first step

    def assign(self, idx: torch.Tensor, other: Battle) -> None:
        for f in fields(self):
            getattr(self, f.name)[idx] = getattr(other, f.name)


def start_battles(r: Roster, env_seeds: torch.Tensor, episodes: torch.Tensor) -> Battle:
    """Fresh battles, their formations jittered by each env's (seed, episode) draws."""
    k, n = env_seeds.shape[0], r.n_units
    u = uniforms(env_seeds, episodes, 4 + 2 * n) * 2 - 1
    team_shift = u[:, :4].view(k, 2, 2) * TEAM_JITTER
    pos = r.formation + u[:, 4:].view(k, n, 2) * UNIT_JITTER + team_shift[:, r.team]
    pos = torch.maximum(torch.minimum(pos, r.upper), r.lower)
    full = torch.ones(k, n, device=pos.device)
    return Battle(
        pos=pos, health=full * r.hp_max, shield=full * r.sh_max, cooldown=torch.zeros_like(full),
        since_hit=full * SHIELD_REGEN_DELAY_LOOPS,
        enemy_target=torch.full((k, r.n_enemies), -1, dtype=torch.long, device=pos.device),
        ally_start=r.ally_center + team_shift[:, 0], t=torch.zeros(k, dtype=torch.long, device=pos.device),
        last_action=torch.full((k, r.n_agents), -1, dtype=torch.long, device=pos.device),
    )


def advance(r: Roster, b: Battle, actions: torch.Tensor) -> None:
    """Play one step of every battle in place; `actions` must already be valid (see SimEnv.step)."""
    alive = b.health > 0
    dist = _distances(b.pos)
    target, moving, goal = _orders(r, b, actions, alive, dist)
    new_pos, fires, fire_time = _move_and_fire(r, b, target, moving, goal, dist)
    _apply_damage(r, b, target, fires)
    _regenerate(r, b)
    b.pos = _separate(r, new_pos, b.health > 0)
    reloaded = r.cooldown - (LOOPS_PER_STEP - fire_time)
    b.cooldown = torch.where(fires, reloaded, (b.cooldown - LOOPS_PER_STEP).clamp(min=0))


def norm(vectors: torch.Tensor) -> torch.Tensor:
    """Length of [..., 2] vectors (elementwise hypot is cheaper than a reduction over a dimension of 2)."""
    return torch.hypot(vectors[..., 0], vectors[..., 1])


def _distances(pos: torch.Tensor) -> torch.Tensor:
    return norm(pos.unsqueeze(2) - pos.unsqueeze(1))


def _nearest(dist: torch.Tensor, allowed: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    best, index = torch.where(allowed, dist, torch.inf).min(-1)
    return index, torch.isfinite(best)


def _orders(r: Roster, b: Battle, actions: torch.Tensor, alive: torch.Tensor,
            dist: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Each unit's target slot (-1: none), whether it walks to a point instead, and that point."""
    n_a = r.n_agents
    live_foe = r.opponent & alive.unsqueeze(1)
    in_reach = live_foe & (dist <= r.reach)
    near_reach, has_reach = _nearest(dist, in_reach)
    near_sight, has_sight = _nearest(dist, live_foe & (dist < SIGHT_RANGE))

    # Agents: attack orders name a target; stopped units fire at the nearest foe in reach without moving.
    attack = actions >= N_NO_ATTACK_ACTIONS
    idle_target = torch.where((actions == 1) & has_reach[:, :n_a], near_reach[:, :n_a], -1)
    agent_target = torch.where(attack, actions - N_NO_ATTACK_ACTIONS + n_a, idle_target)
    agent_moves = (actions >= 2) & (actions < N_NO_ATTACK_ACTIONS)
    agent_goal = b.pos[:, :n_a] + r.moves[(actions - 2).clamp(0, 3)]

    # Enemies: keep a target in reach, else take the nearest in reach, else chase the nearest in sight,
    # else attack-move to the agents' start.
    cur = b.enemy_target
    keep = (cur >= 0) & in_reach[:, n_a:].gather(2, cur.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    chase = torch.where(has_sight[:, n_a:], near_sight[:, n_a:], -1)
    fresh = torch.where(has_reach[:, n_a:], near_reach[:, n_a:], chase)
    enemy_target = torch.where(keep, cur, fresh)
    b.enemy_target = torch.where(alive[:, n_a:], enemy_target, -1)

    target = torch.where(alive, torch.cat([agent_target, enemy_target], 1), -1)
    moving = torch.cat([agent_moves, enemy_target < 0], 1) & alive
    goal = torch.cat([agent_goal, b.ally_start.unsqueeze(1).expand(-1, r.n_enemies, 2)], 1)
    return target, moving, goal


def _at(points: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """points[b, index[b, i]] for [B, N, 2] points."""
    return points.gather(1, index.unsqueeze(-1).expand(-1, -1, points.shape[-1]))


def _move_and_fire(r: Roster, b: Battle, target: torch.Tensor, moving: torch.Tensor, goal: torch.Tensor,
                   dist: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """New positions, who fires, and at which loop of the step (fractional) each unit could fire."""
    has = target >= 0
    ti = target.clamp(min=0)
    start_dist = dist.gather(2, ti.unsqueeze(-1)).squeeze(-1)
    reach = r.reach[r.slots, ti]
    vec = torch.where(moving.unsqueeze(-1), goal, _at(b.pos, ti)) - b.pos
    length = norm(vec)
    wanted = torch.where(moving, length, (start_dist - reach).clamp(min=0) * has)
    travel = torch.minimum(wanted, r.speed * LOOPS_PER_STEP)
    new_pos = b.pos + vec * (travel / length.clamp(min=1e-6)).unsqueeze(-1)

    fire_time = torch.maximum(b.cooldown, travel / r.speed.clamp(min=1e-6))
    end_dist = norm(new_pos - _at(new_pos, ti))
    in_reach = (start_dist <= reach) | (end_dist <= reach + 1e-4)
    fires = has & ~moving & in_reach & (fire_time < LOOPS_PER_STEP)
    return new_pos, fires, fire_time


def _apply_damage(r: Roster, b: Battle, target: torch.Tensor, fires: torch.Tensor) -> None:
    """Sum each target's incoming volleys (raw damage and number of attacks), then split it (see split_damage).

    The sums are of whole and half points, exact in float32 in any order, so scatter_add stays deterministic
    even where (CUDA) it adds in no fixed order."""
    ti = target.clamp(min=0)
    attacks = r.attacks * fires
    per_unit = torch.stack([r.hit[r.slots, ti] * attacks, attacks], -1)  # [B, attacker, 2]
    totals = torch.zeros_like(per_unit).scatter_add_(1, ti.unsqueeze(-1).expand(-1, -1, 2), per_unit)
    raw, hits = totals.unbind(-1)
    shield, health_damage = split_damage(raw, hits, b.shield, r.armor)
    b.health = (b.health - health_damage).clamp(min=0)
    b.shield = shield
    b.since_hit = torch.where(raw > 0, 0.0, b.since_hit + LOOPS_PER_STEP)


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


def _regenerate(r: Roster, b: Battle) -> None:
    """Shields come back after SHIELD_REGEN_DELAY_LOOPS without damage; zerg heal all the time; the dead stay dead."""
    alive = b.health > 0
    regen_loops = (b.since_hit - SHIELD_REGEN_DELAY_LOOPS).clamp(0, LOOPS_PER_STEP)
    shield = torch.minimum(b.shield + regen_loops * SHIELD_REGEN_PER_LOOP, r.sh_max)
    b.shield = torch.where(alive, shield, 0.0)
    b.health = torch.where(alive, torch.minimum(b.health + r.hp_regen * LOOPS_PER_STEP, r.hp_max), 0.0)


def _separate(r: Roster, pos: torch.Tensor, alive: torch.Tensor) -> torch.Tensor:
    """One soft pass of pushing overlapping living units apart, then the map border."""
    diff = pos.unsqueeze(2) - pos.unsqueeze(1)  # [B, i, j, 2]: from j to i
    dist = norm(diff)
    pair = r.collide & alive.unsqueeze(2) & alive.unsqueeze(1)
    overlap = (r.min_gap - dist).clamp(min=0) * pair
    direction = torch.where((dist > 1e-6).unsqueeze(-1), diff / dist.clamp(min=1e-6).unsqueeze(-1), r.fallback)
    pos = pos + ((overlap * r.share).unsqueeze(-1) * direction).sum(2)
    return torch.maximum(torch.minimum(pos, r.upper), r.lower)
