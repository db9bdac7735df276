"""SMAC's 23 maps as data: sizes, races and unit-type orders against SMAC's own tables and formulas, the
shipped terrain (walkable ground, cliffs, spawns, enemy orders), start formations, and the `maps` command."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from scipy import ndimage

from benchmark.envs.formation import place, start_positions
from benchmark.envs.maps import MAPS, env_info
from benchmark.envs.terrain import DATA_FILE, terrain
from benchmark.errors import UserError
from cli_helpers import run_cli

# smac/env/starcraft2/maps/smac_maps.py at the pinned commit:
# map -> (n_agents, n_enemies, limit, a_race, b_race, unit_type_bits, map_type)
SMAC_REGISTRY = {
    "3m": (3, 3, 60, "T", "T", 0, "marines"),
    "8m": (8, 8, 120, "T", "T", 0, "marines"),
    "25m": (25, 25, 150, "T", "T", 0, "marines"),
    "5m_vs_6m": (5, 6, 70, "T", "T", 0, "marines"),
    "8m_vs_9m": (8, 9, 120, "T", "T", 0, "marines"),
    "10m_vs_11m": (10, 11, 150, "T", "T", 0, "marines"),
    "27m_vs_30m": (27, 30, 180, "T", "T", 0, "marines"),
    "MMM": (10, 10, 150, "T", "T", 3, "MMM"),
    "MMM2": (10, 12, 180, "T", "T", 3, "MMM"),
    "2s3z": (5, 5, 120, "P", "P", 2, "stalkers_and_zealots"),
    "3s5z": (8, 8, 150, "P", "P", 2, "stalkers_and_zealots"),
    "3s5z_vs_3s6z": (8, 9, 170, "P", "P", 2, "stalkers_and_zealots"),
    "3s_vs_3z": (3, 3, 150, "P", "P", 0, "stalkers"),
    "3s_vs_4z": (3, 4, 200, "P", "P", 0, "stalkers"),
    "3s_vs_5z": (3, 5, 250, "P", "P", 0, "stalkers"),
    "1c3s5z": (9, 9, 180, "P", "P", 3, "colossi_stalkers_zealots"),
    "2m_vs_1z": (2, 1, 150, "T", "P", 0, "marines"),
    "corridor": (6, 24, 400, "P", "Z", 0, "zealots"),
    "6h_vs_8z": (6, 8, 150, "Z", "P", 0, "hydralisks"),
    "2s_vs_1sc": (2, 1, 300, "P", "Z", 0, "stalkers"),
    "so_many_baneling": (7, 32, 100, "P", "Z", 0, "zealots"),
    "bane_vs_bane": (24, 24, 200, "Z", "Z", 2, "bane"),
    "2c_vs_64zg": (2, 64, 400, "P", "Z", 0, "colossus"),
}
# sizes SMAC reports (env_info) on maps whose type bits, shields and races all differ: (obs, state)
PUBLISHED = {"corridor": (156, 282), "MMM2": (176, 322), "27m_vs_30m": (285, 1170), "2c_vs_64zg": (332, 342),
             "6h_vs_8z": (78, 140), "3s5z": (128, 216)}
TEAM_POINTS = ((9.0, 16.0), (23.0, 16.0))  # "Team 1" and "Team 2" of the band and square maps


def smac_sizes(n_agents, n_enemies, a_race, b_race, bits):
    """SMAC's get_obs_size / get_state_size with its default flags, written out from starcraft2.py."""
    shield_a, shield_e = int(a_race == "P"), int(b_race == "P")
    n_actions = 6 + n_enemies
    enemy_feats = 4 + bits + 1 + shield_e  # available, distance, dx, dy, type, health, shield
    ally_feats = 4 + bits + 1 + shield_a
    own_feats = bits + 1 + shield_a
    obs = 4 + n_enemies * enemy_feats + (n_agents - 1) * ally_feats + own_feats
    state = n_agents * (4 + shield_a + bits) + n_enemies * (3 + shield_e + bits) + n_agents * n_actions
    return n_actions, obs, state


def test_the_map_table_is_smacs():
    assert set(MAPS) == set(SMAC_REGISTRY)


@pytest.mark.parametrize("name", sorted(SMAC_REGISTRY))
def test_sizes_races_and_map_type_follow_smac(name):
    n_a, n_e, limit, a_race, b_race, bits, map_type = SMAC_REGISTRY[name]
    spec, info = MAPS.get(name), env_info(name)
    assert (spec.map_type, spec.unit_type_bits, spec.ally_race, spec.enemy_race) == (map_type, bits, a_race, b_race)
    assert (info.n_agents, info.n_enemies, info.episode_limit) == (n_a, n_e, limit)
    assert (info.n_actions, info.obs_shape, info.state_shape) == smac_sizes(n_a, n_e, a_race, b_race, bits)
    if name in PUBLISHED:
        assert (info.obs_shape, info.state_shape) == PUBLISHED[name]


def test_enemy_type_ids_follow_smacs_stock_unit_ids():
    from benchmark.envs.units import UNITS

    spec = MAPS.get("3s5z")
    # allies: SMAC's copies in UnitData order (stalker first); enemies: stock id - 73, so the zealot first
    assert [spec.type_id(UNITS[u]) for u in ("stalker", "zealot")] == [0, 1]
    assert [spec.enemy_type_id(UNITS[u]) for u in ("zealot", "stalker")] == [0, 1]
    for name in ("1c3s5z", "MMM2", "bane_vs_bane"):
        assert MAPS.get(name).enemy_type_order == MAPS.get(name).type_order
    assert MAPS.get("MMM").type_order == ("marauder", "marine", "medivac")


@pytest.mark.parametrize("name", [n for n, row in SMAC_REGISTRY.items() if row[5]])
def test_agent_type_ids_follow_the_maps_unit_data(name):
    # SMAC's agent type id is the unit type minus the smallest agent type: the order the map defines its copies in
    spec = MAPS.get(name)
    defined = json.loads(DATA_FILE.read_text())["maps"][name]["agent_types"]
    assert tuple(t for t in defined if t in dict(spec.allies)) == spec.type_order


def test_every_unit_has_smacs_max_cooldown():
    from benchmark.envs.units import UNITS

    # SMAC's unit_max_cooldown (starcraft2.py), 15 for types it does not list; the medivac's is its max energy
    smac = {"marine": 15, "marauder": 25, "medivac": 200, "stalker": 35, "zealot": 22, "colossus": 24,
            "hydralisk": 10, "zergling": 11, "baneling": 1}
    needed = {u for name in MAPS for u, _ in MAPS.get(name).allies + MAPS.get(name).enemies}
    assert needed <= set(UNITS)
    assert {name: UNITS[name].smac_max_cooldown for name in needed} == {name: smac.get(name, 15) for name in needed}
    assert UNITS["medivac"].energy_max == UNITS["medivac"].smac_max_cooldown


# --- shipped terrain --------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(SMAC_REGISTRY))
def test_spawn_calls_match_the_compositions(name):
    spec, ground = MAPS.get(name), terrain(name)
    enemies = [(s.unit, s.count) for s in ground.spawns if s.team == 1]
    assert _merged(enemies) == list(spec.enemies)  # SMAC lists the enemies in creation order
    allies = sorted(((s.unit, s.count) for s in ground.spawns if s.team == 0),
                    key=lambda uc: spec.type_order.index(uc[0]) if spec.type_order else 0)
    assert _merged(allies) == list(spec.allies)


def _merged(calls):
    out = []
    for unit, count in calls:
        if out and out[-1][0] == unit:
            out[-1] = (unit, out[-1][1] + count)
        else:
            out.append((unit, count))
    return out


@pytest.mark.parametrize("name", [n for n, row in SMAC_REGISTRY.items() if row[6] in ("marines", "MMM")
                                  and n != "2m_vs_1z"] + ["2s3z", "3s5z", "3s5z_vs_3s6z", "1c3s5z"])
def test_band_maps_walk_on_y_8_to_24_and_fight_from_team_points(name):
    ground = terrain(name)
    assert ground.walkable.all(axis=0).tolist() == [8 <= y < 24 for y in range(32)]
    assert (ground.ally_spawn, ground.enemy_spawn) == TEAM_POINTS


def test_the_square_maps_are_open_and_the_octagon_is_symmetric():
    for name in ("3s_vs_3z", "3s_vs_4z", "3s_vs_5z"):
        assert terrain(name).walkable.all() and (terrain(name).ally_spawn, terrain(name).enemy_spawn) == TEAM_POINTS
    octagon = terrain("2m_vs_1z").walkable
    assert octagon.sum() == 352 and (octagon == octagon[::-1]).all() and (octagon == octagon.T).all()
    assert octagon[6:26, 10:22].all() and not octagon[6, 6] and not octagon[5].any()


# the script's spawn points, team by team in creation order, of the maps without the two team points
SPAWN_POINTS = {
    "2m_vs_1z": [(13.0, 12.0), (19.0, 12.0), (16.0, 19.0)],
    "corridor": [(19.0397, 19.1198), (27.91, 28.24)],
    "so_many_baneling": [(11.469, 12.0234), (27.91, 28.24)],
    "6h_vs_8z": [(14.5998, 9.49), (14.41, 16.7597)],
    "2s_vs_1sc": [(11.1208, 10.338), (16.976, 10.3662), (13.92, 20.0397)],
    "bane_vs_bane": [(16.0, 11.0), (16.0, 8.0), (16.0, 21.0), (16.0, 24.0)],
    "2c_vs_64zg": [(16.0, 16.0), (16.0, 16.0), (16.0, 9.0)],
}


@pytest.mark.parametrize("name", sorted(SMAC_REGISTRY))
def test_spawn_points(name):
    spawns = terrain(name).spawns
    team_points = [TEAM_POINTS[s.team] for s in spawns]
    np.testing.assert_allclose([s.point for s in spawns], SPAWN_POINTS.get(name, team_points))


# what each script orders the enemies at spawn; unlisted maps attack-move to the agents' "Team 1" point
ORDERS = {
    "2m_vs_1z": ("attack_move_between_agents", None), "2c_vs_64zg": ("attack_agents", None),
    "2s_vs_1sc": ("none", None), "corridor": ("attack_move", (4.47, 4.3298)),
    "so_many_baneling": ("attack_move", (4.47, 4.3298)), "6h_vs_8z": ("attack_move", (14.5998, 9.49)),
    "bane_vs_bane": ("attack_move", (16.0, 8.0)),
}


@pytest.mark.parametrize("name", sorted(SMAC_REGISTRY))
def test_enemy_order(name):
    order = terrain(name).enemy_order
    assert (order.kind, order.point) == ORDERS.get(name, ("attack_move", TEAM_POINTS[0]))


def test_special_maps_spawns_and_orders():
    assert terrain("2m_vs_1z").enemy_order.segment == ((13.0, 12.0), (19.0, 12.0))  # the two marines' points
    assert terrain("6h_vs_8z").enemy_order.point == terrain("6h_vs_8z").ally_spawn
    bane = terrain("bane_vs_bane")
    assert [(s.team, s.unit) for s in bane.spawns] == [(0, "zergling"), (0, "baneling"),
                                                       (1, "zergling"), (1, "baneling")]
    assert bane.enemy_order.point == bane.spawns[1].point  # the agents' banelings


@pytest.mark.parametrize("name", sorted(SMAC_REGISTRY))
def test_both_teams_start_on_one_connected_piece_of_ground(name):
    ground = terrain(name)
    pieces, _ = ndimage.label(ground.walkable)
    starts = {pieces[int(x), int(y)] for x, y in (s.point for s in ground.spawns)}
    assert len(starts) == 1 and 0 not in starts


def test_the_platform_of_2c_vs_64zg_is_reached_by_ramps_and_left_by_cliffs():
    ground = terrain("2c_vs_64zg")
    assert ground.level[16, 16] == 2 and ground.level[16, 9] == 1
    ramp = ground.level[4:7, 15]
    assert ground.walkable[4:7, 15].all() and (1 < ramp).all() and (ramp < 2).all() and (np.diff(ramp) > 0).all()
    cliff = ground.walkable_cliff & ~ground.walkable
    assert cliff[7:25, 12:14].all() and cliff.sum() == 36
    assert (ground.walkable_cliff >= ground.walkable).all()
    # no two neighbouring walkable cells on any map differ by a whole level: walkable alone bounds ground units
    for name in MAPS:
        t = terrain(name)
        for axis in (0, 1):
            both = np.diff(t.walkable.astype(int), axis=axis) == 0
            both &= np.take(t.walkable, range(1, t.size[axis]), axis=axis)
            assert (np.abs(np.diff(t.level, axis=axis))[both] < 1).all(), name


def test_unknown_map_terrain_is_a_user_error():
    with pytest.raises(UserError, match="no terrain data"):
        terrain("4m_vs_3m")


# --- formations -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(SMAC_REGISTRY))
def test_formations_stand_on_walkable_ground_without_overlap(name):
    ground = terrain(name)
    placed = place(ground)
    assert len(placed) == MAPS.get(name).n_agents + MAPS.get(name).n_enemies
    angles = np.linspace(0, 2 * np.pi, 64, endpoint=False)
    for p in placed:
        if p.unit.flying:
            continue
        rim = np.asarray(p.position) + 0.999 * p.unit.radius * np.stack([np.cos(angles), np.sin(angles)], 1)
        cells = np.floor(np.vstack([rim, [p.position]])).astype(int)
        assert ground.walkable[cells[:, 0], cells[:, 1]].all(), (name, p)
    for plane in (False, True):
        units = [p for p in placed if p.unit.flying == plane]
        centres = np.array([p.position for p in units]).reshape(-1, 2)
        radii = np.array([p.unit.radius for p in units])
        gaps = np.linalg.norm(centres[:, None] - centres[None], axis=2) - (radii[:, None] + radii[None])
        assert (gaps[~np.eye(len(units), dtype=bool)] >= -1e-6).all(), name


def test_formation_is_the_nearest_free_spots_in_smacs_agent_order():
    allies, enemies = start_positions(terrain("3m"))
    np.testing.assert_allclose(allies, [[9, 16], [9, 16.75], [9.75, 16]])  # sorted by x, then y
    np.testing.assert_allclose(enemies, [[23, 16], [23.75, 16], [23, 16.75]])  # creation order
    spec = MAPS.get("MMM")
    allies, _ = start_positions(terrain("MMM"), spec.type_order)
    kinds = [u for u, n in spec.allies for _ in range(n)]
    assert kinds[0] == "marauder" and kinds[-1] == "medivac"
    np.testing.assert_allclose(allies[-1], (9, 16))  # the medivac flies: nothing on the ground displaces it
    _, crawler = start_positions(terrain("2s_vs_1sc"))
    np.testing.assert_allclose(crawler, [[14, 20]])  # created at (13.92, 20.04), on its 2 x 2 footprint's grid
    a, b = start_positions(terrain("2c_vs_64zg")), start_positions(terrain("2c_vs_64zg"))
    assert all((x == y).all() for x, y in zip(a, b, strict=True))


# --- the maps command -------------------------------------------------------------------------------------
def test_maps_command_lists_all_23_maps_with_their_sizes():
    out = run_cli("maps", env={**os.environ, "COLUMNS": "60"}).stdout  # a narrow terminal
    for name in SMAC_REGISTRY:
        info = env_info(name)
        row = next(line for line in out.splitlines() if f" {name} " in line)
        cells = [c.strip() for c in row.strip("│ ").split("│")]
        assert cells == [name, *map(str, (info.n_agents, info.n_enemies, info.episode_limit, info.n_actions,
                                          info.obs_shape, info.state_shape))]
