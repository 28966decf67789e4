"""The pure parts of ``tutka bench kafka``'s latency: where the paced part begins, which
judgement answers which release, and the summary of the waits.

A **release** is what one publisher sends for one availability date (figures and notices alike;
:mod:`tutka.models.markers`). Its latency runs from the moment its closing record went out —
the last copy of its end-of-release markers, which the bench sends right after the release's
last event — to the moment the worker's :class:`~tutka.models.markers.ReleaseJudged` for it went
out (Kafka's timestamp of that record, set by the worker's producer), which the worker sends
once the release is judged and its alerts are published. A release judged without an alert
counts as much as one with alerts.

>>> summary = summarise([0.2, 0.1, 0.4, 0.3])
>>> summary.n, summary.p50, summary.max
(4, 0.25, 0.4)
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Protocol


class Dated(Protocol):
    @property
    def available_on(self) -> date: ...


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q``-th percentile (0 < q < 100, whole), interpolated between the sorted values.

    ``statistics.quantiles``' inclusive method: the minimum is the 0th and the maximum the 100th
    percentile, so with few values a high percentile lies between the largest two.

    >>> percentile([1.0, 2.0, 3.0, 4.0, 5.0], 50), percentile([1.0, 2.0], 99)
    (3.0, 1.99)
    >>> percentile([], 50) is None, percentile([7.0], 99)
    (True, 7.0)
    """
    if not 0 < q < 100 or q != int(q):
        raise ValueError(f"percentile {q!r} is not a whole number between 0 and 100")
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


@dataclass(frozen=True)
class Latency:
    """How long the paced releases (or records) waited: n of them, percentiles and the longest.

    ``missing`` counts those never answered while the bench waited (not in the percentiles).
    """

    n: int
    p50: float | None
    p90: float | None
    p99: float | None
    max: float | None
    missing: int = 0


def summarise(waits: Sequence[float], missing: int = 0) -> Latency:
    """n, p50, p90, p99 and the longest of ``waits`` (seconds)."""
    return Latency(
        n=len(waits),
        p50=percentile(waits, 50),
        p90=percentile(waits, 90),
        p99=percentile(waits, 99),
        max=max(waits) if waits else None,
        missing=missing,
    )


def paced_start(events: Sequence[Dated], paced: int) -> int:
    """Where the paced part of ``events`` (in availability order) begins: at most ``paced`` from
    the end, at the start of a release, so that no release is split between the warm-up and it.

    >>> from types import SimpleNamespace as E
    >>> days = [date(2023, 1, d) for d in (2, 2, 3, 3, 3, 4)]
    >>> events = [E(available_on=d) for d in days]
    >>> paced_start(events, 4), paced_start(events, 2), paced_start(events, 99)
    (2, 5, 0)
    """
    start = max(0, len(events) - paced)
    while 0 < start < len(events) and events[start].available_on == events[start - 1].available_on:
        start += 1
    return start


def release_waits(
    closed_at: Mapping[date, float], judged: Iterable[tuple[date, float]]
) -> tuple[list[float], int]:
    """Each release's wait from its close (``closed_at``: date → when its closing record went,
    epoch seconds) to its first judgement (``judged``: (date, when the judgement went) pairs, in
    any order, repeats allowed); and how many releases were never judged.

    A judgement of a date not in ``closed_at`` (a warm-up release) is not counted; a repeated
    one (a worker judging again after a restart) counts at its first.

    >>> waits, missing = release_waits({date(2023, 1, 2): 10.0, date(2023, 1, 3): 20.0},
    ...                                [(date(2023, 1, 3), 20.5), (date(2023, 1, 3), 29.0),
    ...                                 (date(2022, 12, 30), 5.0)])
    >>> waits, missing
    ([0.5], 1)
    """
    first: dict[date, float] = {}
    for day, at in judged:
        if day in closed_at and at < first.get(day, float("inf")):
            first[day] = at
    waits = [first[day] - closed_at[day] for day in sorted(first)]
    return waits, len(closed_at) - len(first)
