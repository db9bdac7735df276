"""Derive the simulator's per-map ground data from SMAC's map archives, and check the unit data on the way.

    python -m benchmark.envs.derive_maps SMAC_MAPS_DIR [--out FILE]

SMAC_MAPS_DIR holds SMAC's `NAME.SC2Map` files (the `SMAC_Maps` folder of github.com/oxwhirl/smac); FILE
defaults to the data file the package ships (benchmark/envs/map_data/smac_terrain.json). Each archive is an
MPQ file, opened with `mpyq` (the `maps` extra). What is read, and why:

- `t3CellFlags`: the editor's painted pathing, one byte per map cell, bit 0 set where no ground unit may
  walk. SMAC's maps draw every wall, band edge and cliff edge by painting, and place no doodads or
  pre-placed units (`Objects` holds only named points; the script refuses maps that do), so this layer is
  taken as the pathing grid SC2 hands SMAC at game start (`game_info.start_raw.pathing_grid`, which SC2
  computes on loading and the archive does not store; not compared with a running game here). It is the
  "walkable" grid. Taken literally, it joins corridor's far room to the corridor only at one cell corner.
- `t3SyncCliffLevel`: the cliff level of each cell (64 per level, values in between on ramps). It gives each
  cell's `level` and tells cliffs from walls: a run of at most `CLIFF_WIDTH` unwalkable cells along a row or
  column between walkable cells a whole level or more apart is a cliff, which a cliff walker (the colossus)
  may cross ("walkable_cliff").
- `Objects`: the named points the trigger script creates units at.
- `MapScript.galaxy`: the trigger code. Its `CreateUnitsWithDefaultFacing` calls say which units each player
  gets, how many, in what order and at which point; its one `UnitGroupIssueOrder` to player 2 is the
  enemies' order at spawn (attack-move to a point, to a random point between two points, attack the agents'
  units, or none). It must switch the fog off, as every SMAC map does.
- `MapInfo`: the map size, checked against the grids.
- `Base.SC2Data/GameData/UnitData.xml`: the map's copies of the agents' units (`*_RL`). Their order of
  definition is the order of their unit type ids, which SMAC's agent type bits follow ("agent_types"); each
  is checked to be passive (acquire level Passive, response Nothing) and to carry the hit points, shields,
  armor, regeneration, speed, radius and energy of benchmark/envs/units.py. The enemies are StarCraft II's
  stock units, which the archive does not hold.

Not used: `Minimap.tga` and `t3HeightMap` are renderings (the minimap's coloured area reaches one or two
cells past the walkable ground wherever a cliff bounds it: 19 rows on 3m where 16 are walkable) and
`t3TextureMasks` is paint.

What it approximates: SC2 paths on a finer grid than the map cell and lets units stand with their radius
over an unpathable cell's edge; the data is per cell. The enemies' order in SMAC's lists is taken to be
their order of creation. The spine crawler's footprint, which SC2 marks unpathable once the script creates
it, is not in the grid. Ramps keep their fractional levels (on SMAC's maps walkable neighbours differ by at
most 3/8 of a level).

Exit status: 0 when every map was derived and its unit copies agree with units.py; 1 on bad input (one
line, nothing written) or when a unit copy disagrees (the data is written and each difference named).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from benchmark.envs.units import LOOPS_PER_NORMAL_SECOND, SHIELD_REGEN_DELAY_LOOPS, SHIELD_REGEN_PER_LOOP, UNITS
from benchmark.errors import UserError

DATA_FILE = Path(__file__).with_name("map_data") / "smac_terrain.json"
CLIFF_RAW_PER_LEVEL = 64  # t3SyncCliffLevel's unit
HEIGHT_STEP = 8  # every cliff value in SMAC's maps is a multiple of 1/8 level, stored as one base-32 digit
CLIFF_WIDTH = 3  # widest unwalkable run a cliff walker crosses (SC2 cliffs are two cells wide)
# Liquipedia rounds speeds to two decimals (stalker 4.13 per faster second; the game data has 2.9531 per normal
# second, 4.134), so values must agree within half a percent of their size.
TOLERANCE = 0.005
GROUND_CHARS = {"none": ".", "cliff": "c", "walk": "w"}

# SC2 unit ids (stock and SMAC's copies) -> this package's unit names.
SC2_UNITS = {
    "Marine": "marine", "Marauder": "marauder", "Medivac": "medivac", "Stalker": "stalker", "Zealot": "zealot",
    "Colossus": "colossus", "Colosus": "colossus", "Hydralisk": "hydralisk", "Zergling": "zergling",
    "Baneling": "baneling", "SpineCrawler": "spine_crawler",
}
_CREATE = re.compile(r'CreateUnitsWithDefaultFacing\((\d+), "(\w+)", 0, (\d+), PointFromId\((\d+)\)\)')
_POINT = re.compile(r'<ObjectPoint Id="(\d+)" Position="([-\d.]+),([-\d.]+),[-\d.]+"')
_ORDER = re.compile(r"UnitGroupIssueOrder\(UnitGroup\(null, 2,.*?\), "  # an order to all of player 2's units
                    r"(Order\w+)\(AbilityCommand\(\"attack\", 0\), (.*)\), c_orderQueue")


@dataclass(frozen=True)
class Archive:
    name: str
    files: dict[str, bytes]

    def data(self, path: str) -> bytes:
        if path not in self.files:
            raise UserError(f"{self.name}: the archive has no {path}, so it is not one of SMAC's maps")
        return self.files[path]

    def text(self, path: str) -> str:
        return self.data(path).decode("utf-8")


def read_archive(path: Path) -> Archive:
    try:
        import mpyq
    except ImportError as err:
        raise UserError("reading SC2Map archives needs mpyq: pip install -e '.[maps]'") from err
    try:
        archive = mpyq.MPQArchive(str(path))
        names = [raw.decode("utf-8") for raw in archive.files]
        files = {name.replace("\\", "/"): archive.read_file(name) for name in names}
    except Exception as err:  # mpyq fails in many ways (struct, zlib, missing list file) on a foreign file
        raise UserError(f"{path}: not a readable SC2Map archive ({err})") from err
    return Archive(path.stem, {name: data for name, data in files.items() if data is not None})


# ---- grids


def _grid(data: bytes, header: int, dtype: str, size_at: int) -> np.ndarray:
    """A [width, height] grid stored row by row (y major) after a `header`-byte header."""
    width, height = (int(v) for v in np.frombuffer(data[size_at:size_at + 8], "<u4"))
    if len(data) < header + width * height * np.dtype(dtype).itemsize:
        raise UserError(f"a terrain layer of {len(data)} bytes is too short for {width} x {height} cells")
    cells = np.frombuffer(data[header:], dtype, count=width * height)
    return cells.reshape(height, width).T.copy()


def painted_walkable(archive: Archive) -> np.ndarray:
    # t3CellFlags: magic, version, 16 bytes, width, height, then one byte per cell
    return (_grid(archive.data("t3CellFlags"), 32, "u1", 24) & 1) == 0


def cliff_raw(archive: Archive) -> np.ndarray:
    # t3SyncCliffLevel: magic, version, width, height, 16 bytes, then one uint16 per cell
    raw = _grid(archive.data("t3SyncCliffLevel"), 32, "<u2", 8).astype(np.int64)
    if (raw % HEIGHT_STEP).any():
        raise UserError(f"{archive.name}: a cliff level is not a multiple of 1/{CLIFF_RAW_PER_LEVEL // HEIGHT_STEP}")
    return raw


def map_size(archive: Archive) -> tuple[int, int]:
    width, height = np.frombuffer(archive.data("MapInfo")[16:24], "<u4")
    return int(width), int(height)


def cliff_cells(walkable: np.ndarray, raw: np.ndarray) -> np.ndarray:
    """Unwalkable runs of at most CLIFF_WIDTH cells, along x or y, between walkable cells a level apart."""
    cliff = np.zeros_like(walkable)
    for axis_walk, axis_raw, axis_cliff in ((walkable, raw, cliff), (walkable.T, raw.T, cliff.T)):
        for line_walk, line_raw, line_cliff in zip(axis_walk, axis_raw, axis_cliff, strict=True):
            _mark_line(line_walk, line_raw, line_cliff)
    return cliff


def _mark_line(walk: np.ndarray, raw: np.ndarray, cliff: np.ndarray) -> None:
    ground = np.flatnonzero(walk)
    for a, b in zip(ground[:-1], ground[1:], strict=True):
        if 1 < b - a <= CLIFF_WIDTH + 1 and abs(raw[a] - raw[b]) >= CLIFF_RAW_PER_LEVEL:
            cliff[a + 1:b] = True


# ---- script and points


def points(archive: Archive) -> dict[str, tuple[float, float]]:
    objects = archive.text("Objects")
    if re.search(r"<Object(Unit|Doodad)\b", objects):
        # their footprints would change the pathing grid, which the painted layer alone then misses
        raise UserError(f"{archive.name}: the map places units or doodads, which this script does not read")
    return {pid: (float(x), float(y)) for pid, x, y in _POINT.findall(objects)}


def spawns(archive: Archive) -> list[dict]:
    where = points(archive)
    found = []
    for count, unit, player, pid in _CREATE.findall(archive.text("MapScript.galaxy")):
        found.append({"player": int(player), "unit": _unit_name(archive.name, unit), "sc2_unit": unit,
                      "count": int(count), "point": _point(archive.name, where, pid)})
    if not found:
        raise UserError(f"{archive.name}: the script creates no units")
    return found


def _point(name: str, where: dict[str, tuple[float, float]], pid: str) -> list[float]:
    if pid not in where:
        raise UserError(f"{name}: the script names point {pid}, which Objects does not hold")
    return list(where[pid])


def _unit_name(name: str, sc2_id: str) -> str:
    base = sc2_id.removesuffix("_RL")
    if base not in SC2_UNITS:
        raise UserError(f"{name}: unknown unit {sc2_id!r}")
    return SC2_UNITS[base]


def enemy_order(archive: Archive) -> dict:
    script = archive.text("MapScript.galaxy")
    if "VisEnable(c_visTypeFog, false)" not in script:
        raise UserError(f"{archive.name}: the script does not switch the fog off")
    orders = _ORDER.findall(script)
    if not orders:
        return {"kind": "none"}
    if len(orders) > 1:
        raise UserError(f"{archive.name}: the script gives the enemies {len(orders)} orders")
    return _order(archive.name, *orders[0], points(archive))


def _order(name: str, how: str, target: str, where: dict[str, tuple[float, float]]) -> dict:
    ids = re.findall(r"PointFromId\((\d+)\)", target)
    if how == "OrderTargetingUnitGroup":
        return {"kind": "attack_agents"}
    if how == "OrderTargetingPoint" and target.startswith("libNtve_gf_RandomPointBetweenPoints") and len(ids) == 2:
        return {"kind": "attack_move_between_agents", "segment": [_point(name, where, i) for i in ids]}
    if how == "OrderTargetingPoint" and target.startswith("PointFromId") and len(ids) == 1:
        return {"kind": "attack_move", "point": _point(name, where, ids[0])}
    raise UserError(f"{name}: unknown enemy order {how}({target})")


# ---- unit data


def agent_copies(archive: Archive) -> list[tuple[str, ET.Element]]:
    """The map's copies of the agents' units (`*_RL`) as (unit name, catalog entry), in definition order:
    the order of their unit type ids, from which SMAC numbers the agents' types."""
    try:
        catalog = ET.fromstring(archive.data("Base.SC2Data/GameData/UnitData.xml"))
    except ET.ParseError as err:
        raise UserError(f"{archive.name}: UnitData.xml is not XML ({err})") from err
    copies = [node for node in catalog.iter("CUnit") if node.get("id", "").endswith("_RL")]
    return [(_unit_name(archive.name, node.get("id")), node) for node in copies]


def unit_mismatches(archive: Archive) -> list[str]:
    """Where the map's copies of the agents' units disagree with units.py (or are not passive)."""
    return [f"{archive.name}: {node.get('id')} {problem}"
            for name, node in agent_copies(archive) for problem in _check_unit(node, UNITS[name])]


def _value(node: ET.Element, tag: str) -> str | None:
    child = node.find(tag)
    return None if child is None else child.get("value")


def _check_unit(node: ET.Element, unit) -> list[str]:
    problems = [f"{tag} is {_value(node, tag)}, not {want}"
                for tag, want in (("DefaultAcquireLevel", "Passive"), ("Response", "Nothing"))
                if _value(node, tag) != want]
    for tag, want in _statistics(unit).items():
        got = _value(node, tag)
        if got is not None and abs(float(got) - want) > TOLERANCE * abs(want) + 1e-9:
            problems.append(f"{tag} is {got}, units.py has {want:g}")
    return problems


def _statistics(unit) -> dict[str, float]:
    """units.py's values under the game data's names and units (rates per normal second)."""
    per_second = LOOPS_PER_NORMAL_SECOND
    stats = {"LifeMax": unit.health, "LifeArmor": unit.armor, "LifeRegenRate": unit.health_regen * per_second,
             "ShieldsMax": unit.shield, "Radius": unit.radius, "Speed": unit.speed * per_second,
             "EnergyStart": unit.energy_start, "EnergyMax": unit.energy_max,
             "EnergyRegenRate": unit.energy_regen * per_second}
    if unit.shield:
        stats |= {"ShieldRegenRate": SHIELD_REGEN_PER_LOOP * per_second,
                  "ShieldRegenDelay": SHIELD_REGEN_DELAY_LOOPS / per_second}
    return stats


# ---- output


def derive(archive: Archive) -> dict:
    walkable = painted_walkable(archive)
    raw = cliff_raw(archive)
    if walkable.shape != raw.shape or walkable.shape != map_size(archive):
        raise UserError(f"{archive.name}: grid sizes disagree: {walkable.shape}, {raw.shape}, {map_size(archive)}")
    cliff = cliff_cells(walkable, raw)
    return {"size": list(walkable.shape), "ground": _rows(_ground_chars(walkable, cliff)),
            "height": _rows(np.vectorize(lambda v: np.base_repr(v // HEIGHT_STEP, 32).lower())(raw)),
            "spawns": spawns(archive), "enemy_order": enemy_order(archive),
            "agent_types": [name for name, _ in agent_copies(archive)]}


def _ground_chars(walkable: np.ndarray, cliff: np.ndarray) -> np.ndarray:
    chars = np.full(walkable.shape, GROUND_CHARS["none"])
    chars[cliff] = GROUND_CHARS["cliff"]
    chars[walkable] = GROUND_CHARS["walk"]
    return chars


def _rows(chars: np.ndarray) -> list[str]:
    """A [width, height] grid of characters as rows, top (highest y) first, as the map is drawn."""
    return ["".join(chars[:, y]) for y in range(chars.shape[1] - 1, -1, -1)]


def derive_all(maps_dir: Path) -> tuple[dict, list[str]]:
    archives = sorted(maps_dir.glob("*.SC2Map"))
    if not archives:
        raise UserError(f"{maps_dir}: no .SC2Map files")
    data, problems = {}, []
    for path in archives:
        archive = read_archive(path)
        data[archive.name] = derive(archive)
        problems += unit_mismatches(archive)
    return data, problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("maps_dir", type=Path, help="folder of SMAC's .SC2Map files")
    parser.add_argument("--out", type=Path, default=DATA_FILE, help="JSON file to write [default: the package's]")
    args = parser.parse_args(argv)
    try:
        if not args.out.parent.is_dir():
            raise UserError(f"{args.out.parent}: no such folder for --out")
        data, problems = derive_all(args.maps_dir)
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    document = {"source": "SMAC_Maps of github.com/oxwhirl/smac, by python -m benchmark.envs.derive_maps",
                "maps": data}
    tmp = args.out.with_name(args.out.name + ".tmp")
    tmp.write_text(json.dumps(document, indent=1) + "\n")
    tmp.replace(args.out)
    for line in problems:
        print(f"unit data: {line}", file=sys.stderr)
    print(f"{len(data)} maps written to {args.out}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
