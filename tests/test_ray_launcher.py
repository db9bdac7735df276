"""The Ray launcher on a real Ray cluster: a head started here on 127.0.0.1, joined with `--address`.

The cluster stays on the loopback interface: Ray otherwise advertises the machine's outward address even
for a head started with --node-ip-address=127.0.0.1 (RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0 turns that off),
and its token authentication is off because the head and the driver here share no token file.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from cli_helpers import csv_records as records
from cli_helpers import preset_file, run_cli

pytest.importorskip("ray")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def ray_env():
    # A short folder: Ray's unix sockets live under it and their paths are limited to ~107 characters.
    tmp = tempfile.mkdtemp(prefix="ray", dir="/tmp")
    env = {
        **os.environ,
        "RAY_TMPDIR": tmp,
        "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
        "RAY_AUTH_MODE": "disabled",
        "RAY_USAGE_STATS_ENABLED": "0",
        "RAY_ADDRESS": "",
    }
    yield env
    shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="module")
def head(ray_env):
    """`ray start --head --block` with two CPUs; stopped (it and only it) when the module ends."""
    port = free_port()
    ray = Path(sys.executable).parent / "ray"
    command = [
        str(ray), "start", "--head", "--block", "--node-ip-address=127.0.0.1", f"--port={port}",
        "--num-cpus=2", "--num-gpus=0", "--object-store-memory=100000000", "--disable-usage-stats",
        "--include-dashboard=false", f"--dashboard-agent-listen-port={free_port()}",
    ]  # fmt: skip
    log = Path(ray_env["RAY_TMPDIR"]) / "head.log"
    with log.open("w") as out:
        proc = subprocess.Popen(command, env=ray_env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while not _listening(port):
            assert proc.poll() is None, f"ray head exited:\n{log.read_text()[-2000:]}"
            assert time.monotonic() < deadline, f"ray head not up after 60 s:\n{log.read_text()[-2000:]}"
            time.sleep(0.5)
        yield f"127.0.0.1:{port}"
    finally:
        proc.send_signal(signal.SIGTERM)  # `ray start --block` stops the processes it started
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def cli(env: dict, *args: str) -> subprocess.CompletedProcess:
    return run_cli(*args, timeout=300, env=env)


def test_a_sweep_on_a_ray_cluster_writes_the_local_launchers_records_and_resumes(tmp_path, head, ray_env):
    preset = preset_file(tmp_path)
    on_ray, local = tmp_path / "ray", tmp_path / "local"

    done = cli(ray_env, "sweep", "--preset", str(preset), "--out", str(on_ray), "--launcher", "ray", "--address", head, "--workers", "2")
    assert done.returncode == 0, done.stderr[-3000:]
    done = cli(ray_env, "sweep", "--preset", str(preset), "--out", str(local))
    assert done.returncode == 0, done.stderr[-3000:]

    ray_records, local_records = records(on_ray), records(local)
    assert sorted(ray_records) == sorted(local_records)
    assert sum(name.endswith("eval.csv") for name in ray_records) == 2  # both cells evaluated
    for name, frame in local_records.items():
        pd.testing.assert_frame_equal(ray_records[name], frame, check_exact=True, obj=name)

    # Resumable as the local launcher: run again, nothing is trained or evaluated again.
    before = {p: p.stat().st_mtime_ns for p in on_ray.rglob("*") if p.is_file()}
    done = cli(ray_env, "sweep", "--preset", str(preset), "--out", str(on_ray), "--launcher", "ray", "--address", head)
    assert done.returncode == 0, done.stderr[-3000:]
    assert {p: p.stat().st_mtime_ns for p in on_ray.rglob("*") if p.is_file()} == before


def test_a_failing_cell_is_reported_and_the_others_finish(tmp_path, head, ray_env):
    preset = preset_file(tmp_path)
    root = tmp_path / "runs"
    # A different run already sits in the vanilla cell's directory: training there is refused.
    squatter = root / "sim/3m/vanilla/eps0/seed0"
    squatter.mkdir(parents=True)
    (squatter / "config.yaml").write_text(yaml.safe_dump({"env": {"map": "8m"}}))

    done = cli(ray_env, "sweep", "--preset", str(preset), "--out", str(root), "--launcher", "ray", "--address", head, "--workers", "2")
    assert done.returncode == 1
    assert "1 of 2 cells failed" in done.stderr and "vanilla" in done.stderr
    assert (root / "sim/3m/adv_train/eps0.1/seed0/eval.csv").is_file()


def test_an_unreachable_cluster_is_one_line(tmp_path, ray_env):
    preset = preset_file(tmp_path)
    nobody = f"127.0.0.1:{free_port()}"
    done = cli(ray_env, "sweep", "--preset", str(preset), "--out", str(tmp_path / "runs"), "--launcher", "ray", "--address", nobody)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1].startswith(f"error: cannot join the Ray cluster at {nobody}")
    assert not (tmp_path / "runs").exists()
