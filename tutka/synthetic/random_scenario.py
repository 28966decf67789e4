"""The ``random`` scenario: 8-12 events of random kinds, places, months and strengths per seed."""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Final

import numpy as np

from tutka.models.areas import Hierarchy
from tutka.models.codes import period_str
from tutka.models.events import NoticeKind
from tutka.synthetic.areas import _Layout
from tutka.synthetic.calendar import _ANCHOR, _add_months, _Timeline, _weekday_after, _weekday_near
from tutka.synthetic.dataset import Confidence, Floats, Ints
from tutka.synthetic.effects import (
    NOTICE_SURGE,
    _closure_effect,
    _downturn,
    _hiring_effect,
    _Injection,
    _layoff_wave_effect,
    _sector_effect,
    _split,
    _strength,
)
from tutka.synthetic.market import _Expected
from tutka.synthetic.notices import (
    SECTION_OCCUPATIONS,
    _Employers,
    _injected_id,
    _pick_weighted,
    _PlannedNotice,
)
from tutka.synthetic.randomness import _rng, _Stream

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
