"""The embedded runner: files in, the same core as the Kafka worker, alerts and dead letters out.

The input is streamed, not loaded: each file is scanned once for its order
(:func:`tutka.inputs.scan_order`) and then read lazily, and the files are merged by availability
(:func:`heapq.merge` on :func:`tutka.streams.ordering.ordering_key`). The result is exactly the
order a stable sort of all records would give (ties: earlier file first, then earlier line), with
memory bounded by the engine's state instead of the input's size. A file whose lines are in
availability order (what ``tutka simulate`` writes) is streamed as it is; one whose days are in
order but not the records within a day (Statistics Finland's tables) is sorted a day at a time;
anything else (the occupation table 12ti, by area, occupation and month) is sorted externally:
in chunks of ``sort_chunk`` records written to temporary files, then merged
(:mod:`tutka.inputs.external_sort`), so its length costs disk, not memory.
"""

from __future__ import annotations

import gc
import heapq
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from itertools import chain
from pathlib import Path
from typing import Final, TypeVar

from tutka.config.catalogue import Catalogue
from tutka.inputs import Decoder, Event, FileOrder, Record, input_files, read_records, scan_order
from tutka.inputs.blocks import PendingBlock
from tutka.inputs.external_sort import SORT_CHUNK, ExternalSort
from tutka.inputs.formats import LineCounts
from tutka.inputs.readers import COLUMNAR_RECORDS, read_pending
from tutka.memory import peak_rss_mb
from tutka.models.alerts import Alert, Localized
from tutka.models.areas import Hierarchy
from tutka.models.deadletter import DeadLetter, dead_letter
from tutka.monitoring.observe import Observer
from tutka.streams.engine import Engine, Rejection
from tutka.streams.ordering import OrderKey, ordering_key
from tutka.terminal import label, number

#: Events between progress reports and metric refreshes.
REPORT_EVERY: Final = 2000
#: Events between moves of the engine's long-lived state out of the collector's sight.
FREEZE_EVERY: Final = 2_000
#: Allocations before a young collection during a replay (CPython's default is 700).
YOUNG_THRESHOLD: Final = 10_000


#: Dead letters a replay keeps in memory (the first ones); all are counted by reason and handed
#: to ``on_dead_letter`` (``tutka replay --dead-letters`` streams them to a file).
KEEP_DEAD_LETTERS: Final = 1000


@dataclass
class DeadLetterTally:
    """Every dead letter counted by reason, the first :data:`KEEP_DEAD_LETTERS` kept."""

    keep: int = KEEP_DEAD_LETTERS
    reasons: Counter[str] = field(default_factory=Counter)
    kept: list[DeadLetter] = field(default_factory=list)

    def add(self, letter: DeadLetter) -> None:
        self.reasons[f"{letter.reason}:{letter.error_type}"] += 1
        if len(self.kept) < self.keep:
            self.kept.append(letter)

    @property
    def total(self) -> int:
        return self.reasons.total()


@dataclass
class ReplayResult:
    """What a replay did: ``records`` = ``accepted`` + ``dead_letter_total`` + ``suppressed``.

    Blank lines are counted apart (``blank_lines``); the cells a source left blank on purpose
    are ``suppressed`` (records, never dead letters). ``dead_letters`` holds the first
    :data:`KEEP_DEAD_LETTERS` only; ``reasons`` counts them all.
    """

    alerts: list[Alert]
    dead_letters: list[DeadLetter]
    engine: Engine
    records: int
    events: list[Event] = field(default_factory=list)
    seconds: float = 0.0
    peak_rss_mb: float = 0.0
    accepted: int = 0
    accepted_by_type: Counter[str] = field(default_factory=Counter)
    dead_letter_total: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    blank_lines: int = 0
    #: Cells the source left blank on purpose (suppressed), counted apart from dead letters.
    suppressed: int = 0

    def latest(self) -> dict[str, Alert]:
        """The last version of every alert, by id."""
        latest: dict[str, Alert] = {}
        for alert in self.alerts:
            latest[alert.id] = alert
        return latest

    @property
    def observations(self) -> int:
        """Figures (not notices) the engine processed."""
        events = self.engine.stats.events
        return sum(n for kind, n in events.items() if kind != "layoff_notice")

    def dead_letter_reasons(self) -> Counter[str]:
        """Every dead letter's ``reason:error_type``, counted (kept in memory or not)."""
        return Counter(self.reasons)

    @property
    def all_rejected(self) -> bool:
        """Records were read and not one became an event (the input is probably wrong)."""
        return self.records > 0 and self.accepted == 0

    def calibration_line(self, lang: str = "en") -> str | None:
        """The calibrated thresholds in force at the end, with the budget they meet (in
        ``lang``: fi, sv or en)."""
        results = self.engine.calibration.results
        if not results:
            return None
        rules = self.engine.catalogue.calibration
        parts = []
        for group, result in sorted(results.items()):
            detector, rule, level, *breakdown = group.split(":")
            budget = rules.budget_for(level)  # type: ignore[arg-type]
            where = f"{rule} {level}" + (f" {label('breakdowns', lang)}" if breakdown else "")
            parts.append(
                label("calibrated_part", lang).format(
                    where=where,
                    threshold=_general(result.threshold, lang),
                    budget=_general(budget, lang),
                    history=number(result.false_alarms_per_100_area_years, lang, 2),
                    years=number(result.area_years, lang),
                )
            )
        detector = sorted(results)[0].split(":")[0]
        return label("calibrated", lang).format(detector=detector, parts="; ".join(parts))

    def unknown_areas_line(self, lang: str = "en") -> str | None:
        """One line on records naming areas outside the hierarchy: how many, which, what to do
        (in ``lang``: fi, sv or en)."""
        unknown = self.engine.stats.unknown_areas
        if not unknown:
            return None
        shown = ", ".join(f"{code} ({number(n, lang)})" for code, n in unknown.most_common(8))
        more = (
            label("and_more", lang).format(n=number(len(unknown) - 8, lang))
            if len(unknown) > 8
            else ""
        )
        return label("unknown_areas", lang).format(
            records=number(unknown.total(), lang),
            codes=number(len(unknown), lang),
            areas=number(len(self.engine.hierarchy), lang),
            shown=shown,
            more=more,
        )


def _general(value: float, lang: str) -> str:
    text = f"{value:g}"
    return text if lang == "en" else text.replace(".", ",")


Progress = Callable[[int, int], None]
R = TypeVar("R", Record, Record | PendingBlock)
DeadLetterSink = Callable[[DeadLetter], None]


class InputStream:
    """The records of many files, merged in availability order; dead letters set aside.

    Iterating yields the valid events' records. ``dead`` holds the dead letters read so far
    (the first ``keep_dead`` of them), file by file in file order (as :func:`load` has always
    returned them); ``on_dead`` sees every one; ``counts`` counts the blank lines.
    """

    def __init__(
        self,
        paths: Sequence[Path],
        received_at: datetime | None = None,
        on_dead: DeadLetterSink | None = None,
        keep_dead: int | None = None,
        sort_chunk: int = SORT_CHUNK,
        sort_directory: Path | None = None,
    ) -> None:
        self.files: list[FileOrder] = [scan_order(p) for p in input_files(list(paths))]
        #: The external sorts of the unsorted files (how many chunks each wrote to disk).
        self.sorts: list[ExternalSort] = []
        self._sort_chunk = sort_chunk
        self._sort_directory = sort_directory
        self.received_at = received_at or datetime.now(UTC)
        self.decoder = Decoder()
        self.counts = LineCounts()
        self._dead: list[list[DeadLetter]] = [[] for _ in self.files]
        self._on_dead = on_dead
        self._keep_dead = keep_dead
        self.dead_read = 0

    @property
    def records(self) -> int:
        """Records in all files (events and dead letters), as counted by the scan."""
        return sum(f.records for f in self.files)

    @property
    def dead(self) -> list[DeadLetter]:
        return [letter for letters in self._dead for letter in letters]

    @property
    def suppressed(self) -> int:
        """Suppressed cells read so far (blank in the source; neither events nor dead letters)."""
        return self.decoder.suppressed

    @property
    def revision_free(self) -> bool:
        """Whether the stream is one file sorted on disk in which no figure revises another or
        comes late (:attr:`ExternalSort.revision_free`): known once its first record is out."""
        return len(self.files) == 1 and len(self.sorts) == 1 and self.sorts[0].revision_free

    def __iter__(self) -> Iterator[Record]:
        streams = [self._ordered(i, order) for i, order in enumerate(self.files)]
        if len(streams) == 1:
            return streams[0]  # (one generator less to pass every record through)
        return heapq.merge(*streams, key=_key)

    def _ordered(self, index: int, order: FileOrder) -> Iterator[Record]:
        columnar = order.plain and order.records >= COLUMNAR_RECORDS
        if order.mode == "unsorted":
            # Figures the columnar reading makes go to the sort unbuilt, a batch's as columns
            # (it would take them apart again); it builds them once, in order.
            pending = read_pending(order.path, self.received_at, self.decoder, self.counts,
                                   columnar)  # fmt: skip
            return self._sorted_externally(self._events(index, pending), str(order.path))
        records = read_records(order.path, self.received_at, self.decoder, self.counts, columnar)
        events = self._events(index, records)
        if order.mode == "sorted":
            return _checked(events, order.path)
        return _sorted_by_day(events, order.path)

    def _sorted_externally(
        self, records: Iterator[Record | PendingBlock], file: str
    ) -> Iterator[Record]:
        """An unsorted file's records in order, sorted in chunks on disk when it is long."""
        sorter = ExternalSort(self._sort_chunk, self._sort_directory)
        self.sorts.append(sorter)
        return sorter.sort(records, file)

    def _events(self, index: int, records: Iterable[R]) -> Iterator[R]:
        for record in records:
            if type(record) is PendingBlock:
                for other in record.others:
                    if isinstance(other.item, DeadLetter):
                        self._set_aside(index, other.item)
                yield record.without_dead_letters()
            elif isinstance(record.item, DeadLetter):  # type: ignore[union-attr]
                self._set_aside(index, record.item)  # type: ignore[union-attr]
            else:
                yield record

    def _set_aside(self, index: int, letter: DeadLetter) -> None:
        if self._keep_dead is None or self.dead_read < self._keep_dead:
            self._dead[index].append(letter)
        self.dead_read += 1
        if self._on_dead is not None:
            self._on_dead(letter)


def _key(record: Record) -> OrderKey:
    return ordering_key(record.item)  # type: ignore[arg-type]


def _checked(records: Iterator[Record], path: Path) -> Iterator[Record]:
    """The records of a file the scan found in order; a file that changed since is an error."""
    last: OrderKey | None = None
    for record in records:
        key = _key(record)
        if last is not None and key < last:
            raise _changed(path)
        last = key
        yield record


def _sorted_by_day(records: Iterator[Record], path: Path) -> Iterator[Record]:
    """Sort one availability day at a time (stable), for a file whose days are in order."""
    day: date | None = None
    batch: list[Record] = []
    for record in records:
        available = record.item.available_on  # type: ignore[union-attr]
        if day is not None and available != day:
            if available < day:
                raise _changed(path)
            yield from sorted(batch, key=_key)
            batch = []
        day = available
        batch.append(record)
    yield from sorted(batch, key=_key)


def _changed(path: Path) -> RuntimeError:
    return RuntimeError(f"{path} changed while it was being replayed (its order is not as scanned)")


def load(paths: Sequence[Path]) -> tuple[list[Record], list[DeadLetter]]:
    """Read every input file; events sorted by availability, dead letters in file order.

    Everything in memory: for publishing and tests. :func:`replay` streams instead.
    """
    stream = InputStream(paths)
    records = list(stream)
    return records, stream.dead


@contextmanager
def _long_lived_state_frozen() -> Iterator[Callable[[], None]]:
    """Keep the cyclic garbage collector off the engine's long-lived state during a replay.

    The engine holds millions of small containers (per-series values and detector state) that
    live for the whole run, and the collector would walk them again and again: 40 % of the run
    time on a large input. The replay calls the yielded function every ``FREEZE_EVERY``
    events; it moves everything alive into the permanent generation (:func:`gc.freeze`), and a
    larger first threshold lets a young collection come only when many objects pile up in
    between. Reference counting still frees everything acyclic at once, frozen or not. The
    engine makes no cyclic garbage of its own (a test holds it so); scikit-learn's fits leave a
    few dozen objects each, which wait in the permanent generation until the end.
    """
    thresholds = gc.get_threshold()
    gc.set_threshold(max(thresholds[0], YOUNG_THRESHOLD), *thresholds[1:])
    try:
        yield gc.freeze
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)


def replay(
    paths: Sequence[Path],
    hierarchy: Hierarchy,
    catalogue: Catalogue,
    sector_names: dict[str, Localized] | None = None,
    progress: Progress | None = None,
    keep_events: bool = False,
    observer: Observer | None = None,
    on_event: Callable[[Event], None] | None = None,
    on_alert: Callable[[Alert], None] | None = None,
    on_dead_letter: DeadLetterSink | None = None,
    engine: Engine | None = None,
    sort_chunk: int = SORT_CHUNK,
) -> ReplayResult:
    """Run the files through a fresh engine (or ``engine``, which the caller keeps using
    afterwards). ``on_event`` sees every valid event before the engine does, ``on_alert`` every
    alert version as it is produced (the situation room), ``on_dead_letter`` every dead letter
    (memory keeps only the first :data:`KEEP_DEAD_LETTERS`). An unsorted file longer than
    ``sort_chunk`` records is sorted on disk (:mod:`tutka.inputs.external_sort`)."""
    started = time.perf_counter()
    now = datetime.now(UTC)
    tally = DeadLetterTally()

    def read_dead(letter: DeadLetter) -> None:
        tally.add(letter)
        if on_dead_letter is not None:
            on_dead_letter(letter)
        if observer is not None:
            observer.metrics.dead_lettered("unknown", letter.reason, letter.error_type)

    stream = InputStream(paths, now, read_dead, KEEP_DEAD_LETTERS, sort_chunk)
    records = iter(stream)
    first = next(records, None)  # (a file sorted on disk is read whole before its first record)
    if engine is None:
        engine = Engine(hierarchy, _for(stream, catalogue), sector_names)
    alerts: list[Alert] = []
    failed = _Failed(tally, on_dead_letter)  # dead letters of the run itself, after those read
    accepted: Counter[str] = Counter()  # events by type that neither failed nor were rejected
    events: list[Event] = []
    total = stream.records
    processed = 0
    with _long_lived_state_frozen() as freeze:
        for processed, record in enumerate(chain([first] if first else [], records), start=1):
            event = _event_of(record)
            if keep_events:
                events.append(event)
            if on_event is not None:
                on_event(event)
            before = len(alerts)
            if _step(engine, record, alerts, failed, now, observer):
                accepted[event.type] += 1
            if on_alert is not None:
                for alert in alerts[before:]:
                    on_alert(alert)
            if processed % FREEZE_EVERY == 0:
                freeze()
            if processed % REPORT_EVERY == 0:
                if observer is not None:
                    observer.refresh(engine)
                if progress is not None:
                    progress(processed + stream.dead_read + stream.suppressed, total)
        for output in engine.flush():
            if isinstance(output, Alert):
                alerts.append(output)
                if on_alert is not None:
                    on_alert(output)
                if observer is not None:
                    observer.emitted(output)
                    observer.published(output)
    read = processed + stream.dead_read + stream.suppressed
    if progress is not None:
        progress(read, read)
    if observer is not None:
        observer.refresh(engine, force_sync=True)
    kept = stream.dead
    return ReplayResult(
        alerts=alerts,
        dead_letters=kept + failed.kept[: max(0, KEEP_DEAD_LETTERS - len(kept))],
        engine=engine,
        records=read,
        events=events,
        seconds=time.perf_counter() - started,
        peak_rss_mb=peak_rss_mb(),
        accepted=accepted.total(),
        accepted_by_type=accepted,
        dead_letter_total=tally.total,
        reasons=tally.reasons,
        blank_lines=stream.counts.blank,
        suppressed=stream.suppressed,
    )


def _for(stream: InputStream, catalogue: Catalogue) -> Catalogue:
    """The catalogue for the replay of ``stream``: without revision checkpoints when no figure
    of it can revise another or come late. They would never be read (only a revision rewinds
    to one), and snapshotting every series' detectors every few months is a tenth of a long
    replay. (The replay's own engine only: one handed in may see revisions after it.)"""
    if not stream.revision_free:
        return catalogue
    alerting = catalogue.alerting.model_copy(update={"revision_depth": 0})
    return catalogue.model_copy(update={"alerting": alerting})


class _Failed:
    """The run's own dead letters (processing failures, rejections): tallied, streamed, the
    first ones kept. Behaves as the list ``_step`` appends to."""

    def __init__(self, tally: DeadLetterTally, sink: DeadLetterSink | None) -> None:
        self.tally = tally
        self.sink = sink
        self.kept: list[DeadLetter] = []
        self.count = 0

    def append(self, letter: DeadLetter) -> None:
        self.count += 1
        self.tally.add(letter)
        if self.sink is not None:
            self.sink(letter)
        if len(self.kept) < KEEP_DEAD_LETTERS:
            self.kept.append(letter)


def _event_of(record: Record) -> Event:
    """The event of a record of the (dead-letter-free) event stream."""
    event = record.item
    if isinstance(event, DeadLetter):
        raise TypeError(f"a dead letter in the event stream: {event.reason}")
    return event


def _step(
    engine: Engine,
    record: Record,
    alerts: list[Alert],
    dead: _Failed,
    now: datetime,
    observer: Observer | None,
) -> bool:
    """One event through the engine; a failure becomes a processing dead letter, a rejection
    (an area outside the hierarchy …) a validation one. True: the event was taken in."""
    event = _event_of(record)
    step_started = time.perf_counter() if observer is not None else 0.0
    try:
        outputs = engine.process(event)
    except Exception as exc:  # a bug met by data must not stop the run: keep the event
        summary = f"the engine failed on this event: {type(exc).__name__}: {exc}"
        letter = dead_letter(
            record.raw, record.origin, now, "processing", type(exc).__name__, summary
        )
        dead.append(letter)
        if observer is not None:
            observer.metrics.dead_lettered(event.type, letter.reason, letter.error_type)
        return False
    if not outputs and observer is None:
        return True  # (most events: a figure waiting for its release to close)
    taken = True
    for output in outputs:
        _collect(output, record, alerts, dead, now, observer)
        if isinstance(output, Rejection):
            taken = False
    if observer is not None:
        if taken:
            observer.metrics.consumed(event.type)
        observer.metrics.processed(time.perf_counter() - step_started)
    return taken


def _collect(
    output: Alert | Rejection,
    record: Record,
    alerts: list[Alert],
    dead: _Failed,
    now: datetime,
    observer: Observer | None,
) -> None:
    if isinstance(output, Alert):
        alerts.append(output)
        if observer is not None:
            observer.emitted(output)
            observer.published(output)
        return
    letter = dead_letter(
        record.raw, record.origin, now, "validation", output.error_type, output.summary
    )
    dead.append(letter)
    if observer is not None:
        observer.metrics.dead_lettered(record.item.type, letter.reason, letter.error_type)
