"""A PettingZoo `ParallelEnv` over one battle of the built-in simulator (`pip install -e '.[pettingzoo]'`).

Each agent observes a Dict of "observation" (SMAC's float32 vector, a Box) and "action_mask" (int8 0/1 per
action), and acts in Discrete(n_actions) with SMAC's numbering (0 no-op, 1 stop, 2-5 moves, 6+ attacks), so a
network trained on the simulator or on SMAC reads and answers the same vectors. The mask is in the
observation rather than in `infos` because that is where PettingZoo's own tools look for it
(`pettingzoo.test` and gymnasium's `sample(mask=...)` draw only legal actions from it); SMAC's PettingZoo
wrapper does the same. No-op stays in the action space although only a dead unit may take it, and dead units
leave `agents`, so a living agent's mask never allows it.

An agent whose unit dies is terminated in that step and then removed. A won or lost battle terminates every
agent left; the episode limit truncates them (the battle was undecided, so a learner may bootstrap). The team
reward goes to every agent of the step; `infos` carry SMAC's battle_won, dead_allies and dead_enemies.
"""

from __future__ import annotations

import functools

import numpy as np
from gymnasium import spaces
from pettingzoo import ParallelEnv

from benchmark.envs.one_battle import OneBattle


class SimParallelEnv(ParallelEnv):
    metadata = {"name": "robust_qmix_sim_v0", "render_modes": []}

    def __init__(self, map_name: str = "3m", seed: int = 0) -> None:
        self._battle = OneBattle(map_name, seed)
        info = self._battle.info
        names = [unit.name for unit in self._battle.spec.ally_units]
        # SMAC's PettingZoo names: unit type and its index among the agents of that type
        self.possible_agents = [f"{name}_{names[:i].count(name)}" for i, name in enumerate(names)]
        self.agents: list[str] = []
        self._box = spaces.Box(-1.0, 1.0, (info.obs_shape,), np.float32)
        self._mask = spaces.Box(0, 1, (info.n_actions,), np.int8)
        self.state_space = spaces.Box(-1.0, 1.0, (info.state_shape,), np.float32)

    @functools.lru_cache(maxsize=None)
    def observation_space(self, agent: str) -> spaces.Dict:
        return spaces.Dict({"observation": self._box, "action_mask": self._mask})

    @functools.lru_cache(maxsize=None)
    def action_space(self, agent: str) -> spaces.Discrete:
        return spaces.Discrete(self._battle.info.n_actions)

    def reset(self, seed: int | None = None, options: dict | None = None):
        """The next battle, or with `seed` the first battle of `SimEnv(map, 1, seed)`."""
        if seed is not None:
            self._battle.reseed(seed)
        self._battle.reset()
        self.agents = self.possible_agents[:]
        return self._observations(), {agent: {} for agent in self.agents}

    def step(self, actions: dict[str, int]):
        # units dead before this step are out of `agents` and play SMAC's no-op, whatever they were given
        living = set(self.agents)
        missing = sorted(living - set(actions))
        if missing:
            raise ValueError(f"no action for living agents {missing}")
        chosen = [int(actions[a]) if a in living else 0 for a in self.possible_agents]
        reward, ended, outcome = self._battle.step(chosen)
        alive = self._battle.avail[:, 0] == 0
        timed_out = bool(outcome["timed_out"])
        team = {k: (bool(v) if k == "battle_won" else int(v)) for k, v in outcome.items() if k != "timed_out"}
        acting = self.agents
        observations = self._observations()
        terminations = {a: (ended and not timed_out) or not alive[self._index(a)] for a in acting}
        truncations = {a: timed_out and alive[self._index(a)] for a in acting}
        self.agents = [a for a in acting if not (terminations[a] or truncations[a])]
        return (observations, dict.fromkeys(acting, reward), terminations, truncations,
                {a: dict(team) for a in acting})

    def state(self) -> np.ndarray:
        return self._battle.state.copy()

    def _index(self, agent: str) -> int:
        return self.possible_agents.index(agent)

    def _observations(self) -> dict[str, dict[str, np.ndarray]]:
        obs, mask = self._battle.obs, self._battle.avail.astype(np.int8)
        return {a: {"observation": obs[self._index(a)].copy(), "action_mask": mask[self._index(a)]}
                for a in self.agents}
