"""QMIX's TD learner: double Q, TD(lambda) targets, target networks, Adam and gradient clipping."""

from __future__ import annotations

import copy

import torch

from benchmark.config import QMixConfig
from benchmark.qmix.buffer import EpisodeBatch
from benchmark.qmix.controller import AgentController, greedy_actions
from benchmark.qmix.mixer import QMixer


def td_lambda_targets(
    rewards: torch.Tensor,
    terminated: torch.Tensor,
    filled: torch.Tensor,
    target_q: torch.Tensor,
    gamma: float,
    lam: float,
) -> torch.Tensor:
    """lambda-returns G_t = r_t + gamma * ((1 - lam) Q'(s_{t+1}) + lam G_{t+1}), cut at termination.

    rewards, terminated, filled: [B, T]; target_q: [B, T+1] -> [B, T]. Only an episode that was not
    terminated (a time-out) bootstraps from its final state; padded steps contribute nothing.
    """
    steps = rewards.shape[1]
    ret = target_q[:, steps] * (1 - terminated.sum(dim=1))
    out = []
    for t in reversed(range(steps)):
        one_step = rewards[:, t] + (1 - lam) * gamma * target_q[:, t + 1] * (1 - terminated[:, t])
        ret = lam * gamma * ret + filled[:, t] * one_step
        out.append(ret)
    return torch.stack(out[::-1], dim=1)


def previous_actions(actions: torch.Tensor) -> torch.Tensor:
    """[B, T, A] -> [B, T+1, A]: the action taken before each step (-1 before the first)."""
    none = torch.full_like(actions[:, :1], -1)
    return torch.cat([none, actions], dim=1)


class QLearner:
    def __init__(self, mac: AgentController, state_dim: int, cfg: QMixConfig) -> None:
        self.mac, self.cfg = mac, cfg
        info = mac.info
        self.mixer = QMixer(info.n_agents, state_dim, cfg.mixing_embed_dim, cfg.hypernet_embed).to(mac.device)
        self.target_agent = copy.deepcopy(mac.agent)
        self.target_mixer = copy.deepcopy(self.mixer)
        self.params = [*mac.agent.parameters(), *self.mixer.parameters()]
        self.optimizer = torch.optim.Adam(self.params, lr=cfg.lr)
        self.episodes_at_target_update = 0

    def td_loss(self, batch: EpisodeBatch, obs: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Masked mean squared TD error, and the online agents' Q-values [B, T+1, A, n_actions].

        `obs` replaces the batch's observations as the online agents' input (a training method's perturbed
        copy); targets always come from the recorded observations, double Q's action choice included.
        """
        prev = previous_actions(batch.actions)
        q = self.mac.sequence_q(batch.obs if obs is None else obs, prev)
        chosen = q[:, :-1].gather(-1, batch.actions.unsqueeze(-1)).squeeze(-1)
        q_tot = self.mixer(chosen, batch.state[:, :-1]).squeeze(-1)
        with torch.no_grad():
            clean_q = q if obs is None or not self.cfg.double_q else self.mac.sequence_q(batch.obs, prev)
            targets = self._targets(batch, clean_q, prev)
        mask = batch.filled
        loss = ((q_tot - targets) * mask).pow(2).sum() / mask.sum().clamp(min=1)
        return loss, q

    def _targets(self, batch: EpisodeBatch, q: torch.Tensor, prev: torch.Tensor) -> torch.Tensor:
        """TD(lambda) targets; `q` is the online agents' Q on the recorded observations (double Q picks with it)."""
        target_q = self.mac.sequence_q(batch.obs, prev, agent=self.target_agent)
        source = q.detach() if self.cfg.double_q else target_q
        best = greedy_actions(source, batch.avail).unsqueeze(-1)
        target_max = target_q.gather(-1, best).squeeze(-1)
        target_tot = self.target_mixer(target_max, batch.state).squeeze(-1)
        return td_lambda_targets(
            batch.reward, batch.terminated, batch.filled, target_tot, self.cfg.gamma, self.cfg.td_lambda
        )

    def apply(self, loss: torch.Tensor) -> float:
        """One optimiser step on `loss`; returns the gradient norm before clipping."""
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(self.params, self.cfg.grad_norm_clip)
        self.optimizer.step()
        return float(norm)

    def maybe_update_targets(self, episodes: int) -> None:
        if episodes - self.episodes_at_target_update >= self.cfg.target_update_interval:
            self.target_agent.load_state_dict(self.mac.agent.state_dict())
            self.target_mixer.load_state_dict(self.mixer.state_dict())
            self.episodes_at_target_update = episodes

    def state_dict(self) -> dict:
        return {
            "agent": self.mac.agent.state_dict(),
            "mixer": self.mixer.state_dict(),
            "target_agent": self.target_agent.state_dict(),
            "target_mixer": self.target_mixer.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "episodes_at_target_update": self.episodes_at_target_update,
        }

    def load_state_dict(self, state: dict) -> None:
        self.mac.agent.load_state_dict(state["agent"])
        self.mixer.load_state_dict(state["mixer"])
        self.target_agent.load_state_dict(state["target_agent"])
        self.target_mixer.load_state_dict(state["target_mixer"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.episodes_at_target_update = int(state["episodes_at_target_update"])
