"""The second yardstick: lasting shifts in municipal unemployment, labelled with hindsight.

``tutka backtest --shifts`` labels the lasting shifts of every municipality's share of the
country's unemployed (:func:`tutka.detectors.hindsight.lasting_shifts`: two-sided, up to 24
months of the future) and asks whether a source raised an alarm early enough. The detectors stay
strictly causal; only the labels look ahead.

Definitions (the scorecard means exactly this; all months are *availability* months, the month a
statement could first be read: figures for period ``p`` are read in ``p + 1``):

**Alarm months** of a source for an area and polarity: for the detectors, the months an alert on
that area was raised — opened or re-emitted as ``updated`` (escalated, new evidence) — as in
:func:`tutka.evaluation.backtest.alarms_from_alerts`; for the year-on-year rule, every month the
rule fires (each monthly review is a fresh statement). An alert on a broader area that lists the
municipality among the areas whose signals it folded in (``also_in``) *covers* it: reported
beside the direct figures, never in the headline.

**Found.** A shift dated ``m`` is found when the source has an alarm month of the same polarity
in ``[m − 3, m + 6]``; the delay is the first such month minus ``m`` (negative: before the
shift's month). Recall is over all shifts and over the *large* ones (≥ 200 persons or ≥ 20 %).

**False alarms.** Alarm months of an area and polarity form episodes (months at most 2 apart).
An episode is false when it starts in the scored span — from two years after the first month of
data (the detectors' warm-up) to two years before the last (so that any shift that could explain
it can be labelled) — outside excluded periods (COVID-19: 2020-03…2021-06), and no same-polarity
shift of the area is dated within 6 months before to 12 months after its start (``start`` in
``[m − 6, m + 12]``). The rate is episodes per 100 municipality-years of the scored span
(excluded months left out).

>>> import numpy as np
>>> from tutka.models.alerts import Polarity
>>> rng = np.random.default_rng(3)
>>> first = 2010 * 12                                      # January 2010
>>> counts = np.round(np.where(np.arange(72) < 36, 1000.0, 1300.0)
...                   * np.exp(rng.normal(0, 0.02, 72)))
>>> figures = {"KU001": {first + i: float(c) for i, c in enumerate(counts)}}
>>> country = {first + i: 100_000.0 for i in range(72)}
>>> shifts = label_shifts(figures, country)
>>> [(s.area, period_str(s.month), s.polarity.value, s.large) for s in shifts]
[('KU001', '2012-12', 'negative', True)]
>>> alarms = {"early": {("KU001", Polarity.NEGATIVE): {first + 37}}}
>>> card = score_shifts(shifts, alarms, ["KU001"], first, first + 71)
>>> card.sources["early"].found.all, card.sources["early"].median_delay.all
(1, 2.0)
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Final

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from tutka.detectors.hindsight import lasting_shifts
from tutka.evaluation.backtest import Shock, episodes
from tutka.models.alerts import (
    HOLD_NOTES,
    Alert,
    AlertKind,
    AlertStatus,
    Polarity,
    is_verdict_note,
)
from tutka.models.codes import period_index, period_of, period_str

__all__ = [
    "DEFAULT_EXCLUDED",
    "Shift",
    "ShiftRules",
    "ShiftScorecard",
    "alarm_months",
    "covered_months",
    "label_shifts",
    "score_shifts",
]

#: Shifts dated here are not labelled and alarms starting here are not counted: COVID-19.
DEFAULT_EXCLUDED: Final = ("2020-03:2021-06",)
#: The detectors' warm-up and the labels' look-ahead, in months, trimmed off the scored span.
MARGIN: Final = 24


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class ShiftRules(_Frozen):
    """Windows of the shift yardstick, in months."""

    found_before: Annotated[int, Field(ge=0, le=24)] = 3
    found_after: Annotated[int, Field(ge=0, le=24)] = 6
    excused_before: Annotated[int, Field(ge=0, le=24)] = 6
    excused_after: Annotated[int, Field(ge=0, le=36)] = 12
    episode_gap: Annotated[int, Field(ge=0, le=12)] = 2
    excluded: tuple[Shock, ...] = Field(
        default_factory=lambda: tuple(Shock.parse(t) for t in DEFAULT_EXCLUDED)
    )

    def is_excluded(self, month: int) -> bool:
        """Whether the absolute ``month`` lies in an excluded period (a nationwide shock)."""
        return any(month in shock.months for shock in self.excluded)


@dataclass(frozen=True, slots=True)
class Shift:
    """A labelled lasting shift of one area (month: absolute month index of the period)."""

    area: str
    month: int
    change: float
    sigmas: float
    persons: float
    large: bool

    @property
    def polarity(self) -> Polarity:
        """Negative when the area's share of the unemployed grew, positive when it fell."""
        return Polarity.NEGATIVE if self.change > 0 else Polarity.POSITIVE


def label_shifts(
    figures: Mapping[str, Mapping[int, float]],
    country: Mapping[int, float],
    rules: ShiftRules | None = None,
) -> list[Shift]:
    """Label every area of ``figures`` (period → unemployed) against ``country``'s figures."""
    rules = rules or ShiftRules()
    if not figures or not country:
        return []
    first = min(min(series) for series in figures.values() if series)
    last = max(max(series) for series in figures.values() if series)
    months = last - first + 1
    areas = sorted(figures)
    counts = np.full((len(areas), months), np.nan)
    for row, area in enumerate(areas):
        for period, value in figures[area].items():
            counts[row, period - first] = value
    reference = np.array([country.get(first + i, np.nan) for i in range(months)])
    shifts = [
        Shift(
            area=areas[s.row],
            month=s.month,
            change=s.change,
            sigmas=abs(s.d) / s.sigma if s.sigma > 0 else float("inf"),
            persons=s.persons,
            large=s.large,
        )
        for s in lasting_shifts(counts, reference, first)
        if not rules.is_excluded(s.month)
    ]
    return sorted(shifts, key=lambda s: (s.area, s.month))


AreaPolarity = tuple[str, Polarity]


def alarm_months(alerts: Iterable[Alert]) -> dict[AreaPolarity, set[int]]:
    """The availability months each alert was raised (opened or updated), by area and polarity."""
    months: dict[AreaPolarity, set[int]] = defaultdict(set)
    for alert, raised in _raised(alerts):
        months[(alert.area, alert.polarity)].update(raised)
    return dict(months)


def covered_months(alerts: Iterable[Alert]) -> dict[AreaPolarity, set[int]]:
    """Like :func:`alarm_months`, for the areas each alert folded in (``also_in``)."""
    months: dict[AreaPolarity, set[int]] = defaultdict(set)
    for alert, raised in _raised(alerts):
        for area in alert.also_in:
            months[(area, alert.polarity)].update(raised)
    return dict(months)


def _noted_only(version: Alert) -> bool:
    """A version that only notes the alert is held open or the figures' verdict: no new alarm."""
    if not version.history:
        return False
    note = version.history[-1].note
    return note in HOLD_NOTES or is_verdict_note(note)


def _raised(alerts: Iterable[Alert]) -> Iterable[tuple[Alert, set[int]]]:
    versions: dict[str, list[Alert]] = defaultdict(list)
    for alert in alerts:
        # Policy triggers (EGF, structural change, Sahm) are watches on criteria, not detections.
        if alert.kind is not AlertKind.POLICY_TRIGGER:
            versions[alert.id].append(alert)
    for group in versions.values():
        head = group[0]
        first = period_index(period_of(head.available_on))
        # Notice alerts are known when announced; figures the month after their period.
        lag = 0 if first == period_index(head.opened_period) else 1
        raised = {first} | {
            max(first, period_index(v.period) + lag)
            for v in group
            if v.status is AlertStatus.UPDATED and not _noted_only(v)
        }
        # The last version carries every area folded in while it was open.
        yield group[-1], raised


class PolarityCounts(_Frozen):
    negative: int
    positive: int
    all: int


class PolarityFigures(_Frozen):
    negative: float | None
    positive: float | None
    all: float | None


class SourceScore(_Frozen):
    """One source on the shift yardstick."""

    shifts: PolarityCounts
    found: PolarityCounts
    recall: PolarityFigures
    large: PolarityCounts
    found_large: PolarityCounts
    recall_large: PolarityFigures
    median_delay: PolarityFigures
    median_delay_large: PolarityFigures
    found_covered: int | None
    recall_large_covered: float | None
    false_alarm_episodes: int
    false_alarms_per_100_area_years: float


class ShiftScorecard(_Frozen):
    """The shift yardstick's result: the rules, the scored span, each source, and the shifts.

    Periods are ``YYYY-MM``; ``area_years`` is the exposure of the scored span (excluded months
    left out); ``shifts`` lists every labelled shift with the month each source found it.
    """

    format: int = 1
    rules: ShiftRules
    first_period: str
    last_period: str
    scored_from: str
    scored_to: str
    areas: int
    area_years: float
    sources: dict[str, SourceScore]
    shifts: tuple[dict[str, object], ...]


def score_shifts(
    shifts: Sequence[Shift],
    sources: Mapping[str, Mapping[AreaPolarity, Collection[int]]],
    areas: Collection[str],
    first_period: int,
    last_period: int,
    rules: ShiftRules | None = None,
    covered: Mapping[str, Mapping[AreaPolarity, Collection[int]]] | None = None,
) -> ShiftScorecard:
    """Score each source's alarm months (see the module docstring); ``areas``: those scored."""
    rules = rules or ShiftRules()
    # Availability months: data period p is read in p + 1.
    scored_from = first_period + MARGIN
    scored_to = last_period - MARGIN
    span = [m for m in range(scored_from, scored_to + 1) if not rules.is_excluded(m)]
    area_years = len(areas) * len(span) / 12
    by_area: dict[AreaPolarity, list[int]] = defaultdict(list)
    for shift in shifts:
        by_area[(shift.area, shift.polarity)].append(shift.month)
    scores = {
        name: _source_score(
            shifts, alarms, (covered or {}).get(name), by_area, set(areas), span, area_years, rules
        )
        for name, alarms in sources.items()
    }
    return ShiftScorecard(
        rules=rules,
        first_period=period_str(first_period),
        last_period=period_str(last_period),
        scored_from=period_str(scored_from),
        scored_to=period_str(scored_to),
        areas=len(areas),
        area_years=round(area_years, 2),
        sources=scores,
        shifts=tuple(
            {
                "area": s.area,
                "month": period_str(s.month),
                "polarity": s.polarity.value,
                "change": round(s.change, 4),
                "sigmas": round(s.sigmas, 2),
                "persons": round(s.persons),
                "large": s.large,
                **{
                    f"{name}_delay": _first_hit(alarms.get((s.area, s.polarity), ()), s, rules)
                    for name, alarms in sources.items()
                },
            }
            for s in shifts
        ),
    )


def _first_hit(months: Collection[int], shift: Shift, rules: ShiftRules) -> int | None:
    hits = [
        m - shift.month
        for m in months
        if shift.month - rules.found_before <= m <= shift.month + rules.found_after
    ]
    return min(hits) if hits else None


def _source_score(
    shifts: Sequence[Shift],
    alarms: Mapping[AreaPolarity, Collection[int]],
    covered: Mapping[AreaPolarity, Collection[int]] | None,
    by_area: Mapping[AreaPolarity, list[int]],
    areas: set[str],
    span: Sequence[int],
    area_years: float,
    rules: ShiftRules,
) -> SourceScore:
    delays = [(s, _first_hit(alarms.get((s.area, s.polarity), ()), s, rules)) for s in shifts]
    found = [(s, d) for s, d in delays if d is not None]
    covered_found: int | None = None
    covered_large: float | None = None
    if covered is not None:
        hit = [
            s
            for s, d in delays
            if d is not None
            or _first_hit(covered.get((s.area, s.polarity), ()), s, rules) is not None
        ]
        covered_found = len(hit)
        large = [s for s in shifts if s.large]
        covered_large = round(sum(1 for s in hit if s.large) / len(large), 4) if large else None
    in_span = set(span)
    false = 0
    for (area, polarity), months in alarms.items():
        if area not in areas:
            continue
        explaining = by_area.get((area, polarity), [])
        for start, _ in episodes(months, rules.episode_gap):
            if start not in in_span:
                continue
            if any(
                m - rules.excused_before <= start <= m + rules.excused_after for m in explaining
            ):
                continue
            false += 1
    return SourceScore(
        shifts=_counts(s for s in shifts),
        found=_counts(s for s, _ in found),
        recall=_shares(shifts, {id(s) for s, _ in found}),
        large=_counts(s for s in shifts if s.large),
        found_large=_counts(s for s, _ in found if s.large),
        recall_large=_shares([s for s in shifts if s.large], {id(s) for s, _ in found}),
        median_delay=_medians(found),
        median_delay_large=_medians([(s, d) for s, d in found if s.large]),
        found_covered=covered_found,
        recall_large_covered=covered_large,
        false_alarm_episodes=false,
        false_alarms_per_100_area_years=round(100 * false / area_years, 3) if area_years else 0,
    )


def _counts(shifts: Iterable[Shift]) -> PolarityCounts:
    polarities = [s.polarity for s in shifts]
    negative = sum(1 for p in polarities if p is Polarity.NEGATIVE)
    return PolarityCounts(
        negative=negative, positive=len(polarities) - negative, all=len(polarities)
    )


def _shares(shifts: Sequence[Shift], hits: set[int]) -> PolarityFigures:
    def share(selected: list[Shift]) -> float | None:
        return (
            round(sum(1 for s in selected if id(s) in hits) / len(selected), 4)
            if selected
            else None
        )

    return PolarityFigures(
        negative=share([s for s in shifts if s.polarity is Polarity.NEGATIVE]),
        positive=share([s for s in shifts if s.polarity is Polarity.POSITIVE]),
        all=share(list(shifts)),
    )


def _medians(found: Sequence[tuple[Shift, int | None]]) -> PolarityFigures:
    def median(values: list[int]) -> float | None:
        return float(statistics.median(values)) if values else None

    return PolarityFigures(
        negative=median([d for s, d in found if d is not None and s.polarity is Polarity.NEGATIVE]),
        positive=median([d for s, d in found if d is not None and s.polarity is Polarity.POSITIVE]),
        all=median([d for _, d in found if d is not None]),
    )
