"""The built-in simulator backend: B SMAC battles stepped together in torch, on CPU or GPU.

It reproduces what an agent sees of SMAC (observation/state layouts and normalisation, action masks,
shaped reward, episode ends) on top of StarCraft II LotV unit data (units.py, mechanics.py), the map's
ground (terrain.py) and a battle model resolved per step (sim_dynamics.py). What it does not model is
listed in the README ("The built-in simulator").

Episode ends as SMAC's: a battle ends when one side has no unit left that can fight (a side with only
medivacs has lost), or at the episode limit. A time-out is terminal; it is flagged as `episode_limit` (a
time-out to bootstrap from) only with `continuing_episode`, as SMAC flags it.

Seeding (sim_rng.py): env i of a batch made with `seed` has its own seed and episode counter, so it can be
replayed alone with `SimEnv(map, 1, env_seeds=env.env_seeds[i:i+1])`. `reset()` moves every counter to the
start of its next block of EPISODE_BLOCK numbers, so the episodes a reset starts do not depend on how many
battles auto-restarted since the last one: an environment stepped a few ticks longer after its recorded
episode ended (a run group waits for its slowest run) draws the same next episodes as one stepped alone.
"""

from __future__ import annotations

import contextlib
import functools

import torch

from benchmark.config import EnvConfig
from benchmark.envs.base import BatchedEnv, Observation, StepResult
from benchmark.envs.maps import MAPS
from benchmark.envs.sim_dynamics import Battle, advance, start_battles
from benchmark.envs.sim_observe import observe
from benchmark.envs.sim_rng import derive_env_seeds
from benchmark.envs.sim_roster import build_roster
from benchmark.envs.terrain import Terrain, terrain

REWARD_DEATH = 10.0
REWARD_WIN = 200.0
REWARD_SCALE_RATE = 20.0
EPISODE_BLOCK = 1 << 20  # more auto-restarts than any episode limit allows between two resets

# The simulator never differentiates, so its ops may skip autograd's dispatch keys (and view tracking):
# about a fifth of a step's time at small batches. torch.inference_mode would too, but its tensors refuse
# requires_grad later, which the gradient attacks set on observations; these stay ordinary tensors.
_BELOW_AUTOGRAD = getattr(torch._C, "_AutoDispatchBelowADInplaceOrView", contextlib.nullcontext)


def _below_autograd(method):
    @functools.wraps(method)
    def wrapped(*args, **kwargs):
        with _BELOW_AUTOGRAD():
            return method(*args, **kwargs)
    return wrapped


class SimEnv(BatchedEnv):
    """B simulated SMAC battles of one map.

    An unavailable action for a living agent is played as stop (SMAC itself would assert); with
    `debug=True` it raises ValueError instead, which costs a device sync per step.
    """

    def __init__(self, map_name: str, batch_size: int, seed: int = 0, device: torch.device | str = "cpu", *,
                 env_seeds: torch.Tensor | None = None, debug: bool = False,
                 continuing_episode: bool = EnvConfig.continuing_episode, ground: Terrain | None = None) -> None:
        self.spec = MAPS.get(map_name)
        self.info = self.spec.info()
        self.device = torch.device(device)
        self.batch_size = batch_size
        self.debug = debug
        self.continuing_episode = continuing_episode
        self.roster = build_roster(self.spec, ground or terrain(map_name), self.device)
        seeds = derive_env_seeds(seed, batch_size, self.device) if env_seeds is None else env_seeds
        if seeds.shape != (batch_size,):
            raise ValueError(f"env_seeds must have shape ({batch_size},), got {tuple(seeds.shape)}")
        self.env_seeds = seeds.to(self.device, torch.long).clone()
        self.episodes = torch.zeros(batch_size, dtype=torch.long, device=self.device)
        enemy_pool = sum(u.health + u.shield for u in self.spec.enemy_units)
        max_reward = self.info.n_enemies * REWARD_DEATH + REWARD_WIN + enemy_pool
        self.reward_scale = REWARD_SCALE_RATE / max_reward
        self._win_reward = torch.tensor(REWARD_WIN, device=self.device)
        self._stop = torch.tensor(1, device=self.device)  # what an unavailable action is played as
        # flat offset of each (env, agent)'s row of the action mask
        self._avail_rows = torch.arange(batch_size * self.info.n_agents, device=self.device).view(batch_size, -1)
        self._avail_rows *= self.info.n_actions
        self._rows = torch.arange(batch_size, device=self.device)
        self.reset()

    # --- contract -------------------------------------------------------------------------------------
    @_below_autograd
    def reset(self) -> Observation:
        self.episodes = (self.episodes // EPISODE_BLOCK + 1) * EPISODE_BLOCK
        self.battle = start_battles(self.roster, self.env_seeds, self.episodes)
        self._current = observe(self.roster, self.battle)
        return self._current

    def observe(self) -> Observation:
        return self._current

    @_below_autograd
    def step(self, actions: torch.Tensor) -> StepResult:
        actions = self._checked(actions)
        b, n_a = self.battle, self.info.n_agents
        valid = self._current.avail.take(actions + self._avail_rows)
        enemy_before = (b.health + b.shield)[:, n_a:]
        enemy_alive_before = b.health[:, n_a:] > 0
        advance(self.roster, b, torch.where(valid, actions, self._stop))
        b.t += 1
        b.last_action = actions
        alive = b.health > 0
        reward, terminated, info = self._outcome(alive, enemy_before, enemy_alive_before)
        final, self._current = self._observe_restarting(terminated)
        info.update(final_obs=final.obs, final_state=final.state, final_avail=final.avail)
        return StepResult(reward, terminated, info)

    def rng_state(self) -> dict[str, torch.Tensor]:
        return {"env_seeds": self.env_seeds.clone(), "episodes": self.episodes.clone()}

    def set_rng_state(self, state: dict[str, torch.Tensor]) -> None:
        for key in ("env_seeds", "episodes"):
            value = state[key]
            if value.shape != (self.batch_size,):
                raise ValueError(f"rng state {key!r} has shape {tuple(value.shape)}, expected ({self.batch_size},)")
            getattr(self, key).copy_(value)

    # --- test hook ------------------------------------------------------------------------------------
    @_below_autograd
    def place(self, env_ids: list[int] | torch.Tensor | None = None, **values: torch.Tensor | float) -> None:
        """Overwrite parts of the battle state of some environments (all by default), for tests and demos.

        Keys are Battle fields (pos [k, N, 2], health, shield, energy, cooldown, since_hit [k, N],
        enemy_target, enemy_goal [k, 2], t, ...), slots agents first then enemies. Dead units lose their
        shields; observations are refreshed.
        """
        everyone = torch.arange(self.batch_size, device=self.device)
        idx = everyone if env_ids is None else torch.as_tensor(env_ids, device=self.device)
        for key, value in values.items():
            field = getattr(self.battle, key)
            field[idx] = torch.as_tensor(value, device=self.device).to(field.dtype)
        b = self.battle
        b.shield = torch.where(b.health > 0, b.shield, 0.0)
        self._current = observe(self.roster, b)

    # --- internals ------------------------------------------------------------------------------------
    def _checked(self, actions: torch.Tensor) -> torch.Tensor:
        actions = actions.to(self.device, torch.long)
        if actions.shape != (self.batch_size, self.info.n_agents):
            expected = (self.batch_size, self.info.n_agents)
            raise ValueError(f"actions must have shape {expected}, got {tuple(actions.shape)}")
        clamped = actions.clamp(0, self.info.n_actions - 1)
        if self.debug:
            in_range = (actions >= 0) & (actions < self.info.n_actions)
            ok = in_range & self._current.avail.gather(2, clamped.unsqueeze(-1)).squeeze(-1)
            if not bool(ok.all()):
                bad = (~ok).nonzero()[:5].tolist()
                raise ValueError(f"unavailable actions at (env, agent) {bad}: {[int(actions[e, a]) for e, a in bad]}")
        return clamped

    def _outcome(self, alive: torch.Tensor, enemy_before: torch.Tensor,
                 enemy_alive_before: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]:
        """SMAC's reward_battle with reward_only_positive, the win bonus, the scaling, and the episode end."""
        b, n_a = self.battle, self.info.n_agents
        zero = self.roster.zero
        alive_e = alive[:, n_a:]
        now = torch.where(alive_e, (b.health + b.shield)[:, n_a:], zero)
        killed = enemy_alive_before & ~alive_e
        delta = torch.where(enemy_alive_before, enemy_before - now, zero).sum(1) + REWARD_DEATH * killed.sum(1)
        fighting = alive & self.roster.fighter
        allies_left, enemies_left = fighting[:, :n_a].any(1), fighting[:, n_a:].any(1)
        won = allies_left & ~enemies_left
        fighting_on = allies_left & enemies_left
        ended = ~fighting_on
        timed_out = fighting_on & (b.t >= self.info.episode_limit)
        reward = (delta.abs() + torch.where(won, self._win_reward, zero)) * self.reward_scale
        info = {
            "battle_won": won,
            "dead_allies": (~alive[:, :n_a]).sum(1).float(),
            "dead_enemies": (~alive_e).sum(1).float(),
            "episode_limit": timed_out & self.continuing_episode,
        }
        return reward, ended | timed_out, info

    def _observe_restarting(self, terminated: torch.Tensor) -> tuple[Observation, Observation]:
        """(the observation at the end of the step, the current one): the finished battles restarted and
        observed in their fresh state. One observe() covers the B battles and the k fresh ones side by side,
        since at small batches its ops, not its rows, are what costs; every feature is computed row by row,
        so each row is the same as if observed alone."""
        idx = terminated.nonzero().squeeze(1)
        if idx.numel() == 0:
            final = observe(self.roster, self.battle)
            return final, final
        self.episodes += terminated
        fresh = start_battles(self.roster, self.env_seeds[idx], self.episodes[idx])
        both = observe(self.roster, self.battle.stacked(fresh))
        self.battle.assign(idx, fresh)
        # row of `both` that each environment's current observation comes from: its own, or its fresh one
        rows = self._rows.index_put((idx,), self._rows[:idx.numel()] + self.batch_size)
        final = Observation(*(part[:self.batch_size] for part in both))
        return final, Observation(*(part.index_select(0, rows) for part in both))


def make(map_name: str, batch_size: int, seed: int, device: torch.device,
         continuing_episode: bool = EnvConfig.continuing_episode) -> SimEnv:
    return SimEnv(map_name, batch_size, seed, device, continuing_episode=continuing_episode)


__all__ = ["Battle", "SimEnv", "make"]
