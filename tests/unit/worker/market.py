"""The small seeded market of the pipeline tests, as the worker's input partitions deliver it."""

from __future__ import annotations

import itertools
import json
import random
from collections import Counter
from dataclasses import dataclass
from datetime import date
from typing import Any

from tutka.config.catalogue import OutlierRules, load_catalogue
from tutka.models.areas import Hierarchy
from tutka.models.events import LayoffNoticeFiled, UnemploymentReported, VacanciesReported
from tutka.models.markers import EventType, ReleaseEnd
from tutka.streams.engine import Engine, Output
from tutka.streams.ordering import ordering_key
from tutka.worker.core import CoreProcessor

from ..streams.helpers import small_hierarchy
from ..streams.market import figures, notice

Event = LayoffNoticeFiled | UnemploymentReported | VacanciesReported

H: Hierarchy = small_hierarchy()
# Multivariate outliers need many areas; this market has a handful (as in the engine tests).
CATALOGUE = load_catalogue().model_copy(update={"outlier": OutlierRules(levels=())})
SHIFT = 72  # months after the market's start: unemployment in KU240 jumps by 40 %
#: The input partitions as the ingest agent tags them: vacancies are spread over two.
SOURCES = (
    "tutka.notices.v1:0",
    "tutka.unemployment.v1:0",
    "tutka.vacancies.v1:0",
    "tutka.vacancies.v1:1",
)


def market() -> list[Event]:
    """Eight years of figures with a local jump in Kemi (KU240), and small layoff notices in
    Rovaniemi (KU698) every month: every input partition keeps sending, so the watermark
    buffer releases the months as they pass (a partition that goes quiet holds everything)."""
    jump = lambda area, t: 1.4 if area == "KU240" and t >= SHIFT else 1.0  # noqa: E731
    steady = [
        notice(f"n-{t}", date(2012 + t // 12, t % 12 + 1, 10), 4, municipality="KU698")
        for t in range(96)
    ]
    return [*figures(unemployment=jump), *steady]


def source_of(event: Event) -> str:
    """The input partition an event is published on (vacancies keyed by area)."""
    if isinstance(event, LayoffNoticeFiled):
        return SOURCES[0]
    if isinstance(event, UnemploymentReported):
        return SOURCES[1]
    return SOURCES[2] if sum(map(ord, event.area)) % 2 else SOURCES[3]


def interleaved(events: list[Event], seed: int = 7) -> list[tuple[str, Event]]:
    """The events as one consumer sees them: each partition in publication order, the partitions
    interleaved at random (seeded), as records of different partitions arrive in any order."""
    queues: dict[str, list[Event]] = {source: [] for source in SOURCES}
    for event in sorted(events, key=ordering_key):
        queues[source_of(event)].append(event)
    rng = random.Random(seed)
    out: list[tuple[str, Event]] = []
    while any(queues.values()):
        source = rng.choice([s for s, q in queues.items() if q])
        out.append((source, queues[source].pop(0)))
    return out


def replayed(events: list[Event]) -> list[Output]:
    """What ``tutka replay`` makes of the events: the engine over them in availability order."""
    return Engine(H, CATALOGUE).run(sorted(events, key=ordering_key))


def processor(sources: tuple[str, ...] = SOURCES) -> CoreProcessor:
    """A worker's core stage for this market's partitions."""
    return CoreProcessor(H, CATALOGUE, {}, sources)


def feed(core: CoreProcessor, records: list[tuple[str, Event]], first: int = 0) -> list[Output]:
    """Every record at its offset of the ordered stream (``first`` onwards)."""
    out: list[Output] = []
    for offset, (source, event) in enumerate(records[first:], start=first):
        out.extend(core.receive(event, source, offset))
    return out


def through_json(checkpoint: dict[str, Any]) -> dict[str, Any]:
    """A checkpoint as the worker stores it (gzipped JSON in a changelogged table)."""
    return json.loads(json.dumps(checkpoint, allow_nan=False))  # type: ignore[no-any-return]


@dataclass(frozen=True)
class Run:
    """The market, its records as the partitions deliver them, and what the core makes of it."""

    events: list[Event]
    records: list[tuple[str, Event]]
    outputs: list[Output]
    final: dict[str, Any]  # the checkpoint after all of it

    @classmethod
    def of_market(cls) -> Run:
        events = market()
        records = interleaved(events)
        core = processor()
        outputs = feed(core, records) + core.flush()
        assert core.position == len(records) - 1 and not core.dirty and len(core.buffer) == 0
        return cls(events, records, outputs, through_json(core.checkpoint()))


KINDS: dict[str, EventType] = {
    SOURCES[0]: "layoff_notice",
    SOURCES[1]: "unemployment",
    SOURCES[2]: "vacancies",
    SOURCES[3]: "vacancies",
}
TOPICS: tuple[EventType, ...] = ("layoff_notice", "unemployment", "vacancies")


def releases(events: list[Event]) -> list[tuple[date, list[Event]]]:
    ordered = sorted(events, key=ordering_key)
    return [(d, list(g)) for d, g in itertools.groupby(ordered, key=lambda e: e.available_on)]


def markers_for(day: date, events: list[Event]) -> dict[str, ReleaseEnd]:
    """The marker copy each partition gets after the release (all topics, as `publish` sends)."""
    counts = Counter(source_of(e) for e in events)
    return {
        source: ReleaseEnd(dataset="publish", published=day, topics=TOPICS,
                           partition=int(source.rsplit(":", 1)[1]),
                           partitions=2 if KINDS[source] == "vacancies" else 1,
                           count=counts[source])
        for source in SOURCES
    }  # fmt: skip


def partition_logs(events: list[Event], ahead: int = 0) -> dict[str, list[Event | ReleaseEnd]]:
    """Each input partition's records as ``publish`` sends them: a release's events, then its
    marker copy. With ``ahead``, every ``ahead``-th release's marker comes one event early on
    partitions that have events of it (a marker ahead of an event: the event completes it)."""
    logs: dict[str, list[Event | ReleaseEnd]] = {source: [] for source in SOURCES}
    for n, (day, group) in enumerate(releases(events)):
        for source, marker in markers_for(day, group).items():
            own = [e for e in group if source_of(e) == source]
            if ahead and n % ahead == 0 and own:
                logs[source] += [*own[:-1], marker, own[-1]]
            else:
                logs[source] += [*own, marker]
    return logs
