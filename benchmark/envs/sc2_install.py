"""Where StarCraft II, its SMAC maps and the Python packages of the `sc2` backend are, and what is missing.

One list of checks serves both `robust-qmix doctor` (which shows every row) and the `sc2` backend (which
refuses to start while a required row fails), so the two never disagree. Nothing here imports SMAC or
starts the game: the checks look at files and installed distributions only.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path
from typing import NamedTuple

# The study runs StarCraft II 4.10 (SMAC's README warns that results differ between game versions).
EXPECTED_BUILD = 75689
EXPECTED_VERSION = "4.10"
# pysc2's Linux default when SC2PATH is not set.
DEFAULT_ROOT = "~/StarCraftII"
INSTALL_HINT = "pip install -e '.[sc2]'"
# The Python side of the backend: (import name, what it is for).
PACKAGES = (
    ("smac", "SMAC from its git repository"),
    ("pysc2", "the game interface SMAC drives"),
    ("s2clientprotocol", "the game's protocol buffers"),
)


class Check(NamedTuple):
    name: str
    ok: bool
    detail: str
    required: bool = True  # False: worth fixing, but the backend still runs (e.g. another game version)


def sc2_root() -> tuple[Path, bool]:
    """The StarCraft II folder pysc2 will use, and whether SC2PATH named it."""
    given = os.environ.get("SC2PATH", "")
    return Path(os.path.expanduser(given or DEFAULT_ROOT)), bool(given)


def installed_builds(root: Path) -> list[int]:
    """Build numbers of the game binaries under root/Versions, ascending (pysc2 runs the last one)."""
    found = []
    for folder in (root / "Versions").glob("Base*"):
        match = re.fullmatch(r"Base(\d+)", folder.name)
        if match and (folder / "SC2_x64").is_file():
            found.append(int(match.group(1)))
    return sorted(found)


def version_label(build: int) -> str:
    """'4.10.0 (Base75689)' where pysc2 knows the build, else 'Base75689'."""
    try:
        from pysc2.run_configs.lib import VERSIONS
    except ImportError:
        return f"Base{build}"
    names = sorted(v.game_version for v in VERSIONS.values() if v.build_version == build)
    return f"{names[0]} (Base{build})" if names else f"Base{build}"


def installed_version() -> str | None:
    """The game version the backend runs (the newest build installed), for the run manifest."""
    builds = installed_builds(sc2_root()[0])
    return version_label(builds[-1]) if builds else None


def smac_maps_dir(root: Path) -> Path:
    # SMAC's maps live in the `SMAC_Maps` map directory, which pysc2 resolves under <root>/Maps.
    return root / "Maps" / "SMAC_Maps"


def checks(map_names: Iterable[str]) -> list[Check]:
    """Every condition the `sc2` backend needs, in the order a person would fix them."""
    root, from_env = sc2_root()
    rows = [_root_check(root, from_env)]
    builds = installed_builds(root) if rows[0].ok else []
    rows.append(_binary_check(root, builds, rows[0].ok))
    rows.append(_version_check(builds))
    rows.append(_maps_check(root, list(map_names), rows[0].ok))
    rows.extend(_package_check(module, purpose) for module, purpose in PACKAGES)
    return rows


def problems(map_names: Iterable[str]) -> list[str]:
    """The failed required checks, one line each; empty when the backend can start."""
    return [f"{c.name}: {c.detail}" for c in checks(map_names) if c.required and not c.ok]


def _root_check(root: Path, from_env: bool) -> Check:
    if from_env:
        if root.is_dir():
            return Check("SC2PATH", True, str(root))
        return Check("SC2PATH", False, f"SC2PATH is {root}, which is not a directory")
    if root.is_dir():
        return Check("SC2PATH", True, f"not set; using pysc2's default {root}")
    return Check("SC2PATH", False, f"not set, and pysc2's default {root} does not exist; "
                                   "set SC2PATH to the StarCraftII folder")


def _binary_check(root: Path, builds: list[int], root_ok: bool) -> Check:
    if not root_ok:
        return Check("StarCraft II", False, "no StarCraft II folder (see SC2PATH)")
    if not builds:
        return Check("StarCraft II", False, f"no game binary {root}/Versions/Base*/SC2_x64")
    return Check("StarCraft II", True, f"{root}/Versions/Base{builds[-1]}/SC2_x64")


def _version_check(builds: list[int]) -> Check:
    wanted = f"{EXPECTED_VERSION} (Base{EXPECTED_BUILD})"
    if not builds:
        return Check("SC2 version", False, f"no game installed; the study uses {wanted}", required=False)
    newest = builds[-1]
    if newest == EXPECTED_BUILD:
        return Check("SC2 version", True, version_label(newest), required=False)
    detail = f"runs {version_label(newest)}, the newest build installed; the study uses {wanted}"
    if EXPECTED_BUILD in builds:
        detail += f" (remove the newer Versions/Base* folders so that pysc2 picks Base{EXPECTED_BUILD})"
    return Check("SC2 version", False, detail, required=False)


def _maps_check(root: Path, map_names: list[str], root_ok: bool) -> Check:
    folder = smac_maps_dir(root)
    if not root_ok:
        return Check("SMAC maps", False, "no StarCraft II folder (see SC2PATH)")
    if not folder.is_dir():
        return Check("SMAC maps", False, f"no folder {folder}; copy SMAC_Maps from SMAC's repository there")
    missing = [name for name in map_names if not (folder / f"{name}.SC2Map").is_file()]
    if missing:
        files = ", ".join(f"{name}.SC2Map" for name in missing)
        return Check("SMAC maps", False, f"missing in {folder}: {files}")
    return Check("SMAC maps", True, f"{len(map_names)} maps in {folder}")


def _package_check(module: str, purpose: str) -> Check:
    if importlib.util.find_spec(module) is None:
        return Check(module, False, f"not installed ({purpose}): {INSTALL_HINT}")
    return Check(module, True, _distribution_note(module) or purpose)


def _distribution_note(module: str) -> str | None:
    """The installed version, plus the git commit for a package installed from a repository."""
    names = metadata.packages_distributions().get(module, [])
    if not names:
        return None
    dist = metadata.distribution(names[0])
    note = f"{dist.metadata['Name']} {dist.version}"
    direct = dist.read_text("direct_url.json")
    commit = json.loads(direct).get("vcs_info", {}).get("commit_id") if direct else None
    return f"{note} @ {commit[:12]}" if commit else note


def main() -> int:
    """`python -m benchmark.envs.sc2_install`: exit 1 unless every map of the table can run on StarCraft II
    (the Docker build's final check)."""
    from benchmark.envs.maps import MAPS

    missing = problems(MAPS.names())
    for line in missing:
        print(f"missing: {line}")
    if not missing:
        print(f"sc2 backend ready: StarCraft II {installed_version()}, maps {', '.join(MAPS.names())}")
    return 1 if missing else 0


if __name__ == "__main__":
    raise SystemExit(main())
