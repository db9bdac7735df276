"""atla and paad: QMIX trained against a learned adversary, alternating the two learners (ATLA, Zhang et
al. ICLR 2021; with PA-AD's adversary, Sun et al. ICLR 2022, this is their PA-ATLA).

A cycle is method.adversary_iters PPO iterations of the adversary against the frozen current QMIX (in the
adversary's own environments; those env steps are not counted in the run's env_steps, but their time is in
its wall clock), then method.agent_iters QMIX iterations (one collected batch and one update each) under
the adversary's sampled perturbations. No cycle starts while the ramped eps is still 0: an adversary is
pointless before there is anything to perturb.

QMIX learns from the observations the adversary made its agents see, as ATLA's and PA-ATLA's victims do
(ATLA's collect_perturbed_states), with TD targets from the clean ones as adv_train's. They are stored at
collection rather than regenerated from the current adversary at update time: they are what the agents'
recorded actions were chosen on, and regenerating PA-AD's would cost a step-by-step PGD through the GRU
for every step of every sampled episode. Episodes collected before the ramp (or at a low eps) stay in the
buffer as they were seen, so the buffer mixes clean and attacked play as the training went.

In a run group every run has its own adversary, trainer and cycle; each run's adversary trains against a
copy of that run's current agents and perturbs that run's rows of the group batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch

from benchmark.attacks.adversary import AdversaryPerturb, new_adversary
from benchmark.attacks.adversary_training import AdversaryTrainer, adversary_seed
from benchmark.attacks.ball import VictimSelector
from benchmark.config import PGD_STEPS, AdversaryConfig, RunConfig, require
from benchmark.methods.perturbing import PerturbingConfig, PerturbingMethod
from benchmark.qmix.buffer import EpisodeBatch
from benchmark.qmix.learner import QLearner
from benchmark.records import ALTERNATION_COLUMNS, ALTERNATION_FILE, write_csv
from benchmark.runner import Perturb
from benchmark.streams import Live, seed_of


@dataclass(frozen=True)
class AtlaConfig(PerturbingConfig):
    # Alternate N adversary PPO iterations against frozen QMIX with M QMIX iterations under the adversary
    # (Zhang et al. ICLR 2021 alternate the two learners; equal shares keep the adversary's extra env steps
    # equal to QMIX's).
    name: str = "atla"
    adversary_iters: int = 10
    agent_iters: int = 10
    # Cycles between re-initialisations of the adversary (fresh weights and optimiser); 0: never, as ATLA.
    # A persistent adversary stops learning: trained 60k more env steps against the final agents of a 3m
    # ATLA run (ramp_end 0.5), it left them 0.46 of their wins at eps 0.1, where a fresh one left 0.008
    # (README, "Why ATLA fails here").
    adversary_reset: int = 0
    adversary: AdversaryConfig = field(default_factory=AdversaryConfig)  # the adversary's PPO

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("adversary_iters", "agent_iters"):
            require(getattr(self, name) >= 1, f"method.{name} must be >= 1, got {getattr(self, name)}")
        require(self.adversary_reset >= 0, f"method.adversary_reset must be >= 0, got {self.adversary_reset}")


@dataclass(frozen=True)
class PaadConfig(AtlaConfig):
    name: str = "paad"
    # 3, chosen by the validation study's sweep (3, 10) on FGSM at train eps 0.1 on 3m seed 0 and
    # confirmed on seeds 1 and 2: with ATLA's 10, the director and its PGD actor (nearly as strong as PGD)
    # overpower the agents as eps ramps up and clean play collapses (0.55 at the end, 0.97 at its peak)
    adversary_iters: int = 3
    attack_steps: int = PGD_STEPS  # PGD iterations of PA-AD's actor, which realises the director's direction

    def __post_init__(self) -> None:
        super().__post_init__()
        require(self.attack_steps >= 1, f"method.attack_steps must be >= 1, got {self.attack_steps}")


def actor_steps(m: AtlaConfig) -> int:
    """PGD iterations of the adversary's actor: PA-AD's; ATLA's adversary perturbs directly (none)."""
    return m.attack_steps if isinstance(m, PaadConfig) else 0


class RunAdversary:
    """One run's adversary, its PPO trainer (built on first use, so that a run whose eps stays 0 never
    starts the adversary's environments) and its place in the alternation."""

    def __init__(self, kind: str, cfg: RunConfig, learner: QLearner, run: int) -> None:
        self.cfg, self.learner, self.run, self.kind = cfg, learner, run, kind
        mac = learner.mac
        self.adversary = new_adversary(kind, mac.info, cfg.method.adversary, adversary_seed(cfg), mac.device)
        self._trainer: AdversaryTrainer | None = None
        self._pending: dict | None = None  # a checkpointed trainer state, loaded once its env exists
        self.agent_iters_left = 0
        self.cycles = 0  # cycles begun so far
        self.iteration_stats: list[dict[str, float]] = []  # PPO iterations' statistics not yet logged
        self.history: list[dict] = []  # every PPO iteration so far, for RUN/alternation.csv

    @property
    def trainer(self) -> AdversaryTrainer:
        if self._trainer is None:
            m = self.cfg.method
            self._trainer = AdversaryTrainer.for_run(
                self.adversary, self.victim(), self.cfg, m.adversary, m.victims, m.clip_obs, actor_steps(m)
            )
            if self._pending is not None:
                self._trainer.load_state_dict(self._pending)
                self._pending = None
        return self._trainer

    def victim(self):
        return self.learner.mac.view([self.run])

    def before_batch(self, eps: float, agent_env_steps: int) -> None:
        """Start a cycle with the adversary's PPO iterations when the previous one has run out."""
        if self.agent_iters_left == 0:
            trainer = self.trainer
            trainer.mac = trainer.runner.mac = self.victim()  # frozen at the agents as they are now
            reset = self.cfg.method.adversary_reset
            if reset and self.cycles and self.cycles % reset == 0:
                self._reinitialise(trainer)
            self.cycles += 1
            for _ in range(self.cfg.method.adversary_iters):
                stats = trainer.iteration(eps)
                self.iteration_stats.append(stats)
                self.history.append({
                    "cycle": self.cycles, "agent_env_steps": agent_env_steps, "eps": round(eps, 6),
                    "adversary_env_steps": trainer.env_steps, "victim_win_rate": stats["victim_win_rate"],
                    "adversary_return": stats["adversary_return"],
                })  # fmt: skip
            self.agent_iters_left = self.cfg.method.agent_iters
        self.agent_iters_left -= 1

    def _reinitialise(self, trainer: AdversaryTrainer) -> None:
        """Fresh weights (a seed of their own for each restart) and a fresh optimiser, in place: the
        trainer and the perturbation both hold this adversary."""
        restart = self.cycles // self.cfg.method.adversary_reset
        seed = seed_of(np.random.SeedSequence([adversary_seed(self.cfg), restart]))
        fresh = new_adversary(self.kind, self.learner.mac.info, self.cfg.method.adversary, seed, self.learner.mac.device)
        self.adversary.load_state_dict(fresh.state_dict())
        trainer.reset_optimizer()

    def state_dict(self) -> dict:
        trainer = self._trainer.state_dict() if self._trainer is not None else self._pending
        return {
            "adversary": self.adversary.state_dict(), "trainer": trainer, "agent_iters_left": self.agent_iters_left,
            "history": list(self.history),
        }  # fmt: skip

    def load_state_dict(self, state: dict) -> None:
        self.adversary.load_state_dict(state["adversary"])
        self.agent_iters_left = int(state["agent_iters_left"])
        # a resume state written before the history was kept has none: the file starts at this resumption
        self.history = list(state.get("history", []))
        self.cycles = self.history[-1]["cycle"] if self.history else 0  # every cycle's iterations run at once
        if state["trainer"] is not None:
            if self._trainer is not None:
                self._trainer.load_state_dict(state["trainer"])
            else:
                self._pending = state["trainer"]


class Alternating(PerturbingMethod):
    kind: ClassVar[str]
    learns_from_seen_obs = True

    def __init__(self, cfgs: Sequence[RunConfig], learner: QLearner, live: Live | None = None) -> None:
        super().__init__(cfgs, learner, live)
        self.adversaries = [RunAdversary(self.kind, c, learner, k) for k, c in enumerate(self.cfgs)]

    def collect_perturb(self, env_steps: Sequence[int], runs: Sequence[bool]) -> Perturb | None:
        eps = self.eps_at(env_steps)
        if not self._attacking(eps, runs):
            return None
        m = self.cfg.method
        parts = {}
        for k, run in enumerate(self.adversaries):
            if bool(self.generator.enabled[k]):
                run.before_batch(float(eps[k]), int(env_steps[k]))
                generator = self.generator.subset([k])
                victims = VictimSelector(m.victims, self.learner.mac.info.n_agents, generator)
                parts[k] = AdversaryPerturb(
                    run.adversary, run.victim(), float(eps[k]), victims, m.clip_obs, actor_steps(m), generator, sample=True
                )
        return _by_run(parts, len(self.adversaries), self.generator.live)

    def update(self, batch: EpisodeBatch, env_steps: Sequence[int], runs: torch.Tensor) -> dict[str, torch.Tensor]:
        return {**super().update(batch, env_steps, runs), "eps": self.eps_at(env_steps)}

    def take_scalars(self, run: int) -> dict[str, list[float]]:
        stats, self.adversaries[run].iteration_stats = self.adversaries[run].iteration_stats, []
        return {f"adversary/{key}": [s[key] for s in stats] for key in stats[0]} if stats else {}

    def run_state_dict(self, run: int) -> dict:
        return {**super().run_state_dict(run), **self.adversaries[run].state_dict()}

    def write_records(self, run: int, run_dir: Path) -> None:
        write_csv(run_dir / ALTERNATION_FILE, self.adversaries[run].history, ALTERNATION_COLUMNS)

    def load_run_state_dict(self, run: int, state: dict) -> None:
        super().load_run_state_dict(run, state)
        self.adversaries[run].load_state_dict(state)


def _by_run(parts: dict[int, Perturb], runs: int, live: Live) -> Perturb:
    """One Perturb for a group batch from per-run ones: run k's perturbs its own rows while one of its
    episodes is going (it draws nothing after, as alone); the others see clean observations."""

    def perturb(obs: torch.Tensor, prev: torch.Tensor, hidden: torch.Tensor, avail: torch.Tensor) -> torch.Tensor:
        if runs == 1:
            return parts[0](obs, prev, hidden, avail)
        out, rows = obs.clone(), obs.shape[0] // runs
        for k, part in parts.items():
            if live.runs is not None and not bool(live.runs[k]):
                continue
            part_rows = slice(k * rows, (k + 1) * rows)
            out[part_rows] = part(obs[part_rows], prev[part_rows], hidden[k : k + 1], avail[part_rows])
        return out

    return perturb


class Atla(Alternating):
    """ATLA: QMIX alternating with a PPO adversary that perturbs observations directly (Zhang et al. 2021)."""

    kind = "atla"
    config = AtlaConfig


class PaAtla(Alternating):
    """PA-ATLA: QMIX alternating with PA-AD's director + PGD actor adversary (Sun et al. 2022)."""

    kind = "paad"
    config = PaadConfig
