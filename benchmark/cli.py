"""The `robust-qmix` command line."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from benchmark.attacks import ATTACKS
from benchmark.cli_params import PresetParam, attack_list, attack_option_flags, csv_list, nonempty_path
from benchmark.config import ConfigNote, RunConfig, load_yaml_config, nest, parse_override
from benchmark.envs import BACKENDS
from benchmark.envs.maps import MAPS
from benchmark.errors import UserError
from benchmark.launchers import LAUNCHERS
from benchmark.methods import METHODS
from benchmark.stopping import EXIT_CODE, Terminated, stop_on_sigterm

console = Console(stderr=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="robust-qmix")
def cli() -> None:
    """Robustness of QMIX against state-adversarial attacks on SMAC.

    \b
    Quick start:
      robust-qmix train --map 3m --steps 300000 --out runs/quickstart
      robust-qmix evaluate runs/quickstart --attacks none,fgsm,pgd --eps 0.05 --episodes 128
    """


def default_run_dir(cfg: RunConfig) -> Path:
    from benchmark.sweep import run_relpath

    return Path("runs") / run_relpath(cfg)


def build_config(config_file: Path | None, flags: dict[str, Any], overrides: tuple[str, ...]) -> RunConfig:
    """Defaults < --config file < explicit flags < --set overrides."""
    cfg = load_yaml_config(config_file) if config_file else RunConfig()
    given = {k: v for k, v in flags.items() if v is not None}
    given.update(parse_override(text) for text in overrides)
    return cfg.with_overrides(given)


@cli.command()
@click.option("--map", "map_name", type=click.Choice(MAPS.names()), help="SMAC map, see `robust-qmix maps` [default: 3m].")
@click.option("--method", type=click.Choice(METHODS.names()), help="Training method, see `robust-qmix methods` [default: vanilla].")
@click.option("--train-eps", type=float, help="L-inf radius of training perturbations [default: 0].")
@click.option("--seed", type=int, help="Random seed [default: 0].")
@click.option("--steps", type=int, help="Environment steps to train for [default: 200000].")
@click.option("--backend", type=click.Choice(BACKENDS.names()), help="sim (built-in simulator) or sc2 (StarCraft II) [default: sim].")
@click.option("--device", help="cpu, cuda, cuda:N or auto [default: cpu].")
@click.option("--config", "config_file", type=click.Path(path_type=Path), help="YAML file of settings.")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Override any setting, e.g. qmix.lr=5e-4.")
@click.option("--out", type=click.Path(), help="Run directory [default: runs/BACKEND/MAP/METHOD/epsE/seedS].", callback=nonempty_path)
def train(map_name, method, train_eps, seed, steps, backend, device, config_file, overrides, out) -> None:
    """Train QMIX (or a robust method); rerun on the same --out to resume.

    \b
    Example:
      robust-qmix train --map 3m --method adv_train --train-eps 0.1 --steps 200000 --set method.attack_steps=3
    """
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
    last = trainer.run_rows[-1] if trainer.run_rows else None
    win = f", test win rate {last['test_win_rate']:.2f}" if last else ""
    console.print(f"run {run_dir}: {trainer.run_progress.env_steps} env steps{win}", markup=False, soft_wrap=True)


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("env steps · {task.fields[rate]} steps/s · test win {task.fields[win]}"),
        TimeElapsedColumn(),
        console=console,
    )


@cli.command()
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option("--episodes", type=int, default=32, show_default=True, help="Greedy test episodes per cell.")
@click.option("--attacks", default="none", show_default=True, callback=attack_list,
              help=f"Comma-separated attacks, of {', '.join(ATTACKS.names())} (see `robust-qmix attacks`); "
              "name[key=value,...] gives one its own settings, e.g. pgd[steps=30].")
@click.option("--eps", "eps_values", default="0", show_default=True, callback=csv_list(float), help="Comma-separated test eps.")
@click.option("--device", help="Device [default: the run's].")
@attack_option_flags
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Set any attack setting, e.g. ppo.lr=1e-3 (see `robust-qmix attacks`).")
def evaluate(run_dir, episodes, attacks, eps_values, device, overrides, **flags) -> None:
    """Evaluate a trained run; one eval.csv row per (attack, eps) cell not yet done.

    Learned attacks are trained against the run first and kept in RUN_DIR/adversaries for reuse; cells
    with non-default attack settings are recorded as e.g. pgd[victims=1], those of the best checkpoint as
    e.g. pgd[model=best]. Each setting applies to the attacks that have it; settings in brackets apply to
    that attack alone, so --attacks pgd,pgd[steps=30] evaluates PGD-10 and PGD-30.

    \b
    Example:
      robust-qmix evaluate runs/quickstart --attacks none,fgsm,pgd,atla --eps 0,0.05,0.1 --episodes 128
    """
    from benchmark.evaluate import evaluate as run_evaluation

    options: dict[str, Any] = {}
    for dotted, value in [*((k, v) for k, v in flags.items() if v is not None), *map(parse_override, overrides)]:
        nest(options, dotted, value)
    rows = run_evaluation(run_dir, episodes, attacks, eps_values, device, options)
    table = Table("attack", "test eps", "episodes", "win rate", "mean return", title=escape(str(run_dir)))
    for row in rows:
        table.add_row(escape(row["attack"]), f"{row['test_eps']:g}", str(row["episodes"]), f"{row['win_rate']:.3f}", f"{row['mean_return']:.2f}")
    if rows:
        Console().print(table)
    else:
        Console().print(f"{run_dir}: every requested cell is already in eval.csv", markup=False)


@cli.command(name="maps")
def maps_command() -> None:
    """List the maps with their SMAC sizes.

    \b
    Example:
      robust-qmix maps
    """
    from benchmark.envs.maps import MAPS, env_info

    table = Table()
    # full map names, however narrow the terminal: they are what --map takes
    table.add_column("map", no_wrap=True, min_width=max(len(name) for name in MAPS))
    for heading in ("agents", "enemies", "episode limit", "n_actions", "obs", "state"):
        table.add_column(heading)
    for name in MAPS:
        info = env_info(name)
        table.add_row(name, str(info.n_agents), str(info.n_enemies), str(info.episode_limit), str(info.n_actions), str(info.obs_shape), str(info.state_shape))
    Console().print(table)


@cli.command(name="methods")
def methods_command() -> None:
    """List the training methods and their settings (`--set method.KEY=VALUE`).

    \b
    Example:
      robust-qmix methods
    """
    methods = [(name, METHODS.get(name)) for name in METHODS.names()]
    _print_plugins("method", [(name, _first_line(m.__doc__), m.config()) for name, m in methods])


@cli.command(name="attacks")
def attacks_command() -> None:
    """List the test-time attacks and their settings (`evaluate` options, or `evaluate --set KEY=VALUE`).

    \b
    Example:
      robust-qmix attacks
    """
    attacks = [(name, ATTACKS.get(name)) for name in ATTACKS.names()]
    _print_plugins("attack", [(name, a.summary, a.config()) for name, a in attacks])


def _print_plugins(kind: str, rows: list[tuple[str, str, Any]]) -> None:
    """A listing of (name, what it is, its settings dataclass at its defaults)."""
    from benchmark.cli_params import settings_text

    table = Table(kind, "what it is", "settings (defaults)")
    for name, summary, settings in rows:
        table.add_row(name, summary, escape(settings_text(settings, skip=("name",))))
    Console().print(table)


@cli.command(name="presets")
def presets_command() -> None:
    """List the shipped presets (benchmark/presets/), for `sweep --preset NAME`.

    \b
    Example:
      robust-qmix presets
    """
    from benchmark.sweep import PRESETS_DIR, preset_names

    table = Table("preset", "what it is")
    for name in preset_names():
        table.add_row(name, escape(_preset_summary(PRESETS_DIR / f"{name}.yaml", name)))
    Console().print(table)


def _preset_summary(path: Path, name: str) -> str:
    """The first sentence of the comment a preset file starts with (`# NAME: what it is. Why...`)."""
    lines = []
    for line in path.read_text().splitlines():
        if not line.startswith("#"):
            break
        lines.append(line.lstrip("#").strip())
    text = " ".join(lines).removeprefix(f"{name}:").strip()
    return text.split(". ")[0].rstrip(".")


def _first_line(text: str | None) -> str:
    return (text or "").strip().splitlines()[0] if text and text.strip() else ""


@cli.command()
def doctor() -> None:
    """Report torch, CUDA, and StarCraft II / SMAC availability.

    \b
    Example:
      robust-qmix doctor
    """
    from benchmark.doctor import checks

    table = Table("check", "status", "detail")
    for name, ok, detail in checks():
        table.add_row(name, "[green]ok[/]" if ok else "[yellow]missing[/]", escape(detail))
    Console().print(table)


def _launch_options(command):
    """The options `sweep` and `regress` share, defined once so that their names, defaults and help agree."""
    for option in reversed((
        click.option("--workers", type=int, default=1, show_default=True, help="Processes (run groups) run at once."),
        click.option("--group-size", type=int, default=0, show_default=True,
                     help="Runs trained together in one process (same map and method); 0 = auto: 1 on CPU, up to 64 on CUDA."),
        click.option("--launcher", type=click.Choice(LAUNCHERS.names()), default="local", show_default=True, help="local (process pool) or ray."),
        click.option("--address", help="Ray cluster address [default: start a local one]."),
        click.option("--backend", type=click.Choice(BACKENDS.names()), help="sim or sc2 [default: the preset's]."),
        click.option("--seeds", callback=lambda ctx, param, value: value and csv_list(int)(ctx, param, value),
                     help="Comma-separated seeds instead of the preset's, e.g. 0,1,2."),
        click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
                     help="Add to the preset's settings (every run), e.g. qmix.lr=5e-4."),
    )):  # fmt: skip
        command = option(command)
    return command


@cli.command()
@click.option("--preset", required=True, type=PresetParam(), help="A preset (see `robust-qmix presets`) or a YAML file.")
@click.option("--out", type=click.Path(), help="Root of the sweep's runs [default: runs/sweeps/PRESET].", callback=nonempty_path)
@_launch_options
@click.option("--cpus-per-run", type=float, default=1.0, show_default=True, help="CPUs a Ray task reserves.")
@click.option("--gpus-per-run", type=float, default=0.0, show_default=True, help="GPUs (or a share) a Ray task reserves.")
@click.option("--maps", "only_maps", callback=lambda ctx, param, value: value and csv_list(str)(ctx, param, value),
              help="Comma-separated maps of the preset to run, instead of all of them.")
@click.option("--methods", "only_methods", callback=lambda ctx, param, value: value and csv_list(str)(ctx, param, value),
              help="Comma-separated methods of the preset to run, instead of all of them.")
@click.option("--portable", is_flag=True,
              help="Train under portable CPU numerics (meant to give the same floats on any x86-64 CPU), ~1.5x the CPU time; see the README.")
@click.option("--dry-run", is_flag=True, help="Print the plan and stop.")
def sweep(preset, out, workers, group_size, launcher, address, backend, seeds, overrides, cpus_per_run, gpus_per_run,
          only_maps, only_methods, portable, dry_run) -> None:
    """Train and evaluate a preset's grid; finished cells are skipped, interrupted ones resumed.

    --maps and --methods run part of the grid (vanilla everywhere first, say); the same --out later runs
    the rest without redoing it.

    \b
    Example:
      robust-qmix sweep --preset smoke --workers 2 --seeds 0,1 --set train.test_episodes=16 --dry-run
      robust-qmix sweep --preset validation --methods vanilla --workers 2
    """
    from benchmark.launchers import LaunchOptions
    from benchmark.sweep import plan, subgrid

    spec = _preset(preset, seeds, overrides)
    if only_maps or only_methods:
        spec = subgrid(spec, only_maps, only_methods)
    options = LaunchOptions(
        workers=workers, address=address, cpus_per_run=cpus_per_run, gpus_per_run=gpus_per_run, group_size=group_size,
        portable=portable,
    )
    launch = LAUNCHERS.get(launcher)
    root = out or Path("runs") / "sweeps" / spec.name
    run_plan(spec.name, root, plan(spec, root, backend), launch, options, dry_run)


def _preset(name_or_path: str, seeds: list[int] | None, overrides: tuple[str, ...]):
    """The preset, with --seeds instead of its seeds and --set added to its settings (checked as its own are)."""
    import dataclasses

    from benchmark.sweep import load_preset

    spec = load_preset(name_or_path)
    changes: dict[str, Any] = {}
    if seeds:
        changes["seeds"] = tuple(dict.fromkeys(seeds))
    if overrides:
        changes["settings"] = {**spec.settings, **dict(parse_override(text) for text in overrides)}
    return dataclasses.replace(spec, **changes) if changes else spec


def run_plan(name: str, root: Path, cells: list, launch, options, dry_run: bool = False) -> None:
    """Show the plan, run its pending cells with a progress bar, and raise UserError if any failed
    (the body of `sweep`, shared with `regress`)."""
    from benchmark.sweep import cell_done

    pending = [cell for cell in cells if not cell_done(cell)]
    Console().print(_plan_table(name, root, cells, pending))
    if dry_run or not pending:
        return
    bar = _progress_cells()
    task = bar.add_task(escape(f"sweep {name}"), total=len(pending))
    failures = []

    def on_done(result) -> None:
        where = result.run_dir.relative_to(root) if result.run_dir.is_relative_to(root) else result.run_dir
        if result.ok:
            bar.console.print(f"done {where}: {result.env_steps} env steps, {result.eval_rows} eval rows, {result.wall_seconds:.0f} s", markup=False)
        else:
            failures.append(result)
            bar.console.print(f"[red]failed[/] {escape(f'{where}: {result.error}')}", highlight=False)
        bar.advance(task)

    with bar:
        launch(pending, options, on_done)
    if failures:
        first = failures[0]
        raise UserError(f"{len(failures)} of {len(pending)} cells failed (first: {first.run_dir}: {first.error})")
    console.print(f"sweep {name}: {len(pending)} cells done under {root}", markup=False)


def _plan_table(name: str, root: Path, cells: list, pending: list) -> Table:
    todo = {id(c) for c in pending}
    groups: dict[tuple, list[int]] = {}
    for cell in cells:
        c = cell.config
        key = (c.env.backend, c.env.map, c.method.name, f"{c.method.train_eps:g}")
        counts = groups.setdefault(key, [0, 0])  # cells, done
        counts[0] += 1
        counts[1] += id(cell) not in todo
    table = Table("backend", "map", "method", "train eps", "cells", "done", "pending", title=escape(f"sweep {name} -> {root}"))
    for key, (total, done) in groups.items():
        table.add_row(*map(escape, key), str(total), str(done), str(total - done))
    table.add_row("", "", "", "total", str(len(cells)), str(len(cells) - len(pending)), str(len(pending)), style="bold")
    return table


def _progress_cells() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("cells"),
        TimeElapsedColumn(), console=console,
    )  # fmt: skip


@cli.command()
@click.option("--preset", default="ci", show_default=True, type=PresetParam(), help="The preset to run (a name or a YAML file).")
@click.option("--baseline", required=True, type=click.Path(dir_okay=False, path_type=Path), help="A report summary.csv, e.g. reports/baselines/ci.csv.")
@click.option("--out", type=click.Path(file_okay=False), help="Keep the runs here; finished ones are reused [default: a temporary folder].", callback=nonempty_path)
@click.option("--update", is_flag=True, help="Write the runs' summary as the new baseline instead of failing.")
@_launch_options
def regress(preset, baseline, out, update, workers, group_size, launcher, address, backend, seeds, overrides) -> None:
    """Run a preset's sweep and exit 1 if any cell wins significantly less often than in BASELINE, or
    vanilla significantly more often under an attack (the attack got weaker).

    The test: Fisher exact per cell on wins pooled over seeds, one-sided (two-sided on vanilla's attacked
    cells), Holm-adjusted, alpha 0.01 (benchmark/regress.py explains the choice). The runs train in worker
    processes under portable CPU numerics, meant to make a baseline made on one x86-64 machine hold on another.

    \b
    Example:
      robust-qmix regress --preset ci --baseline reports/baselines/ci.csv --workers 2
    """
    import tempfile

    from benchmark import regress as gate
    from benchmark.launchers import LaunchOptions
    from benchmark.sweep import plan, planned_evaluations

    spec = _preset(preset, seeds, overrides)
    old = gate.load_baseline(baseline) if baseline.exists() or not update else None  # fail before the sweep
    # Portable numerics, so that the committed baseline reproduces on the CI machine, whatever its CPU.
    options = LaunchOptions(workers=workers, address=address, group_size=group_size, portable=True)
    launch = LAUNCHERS.get(launcher)
    with tempfile.TemporaryDirectory(prefix="regress-") as scratch:
        root = out or Path(scratch)
        cells = plan(spec, root, backend)
        run_plan(spec.name, root, cells, launch, options)
        planned = {key for cell in cells for key in planned_evaluations(cell)}
        summary = gate.own_cells(gate.summary_of([cell.run_dir for cell in cells]), planned)
    wide = Console(width=None if sys.stdout.isatty() else 160)
    verdict = gate.judge(summary, old) if old is not None else None
    if verdict is not None:
        wide.print(gate.verdict_table(verdict, escape(f"{spec.name} vs {baseline}")))
        wide.print(gate.summary_line(verdict), highlight=False, markup=False)
    if update:
        gate.write_baseline(summary, baseline)
        wide.print(f"baseline {baseline} written: {len(summary)} cells", highlight=False, markup=False)
    elif not verdict.passed:
        sys.exit(1)


@cli.command()
@click.argument("runs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Destination, e.g. checkpoints.", callback=nonempty_path)
def export(runs, out) -> None:
    """Copy finished RUNS (run directories or sweep roots) without their resume state (last.pt).

    Each lands in OUT/BACKEND/MAP/METHOD/epsE/seedS with config.yaml, manifest.json, train.csv, eval.csv
    and its models as safetensors (checkpoints/model.safetensors and .json, best too where it exists):
    enough to evaluate and report, not to train further.

    \b
    Example:
      robust-qmix export runs/sweeps/faithful --out checkpoints
    """
    from benchmark.export import export_runs

    copies = export_runs(list(runs), out, lambda message: console.print(f"[yellow]warning:[/] {escape(message)}", highlight=False))
    console.print(f"exported {len(copies)} run(s) to {out}", markup=False)


def _register_subcommands() -> None:
    from benchmark.report.command import report

    cli.add_command(report)


_register_subcommands()


def main() -> None:
    stop_on_sigterm()
    warnings.showwarning = _show_warning
    try:
        cli.main(prog_name="robust-qmix", standalone_mode=False)
    except UserError as err:
        fail(str(err))
    except OSError as err:  # a full disk, a read-only or vanished folder: the system's reason and the path
        fail(os_error_line(err))
    except click.exceptions.Abort:
        console.print("interrupted; run the same command again to resume")
        sys.exit(130)
    except click.UsageError as err:  # a bad option or value: one line, and where the accepted ones are listed
        fail(f"{err.format_message()} (see `{err.ctx.command_path} --help`)" if err.ctx else err.format_message(), err.exit_code)
    except click.ClickException as err:
        fail(err.format_message(), err.exit_code)
    except KeyboardInterrupt:
        console.print("interrupted; run the same command again to resume")
        sys.exit(130)
    except Terminated:
        console.print("terminated; run the same command again to resume")
        sys.exit(EXIT_CODE)


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """A ConfigNote as one line (an old run directory loaded); any other warning as Python prints it."""
    if issubclass(category, ConfigNote):
        console.print(f"[yellow]note:[/] {escape(str(message))}", highlight=False, soft_wrap=True)
    else:
        _default_show_warning(message, category, filename, lineno, file, line)


_default_show_warning = warnings.showwarning


def fail(message: str, code: int = 1) -> None:
    console.print(f"[red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    sys.exit(code)


def os_error_line(err: OSError) -> str:
    where = " -> ".join(str(f) for f in (err.filename, err.filename2) if f is not None)
    reason = err.strerror or str(err).splitlines()[0]
    return f"{reason}: {where}" if where else reason
