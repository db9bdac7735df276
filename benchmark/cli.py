"""The `robust-qmix` command line."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from benchmark.config import RunConfig, load_yaml_config, parse_override
from benchmark.errors import UserError

console = Console(stderr=True)


@click.group()
@click.version_option(package_name="robust-qmix")
def cli() -> None:
    """Robustness of QMIX against state-adversarial attacks on SMAC."""


def default_run_dir(cfg: RunConfig) -> Path:
    e, m = cfg.env, cfg.method
    return Path("runs") / e.backend / e.map / m.name / f"eps{m.train_eps:g}" / f"seed{cfg.train.seed}"


def build_config(config_file: Path | None, flags: dict[str, Any], overrides: tuple[str, ...]) -> RunConfig:
    """Defaults < --config file < explicit flags < --set overrides."""
    cfg = load_yaml_config(config_file) if config_file else RunConfig()
    given = {k: v for k, v in flags.items() if v is not None}
    given.update(parse_override(text) for text in overrides)
    return cfg.with_overrides(given)


@cli.command()
@click.option("--map", "map_name", help="SMAC map, see `robust-qmix maps` [default: 3m].")
@click.option("--method", help="Training method [default: vanilla].")
@click.option("--train-eps", type=float, help="L-inf radius of training perturbations [default: 0].")
@click.option("--seed", type=int, help="Random seed [default: 0].")
@click.option("--steps", type=int, help="Environment steps to train for [default: 200000].")
@click.option("--backend", help="sim (built-in simulator) or sc2 (StarCraft II) [default: sim].")
@click.option("--device", help="cpu, cuda, cuda:N or auto [default: cpu].")
@click.option("--config", "config_file", type=click.Path(path_type=Path), help="YAML file of settings.")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Override any setting, e.g. qmix.lr=5e-4.")
@click.option("--out", type=click.Path(path_type=Path), help="Run directory [default: runs/BACKEND/MAP/METHOD/epsE/seedS].")
def train(map_name, method, train_eps, seed, steps, backend, device, config_file, overrides, out) -> None:
    """Train QMIX (or a robust method); rerun on the same --out to resume."""
    from benchmark.train import train as run_training

    flags = {
        "env.map": map_name,
        "env.backend": backend,
        "method.name": method,
        "method.train_eps": train_eps,
        "train.seed": seed,
        "train.steps": steps,
        "train.device": device,
    }
    cfg = build_config(config_file, flags, overrides)
    run_dir = out or default_run_dir(cfg)
    bar = _progress()
    task = bar.add_task("train", total=cfg.train.steps, rate="-", win="-", visible=False)

    def report(progress, row) -> None:
        if not bar.live.is_started:
            bar.start()  # only once the run is set up, so a refused input prints one line and nothing else
        rate = progress.env_steps / max(progress.wall_seconds, 1e-9)
        fields = {"rate": f"{rate:,.0f}"}
        if row is not None:
            fields["win"] = f"{row['test_win_rate']:.2f}"
        bar.update(task, completed=min(progress.env_steps, cfg.train.steps), visible=True, **fields)

    try:
        trainer = run_training(cfg, run_dir, report)
    finally:
        bar.stop()
    last = trainer.rows[-1] if trainer.rows else None
    win = f", test win rate {last['test_win_rate']:.2f}" if last else ""
    console.print(f"run {run_dir}: {trainer.progress.env_steps} env steps{win}")


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("env steps · {task.fields[rate]} steps/s · test win {task.fields[win]}"),
        TimeElapsedColumn(),
        console=console,
    )


def _csv_list(kind: type):
    def parse(ctx, param, value: str):
        try:
            return [kind(v.strip()) for v in value.split(",") if v.strip()]
        except ValueError:
            raise click.BadParameter(f"expected a comma-separated list, got {value!r}") from None

    return parse


@cli.command()
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option("--episodes", type=int, default=32, show_default=True, help="Greedy test episodes per cell.")
@click.option("--attacks", default="none", show_default=True, callback=_csv_list(str), help="Comma-separated attacks.")
@click.option("--eps", "eps_values", default="0", show_default=True, callback=_csv_list(float), help="Comma-separated test eps.")
@click.option("--device", help="Device [default: the run's].")
@click.option("--victims", type=int, help="Attack this many random agents per episode [default: all].")
@click.option("--clip/--no-clip", default=None, help="Clip perturbed features to [-1, 1] [default: no clip].")
@click.option("--pgd-steps", type=int, help="PGD iterations, also PA-AD's actor [default: 10].")
@click.option("--adversary-steps", type=int, help="Env steps to train a learned attack (atla, paad) [default: 100000].")
def evaluate(run_dir, episodes, attacks, eps_values, device, victims, clip, pgd_steps, adversary_steps) -> None:
    """Evaluate a trained run; one eval.csv row per (attack, eps) cell not yet done.

    Learned attacks are trained against the run first and kept in RUN_DIR/adversaries for reuse; cells
    with non-default attack options are recorded as e.g. pgd[victims=1]."""
    from benchmark.config import AttackConfig
    from benchmark.evaluate import evaluate as run_evaluation

    given = {"victims": victims, "clip": clip, "steps": pgd_steps, "adversary_steps": adversary_steps}
    options = AttackConfig(**{k: v for k, v in given.items() if v is not None})
    rows = run_evaluation(run_dir, episodes, attacks, eps_values, device, options)
    table = Table("attack", "test eps", "episodes", "win rate", "mean return", title=f"{run_dir}")
    for row in rows:
        table.add_row(row["attack"], f"{row['test_eps']:g}", str(row["episodes"]), f"{row['win_rate']:.3f}", f"{row['mean_return']:.2f}")
    Console().print(table if rows else f"{run_dir}: every requested cell is already in eval.csv")


@cli.command(name="maps")
def maps_command() -> None:
    """List the maps with their SMAC sizes."""
    from benchmark.envs.maps import MAPS, env_info

    table = Table("map", "agents", "enemies", "episode limit", "n_actions", "obs", "state")
    for name in MAPS:
        info = env_info(name)
        table.add_row(name, str(info.n_agents), str(info.n_enemies), str(info.episode_limit), str(info.n_actions), str(info.obs_shape), str(info.state_shape))
    Console().print(table)


@cli.command()
def doctor() -> None:
    """Report torch, CUDA, and StarCraft II / SMAC availability."""
    from benchmark.doctor import checks

    table = Table("check", "status", "detail")
    for name, ok, detail in checks():
        table.add_row(name, "[green]ok[/]" if ok else "[yellow]missing[/]", detail)
    Console().print(table)


def main() -> None:
    try:
        cli.main(standalone_mode=False)
    except UserError as err:
        console.print(f"[red]error:[/] {err}", highlight=False, soft_wrap=True)
        sys.exit(1)
    except click.exceptions.Abort:
        console.print("interrupted; run the same command again to resume")
        sys.exit(130)
    except click.ClickException as err:
        err.show()
        sys.exit(err.exit_code)
    except KeyboardInterrupt:
        console.print("interrupted; run the same command again to resume")
        sys.exit(130)
