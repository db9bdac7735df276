"""Collects whole episodes from B environments at once (pymarl's parallel runner, batched in torch)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from benchmark.envs.base import BatchedEnv, EpisodeInterrupted
from benchmark.errors import UserError
from benchmark.qmix.buffer import EpisodeBatch
from benchmark.qmix.controller import AgentController, epsilon_greedy
from benchmark.streams import RunGenerators

# An observation perturbation seen by the agents only: (obs, prev_actions, hidden, avail) -> obs'.
Perturb = Callable[[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]
# Batches collected again after a game was lost mid-episode; a game that keeps dying is stopped by the
# backend itself (sc2_pool), this only bounds games that die now and then but never finish a batch.
MAX_INTERRUPTED_BATCHES = 3


@dataclass(frozen=True)
class EpisodeStats:
    """Per-episode outcomes of one collected batch, each a [B] tensor on the CPU."""

    returns: torch.Tensor
    won: torch.Tensor
    lengths: torch.Tensor
    dead_allies: torch.Tensor
    dead_enemies: torch.Tensor

    @property
    def env_steps(self) -> int:
        return int(self.lengths.sum())


class EpisodeRunner:
    """Runs one episode in each of the env's B environments, from a fresh reset, until all have ended.

    Environments that end early reset themselves and keep stepping, but nothing they do is recorded or
    counted, so an episode batch means the same as pymarl's. A batch interrupted by a lost game is
    collected again from a fresh reset, so an interrupted episode is never recorded (the sc2 backend).

    With a run group's controller the env holds the K runs' environments one after another; each run
    draws its exploration from its own generator, and only while one of its episodes is still going.
    """

    def __init__(self, env: BatchedEnv, mac: AgentController, generators: RunGenerators) -> None:
        self.env, self.mac, self.generators = env, mac, generators

    def run(
        self, epsilon: float | list[float], perturb: Perturb | None = None, runs: list[bool] | None = None
    ) -> tuple[EpisodeBatch, EpisodeStats]:
        """One batch; `epsilon` per run (or one for all); `runs`: the runs that collect (default all): the
        others' environments step along unrecorded, and draw nothing."""
        for _ in range(MAX_INTERRUPTED_BATCHES):
            try:
                return self._collect(epsilon, perturb, runs)
            except EpisodeInterrupted as err:
                lost = err
            finally:
                self.generators.live.runs = None
        raise UserError(f"{MAX_INTERRUPTED_BATCHES} episode batches in a row were interrupted, last: {lost}")

    @torch.no_grad()
    def _collect(
        self, epsilon: float | list[float], perturb: Perturb | None, runs: list[bool] | None
    ) -> tuple[EpisodeBatch, EpisodeStats]:
        env, info, k = self.env, self.env.info, self.mac.runs
        batch = EpisodeBatch.empty(info, env.batch_size, env.device, seen=perturb is not None)
        current = env.reset()
        hidden = self.mac.initial_hidden(env.batch_size)
        prev = torch.full((env.batch_size, info.n_agents), -1, dtype=torch.long, device=env.device)
        collecting = torch.ones(k, dtype=torch.bool) if runs is None else torch.tensor(runs)
        active = collecting.to(env.device).repeat_interleave(env.batch_size // k)
        outcome = {key: torch.zeros(env.batch_size, device=env.device) for key in ("won", "allies", "enemies")}
        _record_obs(batch, 0, current, active)
        for t in range(info.episode_limit):
            self.generators.live.runs = active.view(k, -1).any(1).cpu() if k > 1 else None
            seen = current.obs if perturb is None else perturb(current.obs, prev, hidden, current.avail)
            if batch.seen_obs is not None:
                batch.seen_obs[:, t] = seen * active.view(-1, 1, 1)
            q, hidden = self.mac.step_q(seen, prev, hidden)
            actions = epsilon_greedy(q, current.avail, epsilon, self.generators)
            reward, terminated, step_info = env.step(actions)
            mask = active.float()
            batch.actions[:, t] = actions * active.unsqueeze(-1)
            batch.reward[:, t] = reward * mask
            batch.terminated[:, t] = (terminated & ~step_info["episode_limit"].bool()).float() * mask
            batch.filled[:, t] = mask
            ending = active & terminated
            for key, name in (("won", "battle_won"), ("allies", "dead_allies"), ("enemies", "dead_enemies")):
                outcome[key] = torch.where(ending, step_info[name].float(), outcome[key])
            final = (step_info["final_obs"], step_info["final_state"], step_info["final_avail"])
            _record_obs(batch, t + 1, final, active)
            active = active & ~terminated
            if not active.any():
                break
            prev = actions
            current = env.observe()
        stats = EpisodeStats(
            returns=batch.reward.sum(dim=1).cpu(),
            won=outcome["won"].cpu(),
            lengths=batch.filled.sum(dim=1).cpu(),
            dead_allies=outcome["allies"].cpu(),
            dead_enemies=outcome["enemies"].cpu(),
        )
        return batch, stats


def _record_obs(batch: EpisodeBatch, t: int, observation: tuple, active: torch.Tensor) -> None:
    obs, state, avail = observation
    batch.obs[:, t] = obs * active.view(-1, 1, 1)
    batch.state[:, t] = state * active.view(-1, 1)
    batch.avail[:, t] = avail & active.view(-1, 1, 1)
    if batch.seen_obs is not None:  # overwritten by the perturbed one if the agents act on this step
        batch.seen_obs[:, t] = batch.obs[:, t]
