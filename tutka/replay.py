"""The embedded runner: files in, the same core as the Kafka worker, alerts and dead letters out."""

from __future__ import annotations

import resource
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from config.catalogue import Catalogue
from models.alerts import Alert, Localized
from models.areas import Hierarchy
from models.deadletter import DeadLetter, dead_letter
from streams.engine import Engine, Rejection
from streams.ordering import ordering_key
from tutka.inputs import Event, Record, input_files, read_records
from tutka.observe import Observer


@dataclass
class ReplayResult:
    alerts: list[Alert]
    dead_letters: list[DeadLetter]
    engine: Engine
    records: int
    events: list[Event] = field(default_factory=list)
    seconds: float = 0.0
    peak_rss_mb: float = 0.0

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
        return Counter(f"{d.reason}:{d.error_type}" for d in self.dead_letters)


Progress = Callable[[int, int], None]


def load(paths: Sequence[Path]) -> tuple[list[Record], list[DeadLetter]]:
    """Read every input file; events sorted by availability, dead letters in file order."""
    records: list[Record] = []
    dead: list[DeadLetter] = []
    now = datetime.now(UTC)
    for path in input_files(list(paths)):
        for record in read_records(path, now):
            if isinstance(record.item, DeadLetter):
                dead.append(record.item)
            else:
                records.append(record)
    records.sort(key=lambda r: ordering_key(r.item))  # type: ignore[arg-type]
    return records, dead


def replay(
    paths: Sequence[Path],
    hierarchy: Hierarchy,
    catalogue: Catalogue,
    sector_names: dict[str, Localized] | None = None,
    progress: Progress | None = None,
    keep_events: bool = False,
    observer: Observer | None = None,
) -> ReplayResult:
    started = time.perf_counter()
    records, dead = load(paths)
    read = len(records) + len(dead)
    engine = Engine(hierarchy, catalogue, sector_names)
    alerts: list[Alert] = []
    now = datetime.now(UTC)
    total = len(records)
    if observer is not None:
        for letter in dead:
            observer.metrics.dead_lettered("unknown", letter.reason, letter.error_type)
    for i, record in enumerate(records, start=1):
        event = record.item
        assert not isinstance(event, DeadLetter)
        step_started = time.perf_counter()
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
            continue
        for output in outputs:
            _collect(output, record, alerts, dead, now, observer)
        if observer is not None:
            if not any(isinstance(o, Rejection) for o in outputs):
                observer.metrics.consumed(event.type)
            observer.metrics.processed(time.perf_counter() - step_started)
            if i % 2000 == 0:
                observer.refresh(engine)
        if progress is not None and (i % 2000 == 0 or i == total):
            progress(i, total)
    for output in engine.flush():
        if isinstance(output, Alert):
            alerts.append(output)
            if observer is not None:
                observer.emitted(output)
                observer.published(output)
    if observer is not None:
        observer.refresh(engine, force_sync=True)
    return ReplayResult(
        alerts=alerts,
        dead_letters=dead,
        engine=engine,
        records=read,
        events=[r.item for r in records] if keep_events else [],  # type: ignore[misc]
        seconds=time.perf_counter() - started,
        peak_rss_mb=peak_rss_mb(),
    )


def _collect(
    output: Alert | Rejection,
    record: Record,
    alerts: list[Alert],
    dead: list[DeadLetter],
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


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MiB."""
    usage = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return usage / (1024 * 1024) if sys.platform == "darwin" else usage / 1024
