"""Sweeps: a preset names a grid of runs (maps x methods x train eps x seeds) and the evaluation grid every
run gets; `plan` turns it into cells, `run_cell` trains (resuming) and evaluates (skipping done cells) one.

API (used by `robust-qmix sweep`, the launchers in benchmark/launchers/ and `regress`):

- `Preset` (frozen): name, backend, maps, methods ((method, (train_eps, ...)), ...), seeds, steps,
  settings ({"section.key": value} applied to every run, as `--set`; a `method.` key to the methods that
  have that setting), and the evaluation plan: attacks, eps, episodes, options (attack settings by name,
  e.g. {"adversary_steps": 100000}: an `eval` key of the preset for every field of an attack's settings
  dataclass but `model`), models (the checkpoints evaluated: last and/or best). `load_preset(name_or_path)`
  reads `benchmark/presets/NAME.yaml` or a YAML file; `preset_names()` lists the shipped ones (in
  `PRESETS_DIR`).
- `Cell` (frozen): run_dir (ROOT/backend/map/method/eps{E:g}/seed{S}), config (RunConfig), attacks, eps,
  episodes, options, models. `plan(preset, root, backend=None) -> list[Cell]`, in a fixed order;
  `subgrid(preset, maps, methods)`: the part of a preset on some of its maps and methods.
- `cell_done(cell)`: trained to its steps and every evaluation cell in eval.csv.
- `run_cell(cell) -> CellResult`: picklable, safe in a fresh (spawned) process. It never raises for the
  cell's own failure: the result then carries `error` (one line), so one bad cell cannot stop a sweep.
"""

from __future__ import annotations

import dataclasses
import json
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Sequence
from typing import Any

import yaml

from benchmark.config import RunConfig, coerce, load_run_config, method_config_class, read_yaml, same_experiment
from benchmark.errors import UserError
from benchmark.records import CONFIG_FILE, EVAL_COLUMNS, EVAL_FILE, MANIFEST_FILE, read_csv_rows

PRESETS_DIR = Path(__file__).resolve().parent / "presets"
# Settings the grid itself decides; a preset's `settings` may not override them.
GRID_KEYS = ("env.backend", "env.map", "method.name", "method.train_eps", "train.seed", "train.steps")
PRESET_KEYS = ("backend", "maps", "methods", "seeds", "steps", "settings", "eval")
EVAL_GRID_KEYS = ("attacks", "eps", "episodes", "models")


@dataclass(frozen=True)
class Preset:
    name: str
    backend: str
    maps: tuple[str, ...]
    methods: tuple[tuple[str, tuple[float, ...]], ...]
    seeds: tuple[int, ...]
    steps: int
    settings: dict[str, Any] = field(hash=False)
    attacks: tuple[str, ...]
    eps: tuple[float, ...]
    episodes: int
    options: dict[str, Any] = field(hash=False)  # attack settings, as `robust-qmix evaluate`'s options
    models: tuple[str, ...] = ("last",)

    def __post_init__(self) -> None:
        _validate(self)


@dataclass(frozen=True)
class Cell:
    run_dir: Path
    config: RunConfig
    attacks: tuple[str, ...]
    eps: tuple[float, ...]
    episodes: int
    options: dict[str, Any] = field(default_factory=dict, hash=False)
    models: tuple[str, ...] = ("last",)

    @property
    def attack_options(self) -> tuple[dict[str, Any], ...]:
        """One set of attack options per checkpoint evaluated."""
        return tuple({**self.options, "model": m} for m in self.models)


@dataclass(frozen=True)
class CellResult:
    run_dir: Path
    env_steps: int
    eval_rows: int
    wall_seconds: float
    error: str | None = None  # one line when the cell failed

    @property
    def ok(self) -> bool:
        return self.error is None


# -- presets ----------------------------------------------------------------------------------------------
def preset_names() -> list[str]:
    return sorted(p.stem for p in PRESETS_DIR.glob("*.yaml"))


def load_preset(name_or_path: str) -> Preset:
    """A shipped preset by name, or a YAML file by path (anything ending in .yaml/.yml or naming a file)."""
    text = str(name_or_path)
    path = Path(text)
    if not (text.endswith((".yaml", ".yml")) or path.is_file()):
        if text not in preset_names():
            raise UserError(f"unknown preset {text!r}; known: {', '.join(preset_names())} (or a path to a YAML file)")
        path = PRESETS_DIR / f"{text}.yaml"
    try:
        data = read_yaml(path.read_text())
    except (OSError, yaml.YAMLError, UnicodeDecodeError) as err:
        raise UserError(f"cannot read preset {path}: {str(err).splitlines()[0]}") from None
    return preset_from_dict(path.stem, data)


def preset_from_dict(name: str, data: Any) -> Preset:
    """A preset from its YAML mapping, with values checked as `--config` checks them (1.5 is not a seed)
    and a value listed twice taken once (it would otherwise be two workers training one directory)."""
    _check_keys(data, PRESET_KEYS, f"preset {name}")
    evals = data.get("eval", {})
    _check_keys(evals, EVAL_GRID_KEYS + attack_option_names(), f"preset {name}: eval")
    methods = data.get("methods")
    _require(isinstance(methods, dict) and methods, f"preset {name}: methods must map method names to train eps lists")

    def each(value: Any, kind: type, key: str) -> tuple:
        return tuple(dict.fromkeys(coerce(v, kind, f"preset {name}: {key}") for v in _as_list(value, key)))

    def one(value: Any, kind: type, key: str) -> Any:
        return coerce(value, kind, f"preset {name}: {key}")

    return Preset(
        name=name,
        backend=one(data.get("backend", "sim"), str, "backend"),
        maps=each(data.get("maps"), str, "maps"),
        methods=tuple((str(m), each(eps, float, f"methods.{m}")) for m, eps in methods.items()),
        seeds=each(data.get("seeds", [0]), int, "seeds"),
        steps=one(data.get("steps", RunConfig().train.steps), int, "steps"),
        settings=dict(data.get("settings") or {}),
        attacks=each(evals.get("attacks", ["none"]), str, "eval.attacks"),
        eps=each(evals.get("eps", [0.0]), float, "eval.eps"),
        episodes=one(evals.get("episodes", 32), int, "eval.episodes"),
        options={k: v for k, v in evals.items() if k not in EVAL_GRID_KEYS},
        models=each(evals.get("models", ["last"]), str, "eval.models"),
    )


def _validate(p: Preset) -> None:
    from benchmark.attacks import attack_cells, parse_attack
    from benchmark.envs.maps import MAPS
    from benchmark.methods import METHODS

    where = f"preset {p.name}"
    _check_backend(p.backend, f"{where}: ")
    _require(bool(p.maps and p.methods and p.seeds), f"{where}: maps, methods and seeds must not be empty")
    _require(bool(p.attacks and p.eps), f"{where}: eval.attacks and eval.eps must not be empty")
    for name in p.maps:
        MAPS.get(name)
    for spec in p.attacks:
        parse_attack(spec)
    for method, levels in p.methods:
        METHODS.get(method)
        _require(bool(levels), f"{where}: method {method} has no train eps")
        _require(all(0 <= e <= 1 for e in levels), f"{where}: train eps of {method} must be in [0, 1]")
        # Vanilla ignores eps, so vanilla at eps > 0 would only be a mislabelled copy of eps 0.
        _require(method != "vanilla" or levels == (0.0,), f"{where}: vanilla trains only at eps 0")
    _require(all(0 <= e <= 1 for e in p.eps), f"{where}: eval eps must be in [0, 1]")
    _require(p.steps >= 0 and p.episodes >= 1, f"{where}: steps must be >= 0 and eval.episodes >= 1")
    _require(min(p.seeds) >= 0, f"{where}: seeds must be >= 0")
    clash = sorted(set(p.settings) & set(GRID_KEYS))
    _require(not clash, f"{where}: settings may not set {', '.join(clash)} (the grid decides them)")
    for method, _ in p.methods:  # unknown keys and bad values fail now, not mid-sweep
        RunConfig().with_overrides({"method.name": method, **settings_for(p.settings, method)})
    unused = [k for k in p.settings if all(k not in settings_for(p.settings, m) for m, _ in p.methods)]
    _require(not unused, f"{where}: no method of the preset has the setting(s) {', '.join(unused)}")
    _require(bool(p.models), f"{where}: eval.models must not be empty")
    for model in p.models:
        attack_cells(p.attacks, {**p.options, "model": model})


def subgrid(preset: Preset, maps: Sequence[str] | None = None, methods: Sequence[str] | None = None) -> Preset:
    """The part of `preset` on these of its maps and methods (None: all); the cells kept are the preset's own,
    so a later sweep of the whole preset into the same root finds them done."""
    have_maps, have_methods = preset.maps, tuple(m for m, _ in preset.methods)
    for kind, asked, have in (("map", maps, have_maps), ("method", methods, have_methods)):
        alien = [x for x in asked or () if x not in have]
        _require(not alien, f"preset {preset.name} has no {kind} {alien[0] if alien else ''}; it has {', '.join(have)}")
    kept = tuple((m, levels) for m, levels in preset.methods if methods is None or m in methods)
    # A setting only the dropped methods have changes none of the kept cells.
    settings = {k: v for k, v in preset.settings.items() if any(settings_for({k: v}, m) for m, _ in kept)}
    return dataclasses.replace(
        preset, maps=tuple(m for m in have_maps if maps is None or m in maps), methods=kept, settings=settings
    )


def attack_option_names() -> tuple[str, ...]:
    """The attack settings a preset's `eval` may set (`model` is its `models` list)."""
    from benchmark.attacks import option_fields

    return tuple(f.name for f in option_fields() if f.name != "model")


def settings_for(settings: dict[str, Any], method: str) -> dict[str, Any]:
    """The preset settings that apply to `method`: every one outside `method.`, and those its config has."""
    own = {f.name for f in dataclasses.fields(method_config_class(method))}
    return {k: v for k, v in settings.items() if not k.startswith("method.") or k.split(".")[1] in own}


def _check_backend(backend: str, where: str = "") -> None:
    from benchmark.envs import BACKENDS

    _require(backend in BACKENDS, f"{where}backend must be {' or '.join(BACKENDS)}, got {backend!r}")


def _check_keys(data: Any, allowed: tuple[str, ...], where: str) -> None:
    _require(isinstance(data, dict), f"{where} must be a mapping")
    unknown = sorted(set(data) - set(allowed))
    _require(not unknown, f"{where}: unknown key(s) {', '.join(map(str, unknown))}; allowed: {', '.join(allowed)}")


def _as_list(value: Any, key: str) -> list:
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return [value]
    _require(isinstance(value, list), f"{key} must be a list, got {value!r}")
    return value


def _require(ok: bool, message: str) -> None:
    if not ok:
        raise UserError(message)


# -- the plan -------------------------------------------------------------------------------------------
def run_relpath(cfg: RunConfig) -> Path:
    """backend/map/method/eps{E:g}/seed{S}: where a run lives under a sweep's root (and under runs/)."""
    e, m = cfg.env, cfg.method
    return Path(e.backend) / e.map / m.name / f"eps{m.train_eps:g}" / f"seed{cfg.train.seed}"


def plan(preset: Preset, root: Path, backend: str | None = None) -> list[Cell]:
    """Every cell of the grid, ordered map, method, train eps, seed (the order a one-worker sweep runs)."""
    backend = backend or preset.backend
    _check_backend(backend)
    cells = []
    for map_name in preset.maps:
        for method, levels in preset.methods:
            for train_eps in levels:
                for seed in preset.seeds:
                    cfg = RunConfig().with_overrides({
                        "env.backend": backend, "env.map": map_name, "method.name": method,
                        "method.train_eps": train_eps, "train.seed": seed, "train.steps": preset.steps,
                        **settings_for(preset.settings, method),
                    })  # fmt: skip
                    cells.append(
                        Cell(
                            Path(root) / run_relpath(cfg), cfg, preset.attacks, preset.eps, preset.episodes,
                            preset.options, preset.models,
                        )  # fmt: skip
                    )
    return cells


# -- state of a cell ------------------------------------------------------------------------------------------
def trained_steps(run_dir: Path) -> int:
    """Env steps of the last completed training (manifest.json gets them only once training ends)."""
    try:
        return int(json.loads((Path(run_dir) / MANIFEST_FILE).read_text()).get("env_steps") or 0)
    except (OSError, ValueError, TypeError):
        return 0


def same_run(cell: Cell) -> bool:
    """The run directory holds this cell's run, perhaps trained for a different number of steps."""
    path = cell.run_dir / CONFIG_FILE
    try:
        return path.is_file() and same_experiment(load_run_config(path), cell.config)
    except UserError:
        return False


def cell_trained(cell: Cell) -> bool:
    return same_run(cell) and trained_steps(cell.run_dir) >= cell.config.train.steps


def planned_evaluations(cell: Cell) -> list[tuple[str, float]]:
    """(eval.csv label, test eps) of every evaluation cell the run gets."""
    from benchmark.attacks import attack_cells

    labels = [label for options in cell.attack_options for label in attack_cells(cell.attacks, options)]
    return [(label, e) for label in labels for e in cell.eps]


def missing_evaluations(cell: Cell) -> list[tuple[str, float]]:
    from benchmark.eval_records import done_cells

    done = done_cells(cell.run_dir)
    return [key for key in planned_evaluations(cell) if key not in done]


def cell_done(cell: Cell) -> bool:
    return cell_trained(cell) and not missing_evaluations(cell)


# -- run groups -------------------------------------------------------------------------------------------
# Most runs trained together per process when --group-size is not given. On CPU none: the learner's
# batched matmuls are compute-bound at pymarl2's batch of 128 episodes, so a group gains only on acting,
# and on this project's 2-core machine a group of 3 or 9 was 0.6-1.1x the same runs in separate processes
# (bench/bench_group.py, README "Benchmarks"). A GPU, idle at one small run, takes many.
MAX_AUTO_GROUP = {"cpu": 1, "cuda": 64}


def auto_group_size(cells: list[Cell], workers: int) -> int:
    """Enough runs per group to give every worker work and no more (a group takes one worker), at most
    MAX_AUTO_GROUP per process."""
    from benchmark.device import resolve_device

    device = resolve_device(cells[0].config.train.device).type if cells else "cpu"
    return max(1, min(MAX_AUTO_GROUP.get(device, 1), -(-len(cells) // workers)))


def form_groups(cells: list[Cell], size: int) -> list[list[Cell]]:
    """Cells whose runs may train together (benchmark.train.group_key; the sim backend; the same
    evaluation plan), in plan order, at most `size` per group."""
    by_key: dict[tuple, list[Cell]] = {}
    for cell in cells:
        by_key.setdefault(_group_of(cell), []).append(cell)
    limit = lambda key: size if key[0].env.backend == "sim" else 1  # noqa: E731 - sc2 trains one run at a time
    return [group[i : i + limit(key)] for key, group in by_key.items() for i in range(0, len(group), limit(key))]


def _group_of(cell: Cell) -> tuple:
    from benchmark.train import group_key

    return (group_key(cell.config), cell.attacks, cell.eps, cell.episodes, json.dumps(cell.options, sort_keys=True), cell.models)


def run_group(cells: list[Cell]) -> list[CellResult]:
    """`run_cell` for the cells of one group: their untrained runs train together, then each is evaluated.
    A run that fails in training fails its own cell only."""
    started = time.perf_counter()
    todo = [c for c in cells if not cell_trained(c)]
    errors = {c.run_dir: message for c in todo if (message := _refused(c))}
    todo = [c for c in todo if c.run_dir not in errors]
    if len(todo) > 1:
        try:
            from benchmark.train import train_group

            trainer = train_group([c.config for c in todo], [c.run_dir for c in todo])
            errors.update({todo[k].run_dir: message for k, message in trainer.failures.items()})
        except Exception as err:  # noqa: BLE001 - the whole group failed: every one of its cells reports it
            errors.update({c.run_dir: _one_line(err) for c in todo})
    share = (time.perf_counter() - started) / len(cells)
    return [
        CellResult(c.run_dir, trained_steps(c.run_dir), _eval_rows(c.run_dir), share, errors[c.run_dir])
        if c.run_dir in errors else _plus_time(run_cell(c), share)
        for c in cells
    ]


def _refused(cell: Cell) -> str | None:
    """Why training would refuse the cell's run directory (it holds something else), before its group starts."""
    from benchmark.train import prepare_run_dir

    try:
        prepare_run_dir(cell.config, cell.run_dir)
    except UserError as err:
        return str(err)
    return None


def _plus_time(result: CellResult, seconds: float) -> CellResult:
    return dataclasses.replace(result, wall_seconds=result.wall_seconds + seconds)


# -- running a cell -------------------------------------------------------------------------------------------
def run_cell(cell: Cell) -> CellResult:
    """Train (resuming) and evaluate (skipping done cells) one run; failures come back in `error`.

    Training a run further moves its old evaluations aside (benchmark.train), so they are redone."""
    started = time.perf_counter()
    try:
        from benchmark.evaluate import evaluate
        from benchmark.train import train

        if not cell_trained(cell):
            train(cell.config, cell.run_dir)  # refuses a directory holding a different run
        if missing_evaluations(cell):
            for options in cell.attack_options:  # each skips the cells already in eval.csv
                evaluate(cell.run_dir, cell.episodes, cell.attacks, cell.eps, None, options)
        error = None
    except Exception as err:  # noqa: BLE001 - a sweep reports a failed cell and goes on with the others
        error = _one_line(err)
    return CellResult(cell.run_dir, trained_steps(cell.run_dir), _eval_rows(cell.run_dir), time.perf_counter() - started, error)


def _eval_rows(run_dir: Path) -> int:
    try:
        return len(read_csv_rows(run_dir / EVAL_FILE, EVAL_COLUMNS))
    except UserError:  # a damaged eval.csv: the cell's error already says so, the result must still come back
        return 0


def error_line(err: BaseException) -> str:
    """`Type: first line of the message`: how a failed cell's error is shown (CellResult.error is one line)."""
    text = str(err).strip()
    return f"{type(err).__name__}: {text.splitlines()[0] if text else ''}"


def _one_line(err: Exception) -> str:
    if isinstance(err, UserError):
        return str(err)
    where = traceback.extract_tb(err.__traceback__)[-1] if err.__traceback__ else None
    at = f" (at {Path(where.filename).name}:{where.lineno})" if where else ""
    return error_line(err) + at
