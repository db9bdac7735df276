"""The win-rate regression gate: its decision rule on made-up counts, and `robust-qmix regress` end to end
(a fresh run passes against its own baseline; a broken learner fails with a table)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from benchmark.errors import UserError
from benchmark import numerics
from benchmark.numerics import PORTABLE_ENV
from benchmark.regress import judge, load_baseline, summary_line
from cli_helpers import preset_file
from cli_helpers import run_cli as cli

# -- the decision rule -------------------------------------------------------------------------------------


def grid(*cells: tuple[str, int, int], method: str = "adv_train", test_eps: float = 0.1) -> pd.DataFrame:
    """A summary.csv-shaped frame: one row per (attack, wins, episodes), the other keys fixed."""
    rows = [
        {"backend": "sim", "map": "3m", "method": method, "train_eps": 0.0 if method == "vanilla" else 0.1,
         "attack": attack, "test_eps": test_eps, "seeds": 2, "episodes": episodes, "wins": wins, "mean": wins / episodes}
        for attack, wins, episodes in cells
    ]  # fmt: skip
    return pd.DataFrame(rows)


def verdicts(summary: pd.DataFrame, baseline: pd.DataFrame) -> dict[str, str]:
    result = judge(summary, baseline)
    return dict(zip(result.cells["attack"], result.cells["change"]))


def test_a_clear_drop_fails_and_noise_or_a_rise_passes():
    baseline = grid(("none", 200, 256), ("fgsm", 200, 256), ("pgd", 100, 256))
    now = grid(("none", 150, 256), ("fgsm", 195, 256), ("pgd", 180, 256))
    result = judge(now, baseline)
    assert verdicts(now, baseline) == {"none": "drop", "fgsm": "not significant", "pgd": "not significant"}
    assert not result.passed and list(result.worse["attack"]) == ["none"]
    assert judge(baseline, baseline).passed  # identical counts: every p-value is 1


def test_vanilla_winning_more_under_an_attack_fails_as_a_weaker_attack():
    # vanilla has no defence: more wins under an attack mean the attack lost strength
    baseline = grid(("none", 160, 256), ("fgsm", 75, 256), ("pgd", 80, 256), ("atla", 120, 256), method="vanilla")
    now = grid(("none", 175, 256), ("fgsm", 120, 256), ("pgd", 82, 256), ("atla", 60, 256), method="vanilla")
    result = judge(now, baseline)
    assert verdicts(now, baseline) == {"none": "not significant", "fgsm": "rise", "pgd": "not significant", "atla": "drop"}
    assert not result.passed and list(result.weaker["attack"]) == ["fgsm"] and list(result.worse["attack"]) == ["atla"]
    assert "an attack got weaker" in summary_line(result) and "significantly worse" in summary_line(result)
    # the same rise of a defended method, or of vanilla's clean cells, is good news
    assert judge(grid(("fgsm", 120, 256)), grid(("fgsm", 75, 256))).passed
    assert judge(grid(("fgsm", 120, 256), method="vanilla", test_eps=0.0), grid(("fgsm", 75, 256), method="vanilla", test_eps=0.0)).passed


def test_a_drop_significant_alone_is_not_significant_among_many_cells():
    # 24/64 against 40/64: one-sided p = 0.004, under 0.01 alone, over it once Holm counts ten cells.
    alone = grid(("none", 24, 64))
    assert not judge(alone, grid(("none", 40, 64))).passed
    others = [(f"a{i}", 32, 64) for i in range(9)]
    assert judge(grid(("none", 24, 64), *others), grid(("none", 40, 64), *others)).passed


def test_a_lost_cell_fails_and_a_new_cell_passes():
    baseline = grid(("none", 50, 64), ("fgsm", 20, 64))
    lost = judge(grid(("none", 50, 64)), baseline)
    assert not lost.passed and list(lost.missing["attack"]) == ["fgsm"]
    grown = grid(("none", 50, 64), ("fgsm", 20, 64), ("pgd", 0, 64))
    assert judge(grown, baseline).passed and verdicts(grown, baseline)["pgd"] == "new"


def test_a_missing_baseline_says_how_to_make_one(tmp_path):
    with pytest.raises(UserError, match="--update"):
        load_baseline(tmp_path / "absent.csv")


# -- the command -------------------------------------------------------------------------------------------

# With fast-annealing exploration 3m learns a greedy win rate of ~0.1 within 12k env steps, while an
# untrained network (qmix.lr=0) wins none of 256 battles: the simulator's agents are passive, so a policy
# that has learned nothing never fires. Enough for a broken learner to show in 256 test episodes.
QUICK = {
    "backend": "sim",
    "maps": ["3m"],
    "methods": {"vanilla": [0]},
    "seeds": [0],
    "steps": 12000,
    "settings": {
        "qmix.batch_size": 32,
        "qmix.buffer_size": 500,
        "qmix.epsilon_anneal_time": 4000,
        "train.test_interval": 12000,
        "train.test_episodes": 8,
        "train.checkpoint_interval": 12000,
    },
    "eval": {"attacks": ["none"], "eps": [0], "episodes": 256},
}


@pytest.fixture(scope="module")
def quick(tmp_path_factory) -> tuple[Path, Path]:
    """The quick preset and a baseline written from it with --update."""
    folder = tmp_path_factory.mktemp("regress")
    preset, baseline = preset_file(folder, QUICK, "quick.yaml"), folder / "baseline.csv"
    done = cli("regress", "--preset", str(preset), "--baseline", str(baseline), "--update")
    assert done.returncode == 0, done.stderr[-3000:]
    return preset, baseline


def test_update_writes_a_summary_that_report_reads_as_a_baseline(quick):
    _, baseline = quick
    frame = load_baseline(baseline)  # the report's own reader: the same checks as `report --baseline`
    assert len(frame) == 1 and frame["episodes"].item() == 256
    assert 0.05 < frame["wins"].item() / 256 <= 1  # it learned: the broken-learner test below relies on it


def test_a_fresh_run_passes_against_its_own_baseline(quick):
    preset, baseline = quick
    done = cli("regress", "--preset", str(preset), "--baseline", str(baseline))
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    assert "no regression: 1 cell(s) compared" in done.stdout
    assert "+0.000" in done.stdout  # the same seeds on CPU: the same battles won


def test_a_broken_learner_fails_with_a_table(quick, tmp_path):
    preset, baseline = quick
    before = baseline.read_bytes()
    done = cli("regress", "--preset", str(preset), "--baseline", str(baseline), "--set", "qmix.lr=0", "--out", str(tmp_path / "runs"))
    assert done.returncode == 1, done.stdout + done.stderr[-3000:]
    assert "WORSE" in done.stdout and "regression: 1 of 1 cell(s) significantly worse" in done.stdout
    assert (tmp_path / "runs/sim/3m/vanilla/eps0/seed0/eval.csv").is_file()  # --out keeps the runs
    assert baseline.read_bytes() == before  # only --update writes the baseline


def test_the_gate_trains_under_portable_numerics_in_a_fresh_process_even_with_one_worker(quick, tmp_path):
    # Without them the committed baseline is the floats of the CPU that made it (benchmark/numerics.py). The
    # caller's own settings for the same variables (ATen's plain kernels, MKL's AUTO) must not leak through.
    preset, baseline = quick
    env = {**os.environ, "MKL_CBWR": "AUTO", "ATEN_CPU_CAPABILITY": "default"}
    done = cli("regress", "--preset", str(preset), "--baseline", str(baseline), "--out", str(tmp_path / "runs"), env=env)
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    recorded = json.loads((tmp_path / "runs/sim/3m/vanilla/eps0/seed0/manifest.json").read_text())["numerics"]
    assert recorded["mkl_branch"] == "COMPATIBLE"  # MKL's own report, not the variable
    if " avx2" in Path("/proc/cpuinfo").read_text():
        assert recorded["cpu_capability"] == "AVX2"  # torch's own report: the "default" asked for was overridden
    assert {key: recorded[key] for key in PORTABLE_ENV} == PORTABLE_ENV


def test_the_gate_refuses_runs_a_plain_sweep_trained_instead_of_judging_them(quick, tmp_path):
    preset, baseline = quick
    runs = tmp_path / "runs"
    assert cli("sweep", "--preset", str(preset), "--out", str(runs)).returncode == 0  # native numerics
    done = cli("regress", "--preset", str(preset), "--baseline", str(baseline), "--out", str(runs))
    assert done.returncode != 0 and "not trained under the gate's portable numerics" in done.stderr, done.stderr[-2000:]
    assert "Traceback" not in done.stderr and baseline.exists()


def test_portable_numerics_reach_child_processes_and_leave_the_parents_environment_as_it_was(monkeypatch):
    monkeypatch.setenv("MKL_CBWR", "AUTO")
    monkeypatch.delenv("ATEN_CPU_CAPABILITY", raising=False)
    probe = "import json; from benchmark.numerics import current; print(json.dumps(current()))"

    def child_numerics(portable: bool) -> dict:
        with numerics.for_children(portable):
            done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
        return json.loads(done.stdout)

    child = child_numerics(True)
    assert child["mkl_branch"] == "COMPATIBLE" and child["ATEN_CPU_CAPABILITY"] == "avx2"
    assert os.environ["MKL_CBWR"] == "AUTO" and "ATEN_CPU_CAPABILITY" not in os.environ
    assert child_numerics(False)["mkl_branch"] == "AUTO"


def test_a_preset_sharing_the_runs_of_another_judges_only_its_own_cells(quick, tmp_path):
    # `ci` and `ci_learned` share one --out: the second adds evaluations to the first's runs
    preset, _ = quick
    runs, first = tmp_path / "runs", tmp_path / "first.csv"
    assert cli("regress", "--preset", str(preset), "--baseline", str(first), "--out", str(runs), "--update").returncode == 0
    second = preset_file(tmp_path, {**QUICK, "eval": {"attacks": ["random"], "eps": [0.05], "episodes": 16}}, "second.yaml")
    done = cli("regress", "--preset", str(second), "--baseline", str(tmp_path / "second.csv"), "--out", str(runs), "--update")
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    written = load_baseline(tmp_path / "second.csv")
    assert list(zip(written["attack"], written["test_eps"], written["episodes"])) == [("random", 0.05, 16)]
    assert len(load_baseline(first)) == 1  # the first preset's cell was not rewritten
