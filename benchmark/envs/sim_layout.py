"""Where each column of SMAC's observation and state comes from, as index tables built once per map.

sim_observe computes every feature for every unit in rows of one width (both teams alike, a shield column
even for a team without shields) and then picks SMAC's layout out of them with one gather. A handful of
wide ops costs far less per step than assembling each team's block from slices, since at small batches a
step's time is the number of ops it dispatches.

Observation source, per observer: the 4 move-availability flags, then for every unit slot an OBS_ROW
(visible-or-attackable flag, distance, dx, dy, health, shield, type bits), then the observer's own
[health, shield, type bits]. State source: for every unit slot a STATE_ROW (health, shield, type bits,
cooldown, x, y), then the agents' last actions one-hot.
"""

from __future__ import annotations

import torch

from benchmark.envs.maps import MapSpec

OBS_GEOMETRY = 4  # first flag, distance, dx, dy; then the unit features
UNIT_FEATURES = 2  # health, shield; then the type bits
MOVE_FLAGS = 4


def obs_row(spec: MapSpec) -> int:
    return OBS_GEOMETRY + UNIT_FEATURES + spec.unit_type_bits


def state_row(spec: MapSpec) -> int:
    return UNIT_FEATURES + spec.unit_type_bits + 3


def _features(shield_bits: int, type_bits: int) -> list[int]:
    """Columns of [health, shield, type bits] that SMAC keeps: the shield only for a Protoss team."""
    return [0] + [1] * shield_bits + [UNIT_FEATURES + t for t in range(type_bits)]


def obs_index(spec: MapSpec, device: torch.device) -> torch.Tensor:
    """[n_agents, obs_shape] long: column of the observation source of each observation feature."""
    n_a, n = spec.n_agents, spec.n_agents + spec.n_enemies
    width, bits = obs_row(spec), spec.unit_type_bits
    enemy = list(range(OBS_GEOMETRY)) + [OBS_GEOMETRY + c for c in _features(spec.shield_bits_enemy, bits)]
    ally = list(range(OBS_GEOMETRY)) + [OBS_GEOMETRY + c for c in _features(spec.shield_bits_ally, bits)]
    own = _features(spec.shield_bits_ally, bits)
    rows = []
    for a in range(n_a):
        row = list(range(MOVE_FLAGS))
        row += [MOVE_FLAGS + slot * width + c for slot in range(n_a, n) for c in enemy]
        row += [MOVE_FLAGS + slot * width + c for slot in range(n_a) if slot != a for c in ally]
        row += [MOVE_FLAGS + n * width + c for c in own]
        rows.append(row)
    return torch.tensor(rows, dtype=torch.long, device=device)


def state_index(spec: MapSpec, device: torch.device) -> torch.Tensor:
    """[state_shape] long: column of the state source of each state feature."""
    n_a, n = spec.n_agents, spec.n_agents + spec.n_enemies
    width, bits = state_row(spec), spec.unit_type_bits
    cooldown, x, y = width - 3, width - 2, width - 1
    ally = [0, cooldown, x, y] + _features(spec.shield_bits_ally, bits)[1:]
    enemy = [0, x, y] + _features(spec.shield_bits_enemy, bits)[1:]
    columns = [slot * width + c for slot in range(n_a) for c in ally]
    columns += [slot * width + c for slot in range(n_a, n) for c in enemy]
    columns += list(range(n * width, n * width + n_a * spec.n_actions))
    return torch.tensor(columns, dtype=torch.long, device=device)
