"""What this machine can run: torch and CUDA for every backend, StarCraft II and SMAC for `sc2`.

Each row is (check, ok, detail); a failed row's detail says what is missing and how to get it.
"""

from __future__ import annotations

import torch

from benchmark.envs.maps import MAPS
from benchmark.envs.sc2_install import checks as sc2_checks


def checks() -> list[tuple[str, bool, str]]:
    cuda = torch.cuda.is_available()
    rows = [
        ("torch", True, torch.__version__),
        ("cuda", cuda, torch.cuda.get_device_name(0) if cuda else "no CUDA GPU visible; training runs on CPU"),
        ("sim backend", True, "built in"),
    ]
    # The sc2 rows name the maps of the map table, so that a partial SMAC_Maps folder is reported by file.
    rows.extend((c.name, c.ok, c.detail) for c in sc2_checks(MAPS.names()))
    return rows
