"""The simulator on hand-built ground: SMAC's move mask next to walls, movement that stays on walkable ground
and on one cliff level (except for the colossus), and a property test over random walls and policies."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmark.envs.sim import SimEnv
from benchmark.envs.terrain import EnemyOrder, Terrain

NORTH, SOUTH, EAST, WEST = 2, 3, 4, 5
SIZE = 32


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def ground(blocked: list[tuple[int, int, int, int]] = (), cliffs: list[tuple[int, int, int, int]] = (),
           order: EnemyOrder = EnemyOrder("attack_move", (8.0, 16.0))) -> Terrain:
    """32 x 32 ground with the cells [x0, x1) x [y0, y1) of each box in `blocked` walkable by nobody, of each box
    in `cliffs` by cliff walkers only (a cliff edge); the teams spawn at (8, 16) and (24, 16)."""
    walkable = np.ones((SIZE, SIZE), dtype=bool)
    for x0, x1, y0, y1 in [*blocked, *cliffs]:
        walkable[x0:x1, y0:y1] = False
    walkable_cliff = np.ones((SIZE, SIZE), dtype=bool)
    for x0, x1, y0, y1 in blocked:
        walkable_cliff[x0:x1, y0:y1] = False
    return Terrain(size=(SIZE, SIZE), walkable=walkable, level=np.zeros((SIZE, SIZE), dtype=np.float32),
                   walkable_cliff=walkable_cliff, ally_spawn=(8.0, 16.0), enemy_spawn=(24.0, 16.0), enemy_order=order)


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
    edge = ground(cliffs=[(16, 17, 0, SIZE)])
    enemies = [(30.0, 2.0 + 2 * i) for i in range(9)]
    agents = [(14.9, 10.0)] + [(14.9, 13.0 + 2 * i) for i in range(8)]  # a colossus, then stalkers, zealots
    env = battle("1c3s5z", edge, agents + enemies)
    for _ in range(3):
        env.step(torch.full((1, 9), EAST))
    x = env.battle.pos[0, :9, 0]
    assert x[0] > 17  # the cliff walker crossed
    assert (x[1:] < 16).all()  # everyone else stayed on its side


def test_a_fast_unit_cannot_step_over_a_one_cell_wall():
    # the zealot covers 1.125 per step: from 10.9 it would land at 12.03, beyond the wall cell [11, 12)
    env = battle("2m_vs_1z", ground([(11, 12, 0, SIZE)], order=EnemyOrder("attack_move", (20.0, 10.0))),
                 [(2, 2), (2, 4), (10.9, 10)])
    env.step(torch.tensor([[1, 1]]))
    assert env.battle.pos[0, 2, 0] < 11


def _random_actions(avail: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    return torch.rand(avail.shape, generator=generator).masked_fill(~avail, -1).argmax(-1)


boxes = st.lists(st.tuples(st.integers(0, 30), st.integers(1, 6), st.integers(0, 30), st.integers(1, 6),
                           st.booleans()), max_size=10)


@settings(max_examples=25, deadline=None)
@given(walls=boxes, seed=st.integers(0, 2**16), map_name=st.sampled_from(["3m", "2s3z", "1c3s5z", "2c_vs_64zg"]))
def test_no_unit_ever_stands_outside_its_ground(walls, seed, map_name):
    spawn_clear = [(3, 14, 8, 25), (18, 30, 8, 25)]  # the formations' cells stay walkable

    def clear(x0: int, x1: int, y0: int, y1: int) -> bool:
        return all(x1 <= a or x0 >= b or y1 <= c or y0 >= d for a, b, c, d in spawn_clear)

    boxes = [((x0, x0 + w, y0, y0 + h), cliff) for x0, w, y0, h, cliff in walls if clear(x0, x0 + w, y0, y0 + h)]
    terrain = ground([box for box, cliff in boxes if not cliff], [box for box, cliff in boxes if cliff])
    env = SimEnv(map_name, 4, seed=seed, ground=terrain)
    units = env.spec.ally_units + env.spec.enemy_units
    cliff_walker = torch.tensor([u.cliff_walker for u in units])
    allowed = torch.where(cliff_walker.unsqueeze(1), torch.as_tensor(terrain.walkable_cliff).flatten(),
                          torch.as_tensor(terrain.walkable).flatten())  # [N, cells]
    generator = torch.Generator().manual_seed(seed)
    for _ in range(60):
        env.step(_random_actions(env.observe().avail, generator))
        x, y = env.battle.pos.floor().long().unbind(-1)
        assert ((x >= 0) & (x < SIZE) & (y >= 0) & (y < SIZE)).all()
        assert allowed.gather(1, (x * SIZE + y).T).all()


def test_enemies_walk_around_a_wall_through_its_gap():
    """A wall across the map at x = 16 with a gap at y 28-30: a straight line toward the order's point would
    stop at the wall, a path goes through the gap."""
    wall = ground([(16, 17, 0, 28), (16, 17, 30, SIZE)], order=EnemyOrder("attack_move", (5.0, 16.0)))
    env = battle("3m", wall, [(2, 2), (2, 4), (2, 6), (24, 16), (24, 18), (24, 14)])
    for _ in range(40):
        env.step(torch.tensor([[1, 1, 1]]))
    assert (env.battle.pos[0, 3:, 0] < 8).all()  # all three are past the wall, near the point


def test_open_ground_keeps_straight_lines_and_builds_no_path_table():
    env = battle("3m", ground(), [(2, 2), (2, 4), (2, 6), (24, 16), (24, 18), (24, 14)])
    assert env.roster.paths is None
