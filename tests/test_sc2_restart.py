"""Crashed, hung and failing games, in real worker processes: each is killed and restarted, an episode it
interrupted is never counted, and a game that keeps failing ends the run with a one-line UserError."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import torch
from test_sc2_fakes import FakeSMAC

from benchmark.config import QMixConfig, RunConfig
from benchmark.envs.sc2 import EpisodeInterrupted, SC2Env, Timeouts
from benchmark.errors import UserError
from benchmark.qmix.controller import AgentController
from benchmark.runner import EpisodeRunner
from benchmark.streams import RunGenerators
from benchmark.train import train

QUICK = Timeouts(start=30, reset=30, step=1, close=5)  # a 1 s step limit makes a hang cheap to detect
STOP = torch.ones(2, 3, dtype=torch.long)


def fake_env(batch: int = 2, **kwargs) -> SC2Env:
    return SC2Env("3m", batch, factory=FakeSMAC, env_kwargs={"episode_steps": 3, **kwargs}, timeouts=QUICK)


def gone(pid: int) -> bool:
    """True when the process no longer runs (a zombie waiting for its parent counts as gone)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


@pytest.mark.parametrize("failure", ["crash", "hang", "raise", "relaunch"])
def test_a_game_lost_mid_episode_is_restarted_and_the_batch_must_be_rerun(tmp_path, failure):
    env = fake_env(fail=failure, fail_at=2, once_file=str(tmp_path / "failed-once"), child_dir=str(tmp_path))
    try:
        env.step(STOP)
        workers = [w.process.pid for w in env.games.workers]
        started = time.monotonic()
        with pytest.raises(EpisodeInterrupted) as caught:
            env.step(STOP)
        assert time.monotonic() - started < QUICK.step + 5
        [lost] = caught.value.env_ids
        assert env.restarts == 1
        # The lost worker is gone with the process it started (StarCraft II must not outlive its worker).
        assert gone(workers[lost]) and gone(int((tmp_path / str(workers[lost])).read_text()))
        with pytest.raises(RuntimeError, match="call reset"):
            env.step(STOP)  # the interrupted episodes may not be continued, let alone counted
        env.reset()
        results = [env.step(STOP) for _ in range(3)]
        assert results[-1].terminated.all() and not any(r.terminated.any() for r in results[:-1])
        assert env.restarts == 1
    finally:
        env.close()


def test_a_failed_automatic_reset_is_retried_without_interrupting(tmp_path):
    # Reset 1 happens when the env is made; reset 2 is the automatic one after the first episode.
    env = fake_env(fail="crash", fail_in="reset", fail_at=2, once_file=str(tmp_path / "failed-once"))
    try:
        env.step(STOP), env.step(STOP)
        _, terminated, info = env.step(STOP)
        assert terminated.all() and (info["final_obs"][..., 0] == 3).all()
        assert env.restarts == 1 and (env.observe().obs[..., 0] == 0).all()
        assert not env.step(STOP).terminated.any()
    finally:
        env.close()


@pytest.mark.parametrize(("fail", "fail_in"), [("crash", "reset"), ("build", "step")])
def test_a_game_that_keeps_failing_is_a_one_line_user_error(fail, fail_in):
    with pytest.raises(UserError, match="game 0 failed 3 times in a row") as caught:
        fake_env(batch=1, fail=fail, fail_in=fail_in, fail_at=1)
    assert "\n" not in str(caught.value)


def test_close_ends_every_worker_and_may_be_called_twice():
    env = fake_env()
    pids = [w.process.pid for w in env.games.workers]
    env.close()
    env.close()
    assert all(gone(pid) for pid in pids)


def test_the_episode_runner_never_counts_an_interrupted_episode(tmp_path):
    """The runner collects an interrupted batch again from a reset, so every recorded episode is whole."""
    env = fake_env(fail="crash", fail_at=2, once_file=str(tmp_path / "failed-once"))
    mac = AgentController(env.info, QMixConfig(), env.device)
    try:
        batch, stats = EpisodeRunner(env, mac, RunGenerators.single(0, env.device)).run(epsilon=1.0)
        assert stats.lengths.tolist() == [3, 3] and stats.returns.tolist() == [3.0, 3.0] and env.restarts == 1
        assert batch.filled.sum(dim=1).tolist() == [3.0, 3.0]
    finally:
        env.close()


def test_the_episode_runner_stops_when_every_batch_is_interrupted():
    env = fake_env(fail="crash", fail_at=2)  # no once_file: every game process dies at its second step
    mac = AgentController(env.info, QMixConfig(), env.device)
    try:
        with pytest.raises(UserError, match="batches in a row were interrupted") as caught:
            EpisodeRunner(env, mac, RunGenerators.single(0, env.device)).run(epsilon=1.0)
        assert "\n" not in str(caught.value)
    finally:
        env.close()


def test_training_counts_game_restarts_in_the_manifest(tmp_path, monkeypatch):
    """One game of the training run crashes once: the run finishes and its manifest says so."""
    once = tmp_path / "failed-once"
    monkeypatch.setattr(
        "benchmark.envs.groups.make_env",
        lambda backend, map_name, batch, seed, device, **_: fake_env(batch, fail="crash", fail_at=2, once_file=str(once)),
    )
    cfg = RunConfig().with_overrides({"train.steps": 30, "env.batch_envs": 2, "train.test_episodes": 2})
    trainer = train(cfg, tmp_path / "run")
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert once.exists() and trainer.run_progress.env_steps >= 30
    assert manifest["env_restarts"] == 1
