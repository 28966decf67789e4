"""Synthetic Finnish labour-market data with known structural changes, for demos and benchmarks.

:func:`generate` simulates every municipality of an area hierarchy month by month (unemployed
job-seekers and their make-up, labour force, open and new vacancies, layoff notices) with Finnish
seasonality, a shared business cycle, local drift and count noise, then injects structural
changes and records them as ground truth. The default ``fixed`` scenario (the demo's) has four:

1. a nationwide downturn (2020-03), unemployment up 38-47 % within three months, recovering;
2. a pulp mill closure in Kemi (notices 2022-09, unemployed up ~350 for good from 2023-01);
3. a temporary-layoff wave at a Rauma shipyard (2019-02) that recovers after about six months;
4. a hiring surge in Vaasa (2021-09): vacancies up 65-85 % for good, unemployment down.

Detectors tuned on fixed places and dates would learn them, so backtests use the ``random``
scenario: each seed draws 8-12 events (``RANDOM_EVENTS``) of five kinds — plant closures with
dismissal notices (lasting), temporary-layoff waves (recovering), hiring surges (positive),
sector downturns across several municipalities of a region, and now and then a nationwide shock —
in random municipalities, months and magnitudes. Magnitudes are drawn against the local noise
(a quarter of the events are subtle on purpose: confidence ``low``) and capped at realistic sizes
for the place, so a closure that shakes a village disappears in a city. Events keep apart in
place and time (``_SAME_MUNICIPALITY_GAP``, ``_SAME_ELY_GAP``) and leave two years of history
before them and one after. Tune on ``tutka.evaluation.seeds.DEVELOPMENT_SEEDS``; report the
evaluation seeds once.

Scale: a run has ``areas x 10 + municipalities x occupations x 2`` series (see
``SyntheticPlan.series``); :func:`synthetic_hierarchy` invents up to 999 municipalities without
shared data, and :func:`write_plan` streams the figures to disk, so 10^5 series over ten years
take about a minute and under 1 GB of memory (``tutka simulate --municipalities 999
--occupations 50``).

Sub-region, region, ELY and country series are exact integer sums of their municipalities, as
in Statistics Finland's tables. :func:`write` stores the events as JSON lines plus ``truth.csv``
(the scorecard format) and ``manifest.json``.

Levels and shapes are set by eye against Statistics Finland / TEM table 12r5 (2006-2023, not
copied): unemployment is high in January, lowest in May, peaks in July (students) and is low in
October-November; the vacancy stock peaks in February at about 1.5x its autumn level; regional
series carry one to three per cent of irregular noise, small municipalities much more.

Randomness flows only from ``seed``. Each municipality and measure draws from its own stream, so
a municipality's first-release figures do not depend on which other municipalities the hierarchy
holds, and a month's figures do not depend on the window asked for, as long as no injected event
differs before it. (Revisions, notices and employer names are drawn per dataset; the random
scenario places its events within the window and among the areas it is given.)

Figures are built from one fully validated figure per series (see ``_series``): validating every
one of ~165 000 figures through the models would take seconds. Every notice is fully validated.

>>> from tutka.models.areas import Area, Hierarchy
>>> tiny = Hierarchy([
...     Area("SSS", "Koko maa", "Hela landet", "Finland", None),
...     Area("ELY15", "Lappi", "Lappland", "Lapland", "SSS"),
...     Area("MK19", "Lappi", "Lappland", "Lapland", "ELY15"),
...     Area("SK192", "Kemi-Tornio", "Kemi-Torneå", "Kemi-Tornio", "MK19"),
...     Area("KU240", "Kemi", "Kemi", "Kemi", "SK192"),
...     Area("KU851", "Tornio", "Torneå", "Tornio", "SK192"),
... ])
>>> data = generate(seed=1, start="2021-01", end="2023-12", hierarchy=tiny)
>>> [(t.event_id, t.regions) for t in data.truth]
[('kemi-mill-closure-2022-09', ('SSS', 'ELY15', 'MK19', 'SK192', 'KU240'))]
>>> data.areas
('SSS', 'ELY15', 'MK19', 'SK192', 'KU240', 'KU851')
"""

from __future__ import annotations

import csv
import gc
import hashlib
import io
import json
import math
import random
import unicodedata
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from enum import IntEnum
from pathlib import Path
from typing import Final, Literal, TypeVar

import numpy as np
from numpy.typing import NDArray

from tutka.config.areas import DEMO, demo_hierarchy, shipped_areas
from tutka.models.areas import Area, Hierarchy, level_depth
from tutka.models.codes import business_id_check_digit, period_after, period_index, period_str
from tutka.models.events import (
    LayoffNoticeFiled,
    NoticeKind,
    UnemploymentMeasure,
    UnemploymentReported,
    VacanciesReported,
    VacancyMeasure,
)

Floats = NDArray[np.float64]
Ints = NDArray[np.int64]
Polarity = Literal["negative", "positive"]
Confidence = Literal["high", "medium", "low"]
DetailValue = str | int | float
SyntheticEvent = LayoffNoticeFiled | UnemploymentReported | VacanciesReported
Figure = UnemploymentReported | VacanciesReported
_E = TypeVar("_E", LayoffNoticeFiled, UnemploymentReported, VacanciesReported)
_T = TypeVar("_T")
ScenarioName = Literal["fixed", "random"]

SOURCE: Final = "synthetic"
#: ``fixed``: the four demo events below; ``random``: events drawn from the seed.
SCENARIOS: Final[tuple[ScenarioName, ...]] = ("fixed", "random")
MAX_RANDOM_EVENTS: Final = 40
TRUTH_COLUMNS: Final = ("event_id", "regions", "reference_month", "polarity", "confidence", "what")
FILES: Final = (
    "unemployment.jsonl",
    "vacancies.jsonl",
    "notices.jsonl",
    "truth.csv",
    "manifest.json",
)

# The simulation always covers at least 1998-2030, whatever window is asked for, so that a
# month's figures are the same in every window that contains it; two years run in before 2000
# warm up the autocorrelated noise and the long-term unemployed's one-year lag.
_SIM_FIRST: Final = period_index("1998-01")
_SIM_LAST: Final = period_index("2030-12")
_WARM_UP: Final = 24
#: Profile levels (labour force, rates) are 2019 levels; trends pivot there.
_ANCHOR: Final = period_index("2019-01")
#: Foreign-language shares in the profiles are 2012 levels.
_FOREIGN_ANCHOR: Final = period_index("2012-01")

# --- injected events: when and where ---------------------------------------------------------

DOWNTURN_ONSET: Final = "2020-03"
KEMI: Final = "KU240"
KEMI_ANNOUNCED: Final = "2022-09"
KEMI_SPILL_OVER: Final[dict[str, float]] = {"KU851": 0.12, "KU751": 0.04}  # Tornio, Simo
RAUMA: Final = "KU684"
RAUMA_ANNOUNCED: Final = "2019-02"
VAASA: Final = "KU905"
VAASA_ONSET: Final = "2021-09"
#: Months from the Kemi announcement to the closure's effective month (when unemployment rises).
KEMI_CLOSURE_DELAY: Final = 4
#: Temporary-layoff wave in Rauma: share of the extra laid-off people by month after the notices.
RAUMA_PROFILE: Final = (0.3, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.45, 0.1)
#: Downturn: share of the peak effect in its first three months, then a cosine recovery.
DOWNTURN_RISE: Final = (0.45, 0.9, 1.0)
DOWNTURN_RECOVERY_MONTHS: Final = 15
#: Temporary layoffs end sooner than the rest of the rise in unemployment.
LAID_OFF_RECOVERY_MONTHS: Final = 10
#: Notice rate multiplier by month after the downturn's onset (temporary layoffs everywhere).
NOTICE_SURGE: Final = (7.0, 5.0, 2.5, 1.6, 1.3, 1.3, 1.2, 1.1)

# --- seasonality: log multipliers by calendar month, January first ------------------------------


def _centred(values: Sequence[float]) -> Floats:
    array = np.asarray(values, dtype=np.float64)
    centred: Floats = array - array.mean()
    return centred


# Roughly the national profile of 12r5 unemployed job-seekers 2006-2019 (ratio to a 12-month mean).
_UNEMPLOYMENT_SEASON: Final = _centred(
    [0.055, 0.033, 0.0, -0.031, -0.069, 0.042, 0.088, -0.027, -0.062, -0.055, -0.042, 0.064]
)
# Temporary layoffs: construction in winter, industrial summer shutdowns in July.
_LAID_OFF_SEASON: Final = _centred(
    [0.25, 0.25, 0.15, 0.0, -0.2, -0.1, 0.2, -0.1, -0.2, -0.15, -0.05, 0.15]
)
# Students and young people finishing school swell the summer figure.
_YOUTH_SEASON: Final = _centred(
    [0.0, -0.05, -0.08, -0.08, -0.02, 0.3, 0.35, 0.02, -0.15, -0.12, -0.1, -0.07]
)
# The vacancy stock peaks in February (summer jobs are advertised early), lowest in late autumn.
_VACANCY_SEASON: Final = _centred(
    [0.31, 0.57, 0.39, 0.19, 0.01, -0.24, -0.2, -0.1, -0.14, -0.21, -0.3, -0.27]
)
# New vacancies lead the stock: most are opened in January-March, few in July.
_NEW_VACANCY_SEASON: Final = _centred(
    [0.35, 0.3, 0.25, 0.1, 0.0, -0.15, -0.45, 0.05, 0.05, -0.1, -0.15, -0.25]
)
# Layoff notices cluster after the holidays and in the autumn budgeting season.
_NOTICE_SEASON: Final = np.array([1.15, 1.1, 1.0, 0.95, 0.9, 0.85, 0.6, 0.95, 1.1, 1.2, 1.2, 1.0])
_CONSTRUCTION_WINTER: Final = np.array([1.4, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.4, 1.4])

# --- noise -----------------------------------------------------------------------------------

_CORE_DISPERSION: Final = 3000.0  # gamma-Poisson shape: mild over-dispersion of the stock
_LAID_OFF_DISPERSION: Final = 200.0  # layoffs come in employer-sized lumps
_VACANCY_DISPERSION: Final = 150.0  # one employer may post dozens of openings
_REVISION_PROBABILITY: Final = 0.006  # per municipal figure; ancestors follow (~1 % overall)

# --- municipalities ----------------------------------------------------------------------------

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


# --- public results ------------------------------------------------------------------------------


@dataclass(frozen=True)
class TruthEvent:
    """One injected structural change, as the scorecard expects it (``truth.csv``).

    ``regions`` lists the areas where the change should be visible (broadest first);
    ``reference_month`` is the announcement or onset; ``details`` hold the realised magnitudes.
    """

    event_id: str
    regions: tuple[str, ...]
    reference_month: str
    polarity: Polarity
    confidence: Confidence
    what: str
    kind: str
    details: tuple[tuple[str, DetailValue], ...] = ()

    def csv_row(self) -> list[str]:
        return [
            self.event_id,
            ";".join(self.regions),
            self.reference_month,
            self.polarity,
            self.confidence,
            self.what,
        ]

    def to_json(self) -> dict[str, object]:
        return {
            "event_id": self.event_id,
            "kind": self.kind,
            "regions": list(self.regions),
            "reference_month": self.reference_month,
            "polarity": self.polarity,
            "confidence": self.confidence,
            "what": self.what,
            "details": dict(self.details),
        }


@dataclass(frozen=True)
class SyntheticDataset:
    """The generated events (validated, ordered by availability) and the ground truth."""

    seed: int
    start: str
    end: str
    occupations: int
    inject: bool
    areas: tuple[str, ...]
    events: tuple[SyntheticEvent, ...]
    truth: tuple[TruthEvent, ...]
    scenario: ScenarioName = "fixed"
    series: int = 0  # figure series (see ``SyntheticPlan.series``)

    def of_type(self, cls: type[_E]) -> list[_E]:
        return [event for event in self.events if isinstance(event, cls)]

    def counts(self) -> dict[str, int]:
        """Number of events per ``type`` discriminator."""
        counts = {"layoff_notice": 0, "unemployment": 0, "vacancies": 0}
        for event in self.events:
            counts[event.type] += 1
        return counts

    @property
    def revisions(self) -> int:
        return sum(
            1 for e in self.events if not isinstance(e, LayoffNoticeFiled) and e.revision > 0
        )


# --- calendar ----------------------------------------------------------------------------------


def publication_date(period: str, revision: int = 0) -> date:
    """When a month's figure is published: the 25th of the next month, or the next weekday.

    A revision comes out with the following month's release, one month later per revision.

    >>> publication_date("2020-02"), publication_date("2020-03", revision=1)
    (datetime.date(2020, 3, 25), datetime.date(2020, 5, 25))
    >>> publication_date("2020-06")  # 25 July 2020 was a Saturday
    datetime.date(2020, 7, 27)
    """
    index = period_index(period) + 1 + revision
    day = date(index // 12, index % 12 + 1, 25)
    return day + timedelta(days=7 - day.weekday()) if day.weekday() >= 5 else day


def _weekday_near(year: int, month: int, day: int) -> date:
    """The day or the nearest weekday in the same month (Friday before, else Monday after)."""
    chosen = date(year, month, day)
    if chosen.weekday() < 5:
        return chosen
    back = chosen - timedelta(days=chosen.weekday() - 4)
    return back if back.month == month else chosen + timedelta(days=7 - chosen.weekday())


def _days_in_month(index: int) -> int:
    following = index + 1
    return (date(following // 12, following % 12 + 1, 1) - timedelta(days=1)).day


def _add_months(day: date, months: int, on_day: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, on_day)


@dataclass(frozen=True)
class _Timeline:
    """The requested window inside the (longer) simulated span, as month indices."""

    first: int
    last: int
    sim_first: int
    sim_last: int

    @classmethod
    def of(cls, start: str, end: str) -> _Timeline:
        first, last = period_index(start), period_index(end)
        if last < first:
            raise ValueError(f"end {end} is before start {start}")
        return cls(first, last, min(_SIM_FIRST, first - _WARM_UP), max(_SIM_LAST, last))

    @property
    def months(self) -> Ints:
        return np.arange(self.sim_first, self.sim_last + 1, dtype=np.int64)

    @property
    def window(self) -> slice:
        return slice(self.first - self.sim_first, self.last - self.sim_first + 1)

    def column(self, period: str) -> int:
        return period_index(period) - self.sim_first

    def contains(self, period: str) -> bool:
        return self.first <= period_index(period) <= self.last


# --- areas ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Layout:
    """Which areas are emitted and which municipalities each one sums."""

    municipalities: tuple[str, ...]
    areas: tuple[str, ...]  # broadest first; only areas with municipalities under them
    membership: Ints  # areas x municipalities, 1 where the area contains the municipality

    @classmethod
    def of(cls, hierarchy: Hierarchy) -> _Layout:
        municipalities = hierarchy.of_level("KU")
        if not municipalities:
            raise ValueError("the area hierarchy has no municipalities (KU###) to simulate")
        covered = {area for code in municipalities for area in (code, *hierarchy.ancestors(code))}
        areas = tuple(sorted(covered, key=lambda code: (level_depth(code), code)))
        row = {code: i for i, code in enumerate(areas)}
        membership = np.zeros((len(areas), len(municipalities)), dtype=np.int64)
        for j, code in enumerate(municipalities):
            for area in (code, *hierarchy.ancestors(code)):
                membership[row[area], j] = 1
        return cls(municipalities, areas, membership)

    def aggregate(self, municipal: Ints) -> Ints:
        """Sum municipal series (municipalities x months) into every emitted area, exactly."""
        # Integer matrix products bypass BLAS and are slow; float64 is exact far beyond the
        # size of any Finnish total (2**53), so multiply in floats and round back.
        if np.abs(municipal).max(initial=0) * len(self.municipalities) >= 2**52:
            raise ValueError("totals too large to aggregate exactly")
        product = self.membership.astype(np.float64) @ municipal.astype(np.float64)
        return np.rint(product).astype(np.int64)


# --- randomness --------------------------------------------------------------------------------


class _Stream(IntEnum):
    """Independent random streams: changing one component never reshuffles another."""

    NATIONAL = 1
    SCENARIO = 2
    MARKET = 3
    COUNTS = 4
    NOTICE_COUNTS = 5
    NOTICE_DETAILS = 6
    REVISIONS = 7
    OCCUPATIONS = 8
    RANDOM_EVENTS = 9


def _rng(seed: int, *keys: int) -> np.random.Generator:
    return np.random.default_rng([seed, *keys])


def _ar1(innovations: Floats, phi: float) -> Floats:
    """AR(1) along the last axis: irregular components of stocks are autocorrelated."""
    out = np.empty_like(innovations)
    state = np.zeros(innovations.shape[:-1])
    for t in range(innovations.shape[-1]):
        state = phi * state + innovations[..., t]
        out[..., t] = state
    return out


def _gamma_poisson(rng: np.random.Generator, mean: Floats, shape: float) -> Ints:
    """Counts with mean ``mean`` and variance ``mean + mean**2 / shape`` (negative binomial)."""
    # Gamma first over the whole row, then Poisson element by element: an early month's count
    # never depends on later means, which keeps windows and injections from reshuffling history.
    frailty = rng.gamma(shape, 1.0 / shape, size=mean.shape)
    return rng.poisson(np.maximum(mean, 0.0) * frailty).astype(np.int64)


# --- the latent market ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Expected:
    """Expected stocks per municipality and month (municipalities x months), before count noise."""

    core: Floats  # unemployed other than the full-time laid off
    laid_off: Floats
    vacancies: Floats
    new_vacancies: Floats

    @property
    def unemployed(self) -> Floats:
        return self.core + self.laid_off


@dataclass(frozen=True)
class _Market:
    labour_force: Ints  # annual figure repeated monthly
    cycle: Floats  # national log-multiplier of unemployment (months)
    sensitivity: Floats  # per municipality
    expected: _Expected
    under_25: Floats  # shares of the unemployed
    under_30: Floats
    over_54: Floats
    foreign: Floats
    long_term: Floats  # per municipality: long-term unemployed per core unemployed a year earlier


def _business_cycle(seed: int, months: Ints) -> Floats:
    """Slow national swings over years plus a small shared irregular component."""
    rng = _rng(seed, _Stream.NATIONAL)
    t = (months - _ANCHOR).astype(np.float64)
    # Amplitudes in log units: the rate swings by up to +-15 % around its level over 7-11 years,
    # changing by at most about 15 % a year (Finland 2015-2018 fell about that fast).
    long_wave = rng.uniform(0.08, 0.13) * np.sin(
        2 * np.pi * t / rng.uniform(84, 132) + rng.uniform(0, 2 * np.pi)
    )
    short_wave = rng.uniform(0.02, 0.04) * np.sin(
        2 * np.pi * t / rng.uniform(36, 60) + rng.uniform(0, 2 * np.pi)
    )
    shared_noise = _ar1(rng.normal(0.0, 0.006, size=months.shape), 0.7)
    return long_wave + short_wave + shared_noise


@dataclass(frozen=True)
class _LocalDraws:
    """One municipality's random character, drawn from its own stream in a fixed order."""

    sensitivity: float  # to the national business cycle
    rate_slope: float  # slow local drift of the unemployment rate, per year (log)
    lf_growth: float  # labour force growth per year: cities grow, villages shrink
    vacancy_level: float  # open vacancies per labour force at a neutral cycle
    vacancy_slope: float
    new_ratio: float  # new vacancies a month per open vacancy
    laid_share: float  # full-time laid off among the unemployed
    rate_walk: Floats  # months: a slow random walk of the rate (log)
    rate_noise: Floats  # months: innovations of the autocorrelated irregular component
    vacancy_noise: Floats
    lf_walk: Floats  # years: the labour force's own wander

    @classmethod
    def draw(cls, seed: int, p: MunicipalityProfile, months: int, years: int) -> _LocalDraws:
        rng = _rng(seed, _Stream.MARKET, p.number)
        return cls(
            sensitivity=p.cycle_sensitivity * rng.uniform(0.9, 1.1),
            rate_slope=rng.normal(0.0, 0.01),
            lf_growth=-0.008 + 0.014 * p.size + rng.normal(0.0, 0.003),
            vacancy_level=p.vacancy_rate * math.exp(rng.normal(0.0, 0.15)),
            vacancy_slope=rng.normal(0.0, 0.01),
            new_ratio=rng.uniform(0.95, 1.3),
            laid_share=p.laid_off_share * rng.uniform(0.9, 1.1),
            rate_walk=np.cumsum(rng.normal(0.0, 0.002, size=months)),
            rate_noise=rng.normal(0.0, 0.009, size=months),
            vacancy_noise=rng.normal(0.0, 0.04, size=months),
            lf_walk=np.cumsum(rng.normal(0.0, 0.004, size=years)),
        )


def _column(values: Iterable[float]) -> Floats:
    """Per-municipality scalars as a column, to broadcast over months."""
    return np.array(list(values), dtype=np.float64)[:, None]


def _simulate_market(
    seed: int, profiles: Sequence[MunicipalityProfile], timeline: _Timeline
) -> _Market:
    """Expected stocks before injections, plus the shares that split the unemployed into groups."""
    months = timeline.months
    season = months % 12
    years = (months - _ANCHOR) / 12.0
    calendar_year = months // 12
    first_year, anchor_year = int(calendar_year[0]), _ANCHOR // 12
    cycle = _business_cycle(seed, months)
    n_years = int(calendar_year[-1]) - first_year + 1
    draws = [_LocalDraws.draw(seed, p, len(months), n_years) for p in profiles]

    # Levels are pinned at the anchor (2019): walks wander away from it in both directions.
    rate_walk = np.vstack([d.rate_walk for d in draws])
    rate_walk -= rate_walk[:, [_ANCHOR - timeline.sim_first]]
    lf_walk = np.vstack([d.lf_walk for d in draws])
    lf_walk -= lf_walk[:, [anchor_year - first_year]]
    labour_force = np.round(
        _column(p.labour_force for p in profiles)
        * np.exp(
            _column(d.lf_growth for d in draws) * (calendar_year - anchor_year)
            + lf_walk[:, calendar_year - first_year]
        )
    )
    sensitivity = _column(d.sensitivity for d in draws)
    log_rate = (
        np.log(_column(p.unemployment_rate for p in profiles))
        + sensitivity * cycle
        + _column(d.rate_slope for d in draws) * years
        + rate_walk
        + _column(p.season_amplitude for p in profiles) * _UNEMPLOYMENT_SEASON[season]
        + _ar1(np.vstack([d.rate_noise for d in draws]), 0.6)
    )
    unemployed = labour_force * np.clip(np.exp(log_rate), 0.005, 0.4)
    # Temporary layoffs swing harder with the cycle than unemployment as a whole.
    laid_share = np.clip(
        _column(d.laid_share for d in draws)
        * np.exp(_LAID_OFF_SEASON[season] + 1.5 * sensitivity * cycle),
        0.01,
        0.3,
    )
    vacancy_noise = _ar1(np.vstack([d.vacancy_noise for d in draws]), 0.6)
    log_vacancies = (
        np.log(_column(d.vacancy_level for d in draws))
        - 1.3 * sensitivity * cycle  # tightness moves against unemployment
        + (0.04 + _column(d.vacancy_slope for d in draws)) * years  # ever more ads online
    )
    expected = _Expected(
        core=unemployed * (1.0 - laid_share),
        laid_off=unemployed * laid_share,
        vacancies=labour_force * np.exp(log_vacancies + _VACANCY_SEASON[season] + vacancy_noise),
        new_vacancies=_column(d.new_ratio for d in draws)
        * labour_force
        * np.exp(log_vacancies + _NEW_VACANCY_SEASON[season] + 0.5 * vacancy_noise),
    )
    youth = _column(p.youth_share for p in profiles) * np.exp(_YOUTH_SEASON[season])
    foreign_trend = np.exp(0.055 * (months - _FOREIGN_ANCHOR) / 12.0)
    return _Market(
        labour_force=labour_force.astype(np.int64),
        cycle=cycle,
        sensitivity=sensitivity[:, 0],
        expected=expected,
        under_25=youth,
        under_30=youth + 0.10,
        # An ageing population: a slowly growing share of the unemployed is over 54.
        over_54=np.clip(
            _column(p.senior_share for p in profiles) * np.exp(0.01 * years), 0.05, 0.45
        ),
        foreign=np.clip(
            _column(p.foreign_share_2012 for p in profiles) * foreign_trend, 0.005, 0.45
        ),
        long_term=np.array([p.long_term_share for p in profiles]),
    )


def _lagged_mean(values: Floats, nearest: int, farthest: int) -> Floats:
    """Mean over months t-farthest..t-nearest along the last axis (edge-padded at the start)."""
    padded = np.concatenate([np.repeat(values[:, :1], farthest, axis=1), values], axis=1)
    cumulative = np.concatenate([np.zeros((values.shape[0], 1)), np.cumsum(padded, axis=1)], axis=1)
    n = values.shape[1]
    upper = cumulative[:, farthest - nearest + 1 : farthest - nearest + 1 + n]
    mean: Floats = (upper - cumulative[:, :n]) / (farthest - nearest + 1)
    return mean


Measure = UnemploymentMeasure | VacancyMeasure
_MEASURES: Final[tuple[Measure, ...]] = (*UnemploymentMeasure, *VacancyMeasure)


def _sample_counts(
    seed: int, profiles: Sequence[MunicipalityProfile], market: _Market, expected: _Expected
) -> dict[Measure, Ints]:
    """Draw every municipal figure (municipalities x months) from its expectation."""
    long_term_expected = market.long_term[:, None] * _lagged_mean(expected.core, 6, 18)
    long_term_p = np.clip(long_term_expected / np.maximum(expected.core, 1e-9), 0.0, 0.9)
    over_54_p = market.over_54 / (1.0 - market.under_30)
    under_30_p = (market.under_30 - market.under_25) / (1.0 - market.under_25)
    columns: dict[Measure, list[Ints]] = {m: [] for m in _MEASURES}
    for j, p in enumerate(profiles):

        def stream(measure: int, number: int = p.number) -> np.random.Generator:
            return _rng(seed, _Stream.COUNTS, number, measure)

        core = _gamma_poisson(stream(0), expected.core[j], _CORE_DISPERSION)
        laid_off = _gamma_poisson(stream(1), expected.laid_off[j], _LAID_OFF_DISPERSION)
        unemployed = core + laid_off
        under_25 = stream(3).binomial(unemployed, market.under_25[j]).astype(np.int64)
        under_30 = under_25 + stream(4).binomial(unemployed - under_25, under_30_p[j]).astype(
            np.int64
        )
        measures = columns
        measures[UnemploymentMeasure.UNEMPLOYED_JOBSEEKERS].append(unemployed)
        measures[UnemploymentMeasure.LABOUR_FORCE].append(market.labour_force[j])
        measures[UnemploymentMeasure.FULL_TIME_LAID_OFF].append(laid_off)
        # The laid off keep their jobs: only the core unemployed can become long-term unemployed.
        measures[UnemploymentMeasure.LONG_TERM_UNEMPLOYED].append(
            stream(2).binomial(core, long_term_p[j]).astype(np.int64)
        )
        measures[UnemploymentMeasure.UNDER_25].append(under_25)
        measures[UnemploymentMeasure.UNDER_30].append(under_30)
        measures[UnemploymentMeasure.OVER_54].append(
            stream(5).binomial(unemployed - under_30, over_54_p[j]).astype(np.int64)
        )
        measures[UnemploymentMeasure.FOREIGN_LANGUAGE].append(
            stream(6).binomial(unemployed, market.foreign[j]).astype(np.int64)
        )
        measures[VacancyMeasure.OPEN_AT_MONTH_END].append(
            _gamma_poisson(stream(7), expected.vacancies[j], _VACANCY_DISPERSION)
        )
        measures[VacancyMeasure.NEW_IN_MONTH].append(
            _gamma_poisson(stream(8), expected.new_vacancies[j], _VACANCY_DISPERSION)
        )
    return {measure: np.vstack(rows).astype(np.int64) for measure, rows in columns.items()}


# --- injected events ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Scenario:
    """Magnitudes of the injected events for one seed (drawn within realistic ranges)."""

    downturn_increase: float
    kemi_persons: tuple[int, ...]
    kemi_unemployed: int
    rauma_persons: tuple[int, ...]
    rauma_laid_off: int
    vaasa_vacancy_gain: float
    vaasa_unemployment_drop: float

    @classmethod
    def draw(cls, seed: int) -> _Scenario:
        rng = _rng(seed, _Stream.SCENARIO)
        downturn = rng.uniform(0.38, 0.47)
        kemi_total = int(rng.integers(450, 551))
        kemi_shares = (0.45, 0.55) if rng.random() < 0.4 else (0.36, 0.5, 0.14)
        kemi_unemployed = int(rng.integers(340, 381))  # most of the dismissed stay and register
        rauma_total = int(rng.integers(720, 881))
        rauma_laid_off = round(rauma_total * rng.uniform(0.72, 0.78))
        return cls(
            downturn_increase=round(float(downturn), 3),
            kemi_persons=_split(kemi_total, kemi_shares),
            kemi_unemployed=kemi_unemployed,
            rauma_persons=_split(rauma_total, (0.5, 0.25, 0.15, 0.10)),
            rauma_laid_off=rauma_laid_off,
            vaasa_vacancy_gain=round(float(rng.uniform(0.65, 0.85)), 3),
            vaasa_unemployment_drop=round(float(rng.uniform(0.10, 0.15)), 3),
        )


def _split(total: int, shares: Sequence[float]) -> tuple[int, ...]:
    parts = [round(total * share) for share in shares[:-1]]
    return (*parts, total - sum(parts))


def _months_since(timeline: _Timeline, period: str) -> Ints:
    return timeline.months - period_index(period)


def _profile_by_month(relative: Ints, profile: Sequence[float]) -> Floats:
    """``profile[k]`` in month k after the reference, 0 before and after."""
    values = np.zeros(relative.shape)
    for k, share in enumerate(profile):
        values[relative == k] = share
    return values


def _rise_and_recover(relative: Ints, rise: Sequence[float], recovery: int) -> Floats:
    """A quick rise to 1, then a cosine return to 0 over ``recovery`` months."""
    shape = _profile_by_month(relative, rise)
    after = relative - (len(rise) - 1)
    recovering = (after > 0) & (after < recovery)
    shape[recovering] = 0.5 * (1.0 + np.cos(np.pi * after[recovering] / recovery))
    return shape


def _ramp(relative: Ints, months: int) -> Floats:
    """0 before the reference month, reaching 1 after ``months`` months and staying there."""
    return np.clip((relative + 1) / months, 0.0, 1.0) * (relative >= 0)


@dataclass(frozen=True)
class _PlannedNotice:
    municipality: str
    section: str
    kind: NoticeKind
    persons: int
    announced: date
    effective_from: date
    effective_to: date | None
    occupations: tuple[str, ...]
    employer: _Employer
    notice_id: str | None = None  # injected notices have fixed ids; the rest are numbered


def _injected_id(municipality: str, period: str, k: int) -> str:
    # Background notices count up from 0001 each month; injected ones use 9001 onwards.
    return f"syn-{municipality}-{period}-{9001 + k}"


#: A surge of layoff notices everywhere: its onset and the rate multiplier by month after it.
NoticeSurge = tuple[str, tuple[float, ...]]


@dataclass(frozen=True)
class _Injection:
    """One injected change: its effect on the expectations, its notices and its truth.

    ``home`` names where the change happens (a municipality, a region, the country): those areas
    belong to the truth's regions even where the change hardly stands out of the noise, so that
    a subtle event is still scored where it happened.
    """

    expected: _Expected
    headline: Literal["unemployed", "vacancies"]
    event_id: str
    kind: str
    reference_month: str
    polarity: Polarity
    confidence: Confidence
    what: str
    details: tuple[tuple[str, DetailValue], ...]
    notices: tuple[_PlannedNotice, ...] = ()
    home: tuple[str, ...] = ()
    surge: NoticeSurge | None = None


def _headline(expected: _Expected, which: Literal["unemployed", "vacancies"]) -> Floats:
    return expected.unemployed if which == "unemployed" else expected.vacancies


# The effects below are shared by the fixed scenario and the random one: each returns new
# expectations and never touches the ones it is given.


def _downturn_effect(
    timeline: _Timeline,
    expected: _Expected,
    onset: str,
    increase: float,
    laid_off_multiplier: tuple[float, float] = (4.0, 6.0),
) -> tuple[_Expected, float]:
    """A nationwide downturn: unemployed up by ``increase`` within three months, recovering.

    Returns the new expectations and the national multiplier of the full-time laid off at the peak.
    """
    relative = _months_since(timeline, onset)
    shape = _rise_and_recover(relative, DOWNTURN_RISE, DOWNTURN_RECOVERY_MONTHS)
    laid_shape = _rise_and_recover(relative, DOWNTURN_RISE, LAID_OFF_RECOVERY_MONTHS)
    vacancy_shape = _rise_and_recover(relative, DOWNTURN_RISE, 12)
    peak = timeline.column(onset) + len(DOWNTURN_RISE) - 1
    share = expected.laid_off[:, peak] / expected.unemployed[:, peak]
    # Temporary layoffs carry about 60 % of the rise; the rest is other unemployment.
    multiplier = np.clip(1.0 + 0.6 * increase / share, *laid_off_multiplier)
    core_rise = np.maximum(0.03, (increase - (multiplier - 1.0) * share) / (1.0 - share))
    after = _Expected(
        core=expected.core * (1.0 + core_rise[:, None] * shape),
        laid_off=expected.laid_off * (1.0 + (multiplier[:, None] - 1.0) * laid_shape),
        vacancies=expected.vacancies * (1.0 - 0.35 * vacancy_shape),
        new_vacancies=expected.new_vacancies * (1.0 - 0.4 * vacancy_shape),
    )
    return after, float(after.laid_off[:, peak].sum() / expected.laid_off[:, peak].sum())


def _closure_effect(
    timeline: _Timeline,
    expected: _Expected,
    effective: str,
    rises: Sequence[tuple[int, int]],
    dip_row: int,
    dip: float,
) -> _Expected:
    """Unemployed up for good from ``effective`` by ``rises`` (row, persons); vacancies dip.

    The rise comes in over three months (half, 85 %, all); vacancies in ``dip_row`` fall by ``dip``
    with the closure, half of the fall lasting.
    """
    ramp = _profile_by_month(_months_since(timeline, effective), (0.5, 0.85))
    ramp[_months_since(timeline, effective) >= 2] = 1.0
    core = expected.core.copy()
    for row, persons in rises:
        core[row] += persons * ramp
    since = np.maximum(_months_since(timeline, effective), 0)
    fall = 1.0 - dip * ramp * (0.5 + 0.5 * np.exp(-since / 18.0))
    vacancies, new_vacancies = expected.vacancies.copy(), expected.new_vacancies.copy()
    vacancies[dip_row] *= fall
    new_vacancies[dip_row] *= fall
    return replace(expected, core=core, vacancies=vacancies, new_vacancies=new_vacancies)


def _layoff_wave_effect(
    timeline: _Timeline,
    expected: _Expected,
    row: int,
    announced: str,
    laid_off: int,
    profile: Sequence[float],
) -> _Expected:
    """Full-time laid off up by ``laid_off`` times ``profile[k]`` in month k after ``announced``."""
    laid = expected.laid_off.copy()
    laid[row] += laid_off * _profile_by_month(_months_since(timeline, announced), profile)
    return replace(expected, laid_off=laid)


def _hiring_effect(
    timeline: _Timeline, expected: _Expected, row: int, onset: str, gain: float, drop: float
) -> _Expected:
    """Vacancies up by ``gain`` for good within six months, unemployed down by ``drop`` in nine."""
    relative = _months_since(timeline, onset)
    up = 1.0 + gain * _ramp(relative, 6)
    down = 1.0 - drop * _ramp(relative, 9)
    arrays = {
        name: getattr(expected, name).copy()
        for name in ("core", "laid_off", "vacancies", "new_vacancies")
    }
    arrays["vacancies"][row] *= up
    arrays["new_vacancies"][row] *= up
    arrays["core"][row] *= down
    arrays["laid_off"][row] *= down
    return _Expected(**arrays)


def _sector_effect(
    timeline: _Timeline, expected: _Expected, onset: str, rises: Sequence[tuple[int, float]]
) -> _Expected:
    """A sector in trouble across several municipalities: ``rises`` (row, persons) at the peak.

    Temporary layoffs (two fifths) come first and are over within about a year and a half; the
    dismissals (three fifths) build up over six months and half of them last.
    """
    relative = _months_since(timeline, onset)
    lasting = _ramp(relative, 6) * (0.5 + 0.5 * np.exp(-np.maximum(relative - 5, 0) / 18.0))
    temporary = _rise_and_recover(relative, (0.3, 0.6, 1.0), 12)
    core, laid_off = expected.core.copy(), expected.laid_off.copy()
    for row, persons in rises:
        core[row] += 0.6 * persons * lasting
        laid_off[row] += 0.4 * persons * temporary
    return replace(expected, core=core, laid_off=laid_off)


def _downturn(
    timeline: _Timeline,
    expected: _Expected,
    increase: float,
    onset: str = DOWNTURN_ONSET,
    surge: tuple[float, ...] = NOTICE_SURGE,
    laid_off_multiplier: tuple[float, float] = (4.0, 6.0),
    home: tuple[str, ...] = (),
) -> _Injection:
    after, national_multiplier = _downturn_effect(
        timeline, expected, onset, increase, laid_off_multiplier
    )
    return _Injection(
        expected=after,
        headline="unemployed",
        event_id=f"downturn-{onset}",
        kind="downturn",
        reference_month=onset,
        polarity="negative",
        confidence="high",
        what=(
            f"Nationwide downturn from {onset}: unemployed up {increase:.0%} within three "
            f"months, full-time laid off x{national_multiplier:.1f}, a surge of temporary-layoff "
            f"notices everywhere; recovers over about {DOWNTURN_RECOVERY_MONTHS} months."
        ),
        details=(
            ("onset", onset),
            ("peak", period_str(period_index(onset) + len(DOWNTURN_RISE) - 1)),
            ("unemployed_increase", increase),
            ("laid_off_multiplier", round(national_multiplier, 2)),
            ("recovery_months", DOWNTURN_RECOVERY_MONTHS),
            ("notice_surge_peak", surge[0]),
        ),
        home=home,
        surge=(onset, surge),
    )


def _kemi_closure(
    timeline: _Timeline,
    expected: _Expected,
    scenario: _Scenario,
    index: dict[str, int],
    employers: _Employers,
) -> _Injection:
    announced = period_index(KEMI_ANNOUNCED)
    effective = period_str(announced + KEMI_CLOSURE_DELAY)
    rises = [(index[KEMI], scenario.kemi_unemployed)]
    spill: list[tuple[str, DetailValue]] = []
    for code, share in KEMI_SPILL_OVER.items():
        if code in index:  # commuters from the neighbouring municipalities
            rises.append((index[code], round(scenario.kemi_unemployed * share)))
            spill.append((f"spill_over_{code}", round(scenario.kemi_unemployed * share)))
    # Local demand falls with the mill: vacancies dip by 30 %, half of it lasting.
    after = _closure_effect(timeline, expected, effective, rises, index[KEMI], 0.3)

    employer = employers.named(KEMI, "C", "Perämeren Sellu Oy")
    first = _weekday_near(announced // 12, announced % 12 + 1, 6)
    kinds = (NoticeKind.DISMISSAL, NoticeKind.CLOSURE, NoticeKind.DISMISSAL)
    delays = (3, KEMI_CLOSURE_DELAY, 5)  # months until effective: staff first, the mill, support
    offsets = (0, 1, 14)  # days after the first announcement
    occupations = (
        ("8171", "8172", "3115"),
        ("8171", "8172", "7233", "8189"),
        ("4110", "3115", "7233"),
    )
    notices = tuple(
        _PlannedNotice(
            municipality=KEMI,
            section="C",
            kind=kinds[i],
            persons=persons,
            announced=_weekday_after(first + timedelta(days=offsets[i])),
            effective_from=_add_months(first, delays[i], 1),
            effective_to=None,
            occupations=occupations[i],
            employer=employer,
            notice_id=_injected_id(KEMI, KEMI_ANNOUNCED, i),
        )
        for i, persons in enumerate(scenario.kemi_persons)
    )
    total = sum(scenario.kemi_persons)
    return _Injection(
        expected=after,
        headline="unemployed",
        event_id=f"kemi-mill-closure-{KEMI_ANNOUNCED}",
        kind="closure",
        reference_month=KEMI_ANNOUNCED,
        polarity="negative",
        confidence="high",
        what=(
            f"Pulp mill closure in Kemi: {len(notices)} change-negotiation notices "
            f"({total} persons, dismissals and a closure) announced {KEMI_ANNOUNCED}; "
            f"unemployed up about {scenario.kemi_unemployed} for good from {effective}, "
            "vacancies dip."
        ),
        details=(
            ("municipality", KEMI),
            ("employer", employer.name),
            ("business_id", employer.business_id),
            ("notice_ids", ";".join(n.notice_id or "" for n in notices)),
            ("persons", total),
            ("effective_month", effective),
            ("unemployed_effect", scenario.kemi_unemployed),
            *spill,
            ("vacancy_dip", 0.3),
        ),
        notices=notices,
    )


def _weekday_after(day: date) -> date:
    return day + timedelta(days=7 - day.weekday()) if day.weekday() >= 5 else day


def _rauma_layoffs(
    timeline: _Timeline,
    expected: _Expected,
    scenario: _Scenario,
    index: dict[str, int],
    employers: _Employers,
) -> _Injection:
    announced = period_index(RAUMA_ANNOUNCED)
    after = _layoff_wave_effect(
        timeline, expected, index[RAUMA], RAUMA_ANNOUNCED, scenario.rauma_laid_off, RAUMA_PROFILE
    )
    shipyard = employers.named(RAUMA, "C", "Selkämeren Telakka Oy")
    # Two notices from the shipyard, two from subcontractors with generated names.
    who = (shipyard, shipyard, employers.new(RAUMA, "C"), employers.new(RAUMA, "C"))
    days = (4, 4, 7, 8)
    waits = (14, 21, 16, 18)  # days from announcement to the layoff
    occupations = (("7214", "7212", "7233"), ("3115", "7411"), ("7212", "7214"), ("7126", "7411"))
    notices = []
    for i, persons in enumerate(scenario.rauma_persons):
        day = _weekday_near(announced // 12, announced % 12 + 1, days[i])
        start = day + timedelta(days=waits[i])
        notices.append(
            _PlannedNotice(
                municipality=RAUMA,
                section="C",
                kind=NoticeKind.TEMPORARY_LAYOFF,
                persons=persons,
                announced=day,
                effective_from=start,
                effective_to=start + timedelta(days=182),
                occupations=occupations[i],
                employer=who[i],
                notice_id=_injected_id(RAUMA, RAUMA_ANNOUNCED, i),
            )
        )
    total = sum(scenario.rauma_persons)
    return _Injection(
        expected=after,
        headline="unemployed",
        event_id=f"rauma-layoff-wave-{RAUMA_ANNOUNCED}",
        kind="temporary_layoff_wave",
        reference_month=RAUMA_ANNOUNCED,
        polarity="negative",
        # A wave that recovers: structural only for a detector that flags temporary shocks.
        confidence="medium",
        what=(
            f"Temporary-layoff wave at a Rauma shipyard and its subcontractors: "
            f"{len(notices)} notices ({total} persons) announced {RAUMA_ANNOUNCED}; "
            f"full-time laid off and unemployed up about {scenario.rauma_laid_off} for six "
            "months, then back to normal."
        ),
        details=(
            ("municipality", RAUMA),
            ("employer", shipyard.name),
            ("business_id", shipyard.business_id),
            ("notice_ids", ";".join(n.notice_id or "" for n in notices)),
            ("persons", total),
            ("laid_off_effect", scenario.rauma_laid_off),
            ("months", sum(1 for share in RAUMA_PROFILE if share >= 0.9)),
        ),
        notices=tuple(notices),
    )


def _vaasa_surge(
    timeline: _Timeline, expected: _Expected, scenario: _Scenario, index: dict[str, int]
) -> _Injection:
    after = _hiring_effect(
        timeline,
        expected,
        index[VAASA],
        VAASA_ONSET,
        scenario.vaasa_vacancy_gain,
        scenario.vaasa_unemployment_drop,
    )
    return _Injection(
        expected=after,
        headline="vacancies",
        event_id=f"vaasa-hiring-surge-{VAASA_ONSET}",
        kind="hiring_surge",
        reference_month=VAASA_ONSET,
        polarity="positive",
        confidence="high",
        what=(
            f"Hiring surge in Vaasa (a battery plant) from {VAASA_ONSET}: open and new vacancies "
            f"up {scenario.vaasa_vacancy_gain:.0%} for good within six months, unemployed down "
            f"{scenario.vaasa_unemployment_drop:.0%} over nine months."
        ),
        details=(
            ("municipality", VAASA),
            ("vacancy_gain", scenario.vaasa_vacancy_gain),
            ("unemployment_drop", scenario.vaasa_unemployment_drop),
        ),
    )


def _effect_at_peak(
    layout: _Layout, timeline: _Timeline, before: Floats, after: Floats, reference: str
) -> tuple[Floats, Floats]:
    """Per area: the largest absolute effect in the change's first two years, and the level then.

    Only months in the window count: what happens after its end is not in the data.
    """
    first = timeline.column(reference)
    columns = slice(first, min(first + 25, timeline.last - timeline.sim_first + 1))
    effect = layout.membership @ (after - before)[:, columns]
    level = layout.membership @ before[:, columns]
    peak = np.argmax(np.abs(effect), axis=1)
    rows = np.arange(len(layout.areas))
    return np.abs(effect[rows, peak]), level[rows, peak]


def _noise_threshold(level: Floats) -> Floats:
    """The smallest change that stands out of ``level``: 5 % and three Poisson deviations."""
    threshold: Floats = np.maximum(0.05 * level, 3.0 * np.sqrt(level))
    return threshold


def _visible_regions(
    layout: _Layout, timeline: _Timeline, before: Floats, after: Floats, reference: str
) -> tuple[str, ...]:
    """Areas where the injected change stands out of the noise in its first two years.

    An area counts when, at the month of its largest effect, the change is at least 5 % of the
    expected level and at least three Poisson standard deviations (``3 * sqrt(level)``). Months
    after the window's end do not count: they are not in the data.
    """
    size, base = _effect_at_peak(layout, timeline, before, after, reference)
    visible = (base > 0) & (size >= _noise_threshold(base))
    return tuple(area for area, shown in zip(layout.areas, visible, strict=True) if shown)


def _strength(
    layout: _Layout,
    timeline: _Timeline,
    before: Floats,
    after: Floats,
    reference: str,
    areas: Iterable[str],
) -> float:
    """How far a change stands out where it happens: its peak effect over the noise threshold.

    1 is just visible (the rule of :func:`_visible_regions`); the best of ``areas`` counts.
    """
    size, base = _effect_at_peak(layout, timeline, before, after, reference)
    ratio = np.where(base > 0, size / np.maximum(_noise_threshold(base), 1e-9), 0.0)
    row = {area: i for i, area in enumerate(layout.areas)}
    return max(float(ratio[row[area]]) for area in areas)


# --- the random scenario -------------------------------------------------------------------------

#: How many events a seed draws when not told how many (a nationwide shock counts as one).
RANDOM_EVENTS: Final = (8, 12)
_NATIONAL_SHOCK_PROBABILITY: Final = 0.3
_RANDOM_KINDS: Final = (
    ("closure", 0.3),
    ("temporary_layoff_wave", 0.25),
    ("hiring_surge", 0.25),
    ("sector_downturn", 0.2),
)
#: Detectors need two years of history before an event, and an event some months to show.
_LEAD_IN_MONTHS: Final = 24
_TAIL_MONTHS: Final = 12
#: A closure's rise and the long-term unemployed's one-year lag take about three years to
#: settle: only then may the same municipality have another event.
_SAME_MUNICIPALITY_GAP: Final = 36
#: Alerts count for an event from three months before its reference month to twelve after
#: (``tutka.report``): events in one ELY area, and any event and a nationwide shock, are kept
#: 18 months apart so that no alert can be counted for two of them.
_SAME_ELY_GAP: Final = 18
_PLACEMENT_ATTEMPTS: Final = 200
#: Target strength (peak effect over the noise threshold where the change happens; 1 = just
#: visible) by tier: (probability, lowest, highest). A quarter are drawn subtle on purpose.
_STRENGTH_TIERS: Final = ((0.25, 0.5, 0.95), (0.35, 1.1, 2.3), (0.4, 2.7, 6.0))
_HIGH_STRENGTH: Final = 2.5
_UNIFORMS: Final = 48  # per event: magnitudes, days, employers' notices, occupations

_CLOSURE_SECTIONS: Final = (
    ("C", 0.65), ("B", 0.05), ("G", 0.1), ("H", 0.08), ("J", 0.06), ("Q", 0.06),
)  # fmt: skip
_CLOSURE_NOUN: Final = {
    "B": "Mine", "C": "Plant", "G": "Retail chain", "H": "Logistics centre",
    "J": "Contact centre", "Q": "Care provider",
}  # fmt: skip
_WAVE_SECTIONS: Final = (("C", 0.5), ("F", 0.15), ("H", 0.15), ("I", 0.1), ("G", 0.1))
_SECTOR_SECTIONS: Final = (("C", 0.45), ("F", 0.25), ("G", 0.15), ("H", 0.15))
_SECTION_NAME: Final = {
    "B": "mining", "C": "manufacturing", "F": "construction", "G": "trade", "H": "transport",
    "I": "hospitality", "J": "information services", "Q": "health care",
}  # fmt: skip


@dataclass(frozen=True)
class _World:
    """What random events are placed in: the areas, their sizes and names, the employers."""

    timeline: _Timeline
    layout: _Layout
    hierarchy: Hierarchy
    index: dict[str, int]  # municipality -> row of the municipal arrays
    rows: dict[str, int]  # area -> row of ``layout.areas``
    labour_force: Ints  # municipalities x simulated months
    employers: _Employers
    weights: Floats  # per municipality: its share of the labour force at the anchor (2019)
    regions: dict[str, tuple[str, ...]]  # region -> its municipalities

    @classmethod
    def of(
        cls,
        timeline: _Timeline,
        layout: _Layout,
        hierarchy: Hierarchy,
        labour_force: Ints,
        employers: _Employers,
    ) -> _World:
        regions: dict[str, list[str]] = {}
        for code in layout.municipalities:
            region = next(a for a in hierarchy.ancestors(code) if a.startswith("MK"))
            regions.setdefault(region, []).append(code)
        anchor = labour_force[:, _ANCHOR - timeline.sim_first].astype(np.float64)
        return cls(
            timeline=timeline,
            layout=layout,
            hierarchy=hierarchy,
            index={code: j for j, code in enumerate(layout.municipalities)},
            rows={code: i for i, code in enumerate(layout.areas)},
            labour_force=labour_force,
            employers=employers,
            weights=anchor / anchor.sum(),
            regions={region: tuple(codes) for region, codes in regions.items()},
        )

    def name(self, code: str) -> str:
        """The area's English name in ASCII (``truth.csv`` stays plain)."""
        area = self.hierarchy.get(code)
        text = area.name_en if area is not None else code
        folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
        return folded or code

    def labour_force_at(self, municipality: str, month: int) -> int:
        return int(self.labour_force[self.index[municipality], month - self.timeline.sim_first])

    def level(self, values: Floats, area: str, month: int) -> float:
        """Mean expected level of ``values`` in ``area`` over the event's first two years."""
        start = month - self.timeline.sim_first
        mean = values[:, start : start + 25].mean(axis=1)
        return float(self.layout.membership[self.rows[area]] @ mean)

    def threshold(self, values: Floats, area: str, month: int) -> float:
        """The noise threshold (see ``_noise_threshold``) at the area's mean level."""
        level = self.level(values, area, month)
        return max(0.05 * level, 3.0 * math.sqrt(level))


@dataclass(frozen=True)
class _Draw:
    """One random event as drawn: what, when, where and how strong; ``u`` sets the rest."""

    kind: str
    month: int
    places: tuple[str, ...]  # municipalities it touches, the main one first
    home: str  # where it happens: the municipality, the region or the country
    target: float  # wanted strength (see ``_STRENGTH_TIERS``)
    u: Floats

    @property
    def period(self) -> str:
        return period_str(self.month)


def _draw_events(seed: int, world: _World, count: int | None) -> list[_Draw]:
    """Draw the events of a random scenario, kept apart in place and time, by reference month.

    Events that find no free place and month within ``_PLACEMENT_ATTEMPTS`` draws are dropped:
    a small hierarchy or a short window holds fewer events than asked for.
    """
    rng = _rng(seed, _Stream.RANDOM_EVENTS)
    low, high = RANDOM_EVENTS
    wanted = int(rng.integers(low, high + 1)) if count is None else count
    national = bool(rng.random() < _NATIONAL_SHOCK_PROBABILITY)
    first = world.timeline.first + _LEAD_IN_MONTHS
    last = world.timeline.last - _TAIL_MONTHS
    drawn: list[_Draw] = []
    if last < first:
        return drawn
    for k in range(wanted):
        for _ in range(_PLACEMENT_ATTEMPTS):
            candidate = _draw_one(rng, world, first, last, national=national and k == 0)
            if candidate is not None and not any(_clash(candidate, d, world) for d in drawn):
                drawn.append(candidate)
                break
    return sorted(drawn, key=lambda d: (d.month, d.home))


def _draw_one(
    rng: np.random.Generator, world: _World, first: int, last: int, national: bool
) -> _Draw | None:
    kind = "downturn" if national else _pick_weighted(_RANDOM_KINDS, float(rng.random()))
    month = int(rng.integers(first, last + 1))
    tier = _pick_weighted([(t, t[0]) for t in _STRENGTH_TIERS], float(rng.random()))
    target = float(rng.uniform(tier[1], tier[2]))
    u = rng.random(_UNIFORMS)
    municipalities = world.layout.municipalities
    if kind == "downturn":
        return _Draw(kind, month, (), "SSS", target, u)
    if kind == "sector_downturn":
        regions = sorted(r for r, members in world.regions.items() if len(members) >= 2)
        if not regions:
            return None
        region = regions[int(rng.integers(len(regions)))]
        size = min(len(world.regions[region]), int(rng.integers(2, 6)))
        members = rng.choice(world.regions[region], size=size, replace=False)
        return _Draw(kind, month, tuple(sorted(str(m) for m in members)), region, target, u)
    # Half the events strike anywhere (most municipalities are small), half where people are.
    if rng.random() < 0.5:
        main = municipalities[int(rng.integers(len(municipalities)))]
    else:
        main = municipalities[int(rng.choice(len(municipalities), p=world.weights))]
    neighbours: tuple[str, ...] = ()
    if kind == "closure":  # commuters: the closure spills over into its sub-region
        parent = world.hierarchy.parent(main)
        siblings = world.hierarchy.children(parent) if parent is not None else ()
        nearby = [c for c in siblings if c in world.index and c != main]
        order = rng.permutation(len(nearby)).tolist() if nearby else []
        neighbours = tuple(nearby[i] for i in order[:2])
    return _Draw(kind, month, (main, *neighbours), main, target, u)


def _clash(a: _Draw, b: _Draw, world: _World) -> bool:
    gap = abs(a.month - b.month)
    if "SSS" in (a.home, b.home):
        return gap < _SAME_ELY_GAP
    if set(a.places) & set(b.places):
        return gap < _SAME_MUNICIPALITY_GAP
    elys = [{world.hierarchy.ely_of(m) for m in d.places} for d in (a, b)]
    return bool(elys[0] & elys[1]) and gap < _SAME_ELY_GAP


def _random_injections(
    seed: int, world: _World, expected: _Expected, count: int | None
) -> list[_Injection]:
    """Draw and apply a random scenario, each event to the expectations left by the previous."""
    build: dict[str, Callable[[_World, _Expected, _Draw], _Injection]] = {
        "downturn": _random_downturn,
        "closure": _random_closure,
        "temporary_layoff_wave": _random_layoff_wave,
        "hiring_surge": _random_hiring_surge,
        "sector_downturn": _random_sector_downturn,
    }
    done: list[_Injection] = []
    for draw in _draw_events(seed, world, count):
        done.append(build[draw.kind](world, done[-1].expected if done else expected, draw))
    return done


def _confidence(strength: float, transient: bool = False) -> Confidence:
    """High when the change stands well out of the noise, low when it does not stand out at all.

    A change that recovers is at most medium: structural only for a detector that flags
    temporary shocks (as the fixed Rauma wave).
    """
    if strength < 1.0:
        return "low"
    return "high" if strength >= _HIGH_STRENGTH and not transient else "medium"


def _size_class(labour_force: int) -> str:
    if labour_force < 5_000:
        return "small"
    return "mid-sized" if labour_force < 30_000 else "large"


def _notices_text(count: int) -> str:
    return "1 notice" if count == 1 else f"{count} notices"


def _subtle(confidence: Confidence) -> str:
    return "; subtle: below the noise where it happens" if confidence == "low" else ""


def _within(value: float, low: float, high: float) -> float:
    """``value`` clipped to ``[low, high]``; ``low`` wins when a tiny place makes high < low."""
    return max(low, min(value, high))


def _occupations_from(section: str, u: Floats) -> tuple[str, ...]:
    choices = SECTION_OCCUPATIONS[section]
    return tuple(dict.fromkeys(choices[int(x * len(choices))] for x in u))


def _place_facts(world: _World, draw: _Draw) -> tuple[str, int, str]:
    """The event's municipality for ``what`` (name, code, size), its labour force and size class.

    Size decides detectability: the same closure that shakes a village vanishes in a city.
    """
    municipality = draw.places[0]
    labour_force = world.labour_force_at(municipality, draw.month)
    size = _size_class(labour_force)
    where = f"{world.name(municipality)} ({municipality}; {size}, labour force {labour_force:,})"
    return where, labour_force, size


def _random_downturn(world: _World, expected: _Expected, draw: _Draw) -> _Injection:
    increase = round(0.15 + 0.3 * float(draw.u[0]), 3)
    # Milder shocks than 2020 bring fewer notices; the laid off may rise less than fourfold.
    scale = increase / 0.425
    surge = tuple(round(1.0 + (m - 1.0) * scale, 2) for m in NOTICE_SURGE)
    return _downturn(
        world.timeline, expected, increase, draw.period, surge, (1.5, 6.0), home=("SSS",)
    )


def _random_closure(world: _World, expected: _Expected, draw: _Draw) -> _Injection:
    u, municipality, period = draw.u, draw.places[0], draw.period
    where, labour_force, size = _place_facts(world, draw)
    threshold = world.threshold(expected.unemployed, municipality, draw.month)
    # Realistic closures leave from ten to about 1 200 unemployed, at most 8 % of the workforce.
    unemployed = round(_within(draw.target * threshold, 10, min(1_200, 0.08 * labour_force)))
    persons = round(unemployed / (0.65 + 0.2 * float(u[0])))  # some retire or find work
    delay = 2 + int(u[1] * 5)  # months from the announcement to the closure
    effective = period_str(draw.month + delay)
    section = _pick_weighted(_CLOSURE_SECTIONS, float(u[2]))
    spill = [
        (code, round(unemployed * (0.03 + 0.09 * float(u[3 + i]))))
        for i, code in enumerate(draw.places[1:])
    ]
    dip = round(0.1 + 0.2 * float(u[5]), 2)
    rises = [(world.index[municipality], unemployed)]
    rises += [(world.index[code], n) for code, n in spill if n > 0]
    after = _closure_effect(
        world.timeline, expected, effective, rises, world.index[municipality], dip
    )

    employer = world.employers.new(municipality, section, pooled=False)
    shares = ((1.0,), (0.6, 0.4), (0.5, 0.35, 0.15))[int(u[6] * 3)]
    kinds = (NoticeKind.CLOSURE, NoticeKind.DISMISSAL, NoticeKind.DISMISSAL)
    first = _weekday_near(draw.month // 12, draw.month % 12 + 1, 1 + int(u[7] * 12))
    offsets = (0, 1 + int(u[8] * 6), 7 + int(u[9] * 7))  # days: the rest within the month
    delays = (delay, max(1, delay - 1), delay + 1)  # staff first, the site, support
    notices = tuple(
        _PlannedNotice(
            municipality=municipality,
            section=section,
            kind=kinds[i],
            persons=n,
            announced=_weekday_after(first + timedelta(days=offsets[i])),
            effective_from=_add_months(first, delays[i], 1),
            effective_to=None,
            occupations=_occupations_from(section, u[10 + 3 * i : 13 + 3 * i]),
            employer=employer,
            notice_id=_injected_id(municipality, period, i),
        )
        for i, n in enumerate(_split(persons, shares))
        if n > 0
    )
    strength = _strength(
        world.layout, world.timeline, expected.unemployed, after.unemployed, period, (municipality,)
    )
    confidence = _confidence(strength)
    return _Injection(
        expected=after,
        headline="unemployed",
        event_id=f"closure-{municipality}-{period}",
        kind="closure",
        reference_month=period,
        polarity="negative",
        confidence=confidence,
        what=(
            f"{_CLOSURE_NOUN[section]} closure in {where}: {_notices_text(len(notices))} "
            f"({persons} persons) announced {period}; "
            f"unemployed up about {unemployed} ({unemployed / labour_force:.1%} of the labour "
            f"force) for good from {effective}{_subtle(confidence)}."
        ),
        details=(
            ("municipality", municipality),
            ("labour_force", labour_force),
            ("size", size),
            ("section", section),
            ("employer", employer.name),
            ("business_id", employer.business_id),
            ("notice_ids", ";".join(n.notice_id or "" for n in notices)),
            ("persons", persons),
            ("effective_month", effective),
            ("unemployed_effect", unemployed),
            *((f"spill_over_{code}", n) for code, n in spill),
            ("vacancy_dip", dip),
            ("strength", round(strength, 2)),
        ),
        notices=notices,
        home=(municipality,),
    )


def _random_layoff_wave(world: _World, expected: _Expected, draw: _Draw) -> _Injection:
    u, municipality, period = draw.u, draw.places[0], draw.period
    where, labour_force, size = _place_facts(world, draw)
    threshold = world.threshold(expected.unemployed, municipality, draw.month)
    laid_off = round(_within(draw.target * threshold, 10, min(2_000, 0.1 * labour_force)))
    persons = round(laid_off / (0.72 + 0.06 * float(u[0])))  # not everyone registers
    months = 3 + int(u[1] * 6)  # at full strength, then a two-month return
    profile = (0.3, *([1.0] * months), 0.45, 0.1)
    after = _layoff_wave_effect(
        world.timeline, expected, world.index[municipality], period, laid_off, profile
    )
    section = _pick_weighted(_WAVE_SECTIONS, float(u[2]))
    count = 2 + int(u[3] * 3)
    # The main employer files first; subcontractors follow within the week.
    main = world.employers.new(municipality, section, pooled=False)
    who = [
        main,
        *(world.employers.new(municipality, section, pooled=False) for _ in range(count - 1)),
    ]
    first_day = 1 + int(u[4] * 10)
    notices = []
    for i, n in enumerate(_split(persons, [1.0 / count] * count)):
        day = _weekday_near(
            draw.month // 12, draw.month % 12 + 1, first_day + (0 if i == 0 else int(u[5 + i] * 8))
        )
        start = day + timedelta(days=14 + int(u[10 + i] * 14))
        notices.append(
            _PlannedNotice(
                municipality=municipality,
                section=section,
                kind=NoticeKind.TEMPORARY_LAYOFF,
                persons=max(1, n),
                announced=day,
                effective_from=start,
                effective_to=start + timedelta(days=30 * months + 15),
                occupations=_occupations_from(section, u[15 + 2 * i : 17 + 2 * i]),
                employer=who[i],
                notice_id=_injected_id(municipality, period, i),
            )
        )
    strength = _strength(
        world.layout, world.timeline, expected.unemployed, after.unemployed, period, (municipality,)
    )
    confidence = _confidence(strength, transient=True)
    return _Injection(
        expected=after,
        headline="unemployed",
        event_id=f"layoff-wave-{municipality}-{period}",
        kind="temporary_layoff_wave",
        reference_month=period,
        polarity="negative",
        confidence=confidence,
        what=(
            f"Temporary-layoff wave in {_SECTION_NAME[section]} in {where}: "
            f"{_notices_text(len(notices))} ({persons} persons) announced {period}; "
            f"full-time laid off up about {laid_off} for {months} months, then back to "
            f"normal{_subtle(confidence)}."
        ),
        details=(
            ("municipality", municipality),
            ("labour_force", labour_force),
            ("size", size),
            ("section", section),
            ("employer", main.name),
            ("business_id", main.business_id),
            ("notice_ids", ";".join(n.notice_id or "" for n in notices)),
            ("persons", sum(n.persons for n in notices)),
            ("laid_off_effect", laid_off),
            ("months", months),
            ("strength", round(strength, 2)),
        ),
        notices=tuple(notices),
        home=(municipality,),
    )


def _random_hiring_surge(world: _World, expected: _Expected, draw: _Draw) -> _Injection:
    u, municipality, period = draw.u, draw.places[0], draw.period
    where, labour_force, size = _place_facts(world, draw)
    level = world.level(expected.vacancies, municipality, draw.month)
    threshold = world.threshold(expected.vacancies, municipality, draw.month)
    # A new plant, data centre or hospital: up to 1 500 more open vacancies, at most +150 %.
    gain = round(_within(draw.target * threshold / level, 0.15, min(1.5, 1_500 / level)), 3)
    drop = round(min(0.15, gain * (0.08 + 0.12 * float(u[0]))), 3)
    after = _hiring_effect(world.timeline, expected, world.index[municipality], period, gain, drop)
    strength = _strength(
        world.layout, world.timeline, expected.vacancies, after.vacancies, period, (municipality,)
    )
    confidence = _confidence(strength)
    return _Injection(
        expected=after,
        headline="vacancies",
        event_id=f"hiring-surge-{municipality}-{period}",
        kind="hiring_surge",
        reference_month=period,
        polarity="positive",
        confidence=confidence,
        what=(
            f"Hiring surge in {where} from {period}: open and new vacancies up {gain:.0%} "
            "for good within six months, "
            f"unemployed down {drop:.1%} over nine months{_subtle(confidence)}."
        ),
        details=(
            ("municipality", municipality),
            ("labour_force", labour_force),
            ("size", size),
            ("vacancy_gain", gain),
            ("unemployment_drop", drop),
            ("strength", round(strength, 2)),
        ),
        home=(municipality,),
    )


def _random_sector_downturn(world: _World, expected: _Expected, draw: _Draw) -> _Injection:
    u, region, period = draw.u, draw.home, draw.period
    members = draw.places
    levels = np.array([world.level(expected.unemployed, m, draw.month) for m in members])
    # A region's sector sheds up to about 3 000 jobs (Finland's largest waves, 2008-2015).
    wanted = min(3_000.0, draw.target * world.threshold(expected.unemployed, region, draw.month))
    # Shared by the municipalities in proportion to their unemployed, at most 6 % of a workforce.
    rises = [
        (
            m,
            round(
                _within(
                    wanted * level / levels.sum(), 5, 0.06 * world.labour_force_at(m, draw.month)
                )
            ),
        )
        for m, level in zip(members, levels, strict=True)
    ]
    after = _sector_effect(
        world.timeline, expected, period, [(world.index[m], float(n)) for m, n in rises]
    )
    section = _pick_weighted(_SECTOR_SECTIONS, float(u[0]))
    notices: list[_PlannedNotice] = []
    for i, (municipality, rise) in enumerate(rises):
        # The first municipality announces in the reference month, the others within three.
        month = draw.month + (0 if i == 0 else int(u[1 + i] * 3))
        count = 1 + int(u[6 + i] > 0.5)
        persons = round(rise / (0.6 + 0.2 * float(u[11 + i])))
        for k, n in enumerate(_split(persons, [1.0 / count] * count)):
            latest = 10 if i == k == 0 else 25  # the first one opens the reference month
            day = _weekday_near(month // 12, month % 12 + 1, 1 + int(u[16 + 2 * i + k] * latest))
            kind = NoticeKind.DISMISSAL if k == 0 else NoticeKind.TEMPORARY_LAYOFF
            start = day + timedelta(days=30 + int(u[30 + i] * 30))
            notices.append(
                _PlannedNotice(
                    municipality=municipality,
                    section=section,
                    kind=kind,
                    persons=max(1, n),
                    announced=day,
                    effective_from=start,
                    effective_to=start + timedelta(days=180)
                    if kind is NoticeKind.TEMPORARY_LAYOFF
                    else None,
                    occupations=_occupations_from(section, u[36 + i : 38 + i]),
                    employer=world.employers.new(municipality, section, pooled=False),
                    notice_id=_injected_id(municipality, period_str(month), k),
                )
            )
    strength = _strength(
        world.layout,
        world.timeline,
        expected.unemployed,
        after.unemployed,
        period,
        (region, *members),
    )
    confidence = _confidence(strength)
    total = sum(n for _, n in rises)
    return _Injection(
        expected=after,
        headline="unemployed",
        event_id=f"sector-downturn-{region}-{section}-{period}",
        kind="sector_downturn",
        reference_month=period,
        polarity="negative",
        confidence=confidence,
        what=(
            f"Downturn in {_SECTION_NAME[section]} across {len(members)} municipalities of "
            f"{world.name(region)} ({region}): {_notices_text(len(notices))} "
            f"({sum(n.persons for n in notices)} persons) from {period}; unemployed up about "
            f"{total} within six months, half of it lasting{_subtle(confidence)}."
        ),
        details=(
            ("region", region),
            ("municipalities", ";".join(members)),
            ("section", section),
            ("notice_ids", ";".join(n.notice_id or "" for n in notices)),
            ("persons", sum(n.persons for n in notices)),
            ("unemployed_effect", total),
            *((f"unemployed_effect_{m}", n) for m, n in rises),
            ("strength", round(strength, 2)),
        ),
        notices=tuple(notices),
        home=(region,),
    )


# --- employers and notices ---------------------------------------------------------------------

#: Section mix of layoff notices (shares before local tilts).
_SECTION_MIX: Final[dict[str, float]] = {
    "A": 0.01, "B": 0.01, "C": 0.26, "D": 0.005, "E": 0.01, "F": 0.12, "G": 0.14, "H": 0.09,
    "I": 0.08, "J": 0.05, "K": 0.015, "L": 0.01, "M": 0.05, "N": 0.07, "O": 0.005, "P": 0.015,
    "Q": 0.04, "R": 0.02, "S": 0.02,
}  # fmt: skip
_SECTIONS: Final = tuple(_SECTION_MIX)
#: Which sections the downturn's notice surge hits hardest (restaurants, culture, services).
_SURGE_WEIGHT: Final[dict[str, float]] = {
    "I": 3.0, "R": 2.5, "N": 1.8, "G": 1.5, "H": 1.4, "C": 1.2,
    "Q": 0.4, "O": 0.1, "P": 0.5, "K": 0.3,
}  # fmt: skip
_NOTICES_PER_10K: Final = 0.45  # notices a month per 10 000 in the labour force
_KIND_MIX: Final = (
    (NoticeKind.TEMPORARY_LAYOFF, 0.52),
    (NoticeKind.DISMISSAL, 0.27),
    (NoticeKind.PART_TIME_LAYOFF, 0.18),
    (NoticeKind.CLOSURE, 0.03),
)
_SURGE_KIND_MIX: Final = (
    (NoticeKind.TEMPORARY_LAYOFF, 0.85),
    (NoticeKind.DISMISSAL, 0.04),
    (NoticeKind.PART_TIME_LAYOFF, 0.10),
    (NoticeKind.CLOSURE, 0.01),
)
_MEDIAN_PERSONS: Final[dict[NoticeKind, float]] = {
    NoticeKind.TEMPORARY_LAYOFF: 14.0,
    NoticeKind.DISMISSAL: 10.0,
    NoticeKind.PART_TIME_LAYOFF: 15.0,
    NoticeKind.CLOSURE: 8.0,
}
#: ISCO-08 occupations typically named in notices, by section.
SECTION_OCCUPATIONS: Final[dict[str, tuple[str, ...]]] = {
    "A": ("6111", "6121", "9211", "8341"),
    "B": ("8111", "8113", "7233", "8342"),
    "C": ("7212", "7223", "8172", "7233", "8160", "9329", "8189", "3115"),
    "D": ("3113", "7412", "3131"),
    "E": ("9611", "8332", "3132"),
    "F": ("7115", "7112", "7411", "9313", "8342", "7126", "7119"),
    "G": ("5223", "5230", "4321", "3322", "7231"),
    "H": ("8332", "8331", "4323", "9333", "8322"),
    "I": ("5120", "5131", "9412", "4224", "5151"),
    "J": ("2512", "2511", "3512", "2514", "2166"),
    "K": ("3312", "4211", "3311", "2413"),
    "L": ("3334", "5153"),
    "M": ("2142", "2144", "2411", "3118", "2431"),
    "N": ("9112", "5414", "4222", "9629"),
    "O": ("4110", "3343", "2422"),
    "P": ("2341", "2330", "5312", "2310"),
    "Q": ("2221", "3221", "5321", "5322", "5311"),
    "R": ("2652", "3435", "3423", "2655"),
    "S": ("5141", "5142", "5164", "7531"),
}

# Employer names come from these words only: places, trades and legal forms, never people.
_REGIONAL_PREFIXES: Final[dict[str, tuple[str, ...]]] = {
    "ELY01": ("Uudenmaan", "Etelä-Suomen", "Pääkaupunkiseudun"),
    "ELY02": ("Varsinais-Suomen", "Turunmaan", "Saariston"),
    "ELY03": ("Satakunnan", "Selkämeren"),
    "ELY04": ("Hämeen", "Päijänteen"),
    "ELY05": ("Pirkanmaan", "Näsijärven"),
    "ELY06": ("Kymen", "Saimaan"),
    "ELY07": ("Savon", "Saimaan"),
    "ELY08": ("Savon", "Järvi-Suomen"),
    "ELY09": ("Karjalan", "Pielisen"),
    "ELY10": ("Keski-Suomen", "Päijänteen"),
    "ELY11": ("Lakeuden", "Etelä-Pohjanmaan"),
    "ELY12": ("Pohjanmaan", "Merenkurkun", "Botnia"),
    "ELY13": ("Pohjolan", "Oulujoen", "Perämeren"),
    "ELY14": ("Kainuun", "Oulujärven"),
    "ELY15": ("Lapin", "Perämeren", "Arctic"),
    "ELY16": ("Ålands", "Skärgårds"),
}
_GENERIC_PREFIXES: Final = ("Suomen", "Pohjolan", "Nordic", "Uusi")
_SECTION_WORDS: Final[dict[str, tuple[str, ...]]] = {
    "A": ("Maatila", "Puutarha", "Metsäpalvelu", "Taimitarha"),
    "B": ("Kaivos", "Louhinta", "Kiviaines", "Sora"),
    "C": ("Sahat", "Sellu", "Paperi", "Konepaja", "Metalli", "Teräs", "Valimo", "Elementti",
          "Muovi", "Elintarvike", "Leipomo", "Telakka", "Puunjalostus", "Kartonki", "Hitsaus"),
    "D": ("Energia", "Voima", "Lämpö", "Sähkö"),
    "E": ("Vesi", "Kierrätys", "Jätehuolto", "Ympäristöhuolto"),
    "F": ("Rakennus", "Talotekniikka", "Maanrakennus", "Asennus", "Kattotyö", "Rakennuspalvelu",
          "Putkityö"),
    "G": ("Kauppa", "Tukku", "Rauta", "Autotalo", "Kodintekniikka", "Maatalouskauppa", "Huonekalu"),
    "H": ("Kuljetus", "Logistiikka", "Liikenne", "Huolinta", "Satama", "Linja-auto", "Varasto"),
    "I": ("Hotellit", "Ravintolat", "Matkailu", "Kahvila", "Catering", "Lomakeskus", "Safarit"),
    "J": ("Ohjelmisto", "Data", "Media", "Kustannus", "Digitekniikka"),
    "K": ("Rahoitus", "Vakuutus", "Laina", "Sijoitus"),
    "L": ("Kiinteistöt", "Asunnot", "Isännöinti"),
    "M": ("Insinööritoimisto", "Suunnittelu", "Konsultointi", "Arkkitehdit", "Laboratorio"),
    "N": ("Siivous", "Vartiointi", "Henkilöstöpalvelu", "Kiinteistöhuolto", "Vuokraus"),
    "O": ("Palvelukeskus", "Tietopalvelu"),
    "P": ("Koulutus", "Opisto", "Kielikoulu", "Autokoulu"),
    "Q": ("Hoiva", "Terveyspalvelut", "Lääkärikeskus", "Kuntoutus", "Hammashoito", "Palvelutalo"),
    "R": ("Liikuntakeskus", "Kylpylä", "Elämys", "Tapahtuma"),
    "S": ("Pesula", "Korjaamo", "Pesupalvelu", "Kampaamo"),
}  # fmt: skip
_DESCRIPTORS: Final = ("Palvelu", "Tekniikka", "Group", "Yhtiöt", "Tuotanto", "Partners")
_LEGAL_FORMS: Final = (("Oy", 0.8), ("Oy Ab", 0.08), ("Ky", 0.06), ("Ab", 0.04), ("Oyj", 0.02))
_SWEDISH_LEGAL_FORMS: Final = (
    ("Oy", 0.45),
    ("Oy Ab", 0.2),
    ("Ab", 0.3),
    ("Ky", 0.03),
    ("Oyj", 0.02),
)

#: Every word an employer name can contain (legal forms included): tests hold names to it.
EMPLOYER_VOCABULARY: Final = frozenset(
    word
    for phrase in (
        *(g for _, _, g, _ in _KNOWN_MUNICIPALITIES.values()),
        *(p for group in _REGIONAL_PREFIXES.values() for p in group),
        *_GENERIC_PREFIXES,
        *(w for group in _SECTION_WORDS.values() for w in group),
        *_DESCRIPTORS,
        *(form for form, _ in _LEGAL_FORMS),
    )
    for word in phrase.split()
)


@dataclass(frozen=True)
class _Employer:
    name: str
    business_id: str


def _choose(r: random.Random, weighted: Sequence[tuple[str, float]]) -> str:
    return r.choices([item for item, _ in weighted], weights=[w for _, w in weighted])[0]


class _Employers:
    """Fictional employers, unique by name and by business id, pooled per municipality and section.

    Local to one :func:`generate` call; its state never leaves it.
    """

    def __init__(self, seed: int, profiles: dict[str, MunicipalityProfile]) -> None:
        self._seed = seed
        self._profiles = profiles
        self._names: set[str] = set()
        self._ids: set[str] = set()
        self._count: dict[str, int] = {}
        self._pools: dict[tuple[str, str], list[_Employer]] = {}

    def named(self, municipality: str, section: str, name: str) -> _Employer:
        """An injected event's employer: kept out of the pools, so that the background never
        files notices in its name (a closed mill announcing layoffs a year later)."""
        if name in self._names:
            raise ValueError(f"employer name {name!r} is already taken")
        return self._register(municipality, section, name, pooled=False)

    def new(self, municipality: str, section: str, pooled: bool = True) -> _Employer:
        """A new employer with a generated name; ``pooled=False`` keeps it out of the background
        (an injected event's employer)."""
        profile = self._profiles[municipality]
        seq = self._count.get(municipality, 0)
        r = random.Random(f"{self._seed}/{municipality}/{seq}/name")
        prefixes = (*_REGIONAL_PREFIXES.get(profile.ely or "", ()), *_GENERIC_PREFIXES)
        forms = _SWEDISH_LEGAL_FORMS if "swedish" in profile.tags else _LEGAL_FORMS
        for attempt in range(40):
            local = profile.genitive is not None and r.random() < 0.55
            words = [profile.genitive if local and profile.genitive else r.choice(prefixes)]
            words.append(r.choice(_SECTION_WORDS[section]))
            if r.random() < 0.2 or attempt >= 20:  # a descriptor widens the name space on clashes
                words.append(r.choice(_DESCRIPTORS))
            name = " ".join([*words, _choose(r, forms)])
            if name not in self._names:
                return self._register(municipality, section, name, pooled)
        raise RuntimeError(
            f"could not find a free employer name in {municipality} section {section}"
        )

    def pick(self, municipality: str, section: str, reuse: float, which: float) -> _Employer:
        """An employer with earlier notices (40 % of the time when there is one), or a new one."""
        pool = self._pools.get((municipality, section), [])
        if pool and reuse < 0.4:
            return pool[int(which * len(pool))]
        return self.new(municipality, section)

    def _register(
        self, municipality: str, section: str, name: str, pooled: bool = True
    ) -> _Employer:
        seq = self._count.get(municipality, 0)
        self._count[municipality] = seq + 1
        employer = _Employer(name, self._business_id(municipality, seq))
        self._names.add(name)
        self._ids.add(employer.business_id)
        if pooled:
            self._pools.setdefault((municipality, section), []).append(employer)
        return employer

    def _business_id(self, municipality: str, seq: int) -> str:
        """A Y-tunnus with a correct check digit, unique in the dataset, from 0100000 to 3499999."""
        for attempt in range(1000):
            key = f"{self._seed}/{municipality}/{seq}/{attempt}".encode()
            number = int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "big")
            digits = f"{100_000 + number % 3_400_000:07d}"
            check = business_id_check_digit(digits)
            if check is not None and f"{digits}-{check}" not in self._ids:
                return f"{digits}-{check}"
        raise RuntimeError("could not find a free business id")


def _surge_multiplier(timeline: _Timeline, surge: NoticeSurge | None) -> Floats:
    """Notice-rate multiplier by month (before the sector weights): a downturn's surge."""
    if surge is None:
        return np.ones(timeline.months.shape)
    onset, profile = surge
    return 1.0 + np.maximum(_profile_by_month(_months_since(timeline, onset), profile) - 1.0, 0.0)


def _section_mix(rng: np.random.Generator, profile: MunicipalityProfile) -> Floats:
    tilt = {section: 1.0 for section in _SECTIONS}
    if "industrial" in profile.tags:
        tilt["C"] = 1.6
    if "metro" in profile.tags:
        tilt.update({"C": 0.6, "J": 1.6, "K": 1.6, "M": 1.5, "N": 1.4})
    if "tourism" in profile.tags:
        tilt.update({"I": 2.0, "R": 1.5})
    mix = np.array([_SECTION_MIX[s] * tilt[s] for s in _SECTIONS])
    return rng.dirichlet(80.0 * mix / mix.sum())


def _background_notices(
    seed: int,
    profile: MunicipalityProfile,
    labour_force: Ints,
    sensitivity: float,
    market: _Market,
    timeline: _Timeline,
    surge: NoticeSurge | None,
    employers: _Employers,
) -> list[_PlannedNotice]:
    """A Poisson process per section: rate scaled by the labour force, the season and the cycle."""
    window = timeline.window
    months = timeline.months[window]
    counts_rng = _rng(seed, _Stream.NOTICE_COUNTS, profile.number)
    mix = _section_mix(counts_rng, profile)
    surge_total = _surge_multiplier(timeline, surge)[window]
    surge_weight = np.array([_SURGE_WEIGHT.get(s, 1.0) for s in _SECTIONS])
    construction = np.array([s == "F" for s in _SECTIONS])
    season = _NOTICE_SEASON[months % 12][:, None] * np.where(
        construction[None, :], _CONSTRUCTION_WINTER[months % 12][:, None], 1.0
    )
    rate = (
        _NOTICES_PER_10K
        * labour_force[window, None]
        / 10_000
        * mix[None, :]
        * season
        * np.exp(2.5 * sensitivity * market.cycle[window])[:, None]
        * (1.0 + (surge_total[:, None] - 1.0) * surge_weight[None, :])
    )
    counts = counts_rng.poisson(rate)  # months x sections: early months drawn first
    month_of, section_of = np.nonzero(counts)
    repeat = counts[month_of, section_of]
    month_of, section_of = np.repeat(month_of, repeat), np.repeat(section_of, repeat)
    uniforms = _rng(seed, _Stream.NOTICE_DETAILS, profile.number).random((len(month_of), 13))
    cap = max(3, int(0.04 * labour_force[window].max()))
    return [
        _notice_from_uniforms(
            profile.code, int(months[t]), _SECTIONS[s], u, surge_total[t] > 1.5, cap, employers
        )
        for t, s, u in zip(month_of.tolist(), section_of.tolist(), uniforms, strict=True)
    ]


def _notice_from_uniforms(
    municipality: str,
    month: int,
    section: str,
    u: Floats,
    surge: bool,
    cap: int,
    employers: _Employers,
) -> _PlannedNotice:
    """Turn 13 uniforms into one notice: day, kind, size, lags, employer and occupations."""
    day = 1 + int(u[0] * _days_in_month(month))
    announced = _weekday_near(month // 12, month % 12 + 1, day)
    kind = NoticeKind(_pick_weighted(_SURGE_KIND_MIX if surge else _KIND_MIX, float(u[1])))
    gaussian = math.sqrt(-2.0 * math.log(1.0 - float(u[2]))) * math.cos(2.0 * math.pi * float(u[3]))
    median = _MEDIAN_PERSONS[kind] * (1.3 if surge else 1.0)
    persons = int(min(cap, max(1, round(median * math.exp(0.85 * gaussian)))))
    effective_from = announced + timedelta(days=14 + int(u[4] * 43))  # 2-8 weeks
    effective_to: date | None = None
    if kind is NoticeKind.TEMPORARY_LAYOFF and u[5] < 0.7:  # the rest: "until further notice"
        effective_to = effective_from + timedelta(days=30 + int(u[6] * 150))
    elif kind is NoticeKind.PART_TIME_LAYOFF and u[5] < 0.85:
        effective_to = effective_from + timedelta(days=60 + int(u[6] * 210))
    occupations: tuple[str, ...] = ()
    if u[9] < 0.6:
        choices = SECTION_OCCUPATIONS[section]
        wanted = 1 + int(u[9] / 0.6 * 3)
        picked = [choices[int(x * len(choices))] for x in u[10 : 10 + wanted]]
        occupations = tuple(dict.fromkeys(picked))
    return _PlannedNotice(
        municipality=municipality,
        section=section,
        kind=kind,
        persons=persons,
        announced=announced,
        effective_from=effective_from,
        effective_to=effective_to,
        occupations=occupations,
        employer=employers.pick(municipality, section, float(u[7]), float(u[8])),
    )


def _pick_weighted(weighted: Sequence[tuple[_T, float]], u: float) -> _T:
    total = 0.0
    for item, weight in weighted:
        total += weight
        if u < total:
            return item
    return weighted[-1][0]


def _notice_events(
    planned: Iterable[_PlannedNotice], timeline: _Timeline
) -> list[LayoffNoticeFiled]:
    """Validated notices inside the window, with ids unique per municipality and month.

    Every notice goes through the model's validators: names and ids vary too much to copy.
    """
    inside = [
        p
        for p in planned
        if timeline.first <= p.announced.year * 12 + p.announced.month - 1 <= timeline.last
    ]
    inside.sort(key=lambda p: (p.announced, p.municipality))
    sequence: dict[tuple[str, int, int], int] = {}
    notices = []
    for p in inside:
        key = (p.municipality, p.announced.year, p.announced.month)
        sequence[key] = sequence.get(key, 0) + 1
        notices.append(
            LayoffNoticeFiled(
                notice_id=p.notice_id
                or f"syn-{p.municipality}-{p.announced:%Y-%m}-{sequence[key]:04d}",
                employer=p.employer.name,
                business_id=p.employer.business_id,
                municipality=p.municipality,
                sector=p.section,
                kind=p.kind,
                persons=p.persons,
                announced=p.announced,
                effective_from=p.effective_from,
                effective_to=p.effective_to,
                occupations=p.occupations,
                source=SOURCE,
            )
        )
    notices.sort(key=lambda n: (n.announced, n.notice_id))
    return notices


# --- occupations -------------------------------------------------------------------------------


#: ISCO-08 unit groups (4-digit) as used in Finnish job-seeker statistics (Ammattiluokitus 2010).
def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


ISCO_08_UNIT_GROUPS: Final = _words(
    """
    0110 0210 0310 1111 1112 1114 1120 1211 1212 1213 1219 1221 1222 1223 1311 1312 1321 1322 1323
    1324 1330 1341 1342 1343 1344 1345 1346 1349 1411 1412 1420 1431 1439 2111 2112 2113 2114 2120
    2131 2132 2133 2141 2142 2143 2144 2145 2146 2149 2151 2152 2153 2161 2162 2163 2164 2165 2166
    2211 2212 2221 2250 2261 2262 2263 2265 2266 2269 2310 2320 2330 2341 2342 2351 2352 2353 2354
    2355 2356 2359 2411 2412 2413 2421 2422 2423 2424 2431 2432 2433 2434 2511 2512 2513 2514 2519
    2521 2522 2523 2529 2611 2612 2619 2621 2622 2631 2632 2633 2634 2635 2636 2641 2642 2643 2651
    2652 2653 2654 2655 2656 2659 3111 3112 3113 3114 3115 3116 3117 3118 3119 3121 3122 3123 3131
    3132 3133 3134 3135 3139 3141 3142 3143 3151 3152 3153 3154 3155 3211 3212 3213 3214 3221 3222
    3230 3240 3251 3254 3255 3257 3258 3259 3311 3312 3313 3314 3315 3321 3322 3323 3324 3331 3332
    3333 3334 3339 3341 3342 3343 3344 3351 3352 3353 3354 3355 3359 3411 3412 3413 3421 3422 3423
    3431 3432 3433 3434 3435 3511 3512 3513 3514 3521 3522 4110 4120 4131 4132 4211 4212 4213 4214
    4221 4222 4223 4224 4225 4226 4227 4229 4311 4312 4313 4321 4322 4323 4411 4412 4413 4415 4416
    4419 5111 5112 5113 5120 5131 5132 5141 5142 5151 5152 5153 5161 5163 5164 5165 5169 5211 5212
    5221 5222 5223 5230 5241 5242 5243 5244 5245 5246 5249 5311 5312 5321 5322 5329 5411 5412 5413
    5414 5419 6111 6112 6113 6114 6121 6122 6123 6129 6130 6210 6221 6222 6224 7111 7112 7113 7114
    7115 7119 7121 7122 7123 7124 7125 7126 7127 7131 7132 7133 7211 7212 7213 7214 7215 7221 7222
    7223 7224 7231 7232 7233 7234 7311 7312 7313 7314 7315 7316 7317 7318 7319 7321 7322 7323 7411
    7412 7413 7421 7422 7511 7512 7513 7514 7515 7516 7521 7522 7523 7531 7532 7533 7534 7535 7536
    7541 7542 7543 7544 7549 8111 8112 8113 8114 8121 8122 8131 8132 8141 8142 8143 8151 8152 8153
    8154 8155 8156 8157 8159 8160 8171 8172 8181 8182 8183 8189 8211 8212 8219 8311 8312 8321 8322
    8331 8332 8341 8342 8343 8344 8350 9111 9112 9122 9123 9129 9211 9212 9213 9214 9215 9216 9311
    9312 9313 9321 9329 9332 9333 9334 9411 9412 9510 9520 9611 9612 9613 9621 9622 9623 9629
    """
)
# Most common occupations first (by eye: sales, cleaning, transport, care, construction, IT);
# the rest follow in code order. ``occupations=n`` takes the first n.
_JOBSEEKER_RANKING: Final = (
    "5223", "9112", "8332", "4110", "5120", "7115", "9313", "5322", "7212", "9329", "2512", "5131",
    "9412", "4321", "7231", "8322", "3322", "5321", "7411", "2221", "7126", "4226", "5311", "3343",
    "9211", "7223", "8189", "2341", "9621", "5414", "8160", "3221", "2511", "5230", "8342", "7233",
)  # fmt: skip
_VACANCY_RANKING: Final = (
    "5322", "2221", "3221", "5321", "5223", "9112", "2512", "5120", "8332", "3322", "7411", "7212",
    "2341", "5311", "4110", "5131", "7115", "9412", "2511", "3512", "7233", "5414", "3343", "2342",
)  # fmt: skip


def _ranked(preferred: Sequence[str]) -> tuple[str, ...]:
    first = set(preferred)
    return (*preferred, *(code for code in ISCO_08_UNIT_GROUPS if code not in first))


def occupation_codes(count: int) -> tuple[str, ...]:
    """The ``count`` ISCO-08 codes the occupation breakdown uses (most common first)."""
    if not 0 <= count <= len(ISCO_08_UNIT_GROUPS):
        raise ValueError(
            f"occupations must be between 0 and {len(ISCO_08_UNIT_GROUPS)}, got {count}"
        )
    return _ranked(_JOBSEEKER_RANKING)[:count]


def _zipf_weights(codes: Sequence[str], ranking: Sequence[str]) -> Floats:
    """Share of each code in a Zipf-like distribution over ``ranking`` (all ISCO codes)."""
    rank = {code: i for i, code in enumerate(_ranked(ranking))}
    total = sum(1.0 / (i + 8) ** 1.1 for i in range(len(rank)))
    return np.array([1.0 / (rank[code] + 8) ** 1.1 / total for code in codes])


def _occupation_split(
    seed: int,
    profiles: Sequence[MunicipalityProfile],
    totals: Ints,
    codes: Sequence[str],
    ranking: Sequence[str],
    stream: int,
) -> NDArray[np.int64]:
    """Split municipal totals (municipalities x months) into occupations (-> x codes as well).

    Each municipality gets its own occupation shares around the national ones; every month the
    total is shared out multinomially, the remainder going to occupations not broken down.
    """
    weights = _zipf_weights(codes, ranking)
    out = np.zeros((*totals.shape, len(codes)), dtype=np.int64)
    for j, p in enumerate(profiles):
        rng = _rng(seed, _Stream.OCCUPATIONS, p.number, stream)
        shares = rng.gamma(300.0 * weights) / 300.0  # Dirichlet-like local variation
        shares *= min(1.0, 0.98 / shares.sum()) if shares.sum() > 0 else 1.0
        pvals = np.append(shares, 1.0 - shares.sum())
        out[j] = rng.multinomial(totals[j], pvals)[:, : len(codes)]
    return out


# --- figures -----------------------------------------------------------------------------------


def _revise(seed: int, layout: _Layout, municipal: dict[Measure, Ints]) -> dict[Measure, Ints]:
    """Revision-1 corrections per area (areas x window months): non-zero where a figure is revised.

    About one municipal figure in 170 is corrected by about 1 % (at least one person) a month
    later; its sub-region, region, ELY area and the country are revised with it, so aggregates
    stay exact sums in every revision. The annual labour force is never revised.
    """
    rng = _rng(seed, _Stream.REVISIONS)
    corrections: dict[Measure, Ints] = {}
    for measure, values in municipal.items():
        if measure is UnemploymentMeasure.LABOUR_FORCE:
            continue
        chosen = rng.random(values.shape) < _REVISION_PROBABILITY
        size = np.round(values * rng.normal(0.0, 0.01, size=values.shape)).astype(np.int64)
        size = np.where(size == 0, np.where(rng.random(values.shape) < 0.5, -1, 1), size)
        size = np.maximum(size, -values)  # never below zero
        size = np.where(size == 0, 1, size)
        corrections[measure] = layout.aggregate(np.where(chosen, size, 0))
    return corrections


@dataclass(frozen=True)
class _Series:
    """One figure series in the window: its validated first figure, values and revisions."""

    key: tuple[str, str, str]  # (area, measure, occupation or ""): the order within a release
    template: Figure
    values: list[int]
    revised: dict[int, int]  # window month -> value in revision 1


def _check_values(table: Ints) -> None:
    # The bounds of ``_Figure.value``, checked for a whole table at once (see ``_series``).
    if table.size and not (np.all(table >= 0) and np.all(table <= 1e9)):
        raise AssertionError("a simulated figure is negative or above 1e9")


def _series(
    area: str,
    measure: Measure,
    occupation: str | None,
    values: list[int],
    corrections: dict[int, int],
    first_period: str,
    first_published: date,
) -> _Series:
    make: Callable[..., Figure] = (
        UnemploymentReported if isinstance(measure, UnemploymentMeasure) else VacanciesReported
    )
    # The first figure goes through every model validator (codes, personal data, dates); the
    # later ones differ only in period, value, publication date and revision, which are checked
    # in bulk (``_check_values``, ``_calendar``), so they are copied from it rather than
    # re-validated: full validation of every figure would cost seconds for the demo alone.
    template = make(
        area=area, measure=measure, occupation=occupation, period=first_period,
        value=float(values[0]), published=first_published, source=SOURCE,
    )  # fmt: skip
    return _Series((area, measure.value, occupation or ""), template, values, corrections)


def _calendar(timeline: _Timeline) -> tuple[list[str], list[date], list[date]]:
    """Periods of the window with their publication dates (revision 0 and 1), checked."""
    periods = [period_str(i) for i in range(timeline.first, timeline.last + 1)]
    published = [publication_date(p) for p in periods]
    revised = [publication_date(p, revision=1) for p in periods]
    for period, first, second in zip(periods, published, revised, strict=True):
        if not period_after(period) <= first < second:
            raise AssertionError(f"publication dates of {period} are out of order")
    return periods, published, revised


def _all_series(
    layout: _Layout,
    timeline: _Timeline,
    values: dict[Measure, Ints],
    corrections: dict[Measure, Ints],
    occupations: dict[Measure, NDArray[np.int64]],
    codes: Sequence[str],
) -> list[_Series]:
    periods, published, _ = _calendar(timeline)
    series = []
    for measure, table in values.items():
        _check_values(table)
        correction = corrections.get(measure, np.zeros_like(table))
        _check_values(table + correction)
        for i, (area, row) in enumerate(zip(layout.areas, table.tolist(), strict=True)):
            revised = {
                int(t): row[t] + int(correction[i, t]) for t in np.flatnonzero(correction[i])
            }
            series.append(_series(area, measure, None, row, revised, periods[0], published[0]))
    for measure, split in occupations.items():
        _check_values(split)
        for j, area in enumerate(layout.municipalities):
            for k, code in enumerate(codes):
                row = split[j, :, k].tolist()
                series.append(_series(area, measure, code, row, {}, periods[0], published[0]))
    return sorted(series, key=lambda s: s.key)


def _figure_events(series: Sequence[_Series], timeline: _Timeline) -> Iterator[Figure]:
    """Every figure in order of availability: by publication date, period, area, measure.

    A revision of month t is published with month t+1, before it (its period sorts first).
    Figures are made one at a time: a caller that writes them out never holds them all.
    """
    periods, published, revised_on = _calendar(timeline)
    revisions: dict[int, list[tuple[_Series, int]]] = {}
    for s in series:
        for t, value in s.revised.items():
            revisions.setdefault(t, []).append((s, value))
    for t, (period, day) in enumerate(zip(periods, published, strict=True)):
        for s, value in revisions.get(t - 1, []):
            yield _copy(s.template, periods[t - 1], value, revised_on[t - 1], 1)
        for s in series:
            yield _copy(s.template, period, s.values[t], day, 0)
    for s, value in revisions.get(len(periods) - 1, []):
        yield _copy(s.template, periods[-1], value, revised_on[-1], 1)


def _copy(template: Figure, period: str, value: int, published: date, revision: int) -> Figure:
    if revision == 0 and period == template.period:
        return template
    update = {"period": period, "value": float(value), "published": published, "revision": revision}
    return template.model_copy(update=update)


def _merge_by_availability(
    figures: Iterable[Figure], notices: Sequence[LayoffNoticeFiled]
) -> Iterator[SyntheticEvent]:
    """Merge two sorted streams by day; on a day, figures (scheduled releases) come first."""
    pending = iter(notices)
    notice = next(pending, None)
    for figure in figures:
        while notice is not None and notice.announced < figure.published:
            yield notice
            notice = next(pending, None)
        yield figure
    if notice is not None:
        yield notice
        yield from pending


# --- the generator --------------------------------------------------------------------------------


def generate(
    seed: int = 7,
    start: str = "2012-01",
    end: str = "2024-12",
    hierarchy: Hierarchy | None = None,
    occupations: int = 0,
    *,
    inject: bool = True,
    scenario: ScenarioName = "fixed",
    events: int | None = None,
) -> SyntheticDataset:
    """Simulate the labour market of ``hierarchy`` (default: the shipped demo areas) month by month.

    Every event is built in memory: right for the demo (~2 * 10^5 events); for millions of
    figures use :func:`plan` and :func:`write_plan`, which stream them to files.

    Args:
        seed: the only source of randomness (a non-negative integer).
        start, end: the first and last month (``YYYY-MM``) of figures and notices.
        hierarchy: the areas; every municipality is simulated and every area with municipalities
            under it gets the exact sums.
        occupations: if positive, also break municipal unemployed and open vacancies down by that
            many ISCO-08 codes (see :func:`occupation_codes`).
        inject: add the scenario's structural changes; ``False`` leaves seasonality, cycle and
            noise (the same market, month for month, up to the first change).
        scenario: ``"fixed"``, the four demo events (each only when its areas exist and its
            reference month lies in the window), or ``"random"``: ``events`` events (default
            8-12, drawn from the seed) of random kinds, places, months and strengths.
        events: with ``scenario="random"``, how many events to place.

    Raises:
        ValueError: on a bad period, an empty window, a negative seed, a bad ``occupations``, an
            unknown scenario or ``events`` without the random scenario.
    """
    return plan(
        seed, start, end, hierarchy, occupations, inject=inject, scenario=scenario, events=events
    ).dataset()


def plan(
    seed: int = 7,
    start: str = "2012-01",
    end: str = "2024-12",
    hierarchy: Hierarchy | None = None,
    occupations: int = 0,
    *,
    inject: bool = True,
    scenario: ScenarioName = "fixed",
    events: int | None = None,
) -> SyntheticPlan:
    """Simulate as :func:`generate` does, but leave the figures to be built one at a time.

    The plan holds the simulated values as integers, the notices and the truth; its figures are
    made on demand (:meth:`SyntheticPlan.figure_events`), so :func:`write_plan` can stream 10^7
    of them in little memory. Arguments and errors as for :func:`generate`.
    """
    if seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed}")
    if scenario not in SCENARIOS:
        raise ValueError(f"scenario must be one of {', '.join(SCENARIOS)}, got {scenario!r}")
    if events is not None and scenario != "random":
        raise ValueError("events (a number of events) needs the random scenario")
    if events is not None and not 0 <= events <= MAX_RANDOM_EVENTS:
        raise ValueError(f"events must be between 0 and {MAX_RANDOM_EVENTS}, got {events}")
    with _collector_paused():
        return _plan(
            seed, _Timeline.of(start, end), hierarchy, occupations, inject, scenario, events
        )


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building events, then restore it.

    The events are acyclic and freed by reference counting; but creating ~10^5 of them triggers
    many collections that rescan the whole growing heap, a third of the demo's generation time.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@dataclass(frozen=True)
class SyntheticPlan:
    """A simulated market whose figures are built on demand, in order of availability."""

    seed: int
    start: str
    end: str
    occupations: int
    inject: bool
    scenario: ScenarioName
    areas: tuple[str, ...]
    notices: tuple[LayoffNoticeFiled, ...]
    truth: tuple[TruthEvent, ...]
    _series: tuple[_Series, ...] = field(repr=False)
    _timeline: _Timeline = field(repr=False)

    @property
    def series(self) -> int:
        """Figure series: areas x measures, plus municipalities x occupations x 2 measures."""
        return len(self._series)

    @property
    def months(self) -> int:
        return self._timeline.last - self._timeline.first + 1

    def figure_events(self) -> Iterator[Figure]:
        """Every figure (first releases and revisions), built one at a time."""
        return _figure_events(self._series, self._timeline)

    def events(self) -> Iterator[SyntheticEvent]:
        """Figures and notices merged in order of availability."""
        return _merge_by_availability(self.figure_events(), self.notices)

    def dataset(self) -> SyntheticDataset:
        """Build every event in memory."""
        with _collector_paused():
            return SyntheticDataset(
                seed=self.seed,
                start=self.start,
                end=self.end,
                occupations=self.occupations,
                inject=self.inject,
                areas=self.areas,
                events=tuple(self.events()),
                truth=self.truth,
                scenario=self.scenario,
                series=self.series,
            )


def _plan(
    seed: int,
    timeline: _Timeline,
    hierarchy: Hierarchy | None,
    occupations: int,
    inject: bool,
    scenario: ScenarioName,
    events: int | None,
) -> SyntheticPlan:
    codes = occupation_codes(occupations)
    hierarchy = hierarchy if hierarchy is not None else demo_hierarchy()
    layout = _Layout.of(hierarchy)
    profiles = [
        municipality_profile(code, hierarchy.ely_of(code)) for code in layout.municipalities
    ]
    index = {code: j for j, code in enumerate(layout.municipalities)}
    market = _simulate_market(seed, profiles, timeline)
    employers = _Employers(seed, {p.code: p for p in profiles})
    injections: list[_Injection] = []
    if inject and scenario == "fixed":
        injections = _injections(timeline, market.expected, _Scenario.draw(seed), index, employers)
    elif inject:
        world = _World.of(timeline, layout, hierarchy, market.labour_force, employers)
        injections = _random_injections(seed, world, market.expected, events)
    expected = injections[-1].expected if injections else market.expected
    truth = _truth(layout, timeline, market.expected, injections)

    municipal = _sample_counts(seed, profiles, market, expected)
    window = {measure: values[:, timeline.window] for measure, values in municipal.items()}
    breakdown: dict[Measure, NDArray[np.int64]] = (
        {
            UnemploymentMeasure.UNEMPLOYED_JOBSEEKERS: _occupation_split(
                seed,
                profiles,
                window[UnemploymentMeasure.UNEMPLOYED_JOBSEEKERS],
                codes,
                _JOBSEEKER_RANKING,
                0,
            ),
            VacancyMeasure.OPEN_AT_MONTH_END: _occupation_split(
                seed, profiles, window[VacancyMeasure.OPEN_AT_MONTH_END], codes, _VACANCY_RANKING, 1
            ),
        }
        if codes
        else {}
    )
    series = _all_series(
        layout,
        timeline,
        {m: layout.aggregate(v) for m, v in window.items()},
        _revise(seed, layout, window),
        breakdown,
        codes,
    )

    surge = next((i.surge for i in injections if i.surge is not None), None)
    planned = [n for injection in injections for n in injection.notices]
    for j, p in enumerate(profiles):
        planned += _background_notices(
            seed,
            p,
            market.labour_force[j],
            float(market.sensitivity[j]),
            market,
            timeline,
            surge,
            employers,
        )
    return SyntheticPlan(
        seed=seed,
        start=period_str(timeline.first),
        end=period_str(timeline.last),
        occupations=occupations,
        inject=inject,
        scenario=scenario,
        areas=layout.areas,
        notices=tuple(_notice_events(planned, timeline)),
        truth=tuple(truth),
        _series=tuple(series),
        _timeline=timeline,
    )


def _injections(
    timeline: _Timeline,
    expected: _Expected,
    scenario: _Scenario,
    index: dict[str, int],
    employers: _Employers,
) -> list[_Injection]:
    """Apply the fixed scenario's changes in turn, each to the expectations left by the last."""
    done: list[_Injection] = []
    if timeline.contains(RAUMA_ANNOUNCED) and RAUMA in index:
        done.append(_rauma_layoffs(timeline, expected, scenario, index, employers))
    if timeline.contains(DOWNTURN_ONSET):
        done.append(
            _downturn(timeline, done[-1].expected if done else expected, scenario.downturn_increase)
        )
    if timeline.contains(VAASA_ONSET) and VAASA in index:
        done.append(
            _vaasa_surge(timeline, done[-1].expected if done else expected, scenario, index)
        )
    if timeline.contains(KEMI_ANNOUNCED) and KEMI in index:
        done.append(
            _kemi_closure(
                timeline, done[-1].expected if done else expected, scenario, index, employers
            )
        )
    return done


def _truth(
    layout: _Layout, timeline: _Timeline, baseline: _Expected, injections: Sequence[_Injection]
) -> list[TruthEvent]:
    """Each change where it stands out (against the market left by the changes before it)."""
    truth = []
    before = baseline
    for injection in injections:
        visible = _visible_regions(
            layout,
            timeline,
            _headline(before, injection.headline),
            _headline(injection.expected, injection.headline),
            injection.reference_month,
        )
        shown = {*visible, *injection.home}
        truth.append(
            TruthEvent(
                event_id=injection.event_id,
                regions=tuple(area for area in layout.areas if area in shown),
                reference_month=injection.reference_month,
                polarity=injection.polarity,
                confidence=injection.confidence,
                what=injection.what,
                kind=injection.kind,
                details=injection.details,
            )
        )
        before = injection.expected
    return sorted(truth, key=lambda t: (t.reference_month, t.event_id))


# --- a bigger Finland ----------------------------------------------------------------------------

#: Municipality codes are three digits: at most 999 municipalities.
MAX_MUNICIPALITIES: Final = 999
_MUNICIPALITIES_PER_SUB_REGION: Final = 6


def synthetic_hierarchy(municipalities: int) -> Hierarchy:
    """The shipped areas plus invented municipalities, ``municipalities`` in all.

    For scale without shared data: the new municipalities take unused codes (a fixed shuffle of
    KU001-KU999), are dealt out to the regions in turn and grouped about six to an invented
    sub-region (``SK`` + the region's two digits + a free third digit, as Statistics Finland
    numbers them). Their profiles are the deterministic stand-ins of :func:`municipality_profile`.
    The same ``municipalities`` always gives the same hierarchy.

    >>> big = synthetic_hierarchy(300)
    >>> len(big.of_level("KU")), big.ancestors("KU240")
    (300, ('SK192', 'MK19', 'ELY15', 'SSS'))
    """
    shipped = shipped_areas(DEMO)
    taken = {a.code for a in shipped}
    existing = sum(1 for a in shipped if a.code.startswith("KU"))
    if not existing <= municipalities <= MAX_MUNICIPALITIES:
        raise ValueError(
            f"municipalities must be between {existing} (the shipped ones) and "
            f"{MAX_MUNICIPALITIES}, got {municipalities}"
        )
    free = [c for c in (f"KU{n:03d}" for n in range(1, 1000)) if c not in taken]
    order = np.random.default_rng(zlib.crc32(b"synthetic municipalities")).permutation(len(free))
    regions = sorted(a.code for a in shipped if a.code.startswith("MK"))
    dealt: dict[str, list[str]] = {region: [] for region in regions}
    for k, i in enumerate(order[: municipalities - existing].tolist()):
        dealt[regions[k % len(regions)]].append(free[i])
    areas = list(shipped)
    for region, codes in dealt.items():
        areas += _invented_areas(region, sorted(codes), taken)
    return Hierarchy(areas)


def _invented_areas(region: str, codes: Sequence[str], taken: set[str]) -> list[Area]:
    if not codes:
        return []
    digits = region[2:]
    free = [f"SK{digits}{d}" for d in range(10) if f"SK{digits}{d}" not in taken]
    used = sorted(c for c in taken if c.startswith(f"SK{digits}"))
    wanted = math.ceil(len(codes) / _MUNICIPALITIES_PER_SUB_REGION)
    new = free[:wanted]
    homes = new or used  # a region out of sub-region codes fills its existing ones
    areas = [
        Area(sub, f"Seutukunta {sub[2:]}", f"Ekonomisk region {sub[2:]}", f"Sub-region {sub[2:]}",
             region)
        for sub in new
    ]  # fmt: skip
    for k, code in enumerate(codes):
        number = code[2:]
        areas.append(
            Area(code, f"Kunta {number}", f"Kommun {number}", f"Municipality {number}",
                 homes[k % len(homes)])
        )  # fmt: skip
    return areas


# --- files -------------------------------------------------------------------------------------


def write(dataset: SyntheticDataset, directory: Path) -> list[Path]:
    """Write the dataset's files into ``directory`` (created if needed); returns their paths.

    ``unemployment.jsonl``, ``vacancies.jsonl`` and ``notices.jsonl`` hold one event per line
    (``model_dump_json``) in order of availability; ``truth.csv`` the injected changes in the
    scorecard format; ``manifest.json`` the parameters, counts and injected events.
    """
    directory.mkdir(parents=True, exist_ok=True)
    lines: dict[str, list[str]] = {"unemployment": [], "vacancies": [], "layoff_notice": []}
    for event in dataset.events:
        lines[event.type].append(event.model_dump_json() + "\n")
    contents = {
        "unemployment.jsonl": "".join(lines["unemployment"]),
        "vacancies.jsonl": "".join(lines["vacancies"]),
        "notices.jsonl": "".join(lines["layoff_notice"]),
        "truth.csv": _truth_csv(dataset.truth),
        "manifest.json": _manifest_json(dataset, dataset.counts(), dataset.revisions),
    }
    paths = []
    for name in FILES:
        path = directory / name
        path.write_text(contents[name], encoding="utf-8", newline="\n")
        paths.append(path)
    return paths


def write_plan(synthetic: SyntheticPlan, directory: Path) -> list[Path]:
    """Write the same files as :func:`write`, streaming the figures: memory stays flat.

    Byte for byte what ``write(synthetic.dataset(), directory)`` writes.
    """
    directory.mkdir(parents=True, exist_ok=True)
    counts = {"layoff_notice": len(synthetic.notices), "unemployment": 0, "vacancies": 0}
    revisions = 0
    with (
        _collector_paused(),
        (directory / "unemployment.jsonl").open("w", encoding="utf-8", newline="\n") as u_file,
        (directory / "vacancies.jsonl").open("w", encoding="utf-8", newline="\n") as v_file,
    ):
        handles = {"unemployment": u_file, "vacancies": v_file}
        for figure in synthetic.figure_events():
            handles[figure.type].write(figure.model_dump_json() + "\n")
            counts[figure.type] += 1
            revisions += figure.revision > 0
    with (directory / "notices.jsonl").open("w", encoding="utf-8", newline="\n") as n_file:
        n_file.writelines(n.model_dump_json() + "\n" for n in synthetic.notices)
    small = {
        "truth.csv": _truth_csv(synthetic.truth),
        "manifest.json": _manifest_json(synthetic, counts, revisions),
    }
    for name, text in small.items():
        (directory / name).write_text(text, encoding="utf-8", newline="\n")
    return [directory / name for name in FILES]


def _truth_csv(truth: Iterable[TruthEvent]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(TRUTH_COLUMNS)
    writer.writerows(t.csv_row() for t in truth)
    return buffer.getvalue()


def _manifest_json(
    synthetic: SyntheticDataset | SyntheticPlan, counts: dict[str, int], revisions: int
) -> str:
    manifest = {
        "generator": "tutka.synthetic",
        "format": 1,
        "seed": synthetic.seed,
        "start": synthetic.start,
        "end": synthetic.end,
        "occupations": synthetic.occupations,
        "inject": synthetic.inject,
        "scenario": synthetic.scenario,
        "areas": len(synthetic.areas),
        "municipalities": sum(1 for a in synthetic.areas if a.startswith("KU")),
        "series": synthetic.series,
        "counts": counts,
        "revisions": revisions,
        "source": SOURCE,
        "injected": [t.to_json() for t in synthetic.truth],
    }
    return json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"
