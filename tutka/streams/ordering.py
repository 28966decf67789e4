"""Availability order, and a watermark buffer that restores it across Kafka partitions.

The engine's decisions depend on the order of events (a monthly release is judged when the next
one begins), so every runner must feed events in the same total order: the order in which they
became available (:func:`ordering_key`). ``tutka replay`` sorts its input. A Kafka worker cannot:
records of different partitions and topics interleave at random. :class:`OrderingBuffer` holds
events back until every input partition has moved past their availability date (a per-source
watermark, as in Flink or Beam), then releases them in ``ordering_key`` order. A source that
never sends (an empty partition) would hold everything back, so the shell may release everything
after a quiet period (:meth:`OrderingBuffer.release_all`), or mark one quiet source idle
(:meth:`OrderingBuffer.set_idle`: it no longer holds the watermark until it sends again). A
publisher's end-of-release marker lets the shell release one availability date at once
(:meth:`OrderingBuffer.advance` and :meth:`OrderingBuffer.release_through`).

>>> from datetime import date
>>> from tutka.models.events import VacanciesReported
>>> def fig(area, day):
...     return VacanciesReported(area=area, period="2023-01", measure="open_at_month_end",
...                              value=1, published=day)
>>> buf = OrderingBuffer(["a", "b"])
>>> buf.add("a", fig("MK02", date(2023, 2, 24)))
[]
>>> [e.area for e in buf.add("b", fig("MK01", date(2023, 3, 1)))]
[]
>>> [e.area for e in buf.add("a", fig("MK03", date(2023, 3, 2)))]
['MK02']
>>> [e.area for e in buf.release_all()]
['MK01', 'MK03']
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from datetime import date
from functools import lru_cache
from typing import Any

from tutka.models.codes import period_index
from tutka.models.events import LayoffNoticeFiled, UnemploymentReported, VacanciesReported

Event = LayoffNoticeFiled | UnemploymentReported | VacanciesReported
OrderKey = tuple[Any, ...]


@lru_cache(maxsize=4096)
def month_index(period: str) -> int:
    """:func:`tutka.models.codes.period_index`, remembered.

    A replay asks for the same months millions of times, and there are only so many (invalid
    ones raise, and are not remembered).
    """
    return period_index(period)


def ordering_key(event: Event) -> OrderKey:
    """Availability order: what an analyst could have known, day by day.

    Figures come before notices on the same day (releases are published in the morning), then
    the rest only makes the order total and deterministic.
    """
    if isinstance(event, LayoffNoticeFiled):
        return (event.announced, 1, event.notice_id, event.revision)
    return (
        event.published,
        0,
        month_index(event.period),
        event.area,
        event.measure.value,
        event.sector or "",
        event.occupation or "",
        event.revision,
    )


class OrderingBuffer:
    """Per-source watermarks; events released once no source can still send an earlier one."""

    def __init__(self, sources: Iterable[str]) -> None:
        self.sources = frozenset(sources)
        if not self.sources:
            raise ValueError("an ordering buffer needs at least one source")
        self.watermarks: dict[str, date] = {}
        #: Sources that were quiet for a while: they hold no watermark until they send again.
        self.idle: set[str] = set()
        self._heap: list[tuple[OrderKey, int, Event]] = []
        #: No buffered event is available later than this (an upper bound; None: empty). When
        #: a release takes everything, one sort does what a pop per event did.
        self._latest: date | None = None
        self._seq = 0
        #: The watermark as last worked out; None after anything that may move it. (An event
        #: that moves neither its source's watermark nor its idleness leaves the watermark
        #: where it was: most events, so ``add`` need not look at every source each time.)
        self._known: tuple[date | None] | None = None

    def __len__(self) -> int:
        return len(self._heap)

    @property
    def watermark(self) -> date | None:
        """The availability date every active source has reached (None until all have sent).

        Idle sources do not count; with every source idle there is no watermark.
        """
        active = self.sources - self.idle
        if not active or any(s not in self.watermarks for s in active):
            return None
        return min(self.watermarks[s] for s in active)

    def add(self, source: str, event: Event) -> list[Event]:
        """Buffer ``event`` from ``source``; return the events that are now safe, in order."""
        if source not in self.sources:
            raise ValueError(f"unknown source {source!r}; known: {sorted(self.sources)}")
        available = event.available_on
        if source in self.idle:
            self.idle.discard(source)
            self._known = None
        mark = self.watermarks.get(source)
        if mark is None or available > mark:
            self.watermarks[source] = available
            self._known = None
        heapq.heappush(self._heap, (ordering_key(event), self._seq, event))
        self._seq += 1
        if self._latest is None or available > self._latest:
            self._latest = available
        known = self._known
        if known is None:
            known = self._known = (self.watermark,)
        return self._release(known[0])

    def set_idle(self, sources: Iterable[str]) -> list[Event]:
        """Mark ``sources`` idle (quiet); return the events that are now safe, in order."""
        self.idle |= set(sources) & self.sources
        self._known = None
        return self._release(self.watermark)

    def advance(self, source: str, day: date) -> None:
        """``source`` will send nothing available before ``day`` (a publisher said so)."""
        if source in self.sources and (
            source not in self.watermarks or day > self.watermarks[source]
        ):
            self.watermarks[source] = day
            self._known = None

    def release_through(self, day: date) -> list[Event]:
        """Every buffered event available on or before ``day``, in order (a complete release)."""
        if self._latest is not None and self._latest <= day:
            return self._take_all()
        out = []
        while self._heap and self._heap[0][2].available_on <= day:
            out.append(heapq.heappop(self._heap)[2])
        return out

    def _take_all(self) -> list[Event]:
        out = [event for _, _, event in sorted(self._heap)]
        self._heap.clear()
        self._latest = None
        return out

    def release_all(self) -> list[Event]:
        """Everything buffered, in order (end of input, or a quiet stream)."""
        return self._release(None, everything=True)

    def _release(self, watermark: date | None, everything: bool = False) -> list[Event]:
        # Strictly earlier than the watermark: a source at the watermark date may still send
        # more events of that same day.
        if everything or (
            watermark is not None and self._latest is not None and self._latest < watermark
        ):
            return self._take_all()
        out: list[Event] = []
        if watermark is None:
            return out
        while self._heap and self._heap[0][2].available_on < watermark:
            out.append(heapq.heappop(self._heap)[2])
        return out

    def buffered(self) -> list[Event]:
        """The events held back, in the order they will be released."""
        return [event for _, _, event in sorted(self._heap)]

    def restore(
        self, watermarks: dict[str, date], events: Iterable[Event], idle: Iterable[str] = ()
    ) -> None:
        """Reload a buffer saved as ``watermarks``, ``buffered()`` and ``idle``."""
        self.watermarks = {s: d for s, d in watermarks.items() if s in self.sources}
        self.idle = set(idle) & self.sources
        self._known = None
        self._heap = []
        self._latest = None
        self._seq = 0
        for event in events:
            heapq.heappush(self._heap, (ordering_key(event), self._seq, event))
            if self._latest is None or event.available_on > self._latest:
                self._latest = event.available_on
            self._seq += 1
