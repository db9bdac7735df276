"""An attack named with its own settings (`pgd[steps=30]`) is a cell of its own: in `evaluate`, in a sweep's
plan and on the command line, under the same label eval.csv gives it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from benchmark.attacks import attack_cells, attack_settings, parse_attack, split_attacks
from benchmark.errors import UserError
from benchmark.evaluate import evaluate
from benchmark.sweep import missing_evaluations, plan, preset_from_dict
from cli_helpers import run_cli, tiny_preset

REFERENCE_RUN = Path(__file__).resolve().parent.parent / "checkpoints/sim/3m/vanilla/eps0/seed0"


def test_a_spec_parses_into_its_name_and_nested_settings():
    assert parse_attack("pgd") == ("pgd", {})
    assert parse_attack(" pgd[steps=30, victims=1] ") == ("pgd", {"steps": 30, "victims": 1})
    assert parse_attack("paad[ppo.lr=1e-3,clip=true]") == ("paad", {"ppo": {"lr": 0.001}, "clip": True})
    assert split_attacks("none, pgd[steps=30,victims=1],fgsm,") == ["none", "pgd[steps=30,victims=1]", "fgsm"]


@pytest.mark.parametrize("spec, message", [
    ("pgdd[steps=3]", "unknown attack 'pgdd'"),
    ("pgd[steps=3", "must look like name"),
    ("pgd[stepz=3]", "pgd has no setting"),
    ("pgd[steps]", "must look like section.key=value"),
    ("pgd[steps=many]", "steps must be an integer"),
])  # fmt: skip
def test_a_bad_spec_is_one_clear_error(spec, message):
    with pytest.raises(UserError, match=message):
        attack_settings(spec, {})


def test_a_specs_own_settings_win_over_the_shared_options():
    assert attack_settings("pgd[steps=30]", {"steps": 5, "victims": 1}).steps == 30
    assert attack_settings("pgd[steps=30]", {"steps": 5, "victims": 1}).victims == 1
    ppo = attack_settings("atla[ppo.lr=0.002]", {"ppo": {"lr": 0.1, "epochs": 3}}).ppo
    assert (ppo.lr, ppo.epochs) == (0.002, 3)


def test_specs_that_come_to_the_same_settings_are_one_cell():
    cells = attack_cells(["pgd", "pgd[steps=10]", "pgd[steps=30]", "fgsm"], {"steps": 30})
    assert list(cells) == ["pgd[steps=30]", "pgd", "fgsm"]  # shared steps=30; pgd[steps=10] sets it back to the default
    assert attack_cells(["pgd", "pgd[steps=10]", "pgd[steps=30]"], {}).keys() == {"pgd", "pgd[steps=30]"}
    with pytest.raises(UserError, match="one checkpoint"):
        attack_cells(["pgd[model=best]", "fgsm"], {})


def test_evaluate_runs_pgd_10_and_pgd_30_as_two_cells_and_skips_them_when_done(tmp_path):
    run = tmp_path / "run"
    shutil.copytree(REFERENCE_RUN, run)
    (run / "eval.csv").unlink()
    rows = evaluate(run, episodes=4, attacks=["pgd", "pgd[steps=30]"], eps_values=[0.05])
    assert [r["attack"] for r in rows] == ["pgd", "pgd[steps=30]"]
    assert evaluate(run, episodes=4, attacks=["pgd[steps=30]"], eps_values=[0.05]) == []
    assert list(pd.read_csv(run / "eval.csv")["attack"]) == ["pgd", "pgd[steps=30]"]


def test_a_preset_grid_holds_both_variants_and_plans_their_cells(tmp_path):
    preset = preset_from_dict("t", tiny_preset(eval={"attacks": ["none", "pgd", "pgd[steps=30]"], "eps": [0, 0.1]}))
    (cell,) = plan(preset, tmp_path)[:1]
    assert ("pgd[steps=30]", 0.1) in missing_evaluations(cell) and ("pgd", 0.1) in missing_evaluations(cell)
    with pytest.raises(UserError, match="pgd has no setting"):
        preset_from_dict("t", tiny_preset(eval={"attacks": ["pgd[stepz=30]"]}))


def test_the_command_line_takes_specs_and_refuses_a_bad_one(tmp_path):
    run = tmp_path / "run"
    shutil.copytree(REFERENCE_RUN, run)
    (run / "eval.csv").unlink()
    ok = run_cli("evaluate", str(run), "--attacks", "none,pgd[steps=3,victims=1]", "--eps", "0.05", "--episodes", "2")
    assert ok.returncode == 0, ok.stderr
    assert list(pd.read_csv(run / "eval.csv")["attack"]) == ["none", "pgd[steps=3,victims=1]"]
    bad = run_cli("evaluate", str(run), "--attacks", "pgd[stepz=3]", "--eps", "0.05")
    assert bad.returncode == 2 and bad.stderr.strip().count("\n") == 0 and "pgd has no setting" in bad.stderr
