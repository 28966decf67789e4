"""The simulated months, publication dates, and shapes over the months after a reference month."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final

import numpy as np

from tutka.models.codes import period_index
from tutka.synthetic.dataset import Floats, Ints

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


def _months_since(timeline: _Timeline, period: str) -> Ints:
    return timeline.months - period_index(period)


def _profile_by_month(relative: Ints, profile: Sequence[float]) -> Floats:
    """``profile[k]`` in month k after the reference, 0 before and after."""
    values = np.zeros(relative.shape)
    for k, share in enumerate(profile):
        values[relative == k] = share
    return values


def _weekday_after(day: date) -> date:
    return day + timedelta(days=7 - day.weekday()) if day.weekday() >= 5 else day
