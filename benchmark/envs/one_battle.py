"""One simulated battle (the batched simulator at B = 1) with SMAC's episode protocol, in numpy.

SMAC does not restart a finished battle until `reset()`, while the batched simulator restarts it inside the
step that ends it. This class keeps the step's final view (what SMAC shows after the last step) and hands
out the already restarted battle at the next `reset()`, so a sequence of episodes here is exactly the
sequence one environment of `SimEnv(map, 1, seed)` plays. A `reset()` in mid-episode (or a second one in a
row) abandons the battle, as SMAC's does, by resetting the simulator.
"""

from __future__ import annotations

import numpy as np
import torch

from benchmark.envs.base import Observation
from benchmark.envs.sim import SimEnv
from benchmark.envs.sim_rng import derive_env_seeds


class OneBattle:
    def __init__(self, map_name: str, seed: int) -> None:
        # continuing_episode only makes the simulator flag a time-out as such, which both APIs need to know
        self.sim = SimEnv(map_name, 1, seed, continuing_episode=True)
        self.info = self.sim.info
        self.spec = self.sim.spec
        self.steps = 0  # of the current episode
        self.ended = False
        self._fresh = True  # the simulator holds a battle that no step has touched yet
        self._view = self._numpy(self.sim.observe())

    def reseed(self, seed: int) -> None:
        """Start over as `SimEnv(map, 1, seed)` does: its first episode comes with the next reset."""
        self.sim.set_rng_state({"env_seeds": derive_env_seeds(seed, 1, self.sim.device),
                                "episodes": torch.zeros(1, dtype=torch.long)})
        self._fresh = False

    def reset(self) -> None:
        self._view = self._numpy(self.sim.observe() if self._fresh else self.sim.reset())
        self._fresh = False
        self.steps = 0
        self.ended = False

    @property
    def obs(self) -> np.ndarray:  # [n_agents, obs_shape] float32
        return self._view[0]

    @property
    def state(self) -> np.ndarray:  # [state_shape] float32
        return self._view[1]

    @property
    def avail(self) -> np.ndarray:  # [n_agents, n_actions] int (SMAC's 0/1)
        return self._view[2]

    def step(self, actions) -> tuple[float, bool, dict[str, torch.Tensor]]:
        """Play one step of `actions` (one int per agent); the reward, whether the battle ended, and the
        simulator's info of this environment (battle_won, dead_allies, dead_enemies, and timed_out: the
        episode limit ended an undecided battle)."""
        if self.ended:
            raise ValueError("the episode has ended; call reset() before stepping again")
        chosen = self._checked(actions)
        reward, terminated, info = self.sim.step(torch.as_tensor(chosen).view(1, -1))
        self.steps += 1
        self.ended = bool(terminated[0])
        if self.ended:
            final = Observation(info["final_obs"], info["final_state"], info["final_avail"])
            self._view, self._fresh = self._numpy(final), True
        else:
            self._view = self._numpy(self.sim.observe())
        outcome = {k: info[k][0] for k in ("battle_won", "dead_allies", "dead_enemies")}
        return float(reward[0]), self.ended, {**outcome, "timed_out": info["episode_limit"][0]}

    def _checked(self, actions) -> np.ndarray:
        chosen = np.asarray(actions)
        n_agents, n_actions = self.info.n_agents, self.info.n_actions
        if chosen.shape != (n_agents,) or not np.issubdtype(chosen.dtype, np.integer):
            raise ValueError(f"actions must be {n_agents} integers, one per agent; got {actions!r}")
        for agent, action in enumerate(chosen.tolist()):
            if not (0 <= action < n_actions and self.avail[agent, action]):
                allowed = np.flatnonzero(self.avail[agent]).tolist()
                raise ValueError(f"agent {agent} cannot perform action {action}; available: {allowed}")
        return chosen

    @staticmethod
    def _numpy(view: Observation) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return (view.obs[0].numpy().copy(), view.state[0].numpy().copy(), view.avail[0].numpy().astype(np.int64))
