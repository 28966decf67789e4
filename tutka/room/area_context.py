"""Context for one area: its level, rate, change on a year and since the last release.

Pure: it takes the area's monthly series (``YYYY-MM`` -> value) and the alerts about it, and
returns the figures the room's context panel shows.

>>> values = {f"2023-{m:02d}": 100.0 for m in range(1, 13)}
>>> values |= {"2024-01": 110.0, "2024-02": 120.0}
>>> c = area_context(values, {"2024-02": 1000.0}, [])
>>> (c.period, c.level, c.rate, c.year_change, c.month_change)
('2024-02', 120.0, 0.12, 20.0, 10.0)
>>> len(c.sparkline)
14
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from tutka.models.alerts import Alert
from tutka.models.codes import period_index, period_str

#: Months in the sparkline.
SPARK_MONTHS: Final = 24


@dataclass(frozen=True)
class AreaContext:
    """The latest month's figures; ``None`` where the data does not tell."""

    period: str | None
    level: float | None
    labour_force: float | None
    rate: float | None
    year_ago: float | None
    year_change: float | None
    year_change_pct: float | None
    previous_period: str | None
    previous: float | None
    month_change: float | None
    sparkline: list[tuple[str, float]]
    opened: list[str]
    updated: list[str]


def _shifted(period: str, months: int) -> str:
    return period_str(period_index(period) - months)


def area_context(
    unemployed: dict[str, float],
    labour_force: dict[str, float],
    alerts: Iterable[Alert],
) -> AreaContext:
    """The context of an area from its unemployed job-seekers (and labour force) by month.

    The rate is unemployed / labour force for the latest month, where that month's labour force
    is known; the year change compares with the same month a year earlier; "since the last
    release" compares with the month before and lists the alerts whose latest version is about
    the latest month (opened in it, or updated in it).
    """
    if not unemployed:
        return AreaContext(None, None, None, None, None, None, None, None, None, None, [], [], [])
    period = max(unemployed, key=period_index)
    level = unemployed[period]
    force = labour_force.get(period)
    rate = level / force if force else None
    year_key = _shifted(period, 12)
    year_ago = unemployed.get(year_key)
    year_change = level - year_ago if year_ago is not None else None
    year_pct = year_change / year_ago if year_change is not None and year_ago else None
    previous_period = _shifted(period, 1)
    previous = unemployed.get(previous_period)
    month_change = level - previous if previous is not None else None
    first = period_index(period) - SPARK_MONTHS + 1
    spark = sorted(
        ((p, v) for p, v in unemployed.items() if period_index(p) >= first),
        key=lambda pv: period_index(pv[0]),
    )
    latest = [a for a in alerts if a.period == period]
    return AreaContext(
        period=period,
        level=level,
        labour_force=force,
        rate=rate,
        year_ago=year_ago,
        year_change=year_change,
        year_change_pct=year_pct,
        previous_period=previous_period if previous is not None else None,
        previous=previous,
        month_change=month_change,
        sparkline=spark,
        opened=sorted(a.id for a in latest if a.opened_period == period),
        updated=sorted(a.id for a in latest if a.opened_period != period),
    )
