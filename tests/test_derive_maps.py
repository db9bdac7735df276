"""The terrain regeneration script: its reading of the archive layers on a hand-built map, its unit-data
checks, bad input, and (where SMAC's map archives are at hand) that it reproduces the shipped data."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from benchmark.envs import derive_maps as dm
from benchmark.envs.units import UNITS

W, H = 8, 6


def _layer(magic: bytes, pre: bytes, post: bytes, cells: np.ndarray, dtype: str) -> bytes:
    """A t3 layer: header, then the [W, H] grid row by row (y major)."""
    return magic + pre + post + np.ascontiguousarray(cells.T, dtype=dtype).tobytes()


def _map_info() -> bytes:
    return b"IpaM" + bytes(12) + np.array([W, H], "<u4").tobytes() + bytes(64)


def hand_built(script_order: str) -> dm.Archive:
    """An 8 x 6 map: x = 0 painted off, a two-cell gap at x = 3..4 between level 0 (x < 3) and level 1."""
    walk = np.ones((W, H), bool)
    walk[0] = False
    walk[3:5] = False
    flags = np.where(walk, 2, 3).astype(np.uint8)
    raw = np.zeros((W, H), np.uint16)
    raw[4:] = 64
    raw[7, 2] = 72  # a ramp's first step
    cell_flags = _layer(b"LFCT", np.array([102, 0, 0, 0, 0], "<u4").tobytes(), np.array([W, H], "<u4").tobytes(),
                        flags, "u1")
    cliff = _layer(b"CLIF", np.array([100, W, H], "<u4").tobytes(), bytes(16), raw, "<u2")
    objects = ('<PlacedObjects><ObjectPoint Id="11" Position="1.5,2,0" Name="A"/>'
               '<ObjectPoint Id="22" Position="6,3.25,0" Name="B"/></PlacedObjects>')
    script = ('VisEnable(c_visTypeFog, false);\n'
              'libNtve_gf_CreateUnitsWithDefaultFacing(2, "Marine_RL", 0, 1, PointFromId(11));\n'
              'libNtve_gf_CreateUnitsWithDefaultFacing(1, "Zealot", 0, 2, PointFromId(22));\n' + script_order)
    units = '<Catalog><CUnit id="Marine"/><CUnit id="Zealot_RL"/><CUnit id="Marine_RL"/></Catalog>'
    files = {"t3CellFlags": cell_flags, "t3SyncCliffLevel": cliff, "MapInfo": _map_info(),
             "Objects": objects.encode(), "MapScript.galaxy": script.encode(),
             "Base.SC2Data/GameData/UnitData.xml": units.encode()}
    return dm.Archive("hand", files)


ATTACK = ('UnitGroupIssueOrder(UnitGroup(null, 2, RegionEntireMap(), UnitFilter(0, 0, 0, 0), 0), '
          'OrderTargetingPoint(AbilityCommand("attack", 0), {target}), c_orderQueueReplace);')


def test_layers_are_read_as_x_by_y_grids_with_cliffs_between_levels():
    data = dm.derive(hand_built(ATTACK.format(target="PointFromId(11)")))
    assert data["size"] == [W, H]
    # rows are drawn top first; every row: x = 0 off, 1..2 walkable, 3..4 a cliff, 5..7 walkable
    assert data["ground"] == [".wwccwww"] * H
    assert data["height"][H - 1 - 2] == "00008889"  # y = 2: level 1 is 8 eighths, the ramp cell 9
    assert data["spawns"] == [
        {"player": 1, "unit": "marine", "sc2_unit": "Marine_RL", "count": 2, "point": [1.5, 2.0]},
        {"player": 2, "unit": "zealot", "sc2_unit": "Zealot", "count": 1, "point": [6.0, 3.25]}]
    assert data["enemy_order"] == {"kind": "attack_move", "point": [1.5, 2.0]}
    assert data["agent_types"] == ["zealot", "marine"]  # the copies in definition order; stock units left out


def test_a_gap_between_cells_of_one_level_is_a_wall_not_a_cliff():
    walk = np.array([True, False, False, True, False, False, False, False, False, True])
    cliff = np.zeros_like(walk)
    dm._mark_line(walk, np.array([0, 0, 0, 0, 0, 64, 64, 64, 64, 64]), cliff)
    assert not cliff.any()  # 0 -> 0 is a wall; the 5-cell gap to level 1 is too wide for a cliff
    dm._mark_line(walk, np.array([0, 0, 64, 64, 64, 64, 64, 64, 64, 64]), cliff)
    assert cliff.tolist() == [False, True, True] + [False] * 7


@pytest.mark.parametrize(("target", "expected"), [
    ("libNtve_gf_RandomPointBetweenPoints(PointFromId(11), PointFromId(22))",
     {"kind": "attack_move_between_agents", "segment": [[1.5, 2.0], [6.0, 3.25]]}),
])
def test_enemy_orders_read_from_the_script(target, expected):
    assert dm.derive(hand_built(ATTACK.format(target=target)))["enemy_order"] == expected


def test_unit_group_and_missing_orders():
    group = ATTACK.replace("OrderTargetingPoint", "OrderTargetingUnitGroup").format(target="gv_allies")
    assert dm.enemy_order(hand_built(group)) == {"kind": "attack_agents"}
    assert dm.enemy_order(hand_built("")) == {"kind": "none"}
    fogged = hand_built("")
    fogged.files["MapScript.galaxy"] = fogged.files["MapScript.galaxy"].replace(b"VisEnable(c_visTypeFog, false);", b"")
    with pytest.raises(dm.UserError, match="fog"):
        dm.enemy_order(fogged)


def test_a_script_naming_a_missing_point_or_unit_is_refused():
    archive = hand_built(ATTACK.format(target="PointFromId(99)"))
    with pytest.raises(dm.UserError, match="point 99"):
        dm.derive(archive)
    archive = hand_built("")
    archive.files["MapScript.galaxy"] = archive.files["MapScript.galaxy"].replace(b'"Zealot"', b'"Ultralisk"')
    with pytest.raises(dm.UserError, match="unknown unit 'Ultralisk'"):
        dm.derive(archive)


def test_a_map_with_placed_objects_is_refused():
    archive = hand_built("")
    doodad = b'<ObjectDoodad Id="3"/></PlacedObjects>'
    archive.files["Objects"] = archive.files["Objects"].replace(b"</PlacedObjects>", doodad)
    with pytest.raises(dm.UserError, match="doodads"):
        dm.derive(archive)


def test_unit_checks_catch_an_active_copy_and_a_wrong_statistic():
    node = ET.fromstring('<CUnit id="Hydralisk_RL"><DefaultAcquireLevel value="Passive"/><Response value="Nothing"/>'
                         '<LifeMax value="80"/><LifeRegenRate value="0.2734"/><Speed value="2.25"/>'
                         '<Radius value="0.625"/></CUnit>')
    assert dm._check_unit(node, UNITS["hydralisk"]) == []
    node.find("LifeMax").set("value", "90")
    node.remove(node.find("Response"))
    assert dm._check_unit(node, UNITS["hydralisk"]) == ["Response is None, not Nothing",
                                                        "LifeMax is 90, units.py has 80"]


def _derive_cli(maps_dir: Path, out: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "benchmark.envs.derive_maps", str(maps_dir), "--out", str(out)],
                          capture_output=True, text=True, timeout=120)


def _one_line_error(done: subprocess.CompletedProcess, words: str) -> bool:
    return done.returncode == 1 and len(done.stderr.strip().splitlines()) == 1 and words in done.stderr


def test_bad_input_is_one_line_and_writes_nothing(tmp_path):
    out = tmp_path / "terrain.json"
    assert _one_line_error(_derive_cli(tmp_path / "nowhere", out), "no .SC2Map")
    assert _one_line_error(_derive_cli(tmp_path, tmp_path / "missing" / "terrain.json"), "no such folder")
    pytest.importorskip("mpyq", reason="the `maps` extra (mpyq) reads SC2Map archives")
    (tmp_path / "broken.SC2Map").write_bytes(b"MPQ\x1a" + bytes(40))
    assert _one_line_error(_derive_cli(tmp_path, out), "not a readable SC2Map archive")
    assert not out.exists()


def _smac_maps_dir() -> Path | None:
    candidates = [os.environ.get("SMAC_MAPS_DIR", "")]
    candidates.append(os.path.join(os.path.expanduser(os.environ.get("SC2PATH", "~/StarCraftII")), "Maps", "SMAC_Maps"))
    return next((Path(c) for c in candidates if c and list(Path(c).glob("*.SC2Map"))), None)


def test_shipped_terrain_is_what_the_archives_give(tmp_path):
    pytest.importorskip("mpyq", reason="the `maps` extra (mpyq) reads SC2Map archives")
    maps_dir = _smac_maps_dir()
    if maps_dir is None:
        pytest.skip("SMAC's map archives are not here: set SMAC_MAPS_DIR to SMAC's SMAC_Maps folder (or SC2PATH)")
    out = tmp_path / "terrain.json"
    assert dm.main([str(maps_dir), "--out", str(out)]) == 0  # 0: every agent unit copy agrees with units.py
    assert json.loads(out.read_text())["maps"] == json.loads(dm.DATA_FILE.read_text())["maps"]
