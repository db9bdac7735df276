"""Checks of command-line values shared by the commands in benchmark/cli.py and benchmark/report/command.py."""

from __future__ import annotations

from pathlib import Path

import click

from benchmark.errors import UserError


def nonempty_path(ctx: click.Context, param: click.Parameter, value: str | None) -> Path | None:
    """A path option as a Path; an empty one is a mistake (a variable that was not set), not "here"."""
    del ctx
    if value is None:
        return None
    if not value.strip():
        raise UserError(f"{param.opts[0]} must not be empty")
    return Path(value)
