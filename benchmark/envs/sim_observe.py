"""SMAC's observation, state and action mask (default flags) computed from a Battle.

Layouts follow smac/env/starcraft2/starcraft2.py (get_obs_agent, get_state, get_avail_agent_actions) with
obs_all_health, obs_own_health, no last action in the observation and state_last_action on. Every function
takes any batch of battles, so that after auto-resets only the restarted environments are recomputed.
"""

from __future__ import annotations

import torch

from benchmark.envs.base import Observation
from benchmark.envs.maps import SHOOT_RANGE, SIGHT_RANGE
from benchmark.envs.sim_dynamics import Battle, cells, norm
from benchmark.envs.sim_roster import Roster


def observe(r: Roster, b: Battle) -> Observation:
    n_a = r.n_agents
    alive = b.health > 0
    alive_a = alive[:, :n_a]
    rel = b.pos.unsqueeze(1) - b.pos[:, :n_a].unsqueeze(2)  # [B, observer, unit, 2]: unit - observer
    dist = norm(rel)
    avail = available_actions(r, b.pos[:, :n_a], alive, dist)
    seen = (dist < SIGHT_RANGE) & alive.unsqueeze(1) & alive_a.unsqueeze(2)
    geometry = torch.cat([dist.unsqueeze(-1), rel], -1) / SIGHT_RANGE
    health = _health_feats(r, b)
    first = torch.cat([torch.ones_like(dist[:, :, :n_a]), avail[:, :, 6:].float()], 2).unsqueeze(-1)

    def block(units: slice, feats: torch.Tensor) -> torch.Tensor:
        per_unit = feats.unsqueeze(1).expand(-1, n_a, -1, -1)
        rows = torch.cat([first[:, :, units], geometry[:, :, units], per_unit], -1)
        return rows * seen[:, :, units].unsqueeze(-1)

    enemies = block(slice(n_a, None), health[1])
    allies = block(slice(0, n_a), health[0])[:, r.slots[:n_a].unsqueeze(1), r.others]
    own = health[0] * alive_a.unsqueeze(-1)
    obs = torch.cat([avail[:, :, 2:6].float(), enemies.flatten(2), allies.flatten(2), own], -1)
    return Observation(obs, state(r, b, alive), avail)


def available_actions(r: Roster, pos_a: torch.Tensor, alive: torch.Tensor, dist_a: torch.Tensor) -> torch.Tensor:
    """[B, n_agents, n_actions] bool, as SMAC's get_avail_agent_actions. A move is available when the cell
    under the point half the move amount ahead (SMAC's can_move) is on the map and walkable; an attack when
    the enemy lives within shoot range; a healer's attack slot t heals agent t (alive, not a healer's
    excluded kind, within shoot range)."""
    n_a = r.n_agents
    alive_a = alive[:, :n_a].unsqueeze(-1)
    moves = r.ground[cells(r, pos_a.unsqueeze(2) + r.moves / 2)]  # [B, n_a, 4]: the walkable grid
    in_range = dist_a <= SHOOT_RANGE
    attacks = in_range[:, :, n_a:] & alive[:, n_a:].unsqueeze(1)
    if r.has_healers:
        patients = in_range[:, :, :n_a] & r.heal_ok[:n_a, :n_a] & alive[:, :n_a].unsqueeze(1)
        heals = torch.cat([patients, torch.zeros_like(attacks)], 2)[:, :, :r.n_enemies]
        attacks = torch.where(r.healer[:n_a].view(1, -1, 1), heals, attacks)
    return torch.cat([~alive_a, alive_a, moves & alive_a, attacks & alive_a], -1)


def _health_feats(r: Roster, b: Battle) -> tuple[torch.Tensor, torch.Tensor]:
    """Per unit [health frac, (shield frac), (type one-hot)] for allies and for enemies; the shield column
    exists only for a Protoss team, as SMAC's shield_bits."""
    n_a = r.n_agents
    onehot = r.type_onehot.expand(b.health.shape[0], -1, -1)
    parts = [(b.health / r.hp_max).unsqueeze(-1), (b.shield / r.sh_max.clamp(min=1)).unsqueeze(-1), onehot]
    spec = r.spec

    def team(units: slice, shield_bits: int) -> torch.Tensor:
        kept = parts if shield_bits else parts[:1] + parts[2:]
        return torch.cat([p[:, units] for p in kept], -1)

    return team(slice(0, n_a), spec.shield_bits_ally), team(slice(n_a, None), spec.shield_bits_enemy)


def state(r: Roster, b: Battle, alive: torch.Tensor) -> torch.Tensor:
    """[health, (ally: cooldown, a healer's energy, over SMAC's max), x, y relative to the map centre over the
    playable size, (shield), (type)]
    per unit, zeros for the dead; then the last actions one-hot."""
    n_a = r.n_agents
    rel = (b.pos - r.centre) / r.extent
    ally_health, enemy_health = _health_feats(r, b)
    cooldown = (torch.where(r.healer, b.energy, b.cooldown) / r.max_cd)[:, :n_a].unsqueeze(-1)
    allies = torch.cat([ally_health[..., :1], cooldown, rel[:, :n_a], ally_health[..., 1:]], -1)
    enemies = torch.cat([enemy_health[..., :1], rel[:, n_a:], enemy_health[..., 1:]], -1)
    allies = allies * alive[:, :n_a].unsqueeze(-1)
    enemies = enemies * alive[:, n_a:].unsqueeze(-1)
    last = (b.last_action.unsqueeze(-1) == r.action_ids).float()
    return torch.cat([allies.flatten(1), enemies.flatten(1), last.flatten(1)], -1)
