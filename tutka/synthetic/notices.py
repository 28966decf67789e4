"""Employers and layoff notices: background notices, and the planned (injected) ones."""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final, TypeVar

import numpy as np

from tutka.models.codes import business_id_check_digit
from tutka.models.events import LayoffNoticeFiled, NoticeKind
from tutka.synthetic.calendar import (
    _days_in_month,
    _months_since,
    _profile_by_month,
    _Timeline,
    _weekday_near,
)
from tutka.synthetic.dataset import SOURCE, Floats, Ints
from tutka.synthetic.market import _Market
from tutka.synthetic.municipalities import _KNOWN_MUNICIPALITIES, MunicipalityProfile
from tutka.synthetic.randomness import _rng, _Stream
from tutka.synthetic.seasonality import _CONSTRUCTION_WINTER, _NOTICE_SEASON

_T = TypeVar("_T")


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
