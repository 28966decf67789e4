"""Municipalities: the known ones, and a profile (size, rates, language) for any code."""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass
from typing import Final

import numpy as np

#: Labour force (2019), unemployment rate at a neutral point of the cycle, genitive for employer
#: names, character tags. Approximate public magnitudes, rounded; not Statistics Finland figures.
_KNOWN_MUNICIPALITIES: Final[dict[str, tuple[int, float, str, str]]] = {
    "KU091": (350_000, 0.095, "Helsingin", "metro city"),
    "KU049": (160_000, 0.070, "Espoon", "metro city swedish"),
    "KU092": (125_000, 0.095, "Vantaan", "metro city"),
    "KU235": (4_400, 0.050, "Kauniaisten", "metro swedish"),
    "KU837": (130_000, 0.105, "Tampereen", "city"),
    "KU853": (100_000, 0.105, "Turun", "city"),
    "KU564": (105_000, 0.105, "Oulun", "city north"),
    "KU179": (72_000, 0.115, "Jyväskylän", "city"),
    "KU297": (60_000, 0.095, "Kuopion", "city"),
    "KU398": (58_000, 0.125, "Lahden", "city industrial"),
    "KU609": (40_000, 0.120, "Porin", "city industrial"),
    "KU286": (39_000, 0.115, "Kouvolan", "industrial"),
    "KU167": (37_000, 0.125, "Joensuun", "city"),
    "KU405": (35_000, 0.110, "Lappeenrannan", "city industrial"),
    "KU109": (33_000, 0.100, "Hämeenlinnan", "city"),
    "KU905": (34_000, 0.085, "Vaasan", "city swedish"),
    "KU698": (31_000, 0.110, "Rovaniemen", "city north tourism"),
    "KU491": (25_000, 0.110, "Mikkelin", ""),
    "KU285": (24_000, 0.135, "Kotkan", "industrial"),
    "KU272": (23_000, 0.085, "Kokkolan", "industrial"),
    "KU202": (17_000, 0.075, "Kaarinan", ""),
    "KU684": (19_000, 0.090, "Rauman", "industrial"),
    "KU205": (17_000, 0.130, "Kajaanin", "north"),
    "KU211": (16_000, 0.075, "Kangasalan", ""),
    "KU851": (10_500, 0.120, "Tornion", "north industrial"),
    "KU240": (9_500, 0.140, "Kemin", "north industrial"),
    "KU140": (10_000, 0.100, "Iisalmen", ""),
    "KU301": (9_500, 0.070, "Kurikan", ""),
    "KU020": (8_000, 0.095, "Akaan", "industrial"),
    "KU165": (8_000, 0.085, "Janakkalan", ""),
    "KU478": (6_300, 0.060, "Maarianhaminan", "swedish tourism"),
    "KU425": (4_800, 0.065, "Limingan", "north"),
    "KU005": (4_300, 0.085, "Alajärven", ""),
    "KU071": (3_100, 0.090, "Haapaveden", "north"),
    "KU580": (2_000, 0.105, "Parikkalan", ""),
    "KU751": (1_300, 0.110, "Simon", "north"),
    "KU043": (480, 0.060, "Eckerön", "swedish tourism"),
    "KU742": (500, 0.120, "Savukosken", "north tourism"),
    "KU304": (400, 0.080, "Kustavin", "tourism"),
    # Larger municipalities outside the demo subset, for the full Statistics Finland hierarchy.
    "KU743": (31_000, 0.085, "Seinäjoen", "city"),
    "KU638": (24_500, 0.075, "Porvoon", "swedish"),
    "KU106": (22_000, 0.095, "Hyvinkään", ""),
    "KU543": (22_500, 0.060, "Nurmijärven", ""),
    "KU186": (21_500, 0.080, "Järvenpään", ""),
    "KU734": (24_000, 0.105, "Salon", "industrial"),
    "KU444": (21_500, 0.090, "Lohjan", ""),
    "KU257": (20_500, 0.065, "Kirkkonummen", "swedish"),
    "KU858": (19_500, 0.065, "Tuusulan", ""),
    "KU740": (14_500, 0.120, "Savonlinnan", "tourism"),
    "KU245": (18_000, 0.085, "Keravan", ""),
    "KU680": (12_000, 0.095, "Raision", "industrial"),
    "KU536": (16_500, 0.095, "Nokian", "industrial"),
    "KU980": (16_000, 0.075, "Ylöjärven", ""),
    "KU418": (11_500, 0.070, "Lempäälän", ""),
    "KU694": (14_000, 0.110, "Riihimäen", "industrial"),
    "KU153": (12_000, 0.135, "Imatran", "industrial"),
    "KU075": (9_500, 0.115, "Haminan", "industrial"),
    "KU678": (11_000, 0.120, "Raahen", "north industrial"),
    "KU915": (9_000, 0.130, "Varkauden", "industrial"),
    "KU305": (7_000, 0.110, "Kuusamon", "north tourism"),
    "KU908": (9_500, 0.110, "Valkeakosken", "industrial"),
    "KU261": (3_900, 0.070, "Kittilän", "north tourism"),
    "KU148": (3_600, 0.090, "Inarin", "north tourism"),
    "KU758": (4_200, 0.090, "Sodankylän", "north tourism"),
}
_NORTH_ELY: Final = frozenset({"ELY13", "ELY14", "ELY15"})
#: Fallback unemployment rate by ELY area: higher in the east and north, lower in Ostrobothnia.
_ELY_RATE: Final[dict[str, float]] = {
    "ELY01": 0.075, "ELY02": 0.085, "ELY03": 0.095, "ELY04": 0.100, "ELY05": 0.095,
    "ELY06": 0.115, "ELY07": 0.105, "ELY08": 0.105, "ELY09": 0.120, "ELY10": 0.105,
    "ELY11": 0.070, "ELY12": 0.065, "ELY13": 0.100, "ELY14": 0.115, "ELY15": 0.105,
    "ELY16": 0.050,
}  # fmt: skip


@dataclass(frozen=True)
class MunicipalityProfile:
    """What a municipality is like, whatever the seed: its size, unemployment level and character.

    Levels are 2019 levels; the simulation adds trends, the business cycle and noise around them.
    """

    code: str
    labour_force: int
    unemployment_rate: float
    genitive: str | None
    tags: frozenset[str]
    ely: str | None

    @property
    def number(self) -> int:
        return int(self.code[2:])

    @property
    def size(self) -> float:
        """0 for a village of ~500 in the labour force, 1 for a city of ~100 000 or more."""
        return float(np.clip(math.log(self.labour_force / 500) / math.log(200), 0.0, 1.0))

    @property
    def north_or_tourism(self) -> bool:
        return bool({"north", "tourism"} & self.tags)

    @property
    def season_amplitude(self) -> float:
        # Small places swing more (one employer, one season); so do the north and tourist areas.
        return (1.0 + 0.4 * (1.0 - self.size)) * (1.2 if self.north_or_tourism else 1.0)

    @property
    def cycle_sensitivity(self) -> float:
        if "industrial" in self.tags:
            return 1.25
        return 0.9 if "metro" in self.tags else 1.0

    @property
    def laid_off_share(self) -> float:
        """Full-time laid off as a share of the unemployed, before seasonality."""
        return 0.07 if "industrial" in self.tags else 0.055

    @property
    def youth_share(self) -> float:
        return 0.11 if "city" in self.tags else 0.095

    @property
    def senior_share(self) -> float:
        # Rural areas are older: more of their unemployed are over 54.
        return 0.31 - 0.08 * self.size

    @property
    def long_term_share(self) -> float:
        """Long-term unemployed per unemployed person a year earlier: higher where jobs are few."""
        return float(np.clip(0.32 + 0.9 * (self.unemployment_rate - 0.09), 0.24, 0.42))

    @property
    def foreign_share_2012(self) -> float:
        if "metro" in self.tags and "city" in self.tags:
            return 0.13
        if "swedish" in self.tags and "tourism" in self.tags:
            return 0.10  # Åland: many other languages, though Swedish itself is domestic
        return 0.015 + 0.05 * self.size

    @property
    def vacancy_rate(self) -> float:
        """Open vacancies at month end per person in the labour force (2019, neutral cycle)."""
        if "metro" in self.tags:
            return 0.026
        return 0.025 if "swedish" in self.tags else 0.022


def municipality_profile(code: str, ely: str | None = None) -> MunicipalityProfile:
    """The profile of a shipped or large municipality, or a deterministic stand-in for others.

    Unknown municipalities get a labour force between 400 and 10 000 (most Finnish municipalities
    outside the table are small) and a rate typical of their ELY area, derived from the code alone.

    >>> municipality_profile("KU240").labour_force
    9500
    >>> municipality_profile("KU999", "ELY15") == municipality_profile("KU999", "ELY15")
    True
    """
    known = _KNOWN_MUNICIPALITIES.get(code)
    if known is not None:
        labour_force, rate, genitive, tags = known
        return MunicipalityProfile(code, labour_force, rate, genitive, frozenset(tags.split()), ely)
    stable = np.random.default_rng(zlib.crc32(code.encode()))
    # Åland's rural municipalities are tiny (a few hundred to two thousand in work).
    smallest, largest = (150, 2_000) if ely == "ELY16" else (400, 10_000)
    labour_force = int(round(math.exp(stable.uniform(math.log(smallest), math.log(largest))), -1))
    rate = _ELY_RATE.get(ely or "", 0.095) * stable.uniform(0.85, 1.15)
    character = {"north"} if ely in _NORTH_ELY else set()
    if ely == "ELY16":
        character.add("swedish")
    if stable.random() < 0.15:
        character.add("industrial")
    return MunicipalityProfile(code, labour_force, round(rate, 4), None, frozenset(character), ely)
