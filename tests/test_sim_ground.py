"""The simulator on hand-built ground: SMAC's move mask next to walls, movement that stays on walkable ground
and on one cliff level (except for the colossus), and a property test over random walls and policies."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmark.envs.sim import SimEnv
from benchmark.envs.sim_dynamics import cells
from benchmark.envs.terrain import EnemyOrder, Terrain

NORTH, SOUTH, EAST, WEST = 2, 3, 4, 5
SIZE = 32


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def ground(blocked: list[tuple[int, int, int, int]] = (), high_from_x: int | None = None,
           order: EnemyOrder = EnemyOrder("attack_move", (8.0, 16.0))) -> Terrain:
    """32 x 32 ground with the cells [x0, x1) x [y0, y1) of each box not walkable, and optionally cliff level 1
    from column `high_from_x` on; the teams spawn at (8, 16) and (24, 16)."""
    walkable = np.ones((SIZE, SIZE), dtype=bool)
    for x0, x1, y0, y1 in blocked:
        walkable[x0:x1, y0:y1] = False
    level = np.zeros((SIZE, SIZE), dtype=np.int8)
    if high_from_x is not None:
        level[high_from_x:] = 1
    return Terrain(size=(SIZE, SIZE), walkable=walkable, level=level, walkable_cliff=walkable.copy(),
                   ally_spawn=(8.0, 16.0), enemy_spawn=(24.0, 16.0), enemy_order=order)


def battle(map_name: str, terrain: Terrain, positions: list[tuple[float, float]]) -> SimEnv:
    env = SimEnv(map_name, 1, seed=0, debug=True, ground=terrain)
    env.place(pos=torch.tensor([positions]))
    return env


FAR_ENEMIES = [(28.0, 4.0), (28.0, 6.0), (28.0, 8.0)]


def test_move_mask_checks_the_cell_half_a_move_ahead_next_to_walls():
    # wall: column x = 12 (cells [12, 13) x [0, 32)) and row y = 20 for x in [0, 12)
    env = battle("3m", ground([(12, 13, 0, SIZE), (0, 12, 20, 21)]), [(11.1, 10), (10.9, 10), (5, 19.2)] + FAR_ENEMIES)
    avail = env.observe().avail[0]
    assert not avail[0, EAST] and avail[0, [NORTH, SOUTH, WEST]].all()  # 12.1 lies in the wall
    assert avail[1, EAST]  # 11.9 is still cell 11
    assert not avail[2, NORTH] and avail[2, [SOUTH, EAST, WEST]].all()  # 20.2 lies in the wall row
    assert torch.equal(env.observe().obs[0, :, :4], avail[:, 2:6].float())


def test_movement_never_enters_a_wall_and_slides_along_one():
    env = battle("3m", ground([(12, 13, 0, SIZE)]), [(10.9, 10), (11.5, 12), (5, 5)] + FAR_ENEMIES)
    env.step(torch.tensor([[EAST, 1, 1]]))
    assert env.battle.pos[0, 0].tolist() == pytest.approx([10.9, 10])  # 12.03 is in the wall: stays
    # an enemy walking diagonally into the wall keeps its progress along the wall
    env = battle("3m", ground([(12, 13, 0, SIZE)], order=EnemyOrder("attack_move", (4.0, 30.0))),
                 [(2, 2), (2, 4), (2, 6), (13.5, 10), (20, 20), (20, 24)])
    for _ in range(5):
        env.step(torch.tensor([[1, 1, 1]]))
    x, y = env.battle.pos[0, 3].tolist()
    assert 13 <= x < 14 and y > 11


def test_cliffs_stop_ground_units_but_not_the_colossus():
    high = ground(high_from_x=16)
    enemies = [(30.0, 2.0 + 2 * i) for i in range(9)]
    agents = [(15.5, 10.0)] + [(15.5, 13.0 + 2 * i) for i in range(8)]  # a colossus, then stalkers, zealots
    env = battle("1c3s5z", high, agents + enemies)
    east = torch.full((1, 9), EAST)
    for _ in range(2):
        env.step(east)
    x = env.battle.pos[0, :9, 0]
    assert x[0] > 16  # the cliff walker crossed
    assert (x[1:] < 16).all()  # everyone else stayed on level 0


def _random_actions(avail: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    return torch.rand(avail.shape, generator=generator).masked_fill(~avail, -1).argmax(-1)


boxes = st.lists(st.tuples(st.integers(0, 30), st.integers(1, 6), st.integers(0, 30), st.integers(1, 6)),
                 max_size=8)


@settings(max_examples=25, deadline=None)
@given(walls=boxes, seed=st.integers(0, 2**16), map_name=st.sampled_from(["3m", "2s3z", "1c3s5z", "2m_vs_1z"]))
def test_no_unit_ever_stands_outside_its_ground(walls, seed, map_name):
    spawn_clear = [(5, 12, 10, 23), (21, 28, 10, 23)]  # the formations' cells stay walkable

    def clear(x0: int, w: int, y0: int, h: int) -> bool:
        return all(x0 + w <= a or x0 >= b or y0 + h <= c or y0 >= d for a, b, c, d in spawn_clear)

    blocked = [(x0, x0 + w, y0, y0 + h) for x0, w, y0, h in walls if clear(x0, w, y0, h)]
    terrain = ground(blocked, high_from_x=None if seed % 2 else 20)
    env = SimEnv(map_name, 4, seed=seed, ground=terrain)
    walkable = torch.as_tensor(terrain.walkable).flatten()
    level = torch.as_tensor(terrain.level).flatten()
    colossus = torch.tensor([u.name == "colossus" for u in env.spec.ally_units + env.spec.enemy_units])
    generator = torch.Generator().manual_seed(seed)
    start_level = level[cells(env.roster, env.battle.pos)[0]]
    for _ in range(80):
        env.step(_random_actions(env.observe().avail, generator))
        cell, inside = cells(env.roster, env.battle.pos)
        assert inside.all() and walkable[cell].all()
        fresh = env.battle.t == 0  # restarted battles start over from the spawn level
        start_level = torch.where(fresh.unsqueeze(1), level[cell], start_level)
        assert ((level[cell] == start_level) | colossus).all()
