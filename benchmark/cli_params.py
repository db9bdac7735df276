"""Checks of command-line values shared by the commands in benchmark/cli.py and benchmark/report/command.py."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import click

from benchmark.attacks.settings import value_text
from benchmark.errors import UserError


def nonempty_path(ctx: click.Context, param: click.Parameter, value: str | None) -> Path | None:
    """A path option as a Path; an empty one is a mistake (a variable that was not set), not "here"."""
    del ctx
    if value is None:
        return None
    if not value.strip():
        raise UserError(f"{param.opts[0]} must not be empty")
    return Path(value)


def attack_option_flags(command):
    """One `evaluate` option per attack setting (the fields of the attacks' settings dataclasses, whose
    metadata gives each its flag and help), so that a new setting is an option by itself. Nested settings
    (a learned attack's `ppo`) are reached with --set."""
    from benchmark.attacks import option_fields

    for f in reversed([f for f in option_fields() if f.metadata.get("help")]):
        command = _flag(f)(command)
    return command


def _flag(f: dataclasses.Field):
    flag = "--" + (f.metadata.get("flag") or f.name.replace("_", "-"))
    help = f"{f.metadata['help']} [default: {value_text(f.default)}]"
    if isinstance(f.default, bool):
        return click.option(f"{flag}/--no-{flag[2:]}", f.name, default=None, help=help)
    kind = click.Choice(f.metadata["choices"]) if "choices" in f.metadata else type(f.default)
    return click.option(flag, f.name, type=kind, help=help)


class PresetParam(click.Choice):
    """A shipped preset's name (listed by `--help`), or the path of a preset YAML file."""

    name = "preset"

    def __init__(self) -> None:
        from benchmark.sweep import preset_names

        super().__init__(preset_names())

    def get_metavar(self, param: click.Parameter, ctx: click.Context) -> str:
        return f"[{'|'.join(self.choices)}|FILE.yaml]"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str) and (value.endswith((".yaml", ".yml")) or Path(value).is_file()):
            return value
        return super().convert(value, param, ctx)


def csv_list(kind: type, names: list[str] | None = None):
    """A callback for a comma-separated option: values of `kind`, each one of `names` if given, at least one."""

    def parse(ctx: click.Context, param: click.Parameter, value: str) -> list:
        try:
            values = [kind(v.strip()) for v in value.split(",") if v.strip()]
        except ValueError:
            raise click.BadParameter(f"expected a comma-separated list, got {value!r}") from None
        unknown = [v for v in values if names is not None and v not in names]
        if unknown:
            raise click.BadParameter(f"{unknown[0]!r} is not one of {', '.join(names)}")
        if not values:
            raise UserError(f"{param.opts[0]} must name at least one value")
        return values

    return parse


def attack_list(ctx: click.Context, param: click.Parameter, value: str) -> list[str]:
    """A callback for --attacks: comma-separated attacks, each a name or name[key=value,...]."""
    from benchmark.attacks import ATTACKS, attack_settings, split_attacks

    specs = split_attacks(value)
    if not specs:
        raise UserError(f"{param.opts[0]} must name at least one value")
    for spec in specs:
        name = spec.partition("[")[0].strip()
        if name not in ATTACKS.names():  # worded as every other choice option's
            raise click.BadParameter(f"{name!r} is not one of {', '.join(ATTACKS.names())}")
        try:
            attack_settings(spec, {})
        except UserError as err:
            raise click.BadParameter(str(err)) from None
    return specs


def settings_text(settings: Any, skip: tuple[str, ...] = (), prefix: str = "") -> str:
    """`key=default` for each field of a settings dataclass, nested ones as `section.key=default`."""
    parts = []
    for f in dataclasses.fields(settings):
        value = getattr(settings, f.name)
        if f.name in skip:
            continue
        if dataclasses.is_dataclass(value):
            parts.append(settings_text(value, prefix=f"{prefix}{f.name}."))
        else:
            parts.append(f"{prefix}{f.name}={value_text(value)}")
    return ", ".join(parts)
