"""`robust-qmix doctor` names each missing piece of the `sc2` backend precisely (fake installs in tmp dirs)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from click.testing import CliRunner

from benchmark import doctor
from benchmark.cli import cli
from benchmark.envs import sc2_install
from benchmark.envs.maps import MAPS


def fake_sc2(root: Path, builds: tuple[int, ...] = (75689,), maps: tuple[str, ...] | None = None) -> Path:
    """A StarCraftII folder with empty game binaries and map files: all that the checks look at."""
    for build in builds:
        folder = root / "Versions" / f"Base{build}"
        folder.mkdir(parents=True)
        (folder / "SC2_x64").touch()
    map_dir = root / "Maps" / "SMAC_Maps"
    map_dir.mkdir(parents=True)
    for name in MAPS.names() if maps is None else maps:
        (map_dir / f"{name}.SC2Map").touch()
    return root


def rows(monkeypatch, sc2path: Path | None, home: Path) -> dict[str, tuple[bool, str]]:
    monkeypatch.setenv("HOME", str(home))
    if sc2path is None:
        monkeypatch.delenv("SC2PATH", raising=False)
    else:
        monkeypatch.setenv("SC2PATH", str(sc2path))
    return {name: (ok, detail) for name, ok, detail in doctor.checks()}


def test_sc2path_not_set_and_no_default_install(monkeypatch, tmp_path):
    found = rows(monkeypatch, None, tmp_path)
    ok, detail = found["SC2PATH"]
    assert not ok and "not set" in detail and str(tmp_path / "StarCraftII") in detail
    assert found["StarCraft II"] == (False, "no StarCraft II folder (see SC2PATH)")
    assert not found["SMAC maps"][0]


def test_sc2path_not_set_uses_pysc2s_default(monkeypatch, tmp_path):
    fake_sc2(tmp_path / "StarCraftII")
    found = rows(monkeypatch, None, tmp_path)
    assert found["SC2PATH"][0] and "default" in found["SC2PATH"][1]
    assert found["StarCraft II"][0] and found["SMAC maps"][0]


def test_sc2path_that_is_not_a_directory(monkeypatch, tmp_path):
    ok, detail = rows(monkeypatch, tmp_path / "nowhere", tmp_path)["SC2PATH"]
    assert not ok and detail == f"SC2PATH is {tmp_path / 'nowhere'}, which is not a directory"


def test_empty_starcraft_folder_lacks_the_game_and_the_maps(monkeypatch, tmp_path):
    found = rows(monkeypatch, tmp_path, tmp_path)
    assert found["SC2PATH"][0]
    assert found["StarCraft II"] == (False, f"no game binary {tmp_path}/Versions/Base*/SC2_x64")
    assert found["SMAC maps"][0] is False and f"no folder {tmp_path}/Maps/SMAC_Maps" in found["SMAC maps"][1]


def test_missing_map_files_are_named(monkeypatch, tmp_path):
    fake_sc2(tmp_path, maps=("3m", "8m"))
    ok, detail = rows(monkeypatch, tmp_path, tmp_path)["SMAC maps"]
    assert not ok and "2s3z.SC2Map" in detail and "3m.SC2Map" not in detail


@pytest.mark.parametrize(("builds", "ok", "hint"), [
    ((75689,), True, None),
    ((69232,), False, "Base69232"),
    ((75689, 76052), False, "remove the newer Versions/Base* folders"),
])
def test_the_game_version_must_be_410(monkeypatch, tmp_path, builds, ok, hint):
    fake_sc2(tmp_path, builds=builds)
    found = rows(monkeypatch, tmp_path, tmp_path)
    assert found["SC2 version"][0] is ok and "Base" in found["SC2 version"][1]
    if hint:
        assert hint in found["SC2 version"][1] and "the study uses 4.10 (Base75689)" in found["SC2 version"][1]
    # Another version is worth a warning, not a refusal: the manifest records the version a run used.
    assert not any(p.startswith("SC2 version") for p in sc2_install.problems(["3m"]))


def test_missing_python_packages_say_how_to_install_them(monkeypatch, tmp_path):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name in ("smac", "pysc2") else real(name, *a))
    found = rows(monkeypatch, fake_sc2(tmp_path), tmp_path)
    for module in ("smac", "pysc2"):
        assert found[module][0] is False and found[module][1].endswith(": pip install -e '.[sc2]'")
    assert sc2_install.problems(["3m"])[0].startswith("smac: not installed")


def test_doctor_command_prints_every_missing_piece(monkeypatch, tmp_path):
    monkeypatch.setenv("COLUMNS", "400")  # so that rich does not wrap the details
    fake_sc2(tmp_path, builds=(69232,), maps=("3m",))
    monkeypatch.setenv("SC2PATH", str(tmp_path))
    result = CliRunner().invoke(cli, ["doctor"])
    assert result.exit_code == 0
    assert "runs Base69232" in result.output or "runs 4.6.2 (Base69232)" in result.output
    assert "missing in" in result.output and "2s3z.SC2Map" in result.output
