"""The `sc2` adapter keeps the batched contract of base.py: with a fake SMAC game always, and with the real
StarCraft II wherever it is installed; the episode runner consumes it as it consumes `sim`."""

from __future__ import annotations

import pytest
import torch
from test_sc2_fakes import FakeSMAC

from benchmark.config import QMixConfig
from benchmark.envs.base import STEP_INFO_KEYS, BatchedEnv
from benchmark.envs.maps import MAPS
from benchmark.envs.sc2 import SC2Env, Timeouts, make
from benchmark.envs.sc2_install import problems
from benchmark.errors import UserError
from benchmark.qmix.controller import AgentController
from benchmark.runner import EpisodeRunner
from benchmark.streams import RunGenerators

MAP = "3m"
QUICK = Timeouts(start=30, reset=30, step=30, close=5)
MISSING = problems([MAP])


def check_contract(env: BatchedEnv, max_steps: int) -> None:
    """Shapes, dtypes and devices of every output, episode ends, and automatic resets."""
    b, info = env.batch_size, env.info
    first = env.reset()
    expected = {"obs": ((b, info.n_agents, info.obs_shape), torch.float32), "state": ((b, info.state_shape), torch.float32),
                "avail": ((b, info.n_agents, info.n_actions), torch.bool)}
    for name, (shape, dtype) in expected.items():
        value = getattr(first, name)
        assert (tuple(value.shape), value.dtype, value.device) == (shape, dtype, env.device), name
    assert first.avail.any(-1).all(), "every agent needs an available action"
    generator = torch.Generator().manual_seed(0)
    ended = torch.zeros(b, dtype=torch.bool)
    for _ in range(max_steps):
        avail = env.observe().avail.cpu().float()
        actions = torch.multinomial(avail.flatten(0, 1), 1, generator=generator).view(b, info.n_agents)
        reward, terminated, step_info = env.step(actions)
        assert (reward.shape, reward.dtype, terminated.shape, terminated.dtype) == ((b,), torch.float32, (b,), torch.bool)
        for key in STEP_INFO_KEYS:
            assert step_info[key].shape == (b,), key
        assert step_info["battle_won"].dtype == step_info["episode_limit"].dtype == torch.bool
        assert not (step_info["battle_won"] & ~terminated).any() and not (step_info["episode_limit"] & ~terminated).any()
        for key, shape in (("final_obs", "obs"), ("final_state", "state"), ("final_avail", "avail")):
            assert step_info[key].shape == getattr(first, shape).shape, key
        current = env.observe()
        running = ~terminated.cpu()
        assert torch.equal(current.obs[running], step_info["final_obs"][running]), "a running game must not reset"
        ended |= terminated.cpu()
        if ended.all():
            return
    pytest.fail(f"not every environment ended within {max_steps} steps")


@pytest.fixture
def fake_env():
    env = SC2Env(MAP, 2, seed=3, factory=FakeSMAC, env_kwargs={"episode_steps": 3}, timeouts=QUICK)
    yield env
    env.close()


def test_fake_backed_adapter_keeps_the_contract(fake_env):
    check_contract(fake_env, max_steps=5)
    assert fake_env.info == MAPS.get(MAP).info() and fake_env.restarts == 0


def test_finished_games_reset_themselves_and_hand_out_their_final_observation(fake_env):
    fake_env.reset()
    for _ in range(2):
        fake_env.step(torch.ones(2, 3, dtype=torch.long))
    reward, terminated, info = fake_env.step(torch.ones(2, 3, dtype=torch.long))
    assert terminated.all() and torch.equal(reward, torch.ones(2))
    assert (info["final_obs"][..., 0] == 3).all() and (fake_env.observe().obs[..., 0] == 0).all()
    assert info["battle_won"].all() and (info["dead_enemies"] == 3).all() and not info["episode_limit"].any()


def test_unavailable_actions_are_played_as_stop_or_no_op(fake_env):
    """The fake asserts like SMAC does, so an action that reached it unmapped would fail the game."""
    fake_env.reset()
    fake_env.step(torch.full((2, 3), 8))  # attack enemy 2: not available to anyone here -> stop
    reward, terminated, _ = fake_env.step(torch.full((2, 3), 2))  # agent 0 is dead now -> no-op
    assert fake_env.restarts == 0 and not terminated.any()


@pytest.mark.parametrize("continuing", [False, True])
def test_time_outs_are_episode_limit_only_with_continuing_episode(continuing):
    """SMAC's default (False) leaves a time-out unflagged, so the runner stores it as terminal."""
    env = SC2Env("2m_vs_1z", 1, continuing_episode=continuing, factory=FakeSMAC, env_kwargs={"episode_steps": 150},
                 timeouts=QUICK)
    try:
        mac = AgentController(env.info, QMixConfig(), env.device)
        batch, stats = EpisodeRunner(env, mac, RunGenerators.single(0, env.device)).run(epsilon=1.0)
        assert stats.lengths.tolist() == [150]
        assert batch.terminated[0, 149].item() == (not continuing) and batch.terminated[0, :149].sum() == 0
    finally:
        env.close()


def test_the_episode_runner_collects_whole_episodes(fake_env):
    mac = AgentController(fake_env.info, QMixConfig(), fake_env.device)
    batch, stats = EpisodeRunner(fake_env, mac, RunGenerators.single(0, fake_env.device)).run(epsilon=1.0)
    assert stats.lengths.tolist() == [3, 3] and stats.returns.tolist() == [3.0, 3.0]
    assert batch.filled.shape[0] == 2 and stats.dead_allies.tolist() == [1.0, 1.0]


def test_bad_input_is_a_one_line_user_error(monkeypatch, tmp_path):
    with pytest.raises(UserError, match="batch size 0"):
        SC2Env(MAP, 0, factory=FakeSMAC)
    with pytest.raises(UserError, match="unknown map"):
        make("no_such_map", 1, 0, torch.device("cpu"))
    monkeypatch.setenv("SC2PATH", str(tmp_path))
    with pytest.raises(UserError, match=r"cannot start: StarCraft II: no game binary .*robust-qmix doctor") as caught:
        make(MAP, 1, 0, torch.device("cpu"))
    assert "\n" not in str(caught.value)


@pytest.mark.skipif(bool(MISSING), reason=f"StarCraft II is not available here ({MISSING[0] if MISSING else ''})")
def test_real_starcraft_keeps_the_contract():
    env = make(MAP, 2, 0, torch.device("cpu"))
    try:
        assert env.info == MAPS.get(MAP).info()
        assert env.sc2_version is not None
        check_contract(env, max_steps=MAPS.get(MAP).episode_limit + 1)
        assert env.restarts == 0
    finally:
        env.close()
