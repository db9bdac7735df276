"""The built-in simulator: SMAC sizes and layouts, masks, damage arithmetic, reward, episode ends, seeding."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmark.config import RunConfig
from benchmark.envs import make_env
from benchmark.envs.maps import MAPS, env_info
from benchmark.envs.sim import SimEnv
from benchmark.envs.sim_dynamics import LOOPS_PER_STEP, split_damage
from benchmark.envs.terrain import open_square
from benchmark.envs.units import UNITS

# SMAC's sizes, written out independently of maps.py; the README's map table ("The built-in simulator") lists
# them for all 23 maps. map -> (agents, enemies, episode limit, n_actions, obs, state)
SMAC_SIZES = {
    "2m_vs_1z": (2, 1, 150, 7, 16, 26),
    "3m": (3, 3, 60, 9, 30, 48),
    "8m": (8, 8, 120, 14, 80, 168),
    "2s3z": (5, 5, 120, 11, 80, 120),
    "3s_vs_3z": (3, 3, 150, 9, 36, 54),
    "3s_vs_5z": (3, 5, 250, 11, 48, 68),
    "2s_vs_1sc": (2, 1, 300, 7, 17, 27),
    "1c3s5z": (9, 9, 180, 15, 162, 270),
}
FAR = 1000.0  # cooldown that keeps a unit from firing during a test


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def arena(map_name: str, positions: list[tuple[float, float]], **values) -> SimEnv:
    """One battle with every unit placed by hand (slots: agents, then enemies), on open ground."""
    env = SimEnv(map_name, 1, seed=0, debug=True, ground=open_square())
    env.place(pos=torch.tensor([positions]), **{k: torch.tensor([v], dtype=torch.float32) for k, v in values.items()})
    return env


def step(env: SimEnv, *actions: int):
    return env.step(torch.tensor([actions]))


# --- sizes -------------------------------------------------------------------------------------------------
def test_every_sized_map_is_registered():
    assert set(SMAC_SIZES) <= set(MAPS)


@pytest.mark.parametrize("name", sorted(SMAC_SIZES))
def test_sizes_match_smac_and_tensors(name):
    n_a, n_e, limit, n_actions, obs_dim, state_dim = SMAC_SIZES[name]
    info = env_info(name)
    assert (info.n_agents, info.n_enemies, info.episode_limit, info.n_actions, info.obs_shape, info.state_shape) == (
        n_a, n_e, limit, n_actions, obs_dim, state_dim)
    env = make_env("sim", name, 3, 0, torch.device("cpu"))
    obs = env.reset()
    assert obs.obs.shape == (3, n_a, obs_dim) and obs.obs.dtype == torch.float32
    assert obs.state.shape == (3, state_dim) and obs.state.dtype == torch.float32
    assert obs.avail.shape == (3, n_a, n_actions) and obs.avail.dtype == torch.bool
    assert env.info.as_smac_dict() == {"state_shape": state_dim, "obs_shape": obs_dim, "n_actions": n_actions,
                                       "n_agents": n_a, "episode_limit": limit}


# --- unit table --------------------------------------------------------------------------------------------
def test_unit_table_bonus_damage_and_one_volley_per_step():
    assert UNITS["stalker"].hit_damage(UNITS["stalker"]) == 18  # 13 +5 armored
    assert UNITS["stalker"].hit_damage(UNITS["zealot"]) == 13
    assert UNITS["colossus"].hit_damage(UNITS["zealot"]) == 15  # 10 +5 light
    assert UNITS["spine_crawler"].hit_damage(UNITS["stalker"]) == 30
    assert UNITS["marine"].cooldown == pytest.approx(0.61 * 22.4)
    # sim_dynamics resolves a step in closed form assuming at most one volley per unit per step
    assert all(u.cooldown > LOOPS_PER_STEP for u in UNITS.values() if u.attacks and not u.suicide)


# --- masks and features ------------------------------------------------------------------------------------
def test_dead_agent_has_only_no_op_and_zero_observation_and_state():
    env = arena("3m", [(10, 10), (10, 12), (10, 14), (25, 10), (25, 12), (25, 14)], health=[0, 45, 45, 45, 45, 45])
    obs = env.observe()
    assert obs.avail[0, 0].tolist() == [True] + [False] * 8
    assert not obs.avail[0, 1, 0] and obs.avail[0, 1, 1]
    assert torch.all(obs.obs[0, 0] == 0)
    assert torch.all(obs.state[0, :4] == 0) and obs.state[0, 4] == 1.0  # agent 0's row zero, agent 1's health
    # the dead agent is invisible to its allies: agent 1's first ally block is agent 0's
    ally0 = 4 + 3 * 5
    assert torch.all(obs.obs[0, 1, ally0:ally0 + 5] == 0)


def test_attack_available_only_within_shoot_range_and_for_living_enemies():
    env = arena("3m", [(10, 10), (10, 20), (10, 25), (15.99, 10), (16.01, 20), (12, 25)], health=[45] * 5 + [0])
    avail = env.observe().avail[0]
    assert avail[0, 6] and not avail[0, 7]  # 5.99 in range, enemy 1 far
    assert not avail[1, 7]  # 6.01 away
    assert not avail[2, 8]  # dead enemy 2 at distance 2


def test_moves_blocked_at_the_map_edge():
    # SMAC's can_move truncates the point 1 ahead: at x = 0.6 the point west is x = -0.4, cell 0, on the map
    env = arena("3m", [(0.6, 16), (16, 31.4), (16, 16), (30, 2), (30, 5), (31.5, 8)])
    avail = env.observe().avail[0]
    north, south, east, west = 2, 3, 4, 5
    assert avail[0, 2:6].all()
    assert avail[1, [south, east, west]].all() and not avail[1, north]  # y = 32.4 is off the map
    assert avail[2, 2:6].all()
    obs = env.observe().obs[0]
    assert torch.equal(obs[:, :4], avail[:, 2:6].float())


def test_observation_and_state_features_by_hand():
    # agent 0 at (10,10); enemy 0 at distance 5 (3, 4); ally 1 at (10, 12); enemy 1 at distance 9 (unseen)
    env = arena("3m", [(10, 10), (10, 12), (10, 25), (13, 14), (19, 10), (25, 25)],
                health=[45, 22.5, 45, 9, 45, 45], cooldown=[7.5, 0, 0, 0, 0, 0])
    obs, state = env.observe().obs[0], env.observe().state[0]
    enemy0 = obs[0, 4:9]
    assert torch.allclose(enemy0, torch.tensor([1.0, 5 / 9, 3 / 9, 4 / 9, 9 / 45]))
    assert torch.all(obs[0, 9:14] == 0)  # distance exactly 9 is out of sight
    ally1 = obs[0, 19:24]
    assert torch.allclose(ally1, torch.tensor([1.0, 2 / 9, 0.0, 2 / 9, 0.5]))
    assert torch.all(obs[0, 24:29] == 0)  # agent 2 is 15 away
    assert obs[0, 29] == 1.0  # own health
    assert torch.allclose(state[:4], torch.tensor([1.0, 7.5 / 15, (10 - 16) / 32, (10 - 16) / 32]))
    assert torch.allclose(state[12:15], torch.tensor([9 / 45, (13 - 16) / 32, (14 - 16) / 32]))
    assert torch.all(state[21:] == 0)  # no last action yet


def test_protoss_features_carry_shields_and_type_bits():
    env = SimEnv("2s3z", 1, 0)
    env.place(shield=torch.tensor([[40.0, 80, 25, 50, 50, 80, 80, 50, 50, 50]]))
    obs, state = env.observe().obs[0], env.observe().state[0]
    assert torch.allclose(obs[0, -4:], torch.tensor([1.0, 0.5, 1.0, 0.0]))  # health, shield, stalker
    assert torch.allclose(obs[2, -4:], torch.tensor([1.0, 0.5, 0.0, 1.0]))  # zealot with 25/50 shield
    assert torch.allclose(state[:7][[0, 4, 5, 6]], torch.tensor([1.0, 0.5, 1.0, 0.0]))
    # SMAC numbers enemy types by StarCraft II's ids (zealot 73 < stalker 74): an enemy zealot is [1, 0]
    enemy_stalker, enemy_zealot = state[35:35 + 6], state[35 + 2 * 6:35 + 3 * 6]
    assert torch.allclose(enemy_stalker[[0, 3, 4, 5]], torch.tensor([1.0, 1.0, 0.0, 1.0]))
    assert torch.allclose(enemy_zealot[[0, 3, 4, 5]], torch.tensor([1.0, 1.0, 1.0, 0.0]))
    env.place(pos=torch.tensor([[(10, 10 + i) for i in range(5)] + [(13, 10 + i) for i in range(5)]]))
    obs = env.observe().obs[0]
    enemy_block = obs[0, 4:4 + 5 * 8].view(5, 8)  # [avail, dist, x, y, health, shield, type bits]
    assert enemy_block[:, -2:].tolist() == [[0.0, 1.0]] * 2 + [[1.0, 0.0]] * 3
    ally_block = obs[0, 44:44 + 4 * 8].view(4, 8)  # agents 1-4: a stalker, then three zealots
    assert ally_block[:, -2:].tolist() == [[1.0, 0.0]] + [[0.0, 1.0]] * 3


def test_last_action_one_hot_in_state():
    env = SimEnv("3m", 1, 0)
    step(env, 1, 2, 3)
    last = env.observe().state[0, 21:].view(3, 9)
    assert last.argmax(-1).tolist() == [1, 2, 3] and last.sum() == 3


# --- damage ------------------------------------------------------------------------------------------------
def test_single_marine_shot_and_cooldown():
    env = arena("3m", [(10, 10), (10, 20), (10, 25), (14, 10), (30, 20), (30, 25)],
                health=[45, 0, 0, 45, 45, 45], cooldown=[0, 0, 0, FAR, FAR, FAR])
    step(env, 6, 0, 0)
    assert env.battle.health[0, 3] == 39
    assert env.battle.cooldown[0, 0] == pytest.approx(0.61 * 22.4 - 8)
    assert env.observe().state[0, 1] == pytest.approx((0.61 * 22.4 - 8) / 15)


def test_two_marines_on_one_target_add_up():
    env = arena("3m", [(10, 10), (10, 11), (10, 25), (14, 10), (30, 20), (30, 25)],
                health=[45, 45, 0, 45, 45, 45], cooldown=[0, 0, 0, FAR, FAR, FAR])
    step(env, 6, 6, 0)
    assert env.battle.health[0, 3] == 33


@pytest.mark.parametrize(("shield", "health_after", "shield_after"), [(80, 80, 62), (10, 73, 0), (0, 63, 0)])
def test_stalker_shot_shields_first_then_armor(shield, health_after, shield_after):
    # 13 +5 armored = 18 raw; armor 1 only on the part that passes the shield
    env = arena("2s3z", [(10, 10), (10, 20), (3, 3), (3, 6), (3, 9), (15, 10), (30, 20), (30, 25), (30, 28), (30, 31)],
                health=[80, 0, 0, 0, 0, 80, 80, 100, 100, 100], shield=[80, 0, 0, 0, 0, shield, 80, 50, 50, 50],
                cooldown=[0] + [FAR] * 9)
    step(env, 6, 0, 0, 0, 0)
    assert env.battle.health[0, 5] == health_after
    assert env.battle.shield[0, 5] == shield_after


@pytest.mark.parametrize(("shield", "health_after"), [(50, 80), (10, 75), (0, 66)])
def test_zealot_two_attacks_each_lose_armor(shield, health_after):
    # 8 x2 on a stalker (armor 1): with 10 shield the first attack is absorbed, the second overflows by 6 -> 5
    far_away = [(3, 3), (3, 6), (3, 12), (3, 15), (30, 20), (30, 25), (30, 28), (30, 31)]
    env = arena("2s3z", far_away[:2] + [(10, 10)] + far_away[2:4] + [(11.2, 10)] + far_away[4:],
                health=[0, 0, 100, 0, 0, 80, 80, 100, 100, 100], shield=[0, 0, 50, 0, 0, shield, 80, 50, 50, 50],
                cooldown=[FAR, FAR, 0, FAR, FAR] + [FAR] * 5)
    step(env, 0, 0, 6, 0, 0)
    assert env.battle.health[0, 5] == health_after
    assert env.battle.shield[0, 5] == max(shield - 16, 0)


def _split(raw: float, hits: int, shield: float, armor: float) -> tuple[float, float]:
    shield_left, damage = split_damage(*(torch.tensor([float(v)]) for v in (raw, hits, shield, armor)))
    return shield_left.item(), damage.item()


def _sequential(hits: list[float], shield: float, armor: float) -> tuple[float, float]:
    """SC2's per-attack rule, one attack after another."""
    damage = 0.0
    for hit in hits:
        absorbed = min(shield, hit)
        shield -= absorbed
        if hit > absorbed:
            damage += max(hit - absorbed - armor, 0.5)
    return shield, damage


@settings(max_examples=200, deadline=None)
@given(hit=st.integers(1, 40), shield=st.integers(0, 100), armor=st.integers(0, 3))
def test_split_damage_is_exact_for_one_attack(hit, shield, armor):
    assert _split(hit, 1, shield, armor) == _sequential([hit], shield, armor)


@settings(max_examples=200, deadline=None)
@given(hit=st.integers(4, 40), n=st.integers(2, 6), shield=st.integers(0, 100), armor=st.integers(0, 2))
def test_split_damage_is_exact_for_equal_attacks_above_the_floor(hit, n, shield, armor):
    partial = (n * hit - shield) % hit  # overflow of the attack that breaks the shield, if any
    if 0 < partial < armor + 0.5 and shield < n * hit:
        return  # that attack is floored at 0.5, which the aggregate does not see (documented)
    assert _split(n * hit, n, shield, armor) == _sequential([hit] * n, shield, armor)


def test_split_damage_floors_each_attack_at_half_a_point():
    assert _split(4, 2, 0, 2) == (0.0, 1.0)


# --- shields -----------------------------------------------------------------------------------------------
def test_shields_regenerate_only_after_160_loops_without_damage():
    # three stalkers in one corner, three zealots in the other walking to "the agents' start" = their own corner
    env = arena("3s_vs_3z", [(2, 2), (2, 4), (2, 6), (30, 30), (30, 28), (30, 26)], shield=[40, 80, 80, 50, 50, 50],
                since_hit=[0, 0, 0, 0, 0, 0])
    env.place(enemy_goal=torch.tensor([[30.0, 28.0]]))
    for _ in range(160 // LOOPS_PER_STEP):
        step(env, 1, 1, 1)
    assert env.battle.shield[0, 0] == 40
    step(env, 1, 1, 1)
    assert env.battle.shield[0, 0] == pytest.approx(40 + 8 * 2 / 16)
    for _ in range(60):
        step(env, 1, 1, 1)
    assert env.battle.shield[0, 0] == 80  # capped


# --- reward and episode ends -------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["3m", "2s3z"])
def test_perfect_win_sums_to_twenty(name):
    env = SimEnv(name, 1, seed=3)
    n_a = env.info.n_agents
    total, won = 0.0, False
    for _ in range(env.info.episode_limit):
        frozen = env.battle.cooldown.clone()
        frozen[:, n_a:] = FAR  # enemies never fire: nobody is hurt
        env.place(cooldown=frozen)
        reward, terminated, info = env.step(_focus_actions(env))
        total += reward.item()
        if terminated.item():
            won = info["battle_won"].item()
            break
    assert won
    assert total == pytest.approx(20.0, abs=1e-4)


def test_kills_and_win_bonus_are_rewarded_and_auto_reset_hands_out_final_obs():
    env = SimEnv("3m", 2, seed=0, debug=True)
    env.place([0], pos=torch.tensor([[(10, 10), (10, 12), (10, 14), (13, 10), (13, 12), (13, 14)]]),
              health=torch.tensor([[45.0, 45, 45, 6, 6, 6]]), cooldown=torch.tensor([[0.0, 0, 0, FAR, FAR, FAR]]))
    before = env.observe()
    reward, terminated, info = env.step(torch.tensor([[6, 7, 8], [1, 1, 1]]))
    assert terminated.tolist() == [True, False]
    assert info["battle_won"].tolist() == [True, False] and info["episode_limit"].tolist() == [False, False]
    assert info["dead_enemies"].tolist() == [3, 0] and info["dead_allies"].tolist() == [0, 0]
    assert reward[0].item() == pytest.approx((3 * 6 + 3 * 10 + 200) / (365 / 20))
    final, now = info["final_obs"], env.observe()
    assert torch.all(final[0, :, 4:19] == 0)  # every enemy dead in the last observation
    assert torch.all(info["final_state"][0, 12:21] == 0)
    assert info["final_avail"][0, :, 1].all() and not info["final_avail"][0, :, 6:].any()
    assert torch.equal(final[1], now.obs[1]) and torch.equal(info["final_state"][1], now.state[1])
    assert env.battle.t.tolist() == [0, 1] and torch.all(env.battle.health[0] == 45)
    assert not torch.equal(now.obs[0], final[0]) and not torch.equal(now.obs[0], before.obs[0])
    assert torch.all(now.state[0, 21:] == 0)  # a fresh episode has no last action


@pytest.mark.parametrize("continuing", [False, True])
def test_time_out_ends_the_episode_not_won_flagged_only_when_continuing(continuing):
    """SMAC's default continuing_episode=False does not flag a time-out, so it is stored as terminal."""
    env = SimEnv("3m", 1, seed=0, debug=True, continuing_episode=continuing)
    env.place(pos=torch.tensor([[(2, 2), (2, 4), (2, 6), (30, 30), (30, 28), (30, 26)]]),
              enemy_goal=torch.tensor([[30.0, 28.0]]))
    for t in range(1, 61):
        _, terminated, info = step(env, 1, 1, 1)
        assert terminated.item() == (t == 60)
    assert info["episode_limit"].item() == continuing and not info["battle_won"].item()


def test_losing_everyone_ends_the_episode_without_a_win():
    env = arena("3m", [(10, 10), (10, 12), (10, 14), (13, 10), (13, 12), (13, 14)],
                health=[6, 6, 6, 45, 45, 45], cooldown=[FAR, FAR, FAR, 0, 0, 0])
    _, terminated, info = step(env, 1, 1, 1)
    assert terminated.item() and not info["battle_won"].item() and not info["episode_limit"].item()
    assert info["dead_allies"].item() == 3


# --- actions -----------------------------------------------------------------------------------------------
def test_unavailable_actions_raise_in_debug_and_play_as_stop_otherwise():
    positions = [(10, 10), (10, 12), (10, 14), (25, 10), (25, 12), (25, 14)]
    with pytest.raises(ValueError, match="unavailable"):
        step(arena("3m", positions), 6, 1, 1)  # enemy 0 is 15 away
    with pytest.raises(ValueError, match="unavailable"):
        step(arena("3m", positions), 0, 1, 1)  # no-op for a living agent
    lax = [SimEnv("3m", 1, 0) for _ in range(2)]
    for env in lax:
        env.place(pos=torch.tensor([positions]))
    step(lax[0], 6, 0, 1)
    step(lax[1], 1, 1, 1)
    assert torch.equal(lax[0].battle.pos, lax[1].battle.pos)


def test_move_goes_two_units_over_a_step_at_most_unit_speed():
    env = arena("3m", [(10, 10), (10, 14), (10, 18), (30, 30), (30, 28), (30, 26)])
    env.place(enemy_goal=torch.tensor([[30.0, 28.0]]))
    step(env, 2, 4, 5)
    travel = UNITS["marine"].speed * LOOPS_PER_STEP
    expected = torch.tensor([(10, 10 + travel), (10 + travel, 14), (10 - travel, 18)])
    assert torch.allclose(env.battle.pos[0, :3], expected)


# --- seeding and batching ----------------------------------------------------------------------------------
def _random_actions(avail: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    return torch.rand(avail.shape, generator=generator).masked_fill(~avail, -1).argmax(-1)


def _focus_actions(env: SimEnv) -> torch.Tensor:
    """All agents attack the lowest-health enemy that any of them can attack (each its own lowest if it cannot
    reach that one); agents with nothing in range step toward the nearest enemy."""
    b, n_a = env.battle, env.info.n_agents
    avail = env.observe().avail
    attackable = avail[:, :, 6:]
    pool = (b.health + b.shield)[:, n_a:]
    shared = torch.where(attackable.any(1), pool, torch.inf).argmin(-1)
    can_shared = attackable.gather(2, shared.view(-1, 1, 1).expand(-1, n_a, 1)).squeeze(-1)
    own = torch.where(attackable, pool.unsqueeze(1), torch.inf).argmin(-1)
    target = torch.where(can_shared, shared.unsqueeze(1), own)
    offset = b.pos[:, n_a:].unsqueeze(1) - b.pos[:, :n_a].unsqueeze(2)
    dist = offset.norm(dim=-1).masked_fill(~(b.health[:, n_a:] > 0).unsqueeze(1), torch.inf)
    toward = offset.gather(2, dist.argmin(-1)[..., None, None].expand(-1, -1, 1, 2)).squeeze(2)
    dx, dy = toward.unbind(-1)
    move = torch.where(dx.abs() > dy.abs(), torch.where(dx > 0, 4, 5), torch.where(dy > 0, 2, 3))
    move = torch.where(avail.gather(2, move.unsqueeze(-1)).squeeze(-1), move, 1)
    action = torch.where(attackable.any(-1), target + 6, move)
    return torch.where(avail[:, :, 0], 0, action)


def _rollout(env: SimEnv, steps: int, seed: int) -> list[torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    out = []
    for t in range(steps):
        actions = _focus_actions(env) if t % 3 == 0 else _random_actions(env.observe().avail, generator)
        reward, terminated, info = env.step(actions)
        out += [reward, terminated, info["final_obs"], env.observe().obs, env.observe().state]
    return out


def test_same_seed_gives_identical_trajectories_and_other_seeds_differ():
    a, b, c = (_rollout(SimEnv("2s3z", 4, seed), 60, 0) for seed in (5, 5, 6))
    assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True))
    assert not torch.equal(a[3], c[3])


def test_batch_equals_separate_single_environments():
    batch = SimEnv("3m", 6, seed=11)
    singles = [SimEnv("3m", 1, env_seeds=batch.env_seeds[i:i + 1]) for i in range(6)]
    generator = torch.Generator().manual_seed(0)
    for t in range(120):  # several episodes, so auto-resets are covered
        actions = _focus_actions(batch) if t % 2 else _random_actions(batch.observe().avail, generator)
        reward, terminated, info = batch.step(actions)
        for i, single in enumerate(singles):
            r, term, inf = single.step(actions[i:i + 1])
            assert torch.equal(r, reward[i:i + 1]) and torch.equal(term, terminated[i:i + 1])
            assert torch.equal(inf["final_obs"], info["final_obs"][i:i + 1])
            assert torch.equal(single.observe().state, batch.observe().state[i:i + 1])
    assert batch.episodes.min() > 2


def test_rng_state_continues_the_stream():
    env = SimEnv("3m", 3, seed=2)
    saved = env.rng_state()
    first = env.reset().obs.clone()
    env.reset()
    env.set_rng_state(saved)
    assert torch.equal(env.reset().obs, first)
    resumed = SimEnv("3m", 3, seed=99)
    resumed.set_rng_state(saved)
    assert torch.equal(resumed.reset().obs, first)


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_runs_the_same_battles():
    cpu, gpu = SimEnv("2s3z", 8, 4), SimEnv("2s3z", 8, 4, device="cuda")
    # CUDA's float math differs from the CPU's in the last bit (seen on an H200: relative positions 1 ulp
    # apart), so observations are compared to float precision.
    torch.testing.assert_close(gpu.observe().obs.cpu(), cpu.observe().obs, rtol=0, atol=1e-6)
    for _ in range(30):
        actions = _focus_actions(cpu)
        r_cpu, t_cpu, _ = cpu.step(actions)
        r_gpu, t_gpu, _ = gpu.step(actions.cuda())
        assert torch.allclose(r_cpu, r_gpu.cpu(), atol=1e-4) and torch.equal(t_cpu, t_gpu.cpu())


# --- policies ----------------------------------------------------------------------------------------------
def _win_rate_3m(policy, episodes: int = 200, seed: int = 0) -> float:
    """First-episode win rate of `episodes` parallel battles."""
    env = SimEnv("3m", episodes, seed=seed)
    generator = torch.Generator().manual_seed(seed)
    done = torch.zeros(episodes, dtype=torch.bool)
    won = torch.zeros(episodes, dtype=torch.bool)
    while not done.all():
        _, terminated, info = env.step(policy(env, generator))
        won |= info["battle_won"] & ~done
        done |= terminated
    return won.float().mean().item()


def test_random_policy_almost_never_wins_3m_and_focus_fire_clearly_does():
    random = _win_rate_3m(lambda env, g: _random_actions(env.observe().avail, g))
    focus = _win_rate_3m(lambda env, g: _focus_actions(env))
    assert random <= 0.05
    # Passive agents that wait for an attack to become available (within 6) give the attack-moving enemies,
    # who acquire in sight and fire as soon as they reach, the first volley: focus fire wins some, not most.
    assert focus >= random + 0.1


@pytest.mark.parametrize("name", sorted(m for m in MAPS if MAPS.get(m).unit_type_bits))
def test_state_type_bits_follow_smacs_order_for_each_team(name):
    """SMAC's get_unit_type_id: agents by its own unit ids, enemies by StarCraft II's stock ids."""
    spec = MAPS.get(name)
    state = SimEnv(name, 1, seed=0).observe().state[0]
    bits = spec.unit_type_bits
    allies = state[:spec.n_agents * spec.ally_state_feats].view(spec.n_agents, -1)[:, -bits:]
    start = spec.n_agents * spec.ally_state_feats
    enemies = state[start:start + spec.n_enemies * spec.enemy_state_feats].view(spec.n_enemies, -1)[:, -bits:]
    assert allies.argmax(1).tolist() == [spec.type_order.index(u.name) for u in spec.ally_units]
    assert enemies.argmax(1).tolist() == [spec.enemy_type_order.index(u.name) for u in spec.enemy_units]
    assert allies.sum().item() == spec.n_agents and enemies.sum().item() == spec.n_enemies


def test_continuing_episode_is_a_recorded_env_setting_handed_to_the_backend():
    assert RunConfig().to_dict()["env"]["continuing_episode"] is False  # SMAC's default
    cfg = RunConfig.from_dict({"env": {"continuing_episode": True}})
    assert cfg.to_dict()["env"]["continuing_episode"] is True
    env = make_env("sim", "3m", 1, 0, torch.device("cpu"), continuing_episode=cfg.env.continuing_episode)
    assert env.continuing_episode and not make_env("sim", "3m", 1, 0, torch.device("cpu")).continuing_episode


def test_reset_starts_the_same_episodes_however_long_the_envs_ran_after_theirs_ended():
    """A run group steps a run's environments past the end of its batch while slower runs finish; the next
    reset must start the same battles as if they had stopped stepping at once."""
    short, long = SimEnv("3m", 4, seed=5), SimEnv("3m", 4, seed=5)
    stop = torch.ones(4, 3, dtype=torch.long)
    for env, ticks in ((short, 3), (long, 130)):  # 130 ticks: every battle times out and restarts at least once
        for _ in range(ticks):
            env.step(stop)
    assert bool((long.episodes > short.episodes).all())
    a, b = short.reset(), long.reset()
    assert torch.equal(a.obs, b.obs) and torch.equal(a.state, b.state)
    assert not torch.equal(a.obs, SimEnv("3m", 4, seed=5).observe().obs)
