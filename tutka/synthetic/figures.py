"""Figures: monthly counts into events, with revisions, in availability order."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Final

import numpy as np
from numpy.typing import NDArray

from tutka.models.codes import period_after, period_str
from tutka.models.events import (
    LayoffNoticeFiled,
    UnemploymentMeasure,
    UnemploymentReported,
    VacanciesReported,
)
from tutka.synthetic.areas import _Layout
from tutka.synthetic.calendar import _Timeline, publication_date
from tutka.synthetic.dataset import SOURCE, Figure, Ints, SyntheticEvent
from tutka.synthetic.market import Measure
from tutka.synthetic.randomness import _rng, _Stream

_REVISION_PROBABILITY: Final = 0.006  # per municipal figure; ancestors follow (~1 % overall)


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
