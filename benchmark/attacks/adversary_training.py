"""Training a learned adversary with PPO against a frozen victim, in the adversary's own environments.

Rollouts reuse the project's EpisodeRunner: the adversary is just the runner's Perturb, recording what it
did, so the victim acts exactly as it does at evaluation (greedily, on the perturbed observations).
"""

from __future__ import annotations

import torch

from benchmark.attacks.adversary import Adversary, AdversaryPerturb
from benchmark.attacks.ball import VictimSelector
from benchmark.attacks.ppo import Rollout, gae, ppo_update
from benchmark.config import AdversaryConfig, RunConfig
from benchmark.envs import make_env
from benchmark.envs.base import BatchedEnv
from benchmark.qmix.buffer import EpisodeBatch
from benchmark.qmix.controller import AgentController
from benchmark.runner import EpisodeRunner
from benchmark.streams import RunGenerators, run_seeds

CURVE_COLUMNS = ("iteration", "env_steps", "victim_win_rate", "adversary_return")


def adversary_seed(run: RunConfig) -> int:
    """The seed of a victim run's adversary: its initial weights, its environments and its random streams
    (a stream of the run's own, so the battles it trains on differ from the run's training and tests)."""
    return run_seeds(run.train.seed)["adversary"]


def adversary_rewards(team_reward: torch.Tensor) -> torch.Tensor:
    """The adversary's reward: the negated team reward (a zero-sum game with the victim team)."""
    return -team_reward


def build_rollout(adversary: Adversary, batch: EpisodeBatch, recorder: AdversaryPerturb, cfg: AdversaryConfig) -> Rollout:
    """Turn a recorded episode batch into PPO samples.

    Actor samples are the (step, agent) pairs whose perturbation can matter: living agents (a dead agent can
    only no-op) that were attacked. All agents share the team advantage of their step (MAPPO).
    """
    steps = len(recorder.actions)
    actions = torch.stack(recorder.actions, dim=1)  # [B, T, A, out]
    log_probs = torch.stack(recorder.log_probs, dim=1)  # [B, T, A]
    attacked = torch.stack(recorder.victim_masks, dim=1)
    filled, terminated = batch.filled[:, :steps], batch.terminated[:, :steps]
    states = batch.state[:, : steps + 1]
    with torch.no_grad():
        values = adversary.critic(states).squeeze(-1)
    advantages = gae(adversary_rewards(batch.reward[:, :steps]), values, terminated, filled, cfg.gamma, cfg.gae_lambda)
    returns = advantages + values[:, :steps]
    living = ~batch.avail[:, :steps, :, 0] & filled.bool().unsqueeze(-1) & attacked
    step_mask = filled.bool()
    return Rollout(
        actor_inputs=adversary.actor_inputs(batch.obs[:, :steps])[living],
        actions=actions[living],
        log_probs=log_probs[living],
        advantages=advantages.unsqueeze(-1).expand_as(living)[living],
        states=states[:, :steps][step_mask],
        returns=returns[step_mask],
    )


class AdversaryTrainer:
    """PPO iterations of one adversary against a frozen victim; its whole state can be checkpointed."""

    def __init__(
        self,
        adversary: Adversary,
        mac: AgentController,
        env: BatchedEnv,
        cfg: AdversaryConfig,
        victims: int,
        clip: bool,
        actor_steps: int,
        seed: int,
    ) -> None:
        self.adversary, self.mac, self.env, self.cfg = adversary, mac, env, cfg
        self.clip, self.actor_steps = clip, actor_steps
        self.reset_optimizer()
        seeds = run_seeds(seed)
        self.runner = EpisodeRunner(env, mac, RunGenerators.single(seeds["action"], env.device))
        self.generator = RunGenerators.single(seeds["method"], env.device)
        self.victims = VictimSelector(victims, env.info.n_agents, self.generator)
        self.env_steps = 0
        self.iterations = 0
        # Per PPO iteration: env steps so far, victim win rate, adversary return (how long training took to
        # plateau is read off it; CURVE_COLUMNS).
        self.curve: list[tuple[int, float, float]] = []

    def reset_optimizer(self) -> None:
        self.optimizer = torch.optim.Adam(self.adversary.parameters(), lr=self.cfg.lr)

    @classmethod
    def for_run(
        cls,
        adversary: Adversary,
        mac: AgentController,
        run: RunConfig,
        cfg: AdversaryConfig,
        victims: int,
        clip: bool,
        actor_steps: int,
    ) -> AdversaryTrainer:
        """A trainer against a victim run's agents, in environments of its own on the run's map and backend."""
        seed = adversary_seed(run)
        env = make_env(run.env.backend, run.env.map, cfg.rollout_envs, seed, mac.device)
        return cls(adversary, mac, env, cfg, victims, clip, actor_steps, seed)

    def iteration(self, eps: float) -> dict[str, float]:
        """One rollout of cfg.rollout_envs episodes, then one PPO update; returns scalars to log."""
        recorder = AdversaryPerturb(
            self.adversary, self.mac, eps, self.victims, self.clip, self.actor_steps, self.generator,
            sample=True, record=True,
        )
        batch, stats = self.runner.run(epsilon=0.0, perturb=recorder)
        rollout = build_rollout(self.adversary, batch, recorder, self.cfg)
        out = ppo_update(self.adversary.actor, self.adversary.critic, self.optimizer, rollout, self.cfg)
        self.env_steps += stats.env_steps
        self.iterations += 1
        out.update(victim_win_rate=float(stats.won.mean()), adversary_return=float(adversary_rewards(stats.returns).mean()))
        self.curve.append((self.env_steps, out["victim_win_rate"], out["adversary_return"]))
        return out

    def curve_rows(self) -> list[dict]:
        return [dict(zip(CURVE_COLUMNS, (i + 1, *point), strict=True)) for i, point in enumerate(self.curve)]

    def state_dict(self) -> dict:
        return {
            "adversary": self.adversary.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "generator": self.generator.get_state(0),
            "runner": self.runner.generators.get_state(0),
            "env": self.env.rng_state(),
            "env_steps": self.env_steps,
            "iterations": self.iterations,
            "curve": list(self.curve),
        }

    def load_state_dict(self, state: dict) -> None:
        self.adversary.load_state_dict(state["adversary"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.generator.set_state(0, state["generator"])
        self.runner.generators.set_state(0, state["runner"])
        self.env.set_rng_state(state["env"])
        self.env_steps, self.iterations = int(state["env_steps"]), int(state["iterations"])
        self.curve = [tuple(point) for point in state.get("curve", [])]  # adversaries saved before 2026-12-02 have none
