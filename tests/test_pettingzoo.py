"""The PettingZoo ParallelEnv: PettingZoo's API test, and the same battles as the batched simulator."""

import numpy as np
import pytest
import torch

from pettingzoo.test import parallel_api_test

from benchmark.envs.pettingzoo_env import SimParallelEnv
from benchmark.envs.sim import SimEnv


@pytest.mark.parametrize("map_name", ["3m", "MMM"])
def test_parallel_api_test(map_name):
    parallel_api_test(SimParallelEnv(map_name), num_cycles=400)


def _random_actions(env, obs, rng):
    return {a: int(rng.choice(np.flatnonzero(obs[a]["action_mask"]))) for a in env.agents}


def test_agrees_with_the_batched_simulator():
    env, ref = SimParallelEnv("2s3z"), SimEnv("2s3z", 1, seed=11)
    obs, _ = env.reset(seed=11)
    rng = np.random.default_rng(1)
    for episode in range(2):
        if episode:
            obs, _ = env.reset()
        while env.agents:
            view = ref.observe()
            assert set(env.agents) <= set(obs)  # the step's observations also cover units it killed
            for a in env.agents:
                i = env.possible_agents.index(a)
                np.testing.assert_array_equal(obs[a]["observation"], view.obs[0, i].numpy())
                np.testing.assert_array_equal(obs[a]["action_mask"], view.avail[0, i].numpy().astype(np.int8))
            np.testing.assert_array_equal(env.state(), view.state[0].numpy())
            actions = _random_actions(env, obs, rng)
            full = [actions.get(a, 0) for a in env.possible_agents]
            expected = ref.step(torch.tensor([full]))
            acting = env.agents
            obs, rewards, terms, truncs, infos = env.step(actions)
            assert set(obs) == set(rewards) == set(terms) == set(truncs) == set(infos) == set(acting)
            assert all(r == float(expected.reward[0]) for r in rewards.values())
            alive = expected.info["final_avail"][0, :, 0].logical_not().tolist()
            for a in acting:
                i = env.possible_agents.index(a)
                assert terms[a] == (bool(expected.terminated[0]) or not alive[i])
                assert infos[a]["dead_enemies"] == int(expected.info["dead_enemies"][0])
                np.testing.assert_array_equal(obs[a]["observation"], expected.info["final_obs"][0, i].numpy())
            left = [] if bool(expected.terminated[0]) else [a for a in acting if alive[env.possible_agents.index(a)]]
            assert env.agents == left
        assert bool(expected.terminated[0])


def test_dead_agents_leave_and_a_time_out_truncates():
    env = SimParallelEnv("2s_vs_1sc")
    env.reset(seed=0)
    steps = 0
    while env.agents:
        _, _, terms, truncs, _ = env.step(dict.fromkeys(env.agents, 1))
        steps += 1
    assert steps == 300
    assert truncs == {"stalker_0": True, "stalker_1": True} and not any(terms.values())

    env = SimParallelEnv("3m")
    obs, _ = env.reset(seed=0)
    rng, seen = np.random.default_rng(0), []
    while env.agents:
        # actions for units already dead are ignored (they play no-op), as PettingZoo allows extra keys
        obs, _, terms, _, _ = env.step({**dict.fromkeys(env.possible_agents, 1), **_random_actions(env, obs, rng)})
        seen.append(len(env.agents))
        assert not any(terms[a] for a in env.agents)
    assert seen == sorted(seen, reverse=True) and seen[-1] == 0


def test_reset_with_a_seed_replays_and_a_missing_action_is_an_error():
    env = SimParallelEnv("3m")
    first, _ = env.reset(seed=4)
    env.step(dict.fromkeys(env.agents, 1))
    again, _ = env.reset(seed=4)
    for a in first:
        np.testing.assert_array_equal(first[a]["observation"], again[a]["observation"])
    np.testing.assert_array_equal(env.state(), SimEnv("3m", 1, seed=4).observe().state[0].numpy())
    with pytest.raises(ValueError, match="no action for living agents"):
        env.step({"marine_0": 1})
    with pytest.raises(ValueError, match="agent 0 cannot perform action 0"):
        env.step(dict.fromkeys(env.agents, 0))
    # a refused step plays nothing
    np.testing.assert_array_equal(env.state(), SimEnv("3m", 1, seed=4).observe().state[0].numpy())
