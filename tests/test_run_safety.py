"""What a run directory guarantees under concurrency, kills, damaged files and full or read-only disks
(issue 10): one writer per run, records that always describe the model beside them, and one-line errors."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest
import torch

from benchmark import checkpoint
from benchmark.errors import UserError
from benchmark.evaluate import evaluate
from benchmark.export import export_runs
from benchmark.report.build import build_report
from benchmark.runlock import run_lock
from cli_helpers import CLI, TIME_DEPENDENT, csv_records, preset_file, run_cli, tiny_preset
from cli_helpers import TINY as TINY_PRESET
from runs_factory import write_run

TINY = [
    "--map", "3m", "--set", "env.batch_envs=4", "--set", "qmix.batch_size=4", "--set", "qmix.buffer_size=32",
    "--set", "train.test_interval=300", "--set", "train.test_episodes=4", "--set", "train.checkpoint_interval=300",
]  # fmt: skip


def cli(*args: str) -> subprocess.CompletedProcess:
    return run_cli(*args, timeout=300)


def one_line_error(done: subprocess.CompletedProcess, *fragments: str) -> None:
    """Exit 1 with one `error:` line, the last, holding every fragment, and no traceback (a training that
    fails midway may have drawn its progress bar above it)."""
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr and [line for line in lines if line.startswith("error: ")] == lines[-1:], done.stderr
    for fragment in fragments:
        assert fragment in lines[-1], done.stderr


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    """A 600-step run, evaluated on (none, 0)."""
    run = tmp_path_factory.mktemp("trained") / "run"
    assert cli("train", *TINY, "--steps", "600", "--out", str(run)).returncode == 0
    assert cli("evaluate", str(run), "--episodes", "4").returncode == 0
    return run


def copy_of(run: Path, tmp_path: Path, name: str = "copy") -> Path:
    target = tmp_path / name
    shutil.copytree(run, target)
    return target


# -- 3. locks ---------------------------------------------------------------------------------------------
def test_a_second_writer_is_refused_with_the_holders_pid(trained, tmp_path):
    run = copy_of(trained, tmp_path)
    with run_lock(run):
        evaluated = cli("evaluate", str(run), "--episodes", "4", "--eps", "0.1")
        trained_again = cli("train", *TINY, "--steps", "900", "--out", str(run))
    for done in (evaluated, trained_again):
        one_line_error(done, "in use by another robust-qmix process", f"pid {os.getpid()}")
    assert len(pd.read_csv(run / "eval.csv")) == 1  # nothing was written meanwhile


def test_two_trainings_on_one_new_directory_do_not_both_run(tmp_path):
    run = tmp_path / "run"
    procs = {
        seed: subprocess.Popen([*CLI, "train", *TINY, "--steps", "600", "--seed", str(seed), "--out", str(run)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        for seed in (1, 2)
    }  # started together, so both find the directory new
    codes = {seed: proc.wait(timeout=300) for seed, proc in procs.items()}
    assert sorted(codes.values()) == [0, 1], codes
    (winner,) = [seed for seed, code in codes.items() if code == 0]
    (loser,) = [seed for seed, code in codes.items() if code == 1]
    one_line_error(subprocess.CompletedProcess([], 1, "", procs[loser].stderr.read()), f"pid {procs[winner].pid}")
    assert f"seed: {winner}" in (run / "config.yaml").read_text()
    assert cli("evaluate", str(run), "--episodes", "4").returncode == 0  # records of one run, that report accepts


def test_a_lock_left_by_a_killed_process_is_taken_over(trained, tmp_path):
    run = copy_of(trained, tmp_path)
    holder = subprocess.Popen(
        [*CLI[:1], "-c", f"from benchmark.runlock import run_lock\nwith run_lock({str(run)!r}):\n    print('held', flush=True)\n    import time; time.sleep(600)"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert holder.stdout.readline().strip() == "held"
    one_line_error(cli("evaluate", str(run), "--episodes", "4", "--eps", "0.1"), f"pid {holder.pid}")
    holder.kill()
    holder.wait()
    assert (run / ".lock").read_text().strip() == str(holder.pid)  # the dead holder's file is still there
    assert cli("evaluate", str(run), "--episodes", "4", "--eps", "0.1").returncode == 0
    assert len(pd.read_csv(run / "eval.csv")) == 2


# -- 2. records that describe the model beside them ---------------------------------------------------------
def test_extending_a_run_evaluates_the_new_model(trained, tmp_path):
    run = copy_of(trained, tmp_path)
    old = pd.read_csv(run / "eval.csv")
    aside = run / f"eval.before-{json.loads((run / 'manifest.json').read_text())['env_steps']}steps.csv"
    assert cli("train", *TINY, "--steps", "900", "--out", str(run)).returncode == 0
    assert not (run / "eval.csv").exists()  # moved aside: it described the 600-step model
    assert cli("evaluate", str(run), "--episodes", "4").returncode == 0
    new = pd.read_csv(run / "eval.csv")
    assert len(new) == 1 and aside.exists()
    pd.testing.assert_frame_equal(pd.read_csv(aside), old)


def test_a_replaced_model_invalidates_evaluations_and_learned_attacks(trained, tmp_path):
    run = copy_of(trained, tmp_path)
    other = tmp_path / "other"
    assert cli("train", *TINY, "--steps", "600", "--seed", "5", "--out", str(other)).returncode == 0
    (run / "adversaries").mkdir()
    (run / "adversaries" / "atla_eps0.1_steps0_victims0.pt").write_bytes(b"trained on the old victim")
    shutil.copy(other / "checkpoints" / "model.pt", run / "checkpoints" / "model.pt")
    rows = evaluate(run, 4, ["none"], [0.0])
    assert len(rows) == 1  # redone, not "already in eval.csv"
    assert not (run / "adversaries").exists() and len(list(run.glob("adversaries.before-model-*"))) == 1


def test_report_leaves_out_a_run_whose_evaluation_describes_another_model(trained, tmp_path):
    run = copy_of(trained, tmp_path, "sim/3m/vanilla/eps0/seed0")
    other = tmp_path / "other"
    assert cli("train", *TINY, "--steps", "600", "--seed", "5", "--out", str(other)).returncode == 0
    shutil.copy(other / "checkpoints" / "model.pt", run / "checkpoints" / "model.pt")
    warnings = []
    with pytest.raises(UserError, match="can be summarised"):
        build_report([run], tmp_path / "report", reps=10, warn=warnings.append)
    assert "eval.csv describes an earlier model" in warnings[0]


def test_export_over_an_existing_run_keeps_nothing_of_it(trained, tmp_path):
    (target,) = export_runs([trained], tmp_path / "out")
    (target / "checkpoints" / "last.pt").write_bytes(b"old resume state")
    (target / "checkpoints" / "model.pt").write_bytes(b"old model, which a reader would prefer")
    (target / "adversaries").mkdir()
    (target / "adversaries" / "x.pt").write_bytes(b"old adversary")
    export_runs([trained], tmp_path / "out")
    models = {f"checkpoints/{stem}{suffix}" for stem in ("model", "best") for suffix in (".safetensors", ".json")}
    assert {p.relative_to(target).as_posix() for p in target.rglob("*") if p.is_file()} == {
        "config.yaml", "manifest.json", "train.csv", "eval.csv", "eval.json", *models,
    }


# -- 1. report --out ----------------------------------------------------------------------------------------
def test_report_removes_only_files_an_earlier_report_wrote(tmp_path):
    runs = tmp_path / "runs"
    write_run(runs, wins={("none", 0.0): 10, ("fgsm", 0.1): 5})
    out = tmp_path / "report"
    build_report([runs], out, reps=10)
    assert (out / "tables" / "win_rate_fgsm.md").exists()
    mine = [out / "figures" / "my_plot.png", out / "tables" / "my_notes.md"]
    for path in mine:
        path.write_text("mine")
    write_run(runs, wins={("none", 0.0): 10})  # fgsm no longer evaluated: its table is stale
    build_report([runs], out, reps=10)
    assert not (out / "tables" / "win_rate_fgsm.md").exists()
    assert all(path.read_text() == "mine" for path in mine)


# -- 5, 9. duplicate requests, damaged rows -------------------------------------------------------------------
def test_a_cell_asked_for_twice_is_one_row(trained, tmp_path):
    run = copy_of(trained, tmp_path)
    assert cli("evaluate", str(run), "--episodes", "4", "--attacks", "fgsm,fgsm", "--eps", "0.1,0.1,0.10").returncode == 0
    frame = pd.read_csv(run / "eval.csv")
    assert len(frame) == 2 and not frame.duplicated(["attack", "test_eps"]).any()


def test_a_row_cut_short_is_evaluated_again(trained, tmp_path):
    run = copy_of(trained, tmp_path)
    whole = (run / "eval.csv").read_text()
    (run / "eval.csv").write_text(whole[: whole.rindex(",")] + "\n")  # the last field lost
    rows = evaluate(run, 4, ["none"], [0.0])
    assert len(rows) == 1
    assert (run / "eval.csv").read_text() == whole


# -- 6. kills and SIGTERM during writes, a foreign last.pt -----------------------------------------------------
def test_temporaries_of_a_killed_write_are_removed_by_the_next_writer(trained, tmp_path):
    run = copy_of(trained, tmp_path)
    left = [run / "checkpoints" / ".last.pt.x1y2.tmp", run / ".eval.csv.abc.tmp"]
    for path in left:
        path.write_bytes(b"half a checkpoint")
    assert cli("evaluate", str(run), "--episodes", "4").returncode == 0
    assert not any(path.exists() for path in left)


def test_sigterm_stops_training_cleanly_and_the_resumed_run_is_exact(tmp_path):
    reference, run = tmp_path / "reference", tmp_path / "run"
    args = [*TINY, "--steps", "1500", "--set", "train.checkpoint_interval=150"]
    assert cli("train", *args, "--out", str(reference)).returncode == 0
    proc = subprocess.Popen([*CLI, "train", *args, "--out", str(run)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not (run / "checkpoints" / "model.pt").exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=120) == 143
    assert "terminated; run the same command again" in proc.stderr.read()
    assert not list(run.rglob("*.tmp"))
    assert cli("train", *args, "--out", str(run)).returncode == 0
    drop = list(TIME_DEPENDENT)
    pd.testing.assert_frame_equal(pd.read_csv(run / "train.csv").drop(columns=drop), pd.read_csv(reference / "train.csv").drop(columns=drop))


def test_a_resume_state_from_another_run_is_refused(trained, tmp_path):
    run = tmp_path / "run"
    assert cli("train", *TINY, "--steps", "600", "--seed", "3", "--out", str(run)).returncode == 0
    shutil.copy(trained / "checkpoints" / "last.pt", run / "checkpoints" / "last.pt")  # same steps and rows, seed 0
    rows = (run / "train.csv").read_text()
    one_line_error(cli("train", *TINY, "--steps", "900", "--seed", "3", "--out", str(run)), "belongs to another run")
    assert (run / "train.csv").read_text() == rows


# -- 7, 11. damaged model files -----------------------------------------------------------------------------
@pytest.mark.parametrize("size", [5_000, 30_000, 60_000])
def test_a_truncated_model_is_one_line(trained, tmp_path, size):
    run = copy_of(trained, tmp_path)
    model = run / "checkpoints" / "model.pt"
    model.write_bytes(model.read_bytes()[:size])
    one_line_error(cli("evaluate", str(run), "--eps", "0.1"), "corrupt or unreadable")


def test_a_truncated_resume_state_is_one_line(trained, tmp_path):
    run = copy_of(trained, tmp_path)
    state = run / "checkpoints" / "last.pt"
    state.write_bytes(state.read_bytes()[:20_000])
    one_line_error(cli("train", *TINY, "--steps", "900", "--out", str(run)), "corrupt or unreadable")


def test_flipped_bytes_in_a_model_are_caught_by_its_checksum(trained, tmp_path):
    run = copy_of(trained, tmp_path)
    model = run / "checkpoints" / "model.pt"
    data = bytearray(model.read_bytes())
    data[len(data) // 2] ^= 0xFF  # inside the weights' bytes, which torch itself does not check
    model.write_bytes(bytes(data))
    one_line_error(cli("evaluate", str(run), "--eps", "0.1"), "does not match its sha256 checksum")


def test_a_model_whose_agent_is_not_a_dict_is_one_line(trained, tmp_path):
    run = copy_of(trained, tmp_path)
    model = run / "checkpoints" / "model.pt"
    state = checkpoint.load(model, torch.device("cpu"))
    checkpoint.save(model, {**state, "agent": [1, 2, 3]})
    one_line_error(cli("evaluate", str(run), "--eps", "0.1"), "does not fit its config")


def test_a_damaged_adversary_cache_is_trained_again(trained, tmp_path):
    run = copy_of(trained, tmp_path)
    options = {"adversary_steps": 30}
    evaluate(run, 4, ["atla"], [0.1], options=options)
    (kept,) = (run / "adversaries").glob("*.pt")
    rows = pd.read_csv(run / "eval.csv")
    kept.write_bytes(kept.read_bytes()[:2000])
    (run / "eval.csv").write_text(rows[rows["attack"] == "none"].to_csv(index=False))
    (again,) = evaluate(run, 4, ["atla"], [0.1], options=options)
    assert again == rows[rows["attack"] != "none"].iloc[0].to_dict()  # the same adversary, retrained
    assert checkpoint.load(kept, torch.device("cpu"))["done"]


# -- 7. folders that cannot be written ----------------------------------------------------------------------
def test_an_out_that_is_a_file_or_under_one_is_one_line(trained, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    for out in (blocker, blocker / "run"):
        one_line_error(cli("train", *TINY, "--steps", "300", "--out", str(out)), str(blocker))
    one_line_error(run_cli("report", str(trained), "--out", str(blocker / "r")), str(blocker))
    one_line_error(run_cli("export", str(trained), "--out", str(blocker / "e")), str(blocker))


@pytest.fixture
def mounted(tmp_path):
    """mount(options) -> a fresh tmpfs with those options; skipped where this process may not mount."""
    points = []

    def mount(options: str) -> Path:
        point = tmp_path / f"mnt{len(points)}"
        point.mkdir()
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(point)], capture_output=True, text=True)
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here (needs root): {done.stderr.strip()}")
        points.append(point)
        return point

    yield mount
    for point in points:
        subprocess.run(["umount", str(point)], check=False)


def test_a_read_only_filesystem_is_one_line_and_nothing_is_computed(trained, mounted):
    ro = mounted("size=4m")
    run = ro / "run"
    shutil.copytree(trained, run)
    subprocess.run(["mount", "-o", "remount,ro", str(ro)], check=True)
    started = time.monotonic()
    one_line_error(cli("evaluate", str(run), "--episodes", "4096", "--eps", "0.1"), "Read-only file system")
    assert time.monotonic() - started < 60  # refused before evaluating 4096 episodes
    one_line_error(cli("train", *TINY, "--steps", "300", "--out", str(ro / "new")), "Read-only file system")
    one_line_error(run_cli("report", str(run), "--out", str(ro / "report")), "Read-only file system")
    one_line_error(run_cli("export", str(run), "--out", str(ro / "exported")), "Read-only file system")


def test_a_full_disk_is_one_line_and_leaves_no_partial_file(trained, mounted):
    full = mounted("size=2m")
    one_line_error(cli("train", *TINY, "--steps", "600", "--out", str(full / "new")), "No space left on device")
    assert not list(full.rglob("*.tmp"))  # its first last.pt (1.8 MB) did not fit
    run = full / "run"
    shutil.copytree(trained, run, ignore=shutil.ignore_patterns("last.pt", "best.pt"))  # evaluate needs model.pt only
    with open(full / "filler", "wb", buffering=0) as filler, pytest.raises(OSError):
        while True:
            filler.write(b"\0" * 4096)
    started = time.monotonic()
    one_line_error(cli("evaluate", str(run), "--episodes", "4096", "--eps", "0.1"), "No space left on device")
    assert time.monotonic() - started < 60  # refused before evaluating 4096 episodes
    one_line_error(run_cli("report", str(run), "--out", str(full / "report")), "No space left on device")
    one_line_error(run_cli("export", str(run), "--out", str(full / "exported")), "No space left on device")
    assert not list(full.rglob("*.tmp"))


# -- 4. a sweep's workers die with it -------------------------------------------------------------------------
KILL_PRESET = tiny_preset(TINY_PRESET, methods={"vanilla": [0]}, seeds=[0, 1], steps=3000)


def children_of(pid: int) -> set[int]:
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.fixture(scope="module")
def kill_sweep(tmp_path_factory) -> tuple[Path, dict]:
    base = tmp_path_factory.mktemp("kill")
    preset = preset_file(base, KILL_PRESET)
    done = run_cli("sweep", "--preset", str(preset), "--out", str(base / "reference"), "--workers", "2")
    assert done.returncode == 0, done.stderr
    return preset, csv_records(base / "reference")


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM])
def test_a_killed_sweep_takes_its_workers_with_it_and_reruns_exactly(kill_sweep, tmp_path, how):
    preset, reference = kill_sweep
    root = tmp_path / "root"
    cmd = [*CLI, "sweep", "--preset", str(preset), "--out", str(root), "--workers", "2"]
    parent = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 300
    while not list(root.rglob("last.pt")) and time.monotonic() < deadline:
        time.sleep(0.05)
    workers = children_of(parent.pid)
    assert workers, "the sweep started no worker processes"
    parent.send_signal(how)
    assert parent.wait(timeout=120) == (-signal.SIGKILL if how == signal.SIGKILL else 143)
    deadline = time.monotonic() + 5  # far less than what is left of the cells
    while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(alive(pid) for pid in workers), "workers outlived their sweep"
    # A SIGTERM'd writer removes its temporary file; a SIGKILL'd one cannot, so one caught mid-write leaves
    # it (never a half-written record: the record itself is replaced only whole), and the next writer to
    # take the run's lock removes it (benchmark/runlock.py).
    left = list(root.rglob("*.tmp"))
    assert not left if how == signal.SIGTERM else all(p.name.startswith(".") for p in left), left
    done = run_cli("sweep", "--preset", str(preset), "--out", str(root), "--workers", "2")
    assert done.returncode == 0, done.stderr
    assert not list(root.rglob("*.tmp"))
    records = csv_records(root)
    assert records.keys() == reference.keys()
    for name, frame in reference.items():
        pd.testing.assert_frame_equal(records[name], frame, check_exact=True, obj=name)
