"""StarCraft II (Legacy of the Void) unit data for the built-in simulator.

Source: Liquipedia's LotV unit pages (liquipedia.net/starcraft2/<Unit>_(Legacy_of_the_Void)), which give
times and speeds on the "faster" game speed, plus the SC2 game data (Balance Data) for unit radii. Times are
converted to game loops at 22.4 loops per faster second (= 16 loops per "normal" game second, the unit the
game data itself uses); speeds to map units per game loop the same way. No upgrades are assumed (no Charge,
no Extended Thermal Lance, no Grooved Spines, off creep).

`smac_max_cooldown` is SMAC's `unit_max_cooldown` (starcraft2.py), the constant SMAC divides an ally's
weapon cooldown by in the state; it is not the weapon's real cooldown, and SMAC falls back to 15 for unit
types it does not list (the spine crawler, which is only ever an enemy there).
"""

from __future__ import annotations

from dataclasses import dataclass

LOOPS_PER_FASTER_SECOND = 22.4
LOOPS_PER_NORMAL_SECOND = 16.0

# Protoss shields: 2 per normal second, after 10 normal seconds without taking damage.
SHIELD_REGEN_PER_LOOP = 2.0 / LOOPS_PER_NORMAL_SECOND
SHIELD_REGEN_DELAY_LOOPS = 10.0 * LOOPS_PER_NORMAL_SECOND
# Zerg units and buildings: 0.2734 hit points per normal second, the LifeRegenRate of SMAC's zerg unit copies
# (Hydralisk_RL, Zergling_RL, Baneling_RL), which Liquipedia rounds to 0.38 per faster second.
ZERG_REGEN_PER_LOOP = 0.2734 / LOOPS_PER_NORMAL_SECOND


def faster_seconds(seconds: float) -> float:
    """A Liquipedia (faster-speed) duration in game loops."""
    return seconds * LOOPS_PER_FASTER_SECOND


def per_faster_second(speed: float) -> float:
    """A Liquipedia (faster-speed) movement speed in map units per game loop."""
    return speed / LOOPS_PER_FASTER_SECOND


@dataclass(frozen=True)
class UnitType:
    name: str
    race: str  # SMAC's race letters: "T", "P", "Z"
    health: float
    shield: float
    armor: float
    attributes: frozenset[str]
    damage: float  # per attack, before bonus
    bonus_damage: float
    bonus_vs: str | None  # attribute the bonus applies to
    attacks: int  # attacks per volley (zealot, colossus: 2)
    cooldown: float  # game loops between volleys
    range: float  # weapon range, edge to edge (melee 0.1)
    speed: float  # map units per game loop (0: rooted)
    radius: float
    health_regen: float  # hit points per game loop
    smac_max_cooldown: float
    flying: bool = False  # an air unit: ground units neither block it nor need ground under it
    splash_radius: float = 0.0  # area of an attack around its target (baneling)
    suicide: bool = False  # the unit dies with its attack (baneling), so its weapon never fires twice
    energy_start: float = 0.0
    energy_max: float = 0.0
    energy_regen: float = 0.0  # energy per game loop
    heal_rate: float = 0.0  # hit points healed per game loop (medivac), on biological allies
    heal_range: float = 0.0
    heal_energy_per_hp: float = 0.0
    hits_air: bool = False  # its weapon can hit flying units (a ground-only weapon cannot)
    cliff_walker: bool = False  # walks up and down cliffs (colossus): needs only Terrain.walkable_cliff
    line_splash: float = 0.0  # half length of the segment through the target, across the line of fire, it hits

    def hit_damage(self, target: UnitType) -> float:
        """Raw damage of one attack on `target` (before shields and armor)."""
        bonus = self.bonus_damage if self.bonus_vs in target.attributes else 0.0
        return self.damage + bonus

    @property
    def massive(self) -> bool:
        return "massive" in self.attributes


def _unit(name: str, race: str, health: float, shield: float, armor: float, attributes: str, damage: float,
          bonus: tuple[float, str | None], attacks: int, cooldown_s: float, weapon_range: float, speed: float,
          radius: float, smac_max_cooldown: float, **extra) -> UnitType:
    return UnitType(
        name=name, race=race, health=health, shield=shield, armor=armor,
        attributes=frozenset(attributes.split()), damage=damage, bonus_damage=bonus[0], bonus_vs=bonus[1],
        attacks=attacks, cooldown=faster_seconds(cooldown_s), range=weapon_range,
        speed=per_faster_second(speed), radius=radius,
        health_regen=ZERG_REGEN_PER_LOOP if race == "Z" else 0.0, smac_max_cooldown=smac_max_cooldown, **extra,
    )


_NO_BONUS: tuple[float, str | None] = (0.0, None)

UNITS: dict[str, UnitType] = {
    u.name: u
    for u in (
        # name, race, hp, shield, armor, attributes, damage, bonus, attacks, cooldown (faster s), range,
        # speed (faster), radius, SMAC max cooldown
        _unit("marine", "T", 45, 0, 0, "light biological", 6, _NO_BONUS, 1, 0.61, 5, 3.15, 0.375, 15,
              hits_air=True),
        _unit("marauder", "T", 125, 0, 1, "armored biological", 10, (10, "armored"), 1, 1.07, 6, 3.15,
              0.5625, 25),
        _unit("stalker", "P", 80, 80, 1, "armored mechanical", 13, (5, "armored"), 1, 1.34, 6, 4.13, 0.625, 35,
              hits_air=True),
        _unit("zealot", "P", 100, 50, 1, "light biological", 8, _NO_BONUS, 2, 0.86, 0.1, 3.15, 0.5, 22),
        # Thermal Lances sweep a line about 2.8 long across the target; it walks cliffs.
        _unit("colossus", "P", 200, 150, 1, "armored mechanical massive", 10, (5, "light"), 2, 1.07, 7, 3.15,
              1.0, 24, line_splash=1.4, cliff_walker=True),
        # 80 hit points, as SMAC's Hydralisk_RL (its map data); stock LotV has had 90 since patch 4.0.
        _unit("hydralisk", "Z", 80, 0, 0, "light biological", 12, _NO_BONUS, 1, 0.59, 5, 3.15, 0.625, 10,
              hits_air=True),
        _unit("zergling", "Z", 35, 0, 0, "light biological", 5, _NO_BONUS, 1, 0.497, 0.1, 4.13, 0.375, 11),
        # Volatile Burst: 16 (+19 vs light) on every ground enemy within 2.2 of the target, and the baneling
        # dies, so it has no cooldown; weapon range 0.25. Speed 3.5 off creep (Baneling_RL: 2.5 per normal s).
        _unit("baneling", "Z", 30, 0, 0, "biological", 16, (19, "light"), 1, 0.0, 0.25, 3.5, 0.375, 1,
              splash_radius=2.2, suicide=True),
        # No weapon: heals 12.6 hp per faster second (9 per normal s in the game data) of a biological ally
        # within 4, at 1 energy per 3 hp; energy starts at 50 of 200 and regenerates 0.7875 per faster second
        # (Medivac_RL: EnergyStart 50, EnergyMax 200, EnergyRegenRate 0.5625 per normal s). Speed 3.85
        # (Medivac_RL: 2.75 per normal s). SMAC normalises its energy by 200 where others have a cooldown.
        _unit("medivac", "T", 150, 0, 1, "armored mechanical", 0, _NO_BONUS, 0, 0.0, 0.0, 3.85, 0.75, 200,
              flying=True, energy_start=50.0, energy_max=200.0, energy_regen=per_faster_second(0.7875),
              heal_rate=per_faster_second(12.6), heal_range=4.0, heal_energy_per_hp=1.0 / 3.0),
        # Rooted (uprooting is not modelled); radius approximates its 2x2 footprint.
        _unit("spine_crawler", "Z", 300, 0, 2, "armored biological structure", 25, (5, "armored"), 1, 1.32,
              7, 0.0, 1.0, 15),
    )
}
