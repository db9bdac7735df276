"""A SMAC-like game for testing the `sc2` adapter without StarCraft II, with failures on demand.

The adapter's workers build it in real subprocesses (they import this module by name), so it stays
light: numpy and the map table only. Episodes are scripted: obs[..., 0] is the step within the episode,
no enemy is ever in range, agent 0 dies after its first step (only no-op is then available to it), and a battle ends after
`episode_steps` steps, won on even-numbered episodes.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import numpy as np

from benchmark.envs.maps import MAPS

FAILURES = ("crash", "hang", "raise", "relaunch", "build")


class FakeSMAC:
    """StarCraft2Env's interface as the worker uses it.

    fail: one of FAILURES, happening at step `fail_at` of the process's life (or, with fail_in="reset", at
    its `fail_at`-th reset). With `once_file`, only the first process to get there fails (it leaves the
    file behind), as a real crash would not recur in the restarted game. With `child_dir`, the first
    reset starts a long `sleep`, standing in for the StarCraft II process, and writes its pid to the file
    child_dir/<worker pid>.
    """

    def __init__(self, map_name: str, seed: int, episode_steps: int = 3, fail: str | None = None,
                 fail_at: int = 1, fail_in: str = "step", once_file: str | None = None,
                 child_dir: str | None = None, continuing_episode: bool = False) -> None:
        info = MAPS.get(map_name).info()
        self.n_agents, self.n_enemies, self.n_actions = info.n_agents, info.n_enemies, info.n_actions
        self.obs_shape, self.state_shape, self.episode_limit = info.obs_shape, info.state_shape, info.episode_limit
        self.seed, self.episode_steps = seed, episode_steps
        self.fail, self.fail_at, self.fail_in, self.once_file = fail, fail_at, fail_in, once_file
        self.child_dir, self.continuing_episode = child_dir, continuing_episode
        self.child: subprocess.Popen | None = None
        self.force_restarts = 0
        self.steps = self.resets = self.episodes = self.t = 0
        self.maybe_fail("build", fail_at)

    def get_env_info(self) -> dict:
        keys = ("state_shape", "obs_shape", "n_actions", "n_agents", "episode_limit")
        return {k: getattr(self, k) for k in keys}

    def reset(self):
        self.resets += 1
        if self.child_dir and self.child is None:
            self.child = subprocess.Popen(["sleep", "600"])
            Path(self.child_dir, str(os.getpid())).write_text(str(self.child.pid))
        if self.fail_in == "reset":
            self.maybe_fail(self.fail, self.resets)
        self.episodes += 1
        self.t = 0
        return self.get_obs(), self.get_state()

    def step(self, actions):
        self.steps += 1
        avail = self.get_avail_actions()
        for agent, action in enumerate(actions):
            assert avail[agent][action] == 1, f"Agent {agent} cannot perform action {action}"  # as SMAC does
        if self.fail_in == "step" and self.maybe_fail(self.fail, self.steps):
            return 0, True, {}
        self.t += 1
        if self.t < self.episode_steps:
            return 1.0, False, {"battle_won": False, "dead_allies": 1, "dead_enemies": 0}
        won = self.episodes % 2 == 0
        timed_out = self.episode_steps >= self.episode_limit
        info = {"battle_won": won, "dead_allies": 1, "dead_enemies": self.n_enemies if won else 0}
        if timed_out and self.continuing_episode:  # as SMAC: flagged only when the episode "continues"
            info["episode_limit"] = True
        return 1.0, True, info

    def maybe_fail(self, kind: str | None, count: int) -> bool:
        """Fail as configured when `count` reaches fail_at; True for SMAC's own relaunch (a fake step)."""
        if kind is None or kind != self.fail or count != self.fail_at:
            return False
        if self.once_file:
            try:  # atomic, so that of two games reaching it together only one fails
                os.close(os.open(self.once_file, os.O_CREAT | os.O_EXCL))
            except FileExistsError:
                return False
        if kind == "crash":
            os._exit(3)
        if kind == "hang":
            time.sleep(3600)
        if kind in ("raise", "build"):
            raise RuntimeError(f"injected failure ({kind})")
        self.force_restarts += 1  # "relaunch": what SMAC does after losing the game's connection
        return True

    def get_obs(self) -> list[np.ndarray]:
        obs = np.full((self.n_agents, self.obs_shape), 0.5, dtype=np.float32)
        obs[:, 0] = self.t
        return list(obs)

    def get_state(self) -> np.ndarray:
        return np.full(self.state_shape, self.t + self.seed % 7, dtype=np.float32)

    def get_avail_actions(self) -> list[list[int]]:
        # Alive: stop and the four moves; no enemy in shooting range, so no attack.
        alive = [[0] + [1] * 5 + [0] * self.n_enemies for _ in range(self.n_agents)]
        if self.t >= 1:
            alive[0] = [1] + [0] * (self.n_actions - 1)  # agent 0 is dead: only no-op
        return alive

    def close(self) -> None:
        if self.child is not None:
            self.child.kill()
            self.child.wait()


def test_fake_matches_the_map_table():
    env = FakeSMAC("3m", seed=1)
    info = MAPS.get("3m").info()
    assert env.get_env_info() == info.as_smac_dict()
    obs, state = env.reset()
    assert np.stack(obs).shape == (info.n_agents, info.obs_shape) and state.shape == (info.state_shape,)
