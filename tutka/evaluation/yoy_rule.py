"""The analysts' year-on-year rule: the baseline every backtest scorecard compares with.

Current practice in a regional situation room is to compare each area's unemployment rate with a
year earlier and flag the areas whose change differs from the whole country's by more than a
threshold in percentage points. For area ``a`` and month ``m``::

    rate(a, m)   = 100 × unemployed job-seekers / labour force
    change(a, m) = rate(a, m) − rate(a, m − 12)                 percentage points
    excess(a, m) = change(a, m) − change(SSS, m)                for every area but the country
    excess(SSS, m) = change(SSS, m)                             the country against itself

A *negative* alarm (unemployment rising) when ``excess > +threshold``, a *positive* one when
``excess < −threshold``. The country has no country to compare with: an analyst judges the
national figure by its own change, and without that the rule could never report a nationwide
shock. The default threshold, 1.0 percentage point, is a change an analyst remarks on in a
monthly review (a typical Finnish regional rate moves by a few tenths of a point in a normal
year); it is a CLI option (``tutka backtest --yoy-threshold``).

Figures: first releases only — what analysts saw when the month was published (later revisions
are not used). The labour force is an annual figure (repeated monthly in table 12r5); a month
without one uses the area's latest earlier figure. An alarm is available when its month's
unemployed figure was published (12r5: the month after). Each run of consecutive alarmed months
is one :class:`~tutka.evaluation.backtest.Alarm`, raised in its first month, so the baseline is
scored exactly like the detectors' alerts.

>>> from datetime import date
>>> def fig(area, period, measure, value):
...     year, month = int(period[:4]), int(period[5:])
...     published = date(year + month // 12, month % 12 + 1, 25)  # the 25th of the next month
...     return UnemploymentReported(area=area, period=period, measure=measure, value=value,
...                                 published=published)
>>> figures = [fig(area, period, measure, value)
...            for area, before, now in (("SSS", 80.0, 90.0), ("KU240", 10.0, 30.0))
...            for period, count in (("2020-01", before), ("2021-01", now))
...            for measure, value in (("unemployed_jobseekers", count), ("labour_force", 1000.0))]
>>> rates = UnemploymentRates.of(figures)
>>> rates.rate("KU240", period_index("2021-01")).percent
3.0
>>> [(a.area, a.polarity.value, period_str(a.first)) for a in yoy_alarms(rates, threshold=0.5)]
[('KU240', 'negative', '2021-02'), ('SSS', 'negative', '2021-02')]

Kemi's rate rose 2.0 points against the country's 1.0: an excess of 1.0 point; the country's own
change is 1.0 point. Both alarms are available in February, when January's figures came out.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from typing import Final, NamedTuple

from tutka.evaluation.backtest import Alarm, episodes
from tutka.models.alerts import Polarity
from tutka.models.areas import COUNTRY
from tutka.models.codes import period_index, period_of, period_str
from tutka.models.events import UnemploymentMeasure, UnemploymentReported

__all__ = ["DEFAULT_THRESHOLD", "Rate", "UnemploymentRates", "yoy_alarms"]

#: Percentage points of year-on-year change beyond the country's that raise an alarm.
DEFAULT_THRESHOLD: Final = 1.0
UNEMPLOYED: Final = UnemploymentMeasure.UNEMPLOYED_JOBSEEKERS
LABOUR_FORCE: Final = UnemploymentMeasure.LABOUR_FORCE


class Rate(NamedTuple):
    """An unemployment rate in per cent, with the availability month of its figures."""

    percent: float
    #: Availability month (index) of the figures behind it.
    available: int


class _Release(NamedTuple):
    value: float
    revision: int
    available: int


class UnemploymentRates:
    """First-release unemployed and labour-force figures per area and month (no sector breakdown).

    An accumulator: :meth:`add` figures as they are read (any event may be offered; only the two
    measures of whole areas are kept), then ask for rates.
    """

    def __init__(self) -> None:
        self._figures: dict[UnemploymentMeasure, dict[str, dict[int, _Release]]] = {
            UNEMPLOYED: defaultdict(dict),
            LABOUR_FORCE: defaultdict(dict),
        }
        self._rates: dict[str, dict[int, Rate]] | None = None

    @classmethod
    def of(cls, events: Iterable[object]) -> UnemploymentRates:
        """The rates of ``events`` (anything may be offered; see :meth:`add`)."""
        rates = cls()
        for event in events:
            rates.add(event)
        return rates

    def add(self, event: object) -> None:
        """Keep ``event`` if it is a first release of a whole area's unemployed or labour force."""
        if not isinstance(event, UnemploymentReported):
            return
        if event.sector is not None or event.occupation is not None:
            return
        by_area = self._figures.get(event.measure)
        if by_area is None:
            return
        period = period_index(event.period)
        kept = by_area[event.area].get(period)
        if kept is None or event.revision < kept.revision:
            available = period_index(period_of(event.published))
            by_area[event.area][period] = _Release(event.value, event.revision, available)
            self._rates = None

    @property
    def areas(self) -> tuple[str, ...]:
        """Areas with unemployed figures."""
        return tuple(sorted(self._figures[UNEMPLOYED]))

    def unemployed(self) -> dict[str, dict[int, float]]:
        """First-release unemployed job-seekers per area and period."""
        return {
            area: {period: r.value for period, r in series.items()}
            for area, series in self._figures[UNEMPLOYED].items()
        }

    def periods(self) -> tuple[str, str] | None:
        """First and last month with an unemployed figure, or None when there is none."""
        months = [p for series in self._figures[UNEMPLOYED].values() for p in series]
        return (period_str(min(months)), period_str(max(months))) if months else None

    def rate(self, area: str, period: int) -> Rate | None:
        """The rate of ``area`` in month index ``period``, or None when a figure is missing."""
        return self.rates().get(area, {}).get(period)

    def rates(self) -> dict[str, dict[int, Rate]]:
        """Unemployment rate (per cent of the labour force) per area and month."""
        if self._rates is None:
            self._rates = {
                area: _area_rates(series, self._figures[LABOUR_FORCE].get(area, {}))
                for area, series in self._figures[UNEMPLOYED].items()
            }
        return self._rates


def _area_rates(unemployed: dict[int, _Release], labour: dict[int, _Release]) -> dict[int, Rate]:
    rates: dict[int, Rate] = {}
    force: float | None = None
    for period in sorted(set(unemployed) | set(labour)):
        if period in labour:
            force = labour[period].value
        figure = unemployed.get(period)
        if figure is not None and force is not None and force > 0:
            rates[period] = Rate(100 * figure.value / force, figure.available)
    return rates


def yoy_alarms(
    rates: UnemploymentRates, threshold: float = DEFAULT_THRESHOLD, country: str = COUNTRY
) -> list[Alarm]:
    """The rule's alarms: one per run of consecutive alarmed months of an area and polarity."""
    if not math.isfinite(threshold) or threshold <= 0:
        raise ValueError(f"the year-on-year threshold must be a positive number, got {threshold}")
    table = rates.rates()
    national = table.get(country, {})
    months: dict[tuple[str, Polarity], set[int]] = defaultdict(set)
    for area in sorted(table):
        series = table[area]
        for period, now in series.items():
            excess = _excess(series, national, period, relative=area != country)
            if excess is None or abs(excess) <= threshold:
                continue
            polarity = Polarity.NEGATIVE if excess > 0 else Polarity.POSITIVE
            available = max(now.available, national[period].available)
            months[(area, polarity)].add(available)
    return [
        Alarm(area, polarity, (start,), end)
        for (area, polarity), alarmed in sorted(months.items())
        for start, end in episodes(alarmed, gap=0)
    ]


def _excess(
    series: dict[int, Rate], national: dict[int, Rate], period: int, relative: bool
) -> float | None:
    """Percentage points by which the area's year-on-year change exceeds the country's."""
    before, country_now, country_before = (
        series.get(period - 12),
        national.get(period),
        national.get(period - 12),
    )
    if before is None or country_now is None or country_before is None:
        return None
    change = series[period].percent - before.percent
    country_change = country_now.percent - country_before.percent
    return change - country_change if relative else country_change
