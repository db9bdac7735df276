"""QMIX's TD learner for K runs at once: double Q, TD(lambda) targets, target networks, Adam and gradient
clipping, each run with its own loss, clip, optimiser state and target-network clock."""

from __future__ import annotations

import copy
from collections.abc import Sequence

import torch

from benchmark.config import QMixConfig
from benchmark.qmix.buffer import EpisodeBatch
from benchmark.qmix.controller import AgentController, greedy_actions
from benchmark.qmix.mixer import QMixer
from benchmark.qmix.optim import StackedAdam, clip_per_run
from benchmark.qmix.stacked import load_run_state, run_state
from benchmark.qmix.targets import td_lambda_targets

__all__ = ["QLearner", "previous_actions", "td_lambda_targets", "per_run_mean"]


def previous_actions(actions: torch.Tensor) -> torch.Tensor:
    """[B, T, A] -> [B, T+1, A]: the action taken before each step (-1 before the first)."""
    none = torch.full_like(actions[:, :1], -1)
    return torch.cat([none, actions], dim=1)


def per_run_mean(values: torch.Tensor, mask: torch.Tensor, runs: int) -> torch.Tensor:
    """Masked mean of [K*B, ...] values per run -> [K]."""
    total = (values * mask).reshape(runs, -1).sum(1)
    return total / mask.reshape(runs, -1).sum(1).clamp(min=1)


class QLearner:
    def __init__(self, mac: AgentController, state_dim: int, cfg: QMixConfig, seeds: Sequence[int] = (0,)) -> None:
        self.mac, self.cfg = mac, cfg
        info = mac.info
        self.mixer = QMixer(info.n_agents, state_dim, cfg.mixing_embed_dim, cfg.hypernet_embed, seeds).to(mac.device)
        self.target_agent = copy.deepcopy(mac.agent).requires_grad_(False)
        self.target_mixer = copy.deepcopy(self.mixer).requires_grad_(False)
        self.params = [*mac.agent.parameters(), *self.mixer.parameters()]
        self.optimizer = StackedAdam(self.params, lr=cfg.lr)
        self.episodes_at_target_update = [0] * mac.runs

    @property
    def runs(self) -> int:
        return self.mac.runs

    def td_loss(self, batch: EpisodeBatch, obs: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Masked mean squared TD error of each run [K], and the online agents' Q-values [K*B, T+1, A, n_actions].

        `obs` replaces the batch's observations as the online agents' input (a training method's perturbed
        copy); targets always come from the recorded observations, double Q's action choice included.
        """
        prev = previous_actions(batch.actions)
        with torch.no_grad():  # first, so that its activations are freed before the online pass keeps its own
            target_q = self.mac.sequence_q(batch.obs, prev, agent=self.target_agent)
        q = self.mac.sequence_q(batch.obs if obs is None else obs, prev)
        chosen = q[:, :-1].gather(-1, batch.actions.unsqueeze(-1)).squeeze(-1)
        q_tot = self.mixer(chosen, batch.state[:, :-1]).squeeze(-1)
        with torch.no_grad():
            clean_q = q if obs is None or not self.cfg.double_q else self.mac.sequence_q(batch.obs, prev)
            targets = self._targets(batch, clean_q, target_q)
        return per_run_mean((q_tot - targets).pow(2), batch.filled, self.runs), q

    def _targets(self, batch: EpisodeBatch, q: torch.Tensor, target_q: torch.Tensor) -> torch.Tensor:
        """TD(lambda) targets from the target agents' Q; `q` is the online agents' Q on the recorded
        observations (double Q picks with it)."""
        source = q.detach() if self.cfg.double_q else target_q
        best = greedy_actions(source, batch.avail).unsqueeze(-1)
        target_max = target_q.gather(-1, best).squeeze(-1)
        target_tot = self.target_mixer(target_max, batch.state).squeeze(-1)
        return td_lambda_targets(
            batch.reward, batch.terminated, batch.filled, target_tot, self.cfg.gamma, self.cfg.td_lambda
        )

    def apply(self, loss: torch.Tensor, runs: torch.Tensor | None = None) -> torch.Tensor:
        """One optimiser step on each run's `loss` [K] for the runs where `runs` [K] bool (CPU) is True (all by
        default); returns each run's gradient norm before clipping [K]. The runs' parameters are disjoint, so
        the gradient of the summed loss is each run's own."""
        runs = torch.ones(self.runs, dtype=torch.bool) if runs is None else runs
        self.optimizer.zero_grad()
        (loss * runs.to(loss.device, loss.dtype)).sum().backward()
        norms = clip_per_run(self.params, self.cfg.grad_norm_clip)
        self.optimizer.step(runs)
        return norms

    def maybe_update_targets(self, episodes: Sequence[int]) -> None:
        """Copy a run's online networks into its targets every target_update_interval of its episodes."""
        due = [e - last >= self.cfg.target_update_interval for e, last in zip(episodes, self.episodes_at_target_update, strict=True)]
        if not any(due):
            return
        keep = torch.tensor(due, device=self.mac.device)
        with torch.no_grad():
            for online, target in ((self.mac.agent, self.target_agent), (self.mixer, self.target_mixer)):
                for p, t in zip(online.parameters(), target.parameters(), strict=True):
                    t.copy_(torch.where(keep.view(-1, *[1] * (p.dim() - 1)), p, t))
        self.episodes_at_target_update = [e if d else last for e, d, last in zip(episodes, due, self.episodes_at_target_update, strict=True)]

    def run_state_dict(self, run: int) -> dict:
        return {
            "agent": self.mac.run_state(run),
            "mixer": run_state(self.mixer, run),
            "target_agent": run_state(self.target_agent, run),
            "target_mixer": run_state(self.target_mixer, run),
            "optimizer": self.optimizer.run_state(run),
            "episodes_at_target_update": self.episodes_at_target_update[run],
        }

    def load_run_state_dict(self, run: int, state: dict) -> None:
        self.mac.load_run_state(run, state["agent"])
        load_run_state(self.mixer, run, state["mixer"])
        load_run_state(self.target_agent, run, state["target_agent"])
        load_run_state(self.target_mixer, run, state["target_mixer"])
        self.optimizer.load_run_state(run, state["optimizer"])
        self.episodes_at_target_update[run] = int(state["episodes_at_target_update"])
