"""Typed, frozen run configuration: the one source of defaults.

Defaults of `QMixConfig` are pymarl2's QMIX settings for SMAC (config/algs/qmix.yaml and default.yaml of
hijkzzz/pymarl2). A run is described by a nested mapping (YAML) that `RunConfig.from_dict` turns into these
dataclasses, refusing unknown keys and ill-typed values with a one-line UserError.
"""

from __future__ import annotations

import dataclasses
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

    def __post_init__(self) -> None:
        _require(self.lr >= 0, f"qmix.lr must be >= 0, got {self.lr}")
        _require(0 <= self.gamma <= 1, f"qmix.gamma must be in [0, 1], got {self.gamma}")
        _require(0 <= self.td_lambda <= 1, f"qmix.td_lambda must be in [0, 1], got {self.td_lambda}")
        _require(self.batch_size >= 1, f"qmix.batch_size must be >= 1, got {self.batch_size}")
        _require(
            self.buffer_size >= self.batch_size,
            f"qmix.buffer_size ({self.buffer_size}) must be >= qmix.batch_size ({self.batch_size})",
        )
        for name in ("epsilon_start", "epsilon_finish"):
            value = getattr(self, name)
            _require(0 <= value <= 1, f"qmix.{name} must be in [0, 1], got {value}")


@dataclass(frozen=True)
class MethodConfig:
    name: str = "vanilla"
    train_eps: float = 0.0  # L-inf radius of training-time perturbations (0 for vanilla)

    def __post_init__(self) -> None:
        _require(0 <= self.train_eps <= 1, f"method.train_eps must be in [0, 1], got {self.train_eps}")


@dataclass(frozen=True)
class TrainConfig:
    steps: int = 200_000  # env steps of training (pymarl's t_max)
    seed: int = 0
    device: str = "cpu"  # cpu | cuda | cuda:N | auto
    test_interval: int = 10_000  # env steps between greedy test rounds (one train.csv row each)
    test_episodes: int = 32
    checkpoint_interval: int = 50_000  # env steps between resumable checkpoints

    def __post_init__(self) -> None:
        _require(self.steps >= 0, f"train.steps must be >= 0, got {self.steps}")
        _require(self.seed >= 0, f"train.seed must be >= 0, got {self.seed}")
        _require(self.test_interval >= 1, f"train.test_interval must be >= 1, got {self.test_interval}")
        _require(self.test_episodes >= 1, f"train.test_episodes must be >= 1, got {self.test_episodes}")
        _require(
            self.checkpoint_interval >= 1,
            f"train.checkpoint_interval must be >= 1, got {self.checkpoint_interval}",
        )


@dataclass(frozen=True)
class RunConfig:
    env: EnvConfig = field(default_factory=EnvConfig)
    qmix: QMixConfig = field(default_factory=QMixConfig)
    method: MethodConfig = field(default_factory=MethodConfig)
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
            _require(bool(key) and isinstance(data.get(section), dict), f"unknown config key {dotted!r}")
            _require(key in data[section], f"unknown config key {dotted!r}")
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
            kwargs[name] = _coerce(data[name], hint, prefix + name)
    return cls(**kwargs)


def _coerce(value: Any, hint: Any, key: str) -> Any:
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
        value = yaml.safe_load(raw)
    except yaml.YAMLError:
        raise UserError(f"override {text!r}: value is not a YAML scalar") from None
    if isinstance(value, str):  # YAML 1.1 reads 5e-4 as a string
        try:
            value = float(value)
        except ValueError:
            pass
    return key.strip(), value


def load_yaml_config(path: Path) -> RunConfig:
    try:
        data = yaml.safe_load(Path(path).read_text())
    except (OSError, yaml.YAMLError, UnicodeDecodeError) as err:
        raise UserError(f"cannot read config {path}: {str(err).splitlines()[0]}") from None
    return RunConfig.from_dict(data or {})
