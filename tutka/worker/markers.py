"""The publishing side of end-of-release markers (:mod:`tutka.models.markers`).

:class:`ReleaseCounter` follows what a publisher sends, in availability order, and says how many
events of the current release went to each partition; when the next release begins (or the
input ends) the publisher sends :meth:`ReleaseCounter.markers` to every partition of the topics
the publisher writes to. Partitions are computed as Kafka's default partitioner computes them
(murmur2 of the key), so counting needs no acknowledgements.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from datetime import date

from kafka.partitioner.default import murmur2

from tutka.models.markers import EventType, ReleaseEnd, release_markers


def partition_of(key: bytes, partitions: int) -> int:
    """The partition Kafka's default partitioner (murmur2) gives ``key``."""
    return int(murmur2(key) & 0x7FFFFFFF) % partitions


class ReleaseCounter:
    """Counts a publisher's events per release and partition; hands out the markers.

    Events are expected in availability order (as ``tutka publish`` sends them): an event of a
    later date closes the releases counted so far. Out of order, a release is merely closed in
    pieces, each piece with its own correct counts.
    """

    def __init__(self, dataset: str, partitions: Mapping[EventType, int]) -> None:
        self.dataset = dataset
        self.partitions = dict(partitions)
        self.counts: dict[date, Counter[tuple[EventType, int]]] = {}
        self.periods: dict[date, str] = {}

    def add(
        self, kind: EventType, key: bytes, day: date, period: str | None
    ) -> list[tuple[EventType, ReleaseEnd]]:
        """Count one event about to be sent; returns the markers of the releases it closes."""
        closed = self.finish() if self.counts and day > max(self.counts) else []
        counts = self.counts.setdefault(day, Counter())
        counts[(kind, partition_of(key, self.partitions[kind]))] += 1
        if period is not None and period > self.periods.get(day, ""):
            self.periods[day] = period
        return closed

    def finish(self) -> list[tuple[EventType, ReleaseEnd]]:
        """The markers of every release counted so far (the input ended); then starts afresh."""
        out: list[tuple[EventType, ReleaseEnd]] = []
        for day, counts in sorted(self.counts.items()):
            # Every topic the publisher writes, not only those the release touched: the marker
            # also says "nothing earlier is still coming from me" on the others.
            out.extend(release_markers(self.dataset, day, self.periods.get(day), dict(counts),
                                       self.partitions))  # fmt: skip
        self.counts.clear()
        self.periods.clear()
        return out


def send_markers(
    send: Callable[[str, int, bytes], object],
    topic_of: Callable[[str], str],
    markers: list[tuple[EventType, ReleaseEnd]],
) -> int:
    """Send each marker to its topic and partition (``send(topic, partition, value)``)."""
    for kind, marker in markers:
        send(topic_of(kind), marker.partition, marker.model_dump_json().encode())
    return len(markers)
