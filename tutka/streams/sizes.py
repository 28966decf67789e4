"""Minimum series sizes: a sector or occupation series too small to alert on.

An occupation in one region often counts a handful of people: from 2 to 11 job-seekers is +450 %
and means nothing for the region's labour market. A signal on a *breakdown* series (a sector or
an occupation) is dropped before the release is judged unless the series is at least
``min_breakdown_size`` large — its value or the level the detector expected, whichever is
larger — and the change itself involves at least ``min_breakdown_excess`` people. Totals (all
sectors and occupations) are judged by their detectors alone; the share detector already asks
for a material change.

>>> too_small(SeriesKey("MK01", "open_at_month_end", occupation="7212"), 11.0, 0.0, 20, 10)
True
>>> too_small(SeriesKey("MK01", "open_at_month_end", occupation="7212"), 60.0, 25.0, 20, 10)
False
>>> too_small(SeriesKey("MK01", "open_at_month_end"), 11.0, 0.0, 20, 10)
False
"""

from __future__ import annotations

from tutka.streams.signals import SeriesKey


def too_small(
    key: SeriesKey, value: float, baseline: float, min_size: float, min_excess: float
) -> bool:
    """Whether a signal on ``key`` concerns too few people to alert on (breakdowns only)."""
    if key.sector is None and key.occupation is None:
        return False
    return max(abs(value), abs(baseline)) < min_size or abs(value - baseline) < min_excess
