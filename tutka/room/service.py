"""The room behind the HTTP handlers: its state, where case work and subscriptions are kept, and
the source that feeds it alerts — the in-process pipeline over files (embedded default) or the
Kafka topics of a running worker.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge

from tutka.config.catalogue import Catalogue
from tutka.config.settings import Settings
from tutka.models.alerts import Alert, Localized, held_open
from tutka.models.areas import Hierarchy
from tutka.models.casework import CaseEvent, CaseState, Closed
from tutka.models.closures import StaffClosure
from tutka.models.deadletter import DeadLetter, Origin, decode
from tutka.models.events import Event, LayoffNoticeFiled
from tutka.models.subscriptions import (
    SUBSCRIPTION_CHANGE,
    SubscriptionRemoved,
    SubscriptionUpserted,
)
from tutka.room.intake import EmbeddedOutlet, KafkaOutlet, NoticeOutlet, Uploads
from tutka.room.journals import POLL_SECONDS, FileJournal, Journal, KafkaJournal, parse_or_dead
from tutka.room.state import RoomState, Status
from tutka.streams.engine import Engine
from tutka.worker.topics import Topics

log = logging.getLogger("tutka.room")


@dataclass
class RoomMetrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self.alerts = Counter("tutka_room_alert_versions", "Alert versions received", registry=r)
        self.case_events = Counter(
            "tutka_room_case_events", "Case events recorded by this room", ["type"], registry=r
        )
        self.subscription_changes = Counter(
            "tutka_room_subscription_changes", "Subscription changes made here", ["type"],
            registry=r,
        )  # fmt: skip
        self.dead_letters = Counter(
            "tutka_room_dead_letters", "Entries the room could not read", ["source", "reason"],
            registry=r,
        )  # fmt: skip
        self.denied = Counter(
            "tutka_room_denied_requests", "Requests refused", ["status"], registry=r
        )
        self.notice_rows = Counter(
            "tutka_room_notice_rows", "Rows of uploaded notice spreadsheets, by outcome "
            "(accepted, rejected, blank): accepted + rejected + blank = rows read", ["outcome"],
            registry=r,
        )  # fmt: skip
        self.notice_uploads = Counter(
            "tutka_room_notice_uploads", "Notice spreadsheet uploads, by outcome (published, "
            "repeated: a retry answered from the first, unreadable, failed)", ["outcome"],
            registry=r,
        )  # fmt: skip
        self.streams = Gauge("tutka_room_live_streams", "Open live streams", registry=r)
        self.open_alerts = Gauge("tutka_room_open_alerts", "Open alerts", registry=r)
        self.closures = Counter(
            "tutka_room_staff_closures",
            "Staff closures the embedded engine applied, by outcome (closed, or a no-op: "
            "unknown, resolved, not_held)",
            ["outcome"],
            registry=r,
        )


class Service:
    """The state plus the journals it writes to; sources call the ``*_line`` and ``add_*``."""

    def __init__(
        self,
        hierarchy: Hierarchy,
        status: Status,
        sectors: dict[str, Localized],
        dead_sink: Callable[[DeadLetter], None] | None = None,
    ) -> None:
        self.state = RoomState(hierarchy, status)
        self.sectors = sectors
        self.metrics = RoomMetrics()
        self.cases: Journal | None = None
        self.subscriptions: Journal | None = None
        #: Where accepted notices of an upload go; None: this room takes no uploads.
        self.notices: NoticeOutlet | None = None
        self.uploads = Uploads()
        #: Where staff closures go to the engine (the worker's topic; None on the embedded
        #: default, whose pipeline takes them from the case events: :class:`PipelineCloser`).
        self.closures: Journal | None = None
        self.dead_letters: list[DeadLetter] = []
        self._dead_sink = dead_sink
        self.stop = threading.Event()
        self.threads: list[threading.Thread] = []
        self.state.on_alert.append(lambda _alert: self.metrics.alerts.inc())

    # -- writes from the page -------------------------------------------------------------------

    def record_case(self, event: CaseEvent) -> CaseState:
        assert self.cases is not None
        if isinstance(event.action, Closed) and self.closures is not None:
            # The engine's command first (it names no one): a retry sends it again, harmlessly.
            self.closures.append(event.alert_id, closure_of(event, event.action))
        self.cases.append(event.alert_id, event)
        self.metrics.case_events.labels(event.action.type).inc()
        return self.state.add_case_event(event)

    def record_subscription(self, change: SubscriptionUpserted | SubscriptionRemoved) -> str:
        assert self.subscriptions is not None
        self.subscriptions.append(change.id, change)
        self.metrics.subscription_changes.labels(change.type).inc()
        return self.state.apply_subscription_change(change)

    # -- reads from journals and topics ---------------------------------------------------------

    def case_line(self, raw: str, origin: Origin) -> None:
        event = parse_or_dead(CaseEvent.model_validate_json, raw, origin, self.dead)
        if event is not None:
            self.state.add_case_event(event)

    def subscription_line(self, raw: str, origin: Origin) -> None:
        change = parse_or_dead(SUBSCRIPTION_CHANGE.validate_json, raw, origin, self.dead)
        if change is not None:
            self.state.apply_subscription_change(change)

    def alert_line(self, raw: str, origin: Origin) -> None:
        alert = parse_or_dead(Alert.model_validate_json, raw, origin, self.dead)
        if alert is not None:
            self.state.add_alert(alert)

    def dead(self, letter: DeadLetter) -> None:
        self.metrics.dead_letters.labels(letter.origin.source, letter.reason).inc()
        self.state.status.dead_letters += 1
        log.warning("room: set aside an entry from %s: %s", letter.origin.source, letter.summary)
        self.dead_letters.append(letter)
        del self.dead_letters[:-1000]  # the sink keeps them all; memory keeps the latest
        if self._dead_sink is not None:
            self._dead_sink(letter)

    def close(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=5)


def closure_of(event: CaseEvent, action: Closed) -> StaffClosure:
    """The engine's command for a staff close: the alert, when and why, never who."""
    return StaffClosure(alert_id=event.alert_id, at=event.at, reason=action.reason)


class PipelineCloser:
    """Staff closures for the embedded pipeline's engine, applied on the pipeline's own thread.

    Every close in the case journal is wanted (a page's, another instance's, an earlier
    session's): it is queued when its case event is folded in, and queued again whenever the
    replay produces the alert held open (after a restart the replay re-creates it, and the close
    recorded before applies again). The engine ignores a close it cannot apply.
    """

    def __init__(self, service: Service) -> None:
        self.service = service
        self.queue: queue.SimpleQueue[StaffClosure] = queue.SimpleQueue()
        self.wanted: dict[str, StaffClosure] = {}
        service.state.on_case.append(self.on_case)
        service.state.on_alert.append(self.on_alert)

    def on_case(self, event: CaseEvent) -> None:
        if isinstance(event.action, Closed) and event.alert_id not in self.wanted:
            self.wanted[event.alert_id] = closure_of(event, event.action)
            self.queue.put(self.wanted[event.alert_id])

    def on_alert(self, alert: Alert) -> None:
        wanted = self.wanted.get(alert.id)
        if wanted is not None and held_open(alert):
            self.queue.put(wanted)

    def drain(self, engine: Engine, timeout: float | None = None) -> None:
        """Apply the queued closures (waiting up to ``timeout`` for the first one)."""
        try:
            closure = self.queue.get(timeout=timeout) if timeout else self.queue.get_nowait()
        except queue.Empty:
            return
        while True:
            before = dict(engine.stats.closures)
            outputs = engine.close(closure)
            for outcome, n in engine.stats.closures.items():
                if n > before.get(outcome, 0):
                    self.service.metrics.closures.labels(outcome).inc(n - before.get(outcome, 0))
            for output in outputs:
                if isinstance(output, Alert):
                    self.service.state.add_alert(output)
            try:
                closure = self.queue.get_nowait()
            except queue.Empty:
                return


# -- the embedded default -------------------------------------------------------------------------


def embedded(
    settings: Settings,
    hierarchy: Hierarchy,
    catalogue: Catalogue,
    sectors: dict[str, Localized],
    inputs: Callable[[], Sequence[Path]],
    source: str,
    pace_seconds: float,
) -> Service:
    """Files through the in-process pipeline; case work and subscriptions in local files."""
    data_dir = settings.room.data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    dead_file = data_dir / "dead-letters.jsonl"

    def keep_dead(letter: DeadLetter) -> None:
        with open(dead_file, "a", encoding="utf-8") as handle:
            handle.write(letter.model_dump_json() + "\n")

    service = Service(hierarchy, Status(mode="embedded", source=source), sectors, keep_dead)
    closer = PipelineCloser(service)  # before the journals: closes recorded earlier count
    keep_journals_in(service, data_dir)
    outlet = EmbeddedOutlet(data_dir / NOTICE_STORE)
    service.notices = outlet

    def with_store() -> list[Path]:
        # Notices uploaded (or imported with `tutka notices import`) in earlier sessions.
        paths = list(inputs())
        return [*paths, outlet.store] if outlet.store.is_file() else paths

    thread = threading.Thread(
        target=_run_pipeline,
        args=(
            service,
            closer,
            hierarchy,
            catalogue,
            sectors,
            with_store,
            pace_seconds,
            outlet.inbox,
        ),
        name="room-pipeline",
        daemon=True,
    )
    thread.start()
    service.threads.append(thread)
    return service


#: The embedded store of notices under the room's data directory (as `tutka notices import`).
NOTICE_STORE = "notices.jsonl"


def keep_journals_in(service: Service, data_dir: Path) -> None:
    """Case notes and subscription changes in local files, followed for other instances."""
    service.cases = _file_journal(service, data_dir / "casenotes.jsonl", "casenotes")
    service.subscriptions = _file_journal(
        service, data_dir / "subscriptions.jsonl", "subscriptions"
    )


def _file_journal(service: Service, path: Path, name: str) -> FileJournal:
    def on_line(raw: str) -> None:
        line = service.case_line if name == "casenotes" else service.subscription_line
        line(raw, journal.origin())

    journal = FileJournal(path, on_line, name)
    journal.read_new()  # what earlier sessions recorded, before the first page asks
    service.threads.append(journal.follow(service.stop))
    return journal


def _run_pipeline(
    service: Service,
    closer: PipelineCloser,
    hierarchy: Hierarchy,
    catalogue: Catalogue,
    sectors: dict[str, Localized],
    inputs: Callable[[], Sequence[Path]],
    pace_seconds: float,
    inbox: queue.Queue[list[LayoffNoticeFiled]] | None = None,
) -> None:
    from tutka.replay import replay

    state = service.state
    try:
        state.set_ready(False, "preparing data")
        paths = inputs()
        state.set_ready(False, "running the pipeline")
        last_month: list[str] = []
        engine = Engine(hierarchy, catalogue, sectors)

        def on_event(event: Event) -> None:
            if service.stop.is_set():
                raise _Stopped
            closer.drain(engine)  # between events: the engine is only ever touched here
            month = event.available_on.isoformat()[:7]
            if pace_seconds and last_month and month != last_month[0]:
                time.sleep(pace_seconds)  # a release at a time, to watch it unfold
            last_month[:] = [month]
            state.observe(event)

        result = replay(
            paths, hierarchy, catalogue, sectors, on_event=on_event, on_alert=state.add_alert,
            engine=engine,
        )  # fmt: skip
        for letter in result.dead_letters:
            service.dead(letter)
        state.set_ready(True, f"{result.records:,} records replayed in {result.seconds:.1f} s")
        # The data is in: uploaded notices and staff closures as they come, on this thread
        # only (the engine is not shared).
        while not service.stop.is_set():
            if inbox is None:
                closer.drain(engine, timeout=POLL_SECONDS)
            else:
                closer.drain(engine)
                _take_notices(service, engine, inbox)
    except _Stopped:
        return
    except Exception as exc:  # the page says what went wrong rather than spinning forever
        log.exception("room pipeline failed")
        state.fail(f"{type(exc).__name__}: {exc}")


def _take_notices(
    service: Service, engine: Engine, inbox: queue.Queue[list[LayoffNoticeFiled]]
) -> None:
    """Uploaded notices through the replay's engine (waiting a moment for the next batch)."""
    try:
        batch = inbox.get(timeout=0.2)
    except queue.Empty:
        return
    for notice in batch:
        service.state.observe(notice)
        for output in engine.process(notice):
            if isinstance(output, Alert):
                service.state.add_alert(output)


class _Stopped(Exception):
    pass


def demo_inputs(out_dir: Path, seed: int, hierarchy: Hierarchy) -> Callable[[], list[Path]]:
    """The demo's synthetic market, generated when the pipeline thread starts."""

    def make() -> list[Path]:
        from tutka.synthetic import generate, write

        write(generate(seed=seed, hierarchy=hierarchy), out_dir)
        return [out_dir]

    return make


# -- Kafka ----------------------------------------------------------------------------------------


def on_kafka(settings: Settings, hierarchy: Hierarchy, sectors: dict[str, Localized]) -> Service:
    """Alerts, case notes, subscriptions and figures from the topics of a running worker."""
    from kafka import KafkaProducer

    from tutka.worker.topics import ensure_topics, topics_for

    kafka = settings.kafka
    names = topics_for(kafka)
    casenotes = names.casenotes
    ensure_topics(kafka)
    producer = KafkaProducer(
        bootstrap_servers=kafka.bootstrap, acks="all", client_id="tutka-room", linger_ms=0
    )

    def to_topic(letter: DeadLetter) -> None:
        producer.send(names.deadletter, value=letter.model_dump_json().encode())

    service = Service(hierarchy, Status(mode="kafka", source=kafka.bootstrap), sectors, to_topic)
    service.cases = KafkaJournal(producer, casenotes)
    service.closures = KafkaJournal(producer, names.closures)
    service.subscriptions = KafkaJournal(producer, names.subscriptions)
    service.notices = KafkaOutlet(producer, names.of_type("layoff_notice"))
    thread = threading.Thread(
        target=_consume, args=(service, settings, names, casenotes), name="room-kafka",
        daemon=True,
    )  # fmt: skip
    thread.start()
    service.threads.append(thread)
    return service


def _consume(service: Service, settings: Settings, names: Topics, casenotes: str) -> None:
    """Follow the topics; after a failure, start over (every fold ignores what it has seen)."""
    backoff = 1.0
    while not service.stop.is_set():
        try:
            _follow(service, settings, names, casenotes)
            return
        except Exception as exc:
            log.exception("room: reading Kafka failed; retrying in %.0f s", backoff)
            service.state.fail(f"{type(exc).__name__}: {exc} (retrying)")
            service.stop.wait(backoff)
            backoff = min(backoff * 2, 30.0)


def _follow(service: Service, settings: Settings, names: Topics, casenotes: str) -> None:
    from kafka import KafkaConsumer, TopicPartition

    state = service.state
    figures = {names.unemployment, names.vacancies}
    handlers: dict[str, Callable[[str, Origin], None]] = {
        names.alerts: service.alert_line,
        casenotes: service.case_line,
        names.subscriptions: service.subscription_line,
    }
    # No consumer group: every room instance reads every topic from the start, so each one
    # builds the whole picture (the topics are the shared state) and none steals another's.
    consumer: Any = None
    try:
        state.set_ready(False, "connecting to Kafka")
        consumer = KafkaConsumer(
            bootstrap_servers=settings.kafka.bootstrap, group_id=None, enable_auto_commit=False,
            client_id="tutka-room", auto_offset_reset="earliest",
        )  # fmt: skip
        partitions = [
            TopicPartition(topic, p)
            for topic in (*handlers, *figures)
            for p in sorted(consumer.partitions_for_topic(topic) or ())
        ]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        end = consumer.end_offsets(partitions)
        state.set_ready(False, "reading the topics")
        caught_up = False
        while not service.stop.is_set():
            batches = consumer.poll(timeout_ms=200, max_records=2000)
            for records in batches.values():
                for record in records:
                    _route(service, handlers, figures, record)
            if not caught_up and all(consumer.position(tp) >= end[tp] for tp in partitions):
                caught_up = True
                state.status.error = None
                state.set_ready(True, f"following {settings.kafka.bootstrap}")
    finally:
        if consumer is not None:
            consumer.close()


def _route(
    service: Service,
    handlers: dict[str, Callable[[str, Origin], None]],
    figures: set[str],
    record: Any,
) -> None:
    if record.value is None:
        return  # a tombstone on the compacted subscriptions topic
    origin = Origin(
        source="room", topic=record.topic, partition=record.partition, offset=record.offset,
        key=record.key.decode(errors="replace") if record.key else None,
    )  # fmt: skip
    if record.topic in figures:
        event = decode(record.value, origin, datetime.now(UTC))
        if isinstance(event, DeadLetter):
            return  # the worker dead-letters its own inputs; the room only reads figures
        service.state.observe(event)
        return
    raw = record.value.decode("utf-8", errors="replace")
    handlers[record.topic](raw, origin)
