"""Training runs end to end: determinism, exact resume after a kill, and clean refusal of bad input."""

import os
import signal
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest

from cli_helpers import CLI, TIME_DEPENDENT, run_cli

SMALL = [
    "--map", "3m", "--steps", "2400",
    "--set", "env.batch_envs=4", "--set", "qmix.batch_size=8", "--set", "qmix.buffer_size=64",
    "--set", "train.test_interval=400", "--set", "train.test_episodes=8", "--set", "train.checkpoint_interval=600",
    "--set", "qmix.target_update_interval=20",
]  # fmt: skip


def cli(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    done = run_cli(*args)
    if check and done.returncode != 0:
        raise AssertionError(done.stderr)
    return done


def rows(run: Path) -> pd.DataFrame:
    return pd.read_csv(run / "train.csv").drop(columns=list(TIME_DEPENDENT))


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    run = tmp_path_factory.mktemp("ref") / "run"
    cli("train", *SMALL, "--out", str(run))
    return run


def test_a_run_writes_the_designed_directory(reference):
    assert {p.name for p in reference.iterdir()} >= {"config.yaml", "manifest.json", "train.csv", "checkpoints"}
    train = rows(reference)
    assert train["env_steps"].is_monotonic_increasing
    assert train["env_steps"].iloc[-1] >= 2400 and train["env_steps"].iloc[0] == 0
    assert train["test_win_rate"].between(0, 1).all()


def test_same_seed_gives_identical_records(reference, tmp_path):
    cli("train", *SMALL, "--out", str(tmp_path / "again"))
    pd.testing.assert_frame_equal(rows(reference), rows(tmp_path / "again"))


def test_killed_run_resumes_with_the_same_rows(reference, tmp_path):
    run = tmp_path / "killed"
    cmd = [*CLI, "train", *SMALL, "--out", str(run)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 300
    while not (run / "checkpoints" / "last.pt").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)  # let it get past the checkpoint, so rows after it must be dropped and redone
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    # A kill inside a write leaves that write's temporary file (never a half-written record), depending on
    # where the kill lands; resuming under the run's lock removes it.
    left = [p for p in run.rglob("*") if p.name.endswith(".tmp")]
    assert all(p.name.startswith(".") for p in left), left
    cli("train", *SMALL, "--out", str(run))
    pd.testing.assert_frame_equal(rows(reference), rows(run))
    assert not any(p.name.endswith(".tmp") for p in run.rglob("*")), "a temporary file was left behind"


def test_a_finished_run_is_not_trained_again(reference):
    before = (reference / "train.csv").read_text()
    done = cli("train", *SMALL, "--out", str(reference))
    assert "2400" in done.stderr or "env steps" in done.stderr
    assert (reference / "train.csv").read_text() == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--map", "4m"], "'4m' is not one of '2m_vs_1z', '3m'"),
        (["--method", "magic"], "'magic' is not one of 'vanilla'"),
        (["--steps", "-5"], "train.steps must be >= 0"),
        (["--train-eps", "2"], "train_eps must be in [0, 1]"),
        (["--set", "qmix.nope=1"], "unknown config key"),
        (["--config", "/nonexistent.yaml"], "cannot read config"),
    ],
)
def test_bad_input_gives_one_line_and_writes_nothing(tmp_path, args, message):
    out = tmp_path / "run"
    done = cli("train", *args, "--out", str(out), check=False)
    assert done.returncode != 0
    assert message in done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert not out.exists()


def test_a_different_config_on_an_existing_run_is_refused(reference):
    done = cli("train", *SMALL, "--set", "qmix.lr=0.01", "--out", str(reference), check=False)
    assert done.returncode == 1 and "different config (qmix.lr)" in done.stderr


def test_a_corrupt_checkpoint_is_reported(reference, tmp_path):
    run = tmp_path / "corrupt"
    subprocess.run(["cp", "-r", str(reference), str(run)], check=True)
    (run / "checkpoints" / "last.pt").write_bytes(b"garbage")
    done = cli("train", *SMALL, "--steps", "4000", "--out", str(run), check=False)
    assert done.returncode == 1 and "corrupt" in done.stderr and "Traceback" not in done.stderr


def test_evaluate_appends_rows_and_skips_done_cells(reference):
    cli("evaluate", str(reference), "--episodes", "8")
    cli("evaluate", str(reference), "--episodes", "8")
    evals = pd.read_csv(reference / "eval.csv")
    assert len(evals) == 1 and evals["attack"].tolist() == ["none"] and evals["episodes"].tolist() == [8]
    done = cli("evaluate", str(reference / "nope"), check=False)
    assert done.returncode == 1 and "not a run directory" in done.stderr
