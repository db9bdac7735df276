"""Typed, frozen run configuration: the one source of defaults.

Defaults of `QMixConfig` are pymarl2's QMIX settings for SMAC (config/algs/qmix.yaml and default.yaml of
hijkzzz/pymarl2). A run is described by a nested mapping (YAML) that `RunConfig.from_dict` turns into these
dataclasses, refusing unknown keys and ill-typed values with a one-line UserError.
"""

from __future__ import annotations

import dataclasses
import math
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from benchmark.errors import UserError


def _require(ok: bool, message: str) -> None:
    if not ok:
        raise UserError(message)


@dataclass(frozen=True)
class EnvConfig:
    backend: str = "sim"
    map: str = "3m"
    batch_envs: int = 8  # environments stepped together while training (pymarl2 batch_size_run)
    # SMAC's default (False): a time-out is stored as a terminal step, as pymarl does with SMAC's shipped
    # settings; True flags it as `episode_limit`, so that the learner bootstraps from its last state.
    continuing_episode: bool = False

    def __post_init__(self) -> None:
        _require(self.batch_envs >= 1, f"env.batch_envs must be >= 1, got {self.batch_envs}")


@dataclass(frozen=True)
class QMixConfig:
    rnn_hidden_dim: int = 64
    mixing_embed_dim: int = 32
    hypernet_embed: int = 64
    obs_agent_id: bool = True
    obs_last_action: bool = True
    gamma: float = 0.99
    lr: float = 0.001
    td_lambda: float = 0.6
    double_q: bool = True
    grad_norm_clip: float = 10.0
    batch_size: int = 128  # episodes per update
    buffer_size: int = 5000  # episodes
    target_update_interval: int = 200  # episodes between target-network copies
    epsilon_start: float = 1.0
    epsilon_finish: float = 0.05
    epsilon_anneal_time: int = 100_000  # env steps
    # How the replay buffer stores observations and states (benchmark/qmix/buffer.py): float16 halves the
    # memory of a run group; float32 stores them exactly.
    buffer_dtype: str = "float16"

    def __post_init__(self) -> None:
        _require(math.isfinite(self.lr) and self.lr >= 0, f"qmix.lr must be a finite number >= 0, got {self.lr}")
        _require(
            math.isfinite(self.grad_norm_clip) and self.grad_norm_clip > 0,
            f"qmix.grad_norm_clip must be a finite number > 0, got {self.grad_norm_clip}",
        )
        for name in ("rnn_hidden_dim", "mixing_embed_dim", "hypernet_embed", "target_update_interval"):
            _require(getattr(self, name) >= 1, f"qmix.{name} must be >= 1, got {getattr(self, name)}")
        _require(self.epsilon_anneal_time >= 0, f"qmix.epsilon_anneal_time must be >= 0, got {self.epsilon_anneal_time}")
        _require(0 <= self.gamma <= 1, f"qmix.gamma must be in [0, 1], got {self.gamma}")
        _require(0 <= self.td_lambda <= 1, f"qmix.td_lambda must be in [0, 1], got {self.td_lambda}")
        _require(self.batch_size >= 1, f"qmix.batch_size must be >= 1, got {self.batch_size}")
        _require(
            self.buffer_size >= self.batch_size,
            f"qmix.buffer_size ({self.buffer_size}) must be >= qmix.batch_size ({self.batch_size})",
        )
        _require(self.buffer_dtype in ("float16", "float32"), f"qmix.buffer_dtype must be float16 or float32, got {self.buffer_dtype!r}")
        for name in ("epsilon_start", "epsilon_finish"):
            value = getattr(self, name)
            _require(0 <= value <= 1, f"qmix.{name} must be in [0, 1], got {value}")


# Attack defaults shared by test-time attacks (AttackConfig) and training methods (MethodConfig).
PGD_STEPS = 10  # the default; public SA-DQN/PA-AD code uses up to 30 iterations
VICTIMS_ALL = 0  # `victims` value meaning "every agent" (the study's dense attack)
MODEL_CHOICES = ("last", "best")  # the victim checkpoints an evaluation may load


@dataclass(frozen=True)
class AttackConfig:
    """How a test-time attack perturbs: the options `robust-qmix evaluate` exposes as flags."""

    steps: int = PGD_STEPS  # PGD iterations (FGSM is always one)
    victims: int = VICTIMS_ALL  # agents attacked per episode, drawn at random; 0 = all
    # Clip perturbed features to SMAC's normalised range [-1, 1]. Off by default: the study bounds only
    # ||delta||_inf, as Huang et al. 2017 and SA-DQN do for their (unbounded-feature) inputs.
    clip: bool = False
    # Env steps a learned attack (atla, paad) trains against the victim before it is evaluated; it is kept
    # in the victim's run directory and reused. 100k is the scale of the study's short runs, not a claim
    # of convergence: an adversary trained longer is stronger.
    adversary_steps: int = 100_000
    # The victim's checkpoint: "last" (model.pt, the end of training) or "best" (best.pt, the test round
    # with the best clean greedy win rate).
    model: str = "last"

    def __post_init__(self) -> None:
        _require(self.model in MODEL_CHOICES, f"model must be {' or '.join(MODEL_CHOICES)}, got {self.model!r}")
        _require(self.steps >= 1, f"attack steps must be >= 1, got {self.steps}")
        _require(self.victims >= 0, f"victims must be >= 0 (0 = all agents), got {self.victims}")
        _require(self.adversary_steps >= 0, f"adversary steps must be >= 0, got {self.adversary_steps}")


@dataclass(frozen=True)
class AdversaryConfig:
    """PPO settings of the learned adversaries (ATLA, PA-AD): MAPPO-style, shared actor, state critic.

    Hidden 64, gamma 0.98, GAE lambda 0.9, clip 0.2 and 10 epochs are the values of the study's co-authors'
    robust-MARL code. lr, value coefficient, grad clip and init std are MAPPO's SMAC defaults (Yu et al.
    2022). The same settings serve the adversaries trained inside atla/paad and the test-time attacks.
    """

    hidden: int = 64
    gamma: float = 0.98
    gae_lambda: float = 0.9
    clip: float = 0.2
    epochs: int = 10
    lr: float = 5e-4
    # No entropy bonus, as ATLA's adversary (adv_entropy_coeff 0 in every ATLA config; PA-AD's MuJoCo
    # configs use 1e-5 to 1e-3). The bonus is summed over the action's dimensions (obs_dim for atla), so
    # MAPPO's 0.01 kept the Gaussian's std from shrinking: the adversary's sampled perturbations stayed
    # near random sign noise and its mean action (what evaluation uses) was not what it trained to execute.
    entropy_coef: float = 0.0
    value_coef: float = 1.0
    grad_norm_clip: float = 10.0
    init_log_std: float = 0.0
    rollout_envs: int = 8  # episodes per PPO iteration

    def __post_init__(self) -> None:
        _require(self.entropy_coef >= 0, f"adversary.entropy_coef must be >= 0, got {self.entropy_coef}")
        _require(self.rollout_envs >= 1, f"adversary.rollout_envs must be >= 1, got {self.rollout_envs}")
        _require(self.epochs >= 1, f"adversary.epochs must be >= 1, got {self.epochs}")


@dataclass(frozen=True)
class MethodConfig:
    name: str = "vanilla"
    train_eps: float = 0.0  # L-inf radius of training-time perturbations (0 for vanilla)
    # eps (and policy_reg's kappa) grow linearly from 0 to their full value between these fractions of
    # train.steps, after a clean start, since perturbing a policy that knows nothing yet only slows
    # learning. 25% -> 92% is SA-DQN's schedule (Zhang et al. NeurIPS 2020: from 1.5M to 5.5M of 6M
    # frames) for both its adversarial-training baseline and its regulariser. ATLA ramps over its first 30%
    # instead, but a QMIX agent is still mostly random there (epsilon anneals over 100k env steps), so one
    # schedule for every method keeps them at the same eps at every step. Fractions rather than step
    # counts, so a short run ramps as a long one does.
    ramp_start: float = 0.25
    ramp_end: float = 0.92
    # adv_train and policy_reg: the inner maximiser, and its PGD iterations (FGSM is one step).
    attack: str = "pgd"
    attack_steps: int = PGD_STEPS
    victims: int = VICTIMS_ALL  # agents perturbed per training episode; 0 = all
    clip_obs: bool = False  # clip perturbed features to [-1, 1], as AttackConfig.clip
    # adv_train: each environment step is attacked with this probability, for acting and for learning
    # alike (SA-DQN's adv_ratio 0.5): half the data stays clean, so clean play is still learned.
    attack_fraction: float = 0.5
    # policy_reg: loss = TD + kappa * regulariser. "hinge" is SA-DQN's margin form, per (step, agent),
    # with its margin in units of the batch's mean clean action-value range (regularisers.py says why);
    # "kl"/"tv" compare softmax policies instead. Margin 0.05: below the lower quartile of a trained
    # vanilla policy's own clean gaps in these units (bench/action_gaps.py at 250k env steps: 0.054 on
    # 2m_vs_1z, 0.105 on 3m), so the hinge acts where an attack (nearly) flips a decision rather than reshaping clean
    # preferences. kappa 0.1: about SA-DQN's weight of a sample's hinge gradient relative to its TD
    # gradient (kappa 0.005 on a batch-of-32 sum against a Huber mean, about 0.16), given TD errors of
    # ~0.5 and a unit of ~0.5-0.8 here. The README's method section has the measurements.
    kappa: float = 0.1
    regulariser: str = "hinge"
    hinge_margin: float = 0.05
    # atla/paad: alternate N adversary PPO iterations against frozen QMIX with M QMIX iterations under the
    # adversary (Zhang et al. ICLR 2021 alternate the two learners; equal shares keep the adversary's extra
    # env steps equal to QMIX's).
    adversary_iters: int = 10
    agent_iters: int = 10

    def __post_init__(self) -> None:
        _require(0 <= self.train_eps <= 1, f"method.train_eps must be in [0, 1], got {self.train_eps}")
        _require(
            0 <= self.ramp_start <= self.ramp_end <= 1,
            f"method ramp must satisfy 0 <= ramp_start <= ramp_end <= 1, got {self.ramp_start}, {self.ramp_end}",
        )
        _require(self.attack in ("fgsm", "pgd"), f"method.attack must be fgsm or pgd, got {self.attack!r}")
        _require(self.attack_steps >= 1, f"method.attack_steps must be >= 1, got {self.attack_steps}")
        _require(self.victims >= 0, f"method.victims must be >= 0 (0 = all agents), got {self.victims}")
        _require(
            0 <= self.attack_fraction <= 1, f"method.attack_fraction must be in [0, 1], got {self.attack_fraction}"
        )
        _require(self.kappa >= 0, f"method.kappa must be >= 0, got {self.kappa}")
        _require(
            self.regulariser in ("hinge", "kl", "tv"),
            f"method.regulariser must be hinge, kl or tv, got {self.regulariser!r}",
        )
        _require(self.hinge_margin >= 0, f"method.hinge_margin must be >= 0, got {self.hinge_margin}")
        for name in ("adversary_iters", "agent_iters"):
            _require(getattr(self, name) >= 1, f"method.{name} must be >= 1, got {getattr(self, name)}")


MAX_SEED = 2**63
MAX_THREADS = 1024  # far above any machine's cores; a larger count is a typo, and torch aborts on some


@dataclass(frozen=True)
class TrainConfig:
    steps: int = 200_000  # env steps of training (pymarl's t_max)
    seed: int = 0
    device: str = "cpu"  # cpu | cuda | cuda:N | auto
    # torch intra-op threads (0 = torch's default). The tensors here are small, so one thread per process
    # is fastest, and parallel runs of a sweep do not fight over cores (spin-waiting OpenMP threads made
    # every op ~30x slower when several processes shared 2 cores).
    threads: int = 1
    test_interval: int = 10_000  # env steps between greedy test rounds (one train.csv row each)
    test_episodes: int = 32
    checkpoint_interval: int = 50_000  # env steps between resumable checkpoints
    # The agents' matmuls while learning (whole sequences, the inner attacks included): "bf16" multiplies in
    # bfloat16 (autocast; weights, gates, the mixer and the TD targets stay float32), for CPUs with AMX or
    # AVX512-BF16 and for GPUs. Acting and evaluation always run in float32. tests/test_groups.py bounds what
    # bf16 changes in a trained agent's Q-values; bench/bench_gru.py measures whether it pays here.
    precision: str = "fp32"
    # Also write each run's scalars (the losses, eps, kappa, gradient norm, adversary PPO statistics, test
    # results, speed) as TensorBoard event files in RUN_DIR/tensorboard/ at every test round; needs the
    # `tensorboard` extra. train.csv stays the run's record either way.
    tensorboard: bool = False

    def __post_init__(self) -> None:
        _require(self.steps >= 0, f"train.steps must be >= 0, got {self.steps}")
        # A run's streams are derived from its seed by numpy's SeedSequence (benchmark/streams.py); seeds are
        # kept below 2^63 so that they fit every integer column they are written to.
        _require(0 <= self.seed < MAX_SEED, f"train.seed must be in [0, 2^63), got {self.seed}")
        _require(
            0 <= self.threads <= MAX_THREADS,
            f"train.threads must be in [0, {MAX_THREADS}] (0 = torch's default), got {self.threads}",
        )
        _require(self.test_interval >= 1, f"train.test_interval must be >= 1, got {self.test_interval}")
        _require(self.test_episodes >= 1, f"train.test_episodes must be >= 1, got {self.test_episodes}")
        _require(self.precision in ("fp32", "bf16"), f"train.precision must be fp32 or bf16, got {self.precision!r}")
        _require(
            self.checkpoint_interval >= 1,
            f"train.checkpoint_interval must be >= 1, got {self.checkpoint_interval}",
        )


@dataclass(frozen=True)
class RunConfig:
    env: EnvConfig = field(default_factory=EnvConfig)
    qmix: QMixConfig = field(default_factory=QMixConfig)
    method: MethodConfig = field(default_factory=MethodConfig)
    adversary: AdversaryConfig = field(default_factory=AdversaryConfig)  # atla/paad's and the learned attacks'
    train: TrainConfig = field(default_factory=TrainConfig)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> RunConfig:
        return _build(cls, data, "")

    def with_overrides(self, overrides: dict[str, Any]) -> RunConfig:
        """Apply dotted-key overrides such as {"qmix.lr": 5e-4}."""
        data = self.to_dict()
        for dotted, value in overrides.items():
            section, _, key = dotted.partition(".")
            _require(key in data.get(section, {}), f"unknown config key {dotted!r}")
            data[section][key] = value
        return RunConfig.from_dict(data)


def _build(cls: type, data: Any, prefix: str) -> Any:
    where = prefix.rstrip(".") or "config"
    _require(isinstance(data, dict), f"{where} must be a mapping, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    _require(not unknown, f"unknown config key(s): {', '.join(prefix + k for k in unknown)}")
    kwargs = {}
    for name in data:
        hint = hints[name]
        if dataclasses.is_dataclass(hint):
            kwargs[name] = _build(hint, data[name], f"{prefix}{name}.")
        else:
            kwargs[name] = coerce(data[name], hint, prefix + name)
    return cls(**kwargs)


def coerce(value: Any, hint: Any, key: str) -> Any:
    """Accept YAML scalars for a typed field: ints for floats, integral floats for ints."""
    if isinstance(hint, types.UnionType):
        hint = next(h for h in typing.get_args(hint) if h is not type(None))
    if hint is bool:
        _require(isinstance(value, bool), f"{key} must be true or false, got {value!r}")
        return value
    if hint is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
        if isinstance(value, float) and value.is_integer():
            value, ok = int(value), True
        _require(ok, f"{key} must be an integer, got {value!r}")
        return value
    if hint is float:
        _require(
            isinstance(value, (int, float)) and not isinstance(value, bool), f"{key} must be a number, got {value!r}"
        )
        return float(value)
    _require(isinstance(value, hint), f"{key} must be a {hint.__name__}, got {value!r}")
    return value


def parse_override(text: str) -> tuple[str, Any]:
    """`qmix.lr=5e-4` -> ("qmix.lr", 0.0005), values parsed as YAML scalars."""
    key, sep, raw = text.partition("=")
    _require(bool(sep) and bool(key), f"override {text!r} must look like section.key=value")
    try:
        value = read_yaml(raw)
    except yaml.YAMLError:
        raise UserError(f"override {text!r}: value is not a YAML scalar") from None
    return key.strip(), value


class _Loader(yaml.SafeLoader):
    """YAML as a user means it: PyYAML follows YAML 1.1, which reads 1e5 (no dot) as a string."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)[eE][-+]?[0-9]+$"),
    list("-+0123456789."),
)


def read_yaml(text: str) -> Any:
    """YAML text with 1e5-style numbers read as numbers (config files, presets and --set values)."""
    return yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass


def load_yaml_config(path: Path) -> RunConfig:
    try:
        data = read_yaml(Path(path).read_text())
    except (OSError, yaml.YAMLError, UnicodeDecodeError) as err:
        raise UserError(f"cannot read config {path}: {str(err).splitlines()[0]}") from None
    return RunConfig.from_dict(data or {})
