"""The simulator's battle rules: passive agents, the enemies' orders, splash, suicide and healing, by hand."""

from __future__ import annotations

import dataclasses

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
    env = SimEnv(name, 8, seed=1)
    done = torch.zeros(8, dtype=torch.bool)
    for _ in range(env.info.episode_limit):
        before = (env.battle.health + env.battle.shield)[:, env.info.n_agents:].clone()
        reward, terminated, info = env.step(stop_all(env))
        assert torch.equal(reward * ~done, _suicide_worth(env, before, info["final_state"]) * ~done)
        done |= terminated
    assert done.all()


# --- enemy orders --------------------------------------------------------------------------------------
def _ordered(order: EnemyOrder) -> Terrain:
    """Open ground whose enemies get `order`."""
    return dataclasses.replace(open_square(), enemy_order=order)


AGENTS_IN_A_CORNER = [(2, 2), (2, 4), (2, 6)]


def test_enemies_attack_move_to_the_orders_point():
    order = EnemyOrder("attack_move", (25.0, 5.0))
    env = arena("3m", AGENTS_IN_A_CORNER + [(25, 25), (25, 27), (25, 29)], ground=_ordered(order))
    for _ in range(30):
        env.step(torch.tensor([[STOP] * 3]))
    assert torch.allclose(env.battle.pos[0, 3:, 0], torch.tensor(25.0), atol=1.0)
    assert (env.battle.pos[0, 3:, 1] < 9).all()


def test_enemies_without_an_order_hold_until_an_agent_comes_into_sight():
    env = arena("3m", AGENTS_IN_A_CORNER + [(25, 25), (25, 27), (25, 29)], ground=_ordered(EnemyOrder("none")))
    start = env.battle.pos.clone()
    for _ in range(10):
        env.step(torch.tensor([[STOP] * 3]))
    assert torch.equal(env.battle.pos, start)


def test_enemies_ordered_to_attack_the_agents_chase_them_from_anywhere():
    env = arena("3m", AGENTS_IN_A_CORNER + [(30, 30), (30, 28), (30, 26)], ground=_ordered(EnemyOrder("attack_agents")))
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


def test_baneling_bursts_on_foes_around_its_target_and_dies():
    # bane_vs_bane: agents 4 banelings (slots 0-3) + 20 zerglings (4-23); enemies 20 zerglings (24-43) + 4
    # banelings (44-47). Agent baneling 0 attacks enemy baneling 44 (enemy index 20) next to it.
    parked = [(2.0 + (i % 6) * 1.0, 2.0 + (i // 6) * 1.0) for i in range(48)]  # out of the way, in a corner
    pos = list(parked)
    pos[0], pos[4] = (10.0, 10.0), (10.5, 11.0)  # the baneling, one of its own zerglings beside it
    pos[24], pos[25], pos[44] = (11.8, 10.0), (13.5, 10.0), (10.8, 10.0)
    for i in range(48):
        if i not in (0, 4, 24, 25, 44):
            pos[i] = (25.0 + (i % 6) * 1.0, 25.0 + (i // 6) * 0.8) if i >= 24 else parked[i]
    env = arena("bane_vs_bane", pos, cooldown=[0.0] * 24 + [FAR] * 24)
    actions = torch.full((1, 24), STOP)
    actions[0, 0] = 6 + 20
    env.step(actions)
    health = env.battle.health[0]
    regen = UNITS["zergling"].health_regen * 8
    assert health[0] == 0  # the attacker is gone
    assert health[44].item() == pytest.approx(30 - 16 + regen)  # a baneling is not light: 16
    assert health[24] == 0  # a zergling 1.0 from the target: 16 + 19 vs light = 35, all it has
    assert health[25] == 35 and health[4] == 35  # 2.7 away is outside 2.2 + 0.375; its own side is spared


def _mmm(**values) -> SimEnv:
    """MMM by hand: agents 2 marauders (0, 1), 7 marines (2-8), a medivac (9); enemies 7 marines (10-16),
    2 marauders (17, 18), a medivac (19). Everyone apart, enemies far away and not firing."""
    pos = [(4.0 + 2.5 * (i % 4), 4.0 + 2.5 * (i // 4)) for i in range(10)]
    pos += [(20.0 + 2.5 * (i % 4), 22.0 + 2.5 * (i // 4)) for i in range(10)]
    pos[2], pos[9] = (10.0, 20.0), (10.0, 23.0)  # a marine and the medivac, 3 apart
    return arena("MMM", pos, ground=_ordered(EnemyOrder("none")), cooldown=[0.0] * 10 + [FAR] * 10, **values)


def test_medivac_heals_the_ordered_ally_for_energy():
    env = _mmm(health=[125, 125, 20] + [45] * 6 + [150] * 11)
    avail = env.observe().avail[0, 9]
    assert avail[6 + 2] and not avail[6 + 9]  # heal the marine, never itself (SMAC: no medivacs)
    actions = torch.full((1, 10), STOP)
    actions[0, 9] = 6 + 2
    env.step(actions)
    heal = 12.6 / 22.4 * 8  # a whole step in heal range
    assert env.battle.health[0, 2].item() == pytest.approx(20 + heal)
    energy = 50 - heal / 3 + 0.7875 / 22.4 * 8
    assert env.battle.energy[0, 9].item() == pytest.approx(energy)
    # SMAC's state puts a medivac's energy / 200 where the others have their weapon cooldown
    assert env.observe().state[0, 9 * env.spec.ally_state_feats + 1].item() == pytest.approx(energy / 200)


@pytest.mark.parametrize(("health", "energy", "healed"), [(44.0, 50.0, 1.0), (20.0, 0.5, 1.5)])
def test_medivac_heals_no_more_than_missing_and_affordable(health, energy, healed):
    env = _mmm(health=[125, 125, health] + [45] * 6 + [150] * 11, energy=[0.0] * 9 + [energy] + [0.0] * 10)
    actions = torch.full((1, 10), STOP)
    actions[0, 9] = 6 + 2
    env.step(actions)
    assert env.battle.health[0, 2].item() == pytest.approx(health + healed)


def test_ground_weapons_cannot_hit_the_enemy_medivac_but_marines_can():
    env = _mmm()
    pos = env.battle.pos.clone()
    for slot, point in ((0, (14.0, 14.0)), (2, (14.0, 16.0)), (19, (18.0, 15.0))):  # marauder, marine, medivac
        pos[0, slot] = torch.tensor(point)
    env.place(pos=pos)
    actions = torch.full((1, 10), STOP)
    actions[0, 0] = actions[0, 2] = 6 + 9  # both ordered to attack the enemy medivac
    env.step(actions)
    assert env.battle.health[0, 19].item() == 150 - (6 - 1)  # the marine's 6 less armor 1; the marauder's none


def test_a_team_with_only_medivacs_left_has_lost():
    lost = _mmm(health=[0] * 9 + [150] + [45] * 10)
    _, terminated, info = lost.step(torch.tensor([[0] * 9 + [STOP]]))
    assert terminated.item() and not info["battle_won"].item()
    won = _mmm(health=[125, 125] + [45] * 8 + [0] * 9 + [150])
    _, terminated, info = won.step(torch.full((1, 10), STOP))
    assert terminated.item() and info["battle_won"].item()
