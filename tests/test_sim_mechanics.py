"""The simulator's battle rules: passive agents, the enemies' orders, splash, suicide and healing, by hand."""

from __future__ import annotations

import pytest
import torch

from benchmark.envs.maps import MAPS
from benchmark.envs.sim import SimEnv
from benchmark.envs.terrain import EnemyOrder, Terrain, open_square, terrain
from benchmark.envs.units import UNITS

FAR = 1000.0  # a cooldown that keeps a unit from firing during a test
STOP = 1


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def arena(map_name: str, positions: list[tuple[float, float]], ground: Terrain | None = None, **values) -> SimEnv:
    env = SimEnv(map_name, 1, seed=0, debug=True, ground=ground or open_square())
    env.place(pos=torch.tensor([positions]), **{k: torch.tensor([v], dtype=torch.float32) for k, v in values.items()})
    return env


def stop_all(env: SimEnv) -> torch.Tensor:
    avail = env.observe().avail
    return torch.where(avail[..., 0], 0, STOP)


def _suicide_worth(env: SimEnv, before: torch.Tensor, final_state: torch.Tensor) -> torch.Tensor:
    """What SMAC's reward pays for enemies that died in a step: their hit points and shields plus 10 each.
    Who is dead is read from the step's final state (its enemy rows start with health), which is the
    finished battle's even where the environment has already restarted."""
    spec = env.spec
    start = spec.n_agents * spec.ally_state_feats
    rows = final_state[:, start:start + spec.n_enemies * spec.enemy_state_feats].view(-1, spec.n_enemies,
                                                                                    spec.enemy_state_feats)
    dead = (before > 0) & (rows[..., 0] == 0)
    return ((before + 10) * dead).sum(1) * env.reward_scale


# --- passive agents ------------------------------------------------------------------------------------
def test_a_stopped_agent_never_fires_even_with_an_enemy_in_reach():
    env = arena("3m", [(10, 10), (10, 20), (10, 25), (13, 10), (30, 20), (30, 25)],
                health=[45, 0, 0, 45, 45, 45], cooldown=[0, 0, 0, FAR, FAR, FAR])
    for _ in range(5):
        reward, _, _ = env.step(torch.tensor([[STOP, 0, 0]]))
        assert reward.item() == 0
    assert env.battle.health[0, 3] == 45
    env.step(torch.tensor([[6, 0, 0]]))  # ordered to attack, it does
    assert env.battle.health[0, 3] == 39


@pytest.mark.parametrize("name", sorted(MAPS))
def test_always_stop_earns_nothing_on_every_map(name):
    """SMAC rewards damage and deaths of enemies only, and stopped agents cause none; the one exception is
    an enemy that kills itself (a baneling's attack), which SMAC's reward counts like any enemy death."""
    env = SimEnv(name, 16, seed=1)
    done = torch.zeros(16, dtype=torch.bool)
    for _ in range(env.info.episode_limit):
        before = (env.battle.health + env.battle.shield)[:, env.info.n_agents:].clone()
        reward, terminated, info = env.step(stop_all(env))
        assert torch.equal(reward * ~done, _suicide_worth(env, before, info["final_state"]) * ~done)
        done |= terminated
    assert done.all()


# --- enemy orders --------------------------------------------------------------------------------------
def _walled(order: EnemyOrder) -> Terrain:
    base = open_square()
    return Terrain(size=base.size, walkable=base.walkable, level=base.level, walkable_cliff=base.walkable_cliff,
                   ally_spawn=base.ally_spawn, enemy_spawn=base.enemy_spawn, enemy_order=order)


AGENTS_IN_A_CORNER = [(2, 2), (2, 4), (2, 6)]


def test_enemies_attack_move_to_the_orders_point():
    env = arena("3m", AGENTS_IN_A_CORNER + [(25, 25), (25, 27), (25, 29)], ground=_walled(EnemyOrder("attack_move", (25.0, 5.0))))
    for _ in range(30):
        env.step(torch.tensor([[STOP] * 3]))
    assert torch.allclose(env.battle.pos[0, 3:, 0], torch.tensor(25.0), atol=1.0)
    assert (env.battle.pos[0, 3:, 1] < 9).all()


def test_enemies_without_an_order_hold_until_an_agent_comes_into_sight():
    env = arena("3m", AGENTS_IN_A_CORNER + [(25, 25), (25, 27), (25, 29)], ground=_walled(EnemyOrder("none")))
    start = env.battle.pos.clone()
    for _ in range(10):
        env.step(torch.tensor([[STOP] * 3]))
    assert torch.equal(env.battle.pos, start)


def test_enemies_ordered_to_attack_the_agents_chase_them_from_anywhere():
    env = arena("3m", AGENTS_IN_A_CORNER + [(30, 30), (30, 28), (30, 26)], ground=_walled(EnemyOrder("attack_agents")))
    env.place(enemy_goal=torch.tensor([[30.0, 30.0]]))  # an attack-move there would keep them in place
    env.step(torch.tensor([[STOP] * 3]))
    assert (env.battle.pos[0, 3:].sum(-1) < 60 - 1).all()


def test_the_zealot_on_2m_vs_1z_heads_for_a_random_point_between_the_marines():
    first, second = (torch.tensor(p) for p in terrain("2m_vs_1z").enemy_order.segment)
    goal = SimEnv("2m_vs_1z", 64, seed=0).battle.enemy_goal
    fraction = ((goal - first) @ (second - first)) / (second - first).dot(second - first)
    assert torch.allclose(first + fraction.unsqueeze(1) * (second - first), goal, atol=1e-5)
    assert 0 <= fraction.min() < 0.2 and 0.8 < fraction.max() <= 1


# --- splash ------------------------------------------------------------------------------------------------
def test_colossus_line_splash_hits_across_the_line_of_fire_only():
    # colossus (agent 0) at (11, 10) fires east at enemy zealot slot 13 (enemy 4) at (17, 10): 10 +5 light, x2
    far = [(3.0, 3.0 + 3 * i) for i in range(8)]
    enemies = [(30.0, 30.0), (30.0, 27.0), (30.0, 24.0), (30.0, 21.0),
               (17.0, 10.0), (17.0, 11.8), (17.0, 12.5), (18.2, 10.0), (30.0, 18.0)]
    env = arena("1c3s5z", [(11.0, 10.0)] + far + enemies, cooldown=[0.0] + [FAR] * 17)
    assert UNITS["colossus"].line_splash == 1.4  # half of the 2.8 line; zealot radius 0.5
    env.step(torch.tensor([[6 + 4] + [STOP] * 8]))
    shields = env.battle.shield[0, 9:].tolist()
    # target and the zealot 1.8 across (1.4 + 0.5 reaches it) lose 2 x 15 of their 50 shields;
    # 2.5 across and 1.2 behind the target (along the line of fire) are untouched
    assert shields[4:8] == [20.0, 20.0, 50.0, 50.0]
    assert env.battle.health[0, 13:17].tolist() == [100.0] * 4
    assert env.battle.shield[0, 9:13].tolist() == [150.0, 80.0, 80.0, 80.0]  # nothing else hit


def test_units_without_splash_hit_only_their_target():
    env = arena("3m", [(10, 10), (10, 20), (10, 25), (14, 10), (14.3, 10.2), (30, 25)],
                health=[45, 0, 0, 45, 45, 45], cooldown=[0, 0, 0, FAR, FAR, FAR])
    env.step(torch.tensor([[6, 0, 0]]))
    assert env.battle.health[0, 3:].tolist() == [39.0, 45.0, 45.0]
