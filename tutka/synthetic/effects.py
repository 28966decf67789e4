"""Injected changes: the effects shared by both scenarios, and how visible a change is.

Each effect returns new expectations and never touches the ones it is given; the nationwide downturn
is one injection both scenarios use.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Final, Literal

import numpy as np

from tutka.models.codes import period_index, period_str
from tutka.synthetic.areas import _Layout
from tutka.synthetic.calendar import _months_since, _profile_by_month, _Timeline
from tutka.synthetic.dataset import Confidence, DetailValue, Floats, Ints, Polarity
from tutka.synthetic.market import _Expected
from tutka.synthetic.notices import NoticeSurge, _PlannedNotice

DOWNTURN_ONSET: Final = "2020-03"
#: Downturn: share of the peak effect in its first three months, then a cosine recovery.
DOWNTURN_RISE: Final = (0.45, 0.9, 1.0)
DOWNTURN_RECOVERY_MONTHS: Final = 15
#: Temporary layoffs end sooner than the rest of the rise in unemployment.
LAID_OFF_RECOVERY_MONTHS: Final = 10
#: Notice rate multiplier by month after the downturn's onset (temporary layoffs everywhere).
NOTICE_SURGE: Final = (7.0, 5.0, 2.5, 1.6, 1.3, 1.3, 1.2, 1.1)


def _split(total: int, shares: Sequence[float]) -> tuple[int, ...]:
    parts = [round(total * share) for share in shares[:-1]]
    return (*parts, total - sum(parts))


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
