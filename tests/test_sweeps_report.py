"""The report's knob sweeps (`report --sweeps DIR`): each setting labelled from its runs' config.yaml, set
beside the study's runs of the same configuration, and chosen on FGSM at the train eps alone."""

from __future__ import annotations

import pandas as pd
import pytest

from benchmark.errors import UserError
from benchmark.report.build import build_report
from benchmark.report.runs import collect_runs
from benchmark.report.sweeps import STUDY_SETTING, collect_sweeps, sweep_cells, sweep_table
from runs_factory import EPISODES, REPS, write_run

CELLS = (("none", 0.0), ("fgsm", 0.1), ("pgd", 0.1), ("fgsm", 0.2))


def _runs(root, wins: tuple[int, ...], settings: dict | None = None, method: str = "adv_train", seeds=(0, 1)) -> None:
    for seed in seeds:
        write_run(root, method=method, train_eps=0.1, seed=seed, wins=dict(zip(CELLS, wins)), settings=settings)


@pytest.fixture
def grid(tmp_path):
    """The study (vanilla, adv_train 0.1) and two sweeps of adv_train's inner PGD steps: 3 steps resist FGSM
    best, 1 step resists PGD best; a sweep of policy_reg, which the study did not run."""
    study, sweeps = tmp_path / "study", tmp_path / "sweeps"
    write_run(study, wins=dict(zip(CELLS, (18, 1, 0, 0))))
    _runs(study, (16, 8, 7, 2))
    _runs(sweeps / "steps3", (15, 12, 6, 4), {"method.attack_steps": 3})
    _runs(sweeps / "steps1", (17, 6, 9, 1), {"method.attack_steps": 1})
    _runs(sweeps / "steps1", (17, 6, 9, 1), {"method.attack_steps": 1}, method="policy_reg")
    return study, sweeps


def _table(study, sweeps) -> pd.DataFrame:
    swept, _ = collect_sweeps(sweeps)
    return sweep_table(sweep_cells(collect_runs([study]).runs, swept, REPS))


def test_each_setting_is_labelled_from_its_config_and_chosen_on_fgsm_at_the_train_eps(grid):
    table = _table(*grid)
    assert list(table["variant"]) == [STUDY_SETTING, "attack_steps=1", "attack_steps=3"]  # policy_reg: no study run
    assert set(table["configuration"]) == {"Adv. train (ε=0.1)"} and set(table["seeds"]) == {"2"}
    percent = lambda wins: f"{100 * wins / EPISODES:.0f}"  # noqa: E731
    assert list(table["clean (%)"]) == [percent(16), percent(17), percent(15)]
    assert list(table["FGSM ε=0.1 (%)"]) == [percent(8), percent(6), percent(12)]
    assert list(table["PGD ε=0.1 (%)"]) == [percent(7), percent(9), percent(6)]
    assert list(table.columns[4:7]) == ["clean (%)", "FGSM ε=0.1 (%)", "PGD ε=0.1 (%)"]  # the choosing cell first
    assert list(table["chosen"]) == ["", "", "yes"]  # best FGSM at 0.1, though worst under PGD
    assert not any("0.2" in column for column in table.columns)  # only the train eps


def test_a_tie_on_fgsm_keeps_the_study_setting(tmp_path):
    study, sweeps = tmp_path / "study", tmp_path / "sweeps"
    _runs(study, (16, 8, 7, 2))
    _runs(sweeps / "kappa", (19, 8, 12, 2), {"method.attack_steps": 5})
    assert list(_table(study, sweeps)["chosen"]) == ["yes", ""]


def test_the_report_ends_its_claims_with_the_sweeps(grid, tmp_path):
    study, sweeps = grid
    out = tmp_path / "report"
    build_report([study], out, reps=REPS, sweeps=sweeps)
    claims = (out / "claims.md").read_text()
    assert "## (i) Sweeps of the robust methods' knobs" in claims and "attack_steps=3" in claims
    assert "Sweeps of the robust methods" in (out / "report.html").read_text()
    cells = pd.read_csv(out / "sweeps.csv")
    assert set(cells["variant"]) == {STUDY_SETTING, "attack_steps=1", "attack_steps=3"}
    assert (cells["method"] == "adv_train").all()


def test_no_sweeps_folder_is_a_clear_error(grid, tmp_path):
    study, _ = grid
    with pytest.raises(UserError, match="no such folder"):
        build_report([study], tmp_path / "report", reps=REPS, sweeps=tmp_path / "absent")
    assert not (tmp_path / "report").exists()
