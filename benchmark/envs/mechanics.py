"""Unit mechanics beyond a plain weapon: splash, suicide attacks, healing and energy, flying, cliff walking.

The plain statistics (hit points, damage, cooldown, speed, ...) are in units.py; this table adds what a
unit does differently, by unit name. Numbers are StarCraft II LotV values without upgrades, from Liquipedia's
unit pages (liquipedia.net/starcraft2/<Unit>_(Legacy_of_the_Void)), times on the "faster" speed converted
to game loops as in units.py.
"""

from __future__ import annotations

from dataclasses import dataclass

from benchmark.envs.units import faster_seconds, per_faster_second

SPLASH_KINDS = ("none", "radial", "line")


@dataclass(frozen=True)
class Mechanics:
    splash: str = "none"  # one of SPLASH_KINDS
    # radial: radius around the attacker's position when it fires; line: half the length of a segment through
    # the target, across the attacker's line of fire. A unit is hit when its own radius overlaps the area.
    splash_size: float = 0.0
    suicide: bool = False  # the attacker dies with its attack (baneling)
    flying: bool = False  # ignores the ground (walls and cliffs); ground-only weapons cannot hit it
    hits_air: bool = False  # its weapon can hit flying units
    cliff_walker: bool = False  # walks on any ground, across cliff levels (colossus)
    heal_per_loop: float = 0.0  # hit points restored per game loop to the ally it is ordered to heal
    heal_range: float = 0.0  # edge to edge, as a weapon range
    energy_per_heal: float = 0.0  # energy per hit point restored
    energy_start: float = 0.0
    energy_max: float = 0.0
    energy_per_loop: float = 0.0  # regeneration

    def __post_init__(self) -> None:
        if self.splash not in SPLASH_KINDS:
            raise ValueError(f"unknown splash kind {self.splash!r}")

    @property
    def heals(self) -> bool:
        return self.heal_per_loop > 0


PLAIN = Mechanics()
# Every caster's energy regenerates at 0.7875 per faster second.
ENERGY_PER_LOOP = per_faster_second(0.7875)

MECHANICS: dict[str, Mechanics] = {
    # Shoot air and ground.
    "marine": Mechanics(hits_air=True),
    "stalker": Mechanics(hits_air=True),
    "hydralisk": Mechanics(hits_air=True),
    # Thermal Lances: a beam swept across the target over a line about 2.8 long.
    "colossus": Mechanics(splash="line", splash_size=1.4, cliff_walker=True),
    # Volatile Burst: 2.2 radius around the baneling, which dies; no damage to its own side.
    "baneling": Mechanics(splash="radial", splash_size=2.2, suicide=True),
    # Heal: 12.6 hit points per faster second, 1 energy per 3 hit points, range 4; 50 of 200 energy at spawn.
    "medivac": Mechanics(flying=True, heal_per_loop=12.6 / faster_seconds(1.0), heal_range=4.0, energy_per_heal=1 / 3,
                         energy_start=50.0, energy_max=200.0, energy_per_loop=ENERGY_PER_LOOP),
}


def mechanics(unit_name: str) -> Mechanics:
    return MECHANICS.get(unit_name, PLAIN)
