"""The SMAC-compatible class: SMAC's documented episode loop on it equals the batched simulator step for step."""

import numpy as np
import pytest
import torch

from benchmark.envs.sim import SimEnv
from benchmark.envs.smac_api import StarCraft2Env
from benchmark.errors import UserError


def _assert_view(env, view):
    """The SMAC class shows what the batched simulator's environment 0 shows, in SMAC's types."""
    obs, state, avail = env.get_obs(), env.get_state(), env.get_avail_actions()
    assert isinstance(obs, list) and all(o.dtype == np.float32 for o in obs)
    assert state.dtype == np.float32
    assert all(isinstance(a, int) for row in avail for a in row)
    np.testing.assert_array_equal(np.stack(obs), view.obs[0].numpy())
    np.testing.assert_array_equal(state, view.state[0].numpy())
    np.testing.assert_array_equal(np.array(avail), view.avail[0].numpy().astype(int))
    for agent in range(env.n_agents):
        np.testing.assert_array_equal(env.get_obs_agent(agent), obs[agent])
        assert env.get_avail_agent_actions(agent) == avail[agent]


@pytest.mark.parametrize("map_name", ["3m", "2s3z"])
def test_smac_episode_loop_matches_the_batched_simulator(map_name):
    env = StarCraft2Env(map_name=map_name, seed=7)
    ref = SimEnv(map_name, 1, seed=7)
    env_info = env.get_env_info()
    n_agents, n_actions = env_info["n_agents"], env_info["n_actions"]
    assert env_info["obs_shape"] == env.get_obs_size() == ref.info.obs_shape
    assert env_info["state_shape"] == env.get_state_size() == ref.info.state_shape
    assert n_actions == env.get_total_actions() == ref.info.n_actions
    rng = np.random.default_rng(0)
    outcomes = []
    for _ in range(3):
        obs, state = env.reset()
        np.testing.assert_array_equal(np.stack(obs), ref.observe().obs[0].numpy())
        terminated = False
        while not terminated:
            _assert_view(env, ref.observe())
            actions = []
            for agent_id in range(n_agents):
                avail_actions = env.get_avail_agent_actions(agent_id)
                actions.append(rng.choice(np.nonzero(avail_actions)[0]))
            reward, terminated, info = env.step(actions)
            expected = ref.step(torch.tensor([actions]))
            assert isinstance(reward, float) and isinstance(terminated, bool)
            assert reward == pytest.approx(float(expected.reward[0]), abs=0)
            assert terminated == bool(expected.terminated[0])
            assert info == {"battle_won": bool(expected.info["battle_won"][0]),
                            "dead_allies": int(expected.info["dead_allies"][0]),
                            "dead_enemies": int(expected.info["dead_enemies"][0])}
        final = expected.info
        np.testing.assert_array_equal(np.stack(env.get_obs()), final["final_obs"][0].numpy())
        np.testing.assert_array_equal(env.get_state(), final["final_state"][0].numpy())
        outcomes.append(info["battle_won"])
    assert env.get_stats()["battles_game"] == 3
    assert env.get_stats()["battles_won"] == sum(outcomes)


def test_time_out_sets_episode_limit_only_with_continuing_episode():
    for continuing in (False, True):
        env = StarCraft2Env(map_name="2s_vs_1sc", seed=0, continuing_episode=continuing)
        env.reset()
        terminated, steps = False, 0
        while not terminated:
            _, terminated, info = env.step([1, 1])  # stop: out of the spine crawler's range, nothing happens
            steps += 1
        assert steps == env.episode_limit == 300
        assert info.get("episode_limit", False) is continuing
        assert env.get_stats()["timeouts"] == 1


def test_a_reset_mid_episode_starts_a_fresh_battle_as_the_simulator_does():
    env, ref = StarCraft2Env(map_name="3m", seed=3), SimEnv("3m", 1, seed=3)
    env.reset()
    env.step([1, 1, 1])
    ref.step(torch.ones(1, 3, dtype=torch.long))
    env.reset()
    _assert_view(env, ref.reset())


def test_seed_is_reported_and_none_draws_one():
    assert StarCraft2Env(map_name="3m", seed=5).seed() == 5
    drawn = StarCraft2Env(map_name="3m").seed()
    assert isinstance(drawn, int)
    np.testing.assert_array_equal(StarCraft2Env(map_name="3m", seed=drawn).reset()[1],
                                  SimEnv("3m", 1, seed=drawn).observe().state[0].numpy())


def test_env_info_lists_smac_feature_names():
    info = StarCraft2Env(map_name="2s3z", seed=0).get_env_info()
    assert info["agent_features"] == ["health", "energy/cooldown", "rel_x", "rel_y", "shield", "type_0", "type_1"]
    assert info["enemy_features"] == ["health", "rel_x", "rel_y", "shield", "type_0", "type_1"]


def test_render_replay_and_logging_settings_are_accepted():
    env = StarCraft2Env(map_name="3m", seed=0, replay_dir="/nowhere", replay_prefix="x", window_size_x=640,
                        window_size_y=480, debug=True, game_version="4.10", heuristic_rest=True,
                        obs_own_health=False, step_mul=None)
    assert env.save_replay() is None
    env.close()


@pytest.mark.parametrize("setting", [{"reward_sparse": True}, {"obs_last_action": True}, {"step_mul": 4},
                                     {"difficulty": "3"}, {"state_last_action": False}, {"heuristic_ai": True},
                                     {"obs_all_health": False}])
def test_settings_the_simulator_cannot_honour_are_refused(setting):
    with pytest.raises(UserError, match="simulator"):
        StarCraft2Env(map_name="3m", **setting)


def test_unknown_map_and_setting():
    with pytest.raises(UserError, match="unknown map 'nope'"):
        StarCraft2Env(map_name="nope")
    with pytest.raises(TypeError):
        StarCraft2Env(map_name="3m", no_such_setting=1)


def test_invalid_actions_are_a_clear_error():
    env = StarCraft2Env(map_name="3m", seed=0)
    env.reset()
    with pytest.raises(ValueError, match=r"agent 1 cannot perform action 0; available: \[1, 2, 3, 4, 5\]"):
        env.step([1, 0, 1])  # no-op, for a living unit
    with pytest.raises(ValueError, match="agent 0 cannot perform action 6"):
        env.step([6, 1, 1])  # the enemy is out of range at the start
    with pytest.raises(ValueError, match="cannot perform action 9"):
        env.step([1, 1, 9])
    with pytest.raises(ValueError, match="3 integers"):
        env.step([1, 1])


def test_stepping_a_finished_episode_needs_a_reset():
    env = StarCraft2Env(map_name="2s_vs_1sc", seed=0)
    env.reset()
    terminated = False
    while not terminated:
        _, terminated, _ = env.step([1, 1])
    with pytest.raises(ValueError, match="call reset"):
        env.step([1, 1])
