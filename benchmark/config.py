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
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from benchmark.errors import UserError


def require(ok: bool, message: str) -> None:
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
        require(self.batch_envs >= 1, f"env.batch_envs must be >= 1, got {self.batch_envs}")


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
        require(math.isfinite(self.lr) and self.lr >= 0, f"qmix.lr must be a finite number >= 0, got {self.lr}")
        require(
            math.isfinite(self.grad_norm_clip) and self.grad_norm_clip > 0,
            f"qmix.grad_norm_clip must be a finite number > 0, got {self.grad_norm_clip}",
        )
        for name in ("rnn_hidden_dim", "mixing_embed_dim", "hypernet_embed", "target_update_interval"):
            require(getattr(self, name) >= 1, f"qmix.{name} must be >= 1, got {getattr(self, name)}")
        require(self.epsilon_anneal_time >= 0, f"qmix.epsilon_anneal_time must be >= 0, got {self.epsilon_anneal_time}")
        require(0 <= self.gamma <= 1, f"qmix.gamma must be in [0, 1], got {self.gamma}")
        require(0 <= self.td_lambda <= 1, f"qmix.td_lambda must be in [0, 1], got {self.td_lambda}")
        require(self.batch_size >= 1, f"qmix.batch_size must be >= 1, got {self.batch_size}")
        require(
            self.buffer_size >= self.batch_size,
            f"qmix.buffer_size ({self.buffer_size}) must be >= qmix.batch_size ({self.batch_size})",
        )
        require(self.buffer_dtype in ("float16", "float32"), f"qmix.buffer_dtype must be float16 or float32, got {self.buffer_dtype!r}")
        for name in ("epsilon_start", "epsilon_finish"):
            value = getattr(self, name)
            require(0 <= value <= 1, f"qmix.{name} must be in [0, 1], got {value}")


# Attack defaults shared by test-time attacks (attacks/settings.py) and training methods (methods/).
PGD_STEPS = 10  # the default; public SA-DQN/PA-AD code uses up to 30 iterations
VICTIMS_ALL = 0  # `victims` value meaning "every agent" (the study's dense attack)
MODEL_CHOICES = ("last", "best")  # the victim checkpoints an evaluation may load


@dataclass(frozen=True)
class AdversaryConfig:
    """PPO settings of a learned adversary (ATLA's, PA-AD's): MAPPO-style, shared actor, state critic.

    Hidden 64, gamma 0.98, GAE lambda 0.9, clip 0.2 and 10 epochs are the values of the study's co-authors'
    robust-MARL code. lr, value coefficient, grad clip and init std are MAPPO's SMAC defaults (Yu et al.
    2022). atla/paad runs record theirs under method.adversary, the learned test-time attacks under ppo.
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
        require(self.entropy_coef >= 0, f"adversary.entropy_coef must be >= 0, got {self.entropy_coef}")
        require(self.rollout_envs >= 1, f"adversary.rollout_envs must be >= 1, got {self.rollout_envs}")
        require(self.epochs >= 1, f"adversary.epochs must be >= 1, got {self.epochs}")


@dataclass(frozen=True)
class MethodConfig:
    """What every training method is configured by, and all that vanilla QMIX is. Each other method owns a
    subclass holding its own settings (next to its code in benchmark/methods/), so that a run's config.yaml
    records exactly the settings of the method it trained with."""

    name: str = "vanilla"
    train_eps: float = 0.0  # L-inf radius of training-time perturbations (0 for vanilla)

    def __post_init__(self) -> None:
        require(0 <= self.train_eps <= 1, f"method.train_eps must be in [0, 1], got {self.train_eps}")


def method_config_class(name: str) -> type[MethodConfig]:
    """The config dataclass the method `name` registered (a UserError for an unknown method)."""
    from benchmark.methods import METHODS  # the methods import this module: looked up at call time

    return METHODS.get(name).config


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
        require(self.steps >= 0, f"train.steps must be >= 0, got {self.steps}")
        # A run's streams are derived from its seed by numpy's SeedSequence (benchmark/streams.py); seeds are
        # kept below 2^63 so that they fit every integer column they are written to.
        require(0 <= self.seed < MAX_SEED, f"train.seed must be in [0, 2^63), got {self.seed}")
        require(
            0 <= self.threads <= MAX_THREADS,
            f"train.threads must be in [0, {MAX_THREADS}] (0 = torch's default), got {self.threads}",
        )
        require(self.test_interval >= 1, f"train.test_interval must be >= 1, got {self.test_interval}")
        require(self.test_episodes >= 1, f"train.test_episodes must be >= 1, got {self.test_episodes}")
        require(self.precision in ("fp32", "bf16"), f"train.precision must be fp32 or bf16, got {self.precision!r}")
        require(
            self.checkpoint_interval >= 1,
            f"train.checkpoint_interval must be >= 1, got {self.checkpoint_interval}",
        )


@dataclass(frozen=True)
class RunConfig:
    env: EnvConfig = field(default_factory=EnvConfig)
    qmix: QMixConfig = field(default_factory=QMixConfig)
    method: MethodConfig = field(default_factory=MethodConfig)  # the subclass of the method named
    train: TrainConfig = field(default_factory=TrainConfig)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> RunConfig:
        return build(cls, data)

    @classmethod
    def from_stored(cls, data: Any, where: str) -> RunConfig:
        """A run's config as an older version of the suite recorded it (every method's settings under
        `method`, the PPO settings in a top-level `adversary` section): the settings that do not apply to
        the run's method are dropped, with a ConfigNote naming them. Keys no version knew are refused."""
        data, dropped = _migrated(data)
        if dropped:
            warnings.warn(ConfigNote(f"{where}: dropped settings that no longer apply to its method: {', '.join(dropped)}"), stacklevel=2)
        return build(cls, data)

    def with_overrides(self, overrides: dict[str, Any]) -> RunConfig:
        """Apply dotted-key overrides such as {"qmix.lr": 5e-4} or {"method.adversary.lr": 1e-3}. A change
        of method.name comes first and keeps only the method settings the new method has."""
        data = self.to_dict()
        name = overrides.get("method.name", data["method"]["name"])
        if name != data["method"]["name"]:
            fresh = dataclasses.asdict(method_config_class(coerce(name, str, "method.name"))())
            data["method"] = {**fresh, **{k: v for k, v in data["method"].items() if k in fresh and k != "name"}}
        for dotted, value in overrides.items():
            set_dotted(data, dotted, value, f" (method {data['method']['name']} has no such setting)" * dotted.startswith("method."))
        return RunConfig.from_dict(data)


# Settings a run may change when it resumes: how long it trains and whether it logs to TensorBoard. Any
# other difference would mix two experiments in one run's records.
RESUMABLE_KEYS = ("train.steps", "train.tensorboard")


def same_experiment(stored: RunConfig, cfg: RunConfig) -> bool:
    """`cfg` continues the run `stored` describes (they differ at most in RESUMABLE_KEYS)."""
    values = cfg.to_dict()
    return stored.with_overrides({k: values[k.split(".")[0]][k.split(".")[1]] for k in RESUMABLE_KEYS}) == cfg


class ConfigNote(UserWarning):
    """A stored config that loaded with changes (see RunConfig.from_stored)."""


def set_dotted(data: dict[str, Any], dotted: str, value: Any, hint: str = "") -> None:
    """data["a"]["b"] = value for "a.b", refusing a key the mapping does not have."""
    *path, key = dotted.split(".")
    for part in path:
        data = data.get(part) if isinstance(data, dict) else None
    require(isinstance(data, dict) and key in data, f"unknown config key {dotted!r}{hint}")
    data[key] = value


def nest(options: dict[str, Any], dotted: str, value: Any) -> None:
    """options["a"]["b"] = value for "a.b", making sections as needed (attack settings given as dotted keys)."""
    *path, key = dotted.split(".")
    for part in path:
        options = options.setdefault(part, {})
        if not isinstance(options, dict):
            raise UserError(f"attack setting {dotted!r}: {part} is not a section")
    options[key] = value


def build(cls: type, data: Any, prefix: str = "") -> Any:
    """The dataclass `cls` from a nested mapping, values coerced to the fields' types; a MethodConfig field
    becomes the subclass of the method its `name` names."""
    where = prefix.rstrip(".") or "config"
    require(isinstance(data, dict), f"{where} must be a mapping, got {type(data).__name__}")
    if cls is MethodConfig:
        cls = method_config_class(coerce(data.get("name", MethodConfig.name), str, f"{prefix}name"))
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    note = f" (method {data.get('name', MethodConfig.name)} has no such setting)" if issubclass(cls, MethodConfig) else ""
    require(not unknown, f"unknown config key(s): {', '.join(prefix + k for k in unknown)}{note}")
    kwargs = {}
    for name in data:
        hint = hints[name]
        if dataclasses.is_dataclass(hint):
            kwargs[name] = build(hint, data[name], f"{prefix}{name}.")
        else:
            kwargs[name] = coerce(data[name], hint, prefix + name)
    return cls(**kwargs)


# Every method's settings, as one MethodConfig held them before each method owned its own (2026-12-01).
LEGACY_METHOD_KEYS = frozenset({
    "ramp_start", "ramp_end", "attack", "attack_steps", "victims", "clip_obs", "attack_fraction", "kappa",
    "regulariser", "hinge_margin", "adversary_iters", "agent_iters",
})  # fmt: skip


def _migrated(data: Any) -> tuple[Any, list[str]]:
    """(data in today's shape, the dotted keys dropped to get there); anything else is left to `build`."""
    if not isinstance(data, dict) or not isinstance(data.get("method", {}), dict):
        return data, []
    data = {**data, "method": dict(data.get("method", {}))}
    method = data["method"]
    fields = {f.name for f in dataclasses.fields(method_config_class(str(method.get("name", MethodConfig.name))))}
    dropped = []
    if "adversary" in data:
        ppo = data.pop("adversary")
        if "adversary" in fields and "adversary" not in method:
            method["adversary"] = ppo
        else:
            dropped.append("adversary")
    for key in sorted((set(method) & LEGACY_METHOD_KEYS) - fields):
        del method[key]
        dropped.append(f"method.{key}")
    return data, dropped


def coerce(value: Any, hint: Any, key: str) -> Any:
    """Accept YAML scalars for a typed field: ints for floats, integral floats for ints."""
    if isinstance(hint, types.UnionType):
        hint = next(h for h in typing.get_args(hint) if h is not type(None))
    if hint is bool:
        require(isinstance(value, bool), f"{key} must be true or false, got {value!r}")
        return value
    if hint is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
        if isinstance(value, float) and value.is_integer():
            value, ok = int(value), True
        require(ok, f"{key} must be an integer, got {value!r}")
        return value
    if hint is float:
        require(
            isinstance(value, (int, float)) and not isinstance(value, bool), f"{key} must be a number, got {value!r}"
        )
        return float(value)
    require(isinstance(value, hint), f"{key} must be a {hint.__name__}, got {value!r}")
    return value


def parse_override(text: str) -> tuple[str, Any]:
    """`qmix.lr=5e-4` -> ("qmix.lr", 0.0005), values parsed as YAML scalars."""
    key, sep, raw = text.partition("=")
    require(bool(sep) and bool(key), f"override {text!r} must look like section.key=value")
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
    """A config file the user wrote (`--config`): every key must be one the run's method has."""
    return RunConfig.from_dict(_read_config(path))


def load_run_config(path: Path) -> RunConfig:
    """A run directory's config.yaml, which an older version may have written (RunConfig.from_stored)."""
    return RunConfig.from_stored(_read_config(path), str(path))


def _read_config(path: Path) -> Any:
    try:
        data = read_yaml(Path(path).read_text())
    except (OSError, yaml.YAMLError, UnicodeDecodeError) as err:
        raise UserError(f"cannot read config {path}: {str(err).splitlines()[0]}") from None
    return data or {}
