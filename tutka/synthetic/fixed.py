"""The ``fixed`` scenario: the demo's four events, fixed in place and month (magnitudes by seed)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Final

from tutka.models.codes import period_index, period_str
from tutka.models.events import NoticeKind
from tutka.synthetic.calendar import _add_months, _Timeline, _weekday_after, _weekday_near
from tutka.synthetic.dataset import DetailValue
from tutka.synthetic.effects import (
    _closure_effect,
    _hiring_effect,
    _Injection,
    _layoff_wave_effect,
    _split,
)
from tutka.synthetic.market import _Expected
from tutka.synthetic.notices import _Employers, _injected_id, _PlannedNotice
from tutka.synthetic.randomness import _rng, _Stream

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
