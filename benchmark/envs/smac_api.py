"""SMAC's `StarCraft2Env` interface over the built-in simulator, for pymarl, pymarl2 and epymarl.

Replace `from smac.env import StarCraft2Env` with `from benchmark.envs.smac_api import StarCraft2Env` and the
same code trains on the simulator. The constructor takes SMAC's keyword settings under SMAC's names and
defaults. The simulator reproduces SMAC's default observation, state and reward, so a setting that would
change them is refused when given a non-default value (one line, UserError) rather than silently ignored;
settings that only concern rendering, replays, logging or the game binary are accepted and ignored.

Outputs have SMAC's types: `get_obs()` a list of float32 arrays, `get_state()` a float32 array,
`get_avail_actions()` a list of lists of 0/1 ints, `step()` a float reward, a bool and SMAC's info dict
(`episode_limit` present only for a time-out under `continuing_episode`, as SMAC sets it). SMAC asserts on
an unavailable action; here it is a ValueError naming the agent, the action and what was available.
"""

from __future__ import annotations

import secrets

from benchmark.envs.one_battle import OneBattle
from benchmark.errors import UserError

# SMAC's defaults for what the simulator plays one way only (StarCraft2Env.__init__ in smac/env/starcraft2).
_FIXED = {
    "step_mul": 8, "move_amount": 2, "difficulty": "7", "obs_all_health": True, "obs_last_action": False,
    "obs_pathing_grid": False, "obs_terrain_height": False, "obs_instead_of_state": False,
    "obs_timestep_number": False, "state_last_action": True, "state_timestep_number": False,
    "reward_sparse": False, "reward_only_positive": True, "reward_death_value": 10, "reward_win": 200,
    "reward_defeat": 0, "reward_negative_scale": 0.5, "reward_scale": True, "reward_scale_rate": 20,
    "heuristic_ai": False,
}


def _refuse_unsupported(settings: dict) -> None:
    # step_mul None means the map's own, 8 on every SMAC map. obs_own_health is not checked: SMAC ignores it
    # while obs_all_health is on, and obs_all_health off is refused.
    if settings["step_mul"] is None:
        settings = {**settings, "step_mul": 8}
    wrong = [f"{k}={v!r} (only {_FIXED[k]!r})" for k, v in settings.items() if v != _FIXED[k]]
    if wrong:
        raise UserError(f"the built-in simulator cannot honour {', '.join(wrong)}")


class StarCraft2Env:
    """One SMAC battle on the built-in simulator, with SMAC's interface.

    `seed=None` draws a seed from the OS (SMAC leaves it to the game); `seed()` returns the one in use, so a
    run can be replayed. The battles are those of `SimEnv(map_name, 1, seed)` in order.
    """

    def __init__(self, map_name="8m", step_mul=8, move_amount=2, difficulty="7", game_version=None, seed=None,
                 continuing_episode=False, obs_all_health=True, obs_own_health=True, obs_last_action=False,
                 obs_pathing_grid=False, obs_terrain_height=False, obs_instead_of_state=False,
                 obs_timestep_number=False, state_last_action=True, state_timestep_number=False,
                 reward_sparse=False, reward_only_positive=True, reward_death_value=10, reward_win=200,
                 reward_defeat=0, reward_negative_scale=0.5, reward_scale=True, reward_scale_rate=20,
                 replay_dir="", replay_prefix="", window_size_x=1920, window_size_y=1200, heuristic_ai=False,
                 heuristic_rest=False, debug=False):
        # game_version, replays, window sizes, debug logging and heuristic_rest (which SMAC ignores without
        # heuristic_ai) change nothing the simulator computes: accepted and ignored
        _refuse_unsupported({k: v for k, v in locals().items() if k in _FIXED})
        self._seed = secrets.randbits(32) if seed is None else int(seed)
        self._battle = OneBattle(map_name, self._seed)
        info = self._battle.info
        self.map_name = map_name
        self.n_agents, self.n_enemies = info.n_agents, info.n_enemies
        self.n_actions, self.episode_limit = info.n_actions, info.episode_limit
        self.continuing_episode = bool(continuing_episode)
        self.battles_won = self.battles_game = self.timeouts = 0

    def reset(self):
        """Start the next episode; its observations and state."""
        self._battle.reset()
        return self.get_obs(), self.get_state()

    def step(self, actions):
        """Play one step; reward, terminated, info (SMAC's keys)."""
        reward, terminated, sim_info = self._battle.step(actions)
        info = {"battle_won": bool(sim_info["battle_won"]), "dead_allies": int(sim_info["dead_allies"]),
                "dead_enemies": int(sim_info["dead_enemies"])}
        timed_out = bool(sim_info["timed_out"])
        if timed_out and self.continuing_episode:
            info["episode_limit"] = True
        if terminated:
            self.battles_game += 1
            self.battles_won += info["battle_won"]
            self.timeouts += timed_out
        return reward, terminated, info

    def get_obs(self):
        return list(self._battle.obs.copy())

    def get_obs_agent(self, agent_id):
        return self._battle.obs[agent_id].copy()

    def get_state(self):
        return self._battle.state.copy()

    def get_avail_agent_actions(self, agent_id):
        return self._battle.avail[agent_id].tolist()

    def get_avail_actions(self):
        return self._battle.avail.tolist()

    def get_obs_size(self):
        return self._battle.info.obs_shape

    def get_state_size(self):
        return self._battle.info.state_shape

    def get_total_actions(self):
        return self.n_actions

    def get_env_info(self):
        spec = self._battle.spec
        types = [f"type_{bit}" for bit in range(spec.unit_type_bits)]
        return {**self._battle.info.as_smac_dict(),
                "agent_features": ["health", "energy/cooldown", "rel_x", "rel_y"]
                + ["shield"] * spec.shield_bits_ally + types,
                "enemy_features": ["health", "rel_x", "rel_y"] + ["shield"] * spec.shield_bits_enemy + types}

    def get_stats(self):
        """SMAC's counters, which pymarl's parallel runner reads."""
        return {"battles_won": self.battles_won, "battles_game": self.battles_game,
                "battles_draw": self.timeouts, "win_rate": self.battles_won / max(self.battles_game, 1),
                "timeouts": self.timeouts, "restarts": 0}

    def seed(self):
        return self._seed

    def save_replay(self):
        """A no-op: the simulator has no StarCraft II replay to write."""

    def close(self):
        """Nothing to release: the simulator holds no process or device."""
