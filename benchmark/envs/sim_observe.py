"""SMAC's observation, state and action mask (default flags) computed from a Battle.

Layouts follow smac/env/starcraft2/starcraft2.py (get_obs_agent, get_state, get_avail_agent_actions) with
obs_all_health, obs_own_health, no last action in the observation and state_last_action on. Every function
takes any batch of battles, so that after auto-resets only the restarted environments are recomputed.
Features are computed for every unit in rows of one width and SMAC's layout is gathered from them
(sim_layout.py), which keeps the number of ops per step small.
"""

from __future__ import annotations

import torch

from benchmark.envs.base import Observation
from benchmark.envs.maps import N_NO_ATTACK_ACTIONS, SHOOT_RANGE, SIGHT_RANGE
from benchmark.envs.sim_dynamics import Battle, cells, norm
from benchmark.envs.sim_layout import MOVE_FLAGS
from benchmark.envs.sim_roster import Roster


def observe(r: Roster, b: Battle) -> Observation:
    n_a = r.n_agents
    alive = b.health > 0
    rel = b.pos.unsqueeze(1) - b.pos[:, :n_a].unsqueeze(2)  # [B, observer, unit, 2]: unit - observer
    dist = norm(rel)
    avail = available_actions(r, b.pos[:, :n_a], alive, dist)
    units = _unit_features(r, b)
    return Observation(_agent_obs(r, alive, rel, dist, avail, units), _state(r, b, alive, units), avail)


def _agent_obs(r: Roster, alive: torch.Tensor, rel: torch.Tensor, dist: torch.Tensor, avail: torch.Tensor,
               units: torch.Tensor) -> torch.Tensor:
    """Per (observer, unit): [1 for an ally, an enemy's attack flag; distance, dx, dy over the sight range;
    the unit's features], zero where the unit is dead or out of sight or the observer dead."""
    n_a = r.n_agents
    seen = (dist < SIGHT_RANGE) & alive.unsqueeze(1) & alive[:, :n_a].unsqueeze(2)
    flags = avail.float()
    first = torch.cat([r.ally_flag.expand(dist.shape[0], -1, -1), flags[:, :, N_NO_ATTACK_ACTIONS:]], 2)
    geometry = torch.cat([dist.unsqueeze(-1), rel], -1) / SIGHT_RANGE
    per_unit = units.unsqueeze(1).expand(-1, n_a, -1, -1)
    rows = torch.cat([first.unsqueeze(-1), geometry, per_unit], -1) * seen.unsqueeze(-1)
    own = torch.where(alive[:, :n_a].unsqueeze(-1), units[:, :n_a], r.zero)
    source = torch.cat([flags[:, :, 2:2 + MOVE_FLAGS], rows.flatten(2), own], -1)
    return source.gather(2, r.obs_index.expand(dist.shape[0], -1, -1))


def available_actions(r: Roster, pos_a: torch.Tensor, alive: torch.Tensor, dist_a: torch.Tensor) -> torch.Tensor:
    """[B, n_agents, n_actions] bool, as SMAC's get_avail_agent_actions. A move is available when the cell
    under the point half the move amount ahead (SMAC's can_move) is on the map and walkable; an attack when
    the enemy lives within shoot range; a healer's attack slot t heals agent t (alive, not a healer's
    excluded kind, within shoot range)."""
    n_a = r.n_agents
    alive_a = alive[:, :n_a].unsqueeze(-1)
    moves = r.ground[cells(r, pos_a.unsqueeze(2) + r.half_moves)]  # [B, n_a, 4]: the walkable grid
    in_range = dist_a <= SHOOT_RANGE
    attacks = in_range[:, :, n_a:] & alive[:, n_a:].unsqueeze(1)
    if r.has_healers:
        patients = in_range[:, :, :n_a] & r.heal_ok[:n_a, :n_a] & alive[:, :n_a].unsqueeze(1)
        heals = torch.cat([patients, torch.zeros_like(attacks)], 2)[:, :, :r.n_enemies]
        attacks = torch.where(r.healer[:n_a].view(1, -1, 1), heals, attacks)
    return torch.cat([~alive_a, alive_a, moves & alive_a, attacks & alive_a], -1)


def _unit_features(r: Roster, b: Battle) -> torch.Tensor:
    """[B, N, 2 + type bits]: health and shield over their maxima (a unit without shields: 0), type one-hot."""
    fractions = torch.stack([b.health / r.hp_max, b.shield / r.sh_norm], -1)
    return torch.cat([fractions, r.type_onehot.expand(b.health.shape[0], -1, -1)], -1)


def _state(r: Roster, b: Battle, alive: torch.Tensor, units: torch.Tensor) -> torch.Tensor:
    """[health, (ally: cooldown, a healer's energy, over SMAC's max), x, y relative to the map centre over the
    playable size, (shield), (type)] per unit, zeros for the dead; then the last actions one-hot."""
    rel = (b.pos - r.centre) / r.extent
    cooldown = torch.where(r.healer, b.energy, b.cooldown) / r.max_cd
    rows = torch.cat([units, cooldown.unsqueeze(-1), rel], -1) * alive.unsqueeze(-1)
    last = r.last_action_onehot[b.last_action + 1]
    return torch.cat([rows.flatten(1), last.flatten(1)], 1).index_select(1, r.state_index)
