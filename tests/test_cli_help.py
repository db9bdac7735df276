"""The command line tells what it accepts: --help (or -h) lists the registries' names, the listings show
every method's, attack's and preset's settings or purpose, `python -m benchmark` is the same CLI, and
`sweep --seeds/--set` change the plan."""

import subprocess
import sys

import pytest
from click.testing import CliRunner

from benchmark.attacks import ATTACKS
from benchmark.cli import cli
from benchmark.envs.maps import MAPS
from benchmark.launchers import LAUNCHERS
from benchmark.methods import METHODS
from benchmark.sweep import preset_names

COMMANDS = ["train", "evaluate", "sweep", "regress", "report", "export", "maps", "methods", "attacks", "presets", "doctor"]


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args), terminal_width=400)


@pytest.mark.parametrize(("command", "names"), [
    ("train", MAPS.names() + METHODS.names()),
    ("evaluate", ATTACKS.names()),
    ("sweep", preset_names() + LAUNCHERS.names()),
    ("regress", preset_names() + LAUNCHERS.names()),
])  # fmt: skip
def test_help_lists_the_choices(command, names):
    out = invoke(command, "--help").output
    assert all(name in out for name in names), [n for n in names if n not in out]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_dash_h_and_an_example(command):
    short, long = invoke(command, "-h"), invoke(command, "--help")
    assert short.exit_code == 0 and short.output == long.output
    assert f"robust-qmix {command}" in short.output.split("Example:")[1]


def test_the_listings_name_every_plugin_and_its_settings():
    methods, attacks, presets = invoke("methods").output, invoke("attacks").output, invoke("presets").output
    assert all(name in methods for name in METHODS.names()) and "kappa=1.0" in methods and "adversary.lr=0.0005" in methods
    assert all(name in attacks for name in ATTACKS.names()) and "adversary_steps=100000" in attacks and "steps=10" in attacks
    assert all(name in presets for name in preset_names()) and "the study's grid" in presets


def test_python_dash_m_benchmark_is_the_cli():
    done = subprocess.run([sys.executable, "-m", "benchmark", "maps"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "2s3z" in done.stdout


@pytest.mark.parametrize("args", [("train", "--map", "3n"), ("train", "--method", "vanila"), ("evaluate", ".", "--attacks", "none,pgdd"),
                                  ("sweep", "--preset", "papr"), ("sweep", "--preset", "ci", "--launcher", "slurm")])
def test_a_bad_choice_is_one_line_naming_the_choices(args):
    from cli_helpers import run_cli

    done = run_cli(*args)
    assert done.returncode == 2 and "is not one of" in done.stderr and f"robust-qmix {args[0]} --help" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr


def test_sweep_seeds_and_set_change_the_plan(tmp_path):
    from cli_helpers import preset_file, run_cli

    preset = preset_file(tmp_path)
    done = run_cli("sweep", "--preset", str(preset), "--out", str(tmp_path / "root"), "--seeds", "4,5", "--set", "qmix.lr=0.0002", "--dry-run")
    assert done.returncode == 0, done.stderr
    assert "│ 2     │" in done.stdout  # two cells per (method, eps): the two seeds asked for
    from benchmark.cli import _preset

    spec = _preset(str(preset), [4, 5, 4], ("qmix.lr=0.0002",))
    assert spec.seeds == (4, 5) and spec.settings["qmix.lr"] == 0.0002
    bad = run_cli("sweep", "--preset", str(preset), "--seeds", "4,x", "--dry-run")
    assert bad.returncode == 2 and "comma-separated" in bad.stderr
    unknown = run_cli("sweep", "--preset", str(preset), "--set", "qmix.lrr=1", "--dry-run")
    assert unknown.returncode == 1 and "qmix.lrr" in unknown.stderr and "Traceback" not in unknown.stderr


def test_a_preset_file_path_is_still_accepted(tmp_path):
    from cli_helpers import preset_file

    assert invoke("sweep", "--preset", str(preset_file(tmp_path)), "--out", str(tmp_path / "r"), "--dry-run").exit_code == 0
