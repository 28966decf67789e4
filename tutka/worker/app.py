"""``tutka worker``: the faust-streaming app around the pure core (the thin shell).

Three agents, each short and free of business decisions:

* **ingest** (every input partition, parallel across workers): records are taken in batches
  (``TUTKA_KAFKA__BATCH`` records at a time, 2,000 by default);
  raw bytes → ``decode`` → the valid events of one input partition go on to the ordered stream
  ``tutka.events.v1`` together, as one record (keyed by dataset, tagged with their input
  partition); a publisher's end-of-release marker (:mod:`tutka.models.markers`) is checked and
  goes along in the same record, after the events it follows; anything else becomes a dead
  letter on ``tutka.deadletter.v1`` with its topic, partition, offset and reason. Nothing
  crashes the worker, nothing is dropped.
* **core** (the dataset's partition of ``tutka.events.v1``, one worker at a time): the
  :class:`~tutka.worker.core.CoreProcessor` restores availability order across the input
  partitions, runs the engine, and its alerts go to ``tutka.alerts.v1`` keyed by alert group;
  each release closed by its markers is then acknowledged on ``tutka.releases.v1``
  (:class:`~tutka.models.markers.ReleaseJudged`, keyed by dataset, at least once).
* **closures** (``tutka.closures.v1``): staff closing held alerts in the room. A valid
  :class:`~tutka.models.closures.StaffClosure` goes on to the ordered stream like an event (so
  the core applies it at a definite place in the log, and a restart applies it again from the
  checkpoint, deterministically); anything else becomes a dead letter.
* **deliver** (``tutka.worker.delivery``): subscriptions, fed from ``tutka.alerts.v1``.

Guarantee: processing is at-least-once, and every alert version reaches ``tutka.alerts.v1``
exactly once. The ingest may send an input item on twice (it reads input again from the last
committed offset after a restart); each record of the ordered stream names its items' places
in their input partitions, and the core folds each place in once. Records faust drops around a
rebalance (acknowledged, never delivered again) are noticed as gaps in a partition's offsets,
by the ingest and the core, and read from the broker directly.
The core checkpoints its whole state — engine, held-back events, the offset it has
reached, and the end offsets of the alert and dead-letter topics — into the changelogged table
``engine``. A worker taking over restores the checkpoint, reads the events after it again, and
reads back what was published after it: alerts are deterministic (same input, same ids and
sequence numbers), so versions already published are recognised and not sent twice.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import gc
import gzip
import json
import logging
import time
import weakref
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final

import faust
from aiokafka import AIOKafkaConsumer
from aiokafka.structs import TopicPartition
from faust.sensors.prometheus import FaustMetrics
from faust.streams import _current_event  # the context variable faust's tables read
from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread
from faust.transport.drivers.aiokafka import Consumer as AIOKafkaTransportConsumer
from pydantic import ValidationError
from pydantic_core import to_json

from tutka.config.catalogue import Catalogue
from tutka.config.settings import Settings
from tutka.inputs.decoding import Decoder
from tutka.models.alerts import Alert, Localized
from tutka.models.areas import Hierarchy
from tutka.models.closures import StaffClosure, decode_closure
from tutka.models.deadletter import DeadLetter, Origin, dead_letter, decode
from tutka.models.events import Event, LayoffNoticeFiled, UnemploymentReported, VacanciesReported
from tutka.models.markers import ReleaseEnd, is_marker
from tutka.monitoring.observe import Observer
from tutka.streams.engine import Output
from tutka.worker.core import CoreProcessor, Place
from tutka.worker.delivery import install as install_delivery
from tutka.worker.intake import BATCH, BATCH_BYTES, in_batch, ordered_items, record_items
from tutka.worker.markers import partition_of
from tutka.worker.producer import Producer as TrackingTransportProducer
from tutka.worker.sensors import CachedPrometheusMonitor
from tutka.worker.topics import Topics, ensure_topics, topics_for
from tutka.worker.watchdog import (
    LoopWatch,
    RebalanceSensor,
    StartWatch,
    consumer_generation,
    exit_if_infrastructure,
    ping,
    recovery_position,
    start_watchdog,
)

log = logging.getLogger("tutka.worker")

# Agent names are contracts like topic names. Faust derived these from module path + function
# when they were first deployed; spelled out, they stay the same wherever the module lives.
AGENT_INGEST = "streams.kafka.app.ingest"  # persisted name
AGENT_CORE = "streams.kafka.app.core"  # persisted name
AGENT_CLOSURES = "tutka.worker.closures"  # persisted name
#: The ``source`` header of a staff closure on the ordered stream (events carry their partition).
CLOSURE_SOURCE = "closures"

#: Checkpoints are stored in pieces well under Kafka's default 1 MB message limit.
CHUNK_BYTES = 512 * 1024  # 683 KiB once in base64
#: A control record on the ordered stream: "the stream has been quiet; flush". This bare form
#: (written before ticks named what they follow) is judged by the reader's clock.
TICK = b'{"type":"tick"}'
#: The start of a quiet tick naming the last record with input the core had folded in when the
#: stream was found quiet: ``{"type":"tick","after":N}``. It flushes if no record with input
#: came in between — a decision read off the log, so a worker reading it again after a restart
#: decides as the one that wrote it did.
TICK_AFTER = b'{"type":"tick","after":'
#: The start of a tick naming quiet input partitions: ``{"type":"tick","idle":[...]}``.
IDLE_TICK = b'{"type":"tick","idle":'
#: Ingest sends what it gathered once it holds this many events, even mid-batch (a batch of
#: batch records may hold a million).
FORWARD_EVENTS: Final = 5_000
#: The longest wait to fill a batch of ``TUTKA_KAFKA__BATCH`` records (seconds).
TAKE_WITHIN = 0.05
#: A checkpoint due waits for a moment between releases for at most this many intervals.
CHECKPOINT_PATIENCE: Final = 3
#: Every this many checkpoints, the objects frozen after them are thawed and collected once.
GC_THAW_EVERY: Final = 30


def broker_url(bootstrap: str) -> str:
    return ";".join(f"kafka://{host.strip()}" for host in bootstrap.split(",") if host.strip())


def now() -> datetime:
    return datetime.now(UTC)


class Shell:
    """The worker's mutable plumbing, shared by the agents of one app."""

    def __init__(
        self,
        settings: Settings,
        hierarchy: Hierarchy,
        catalogue: Catalogue,
        sectors: Mapping[str, Localized],
        partitions: Mapping[str, int],
    ) -> None:
        self.kafka = settings.kafka
        self.topics = topics_for(settings.kafka)
        self.key = settings.kafka.dataset.encode()
        self.events_partition = partition_of(self.key, partitions[self.topics.events])
        sources = [f"{t}:{p}" for t in self.topics.inputs for p in range(partitions[t])]
        kinds = {f"{t}:{p}": self.topics.type_of(t) for t in self.topics.inputs
                 for p in range(partitions[t])}  # fmt: skip
        self.partitions = dict(partitions)
        self.core = CoreProcessor(hierarchy, catalogue, sectors, sources, kinds)
        #: When the core last had an event from each input partition (monotonic).
        self.last_seen: dict[str, float] = {}
        self.started = time.monotonic()
        self.restored = False
        self.owner = False
        #: (alert id, sequence) an earlier owner published that this state has yet to produce.
        self.published: set[tuple[str, int]] = set()
        #: The same for the core's dead letters (keyed by the offset that caused them).
        self.rejected: set[bytes] = set()
        self.last_activity = time.monotonic()
        self.last_checkpoint = time.monotonic()
        self.generation = 0
        self.checkpoints_written = 0
        #: Called with the number of checkpoints written after each (``tutka worker``: the GC).
        self.after_checkpoint: Callable[[int], None] = lambda _written: None
        #: Offsets of records the core failed on: skipped whenever they are read again.
        self.poison: set[int] = set()
        #: The last offset each agent finished, per (topic, partition): for the lag metric.
        self.done: dict[tuple[str, int], int] = {}
        #: The watchdog's view (monotonic times): the last look at the lag, the last progress;
        #: the stall arm is armed once the worker runs (faust starts our timers only then).
        self.observed_at = time.monotonic()
        self.progress_at = time.monotonic()
        self._done_total = 0
        self.watching = False
        #: The start arm's view: from the start, and again at every rebalance, until reading.
        self.start = StartWatch(self.started)
        #: The loop arm's view: the watchdog's pings to the event loop, from the start.
        self.pings = LoopWatch()
        #: The partitions assigned to this worker.
        self.assigned: set[tuple[str, int]] = set()
        #: Records of the ordered stream the core agent has finished with (any dataset's).
        self.taken = 0
        #: The last offset the ingest took per input partition: a later record further on than
        #: the next shows records faust did not hand over.
        self.ingested: dict[tuple[str, int], int] = {}

    def note_progress(self, waiting: int) -> None:
        """The observer's look at the lag: progress when nothing waits or records were done."""
        now = time.monotonic()
        self.observed_at = now
        total = sum(self.done.values())
        if waiting == 0 or total != self._done_total:
            self.progress_at = now
        self._done_total = total

    def stalled(self, now: float, stall_seconds: float) -> str | None:
        """Why the worker counts as stalled at ``now``, or None."""
        if now - self.observed_at > stall_seconds:
            return f"the event loop has not looked at the lag for {now - self.observed_at:.0f} s"
        if now - self.progress_at > stall_seconds:
            return f"records wait and none was finished for {now - self.progress_at:.0f} s"
        return None

    def verdict(
        self,
        now: float,
        stall_seconds: float,
        start_seconds: float,
        generation: int | None = None,
        loop_seconds: float | None = None,
    ) -> str | None:
        """Why the watchdog ends the worker at ``now`` (loop, start, then stall arm), or None."""
        blocked = None if loop_seconds is None else self.pings.blocked(now, loop_seconds)
        if blocked is not None:
            return blocked
        starting = self.start.starting(now, start_seconds, generation)
        if starting is not None or not self.watching:
            return starting
        return self.stalled(now, stall_seconds)


def create_app(
    settings: Settings,
    hierarchy: Hierarchy,
    catalogue: Catalogue,
    sectors: Mapping[str, Localized],
    partitions: Mapping[str, int],
    observer: Observer,
) -> faust.App:
    k = settings.kafka
    shell = Shell(settings, hierarchy, catalogue, sectors, partitions)
    #: The ingest's decoder: a series' later figures checked against its first (as in files).
    decoder = Decoder()
    #: The core's, for the ordered stream's records (its own: the ingest may run elsewhere).
    core_decoder = Decoder()
    names = shell.topics
    metrics = observer.metrics
    k.data_dir.mkdir(parents=True, exist_ok=True)
    app = faust.App(
        names.app_id,
        broker=broker_url(k.bootstrap),
        store="memory://",
        topic_partitions=k.partitions,
        topic_replication_factor=k.replication,
        consumer_auto_offset_reset="earliest",
        web_enabled=False,
        autodiscover=False,
        datadir=str(k.data_dir / "{conf.name}"),
        broker_session_timeout=k.session_timeout_seconds,
        broker_heartbeat_interval=max(1.0, k.session_timeout_seconds / 10),
    )
    # Our fetch wait (faust's is fixed), set before faust makes the consumer.
    app.transport.Consumer = consumer_class(k.fetch_wait_ms)  # type: ignore[misc]
    # A producer that keeps every topic it sends to in its metadata (tutka.worker.producer).
    app.transport.Producer = TrackingTransportProducer  # type: ignore[misc]
    # Faust's own sensors, on the same (fresh) registry as ours: one /metrics for the worker
    # (their per-record label children looked up once: tutka.worker.sensors).
    app.monitor = CachedPrometheusMonitor(FaustMetrics.create(metrics.registry, "tutka_faust"))
    # The watchdog's start arm follows faust's rebalances (tutka.worker.watchdog).
    app.sensors.add(RebalanceSensor(shell.start))
    raw: dict[str, Any] = {
        "key_type": bytes,
        "value_type": bytes,
        "key_serializer": "raw",
        "value_serializer": "raw",
    }
    inputs = app.topic(*names.inputs, **raw)
    events = app.topic(names.events, **raw)
    alerts = app.topic(names.alerts, **raw)
    releases = app.topic(names.releases, **raw)
    deadletters = app.topic(names.deadletter, **raw)
    closures_in = app.topic(names.closures, **raw)
    table = app.Table(
        "engine",
        default=None,
        partitions=partitions[names.events],
        # JSON keys and values throughout (chunks as base64 text): faust decodes changelog
        # records with the default codec when it recovers a table.
        key_type=str,
    )

    @app.agent(inputs, name=AGENT_INGEST)
    async def ingest(stream: Any) -> None:
        async for batch in batches(stream, k.batch):
            gathering = Gathering()
            for event in batch:
                message = event.message
                last = shell.ingested.get((message.topic, message.partition))
                if last is not None and message.offset > last + 1:
                    tp = TopicPartition(message.topic, message.partition)
                    missing = gap(tp, range(last + 1, message.offset))
                    async for offset, key, value, _ in read_range(k.bootstrap, tp, missing):
                        await take_input(gathering, message.topic, message.partition, offset,
                                         key, value, None)  # fmt: skip
                await take_input(gathering, message.topic, message.partition, message.offset,
                                 message.key, event.value, message.timestamp)  # fmt: skip
                if gathering.events >= FORWARD_EVENTS:
                    # Batch records make a batch long: what is gathered goes on now, and the
                    # event loop gets a turn (the core, the timers, the heartbeats).
                    await forward(gathering)
            await forward(gathering)

    def gap(tp: TopicPartition, missing: range) -> range:
        """Records of ``tp`` faust never handed over, to be read from the broker: around a
        rebalance it drops records fetched in the generation before, and acknowledges them, so
        they are not delivered again. Logged and counted."""
        log.warning("records %s to %s of %s:%s never reached the worker's agent; reading them",
                    missing.start, missing.stop - 1, tp.topic, tp.partition)  # fmt: skip
        metrics.gap_read(tp.topic, len(missing))
        return missing

    async def take_input(
        gathering: Gathering,
        topic: str,
        partition: int,
        offset: int,
        key: bytes | None,
        value: bytes,
        timestamp: float | None,
    ) -> None:
        """One input record: its valid events and markers gathered for the ordered stream, each
        with its place; anything else to the dead letters."""
        where = f"{topic}:{partition}"
        origin = Origin(source="kafka", topic=topic, partition=partition, offset=offset,
                        key=(key or b"").decode("utf-8", "replace") or None)  # fmt: skip
        source = names.type_of(topic)
        # One event, or a batch record's events (tutka.worker.intake), each on its own.
        items = record_items(value, origin, now(), decoder)
        gathering.events += len(items)
        valid = 0
        for place, raw, decoded in items:
            item: Event | DeadLetter | ReleaseEnd = decoded
            if place is None and isinstance(item, DeadLetter) and is_marker(raw):
                item = check_marker(raw, origin, topic)
            if (
                isinstance(item, LayoffNoticeFiled | UnemploymentReported | VacanciesReported)
                and names.of_type(item.type) != topic
            ):
                item = wrong_topic(item, raw or item.model_dump_json().encode(),
                                   in_batch(origin, place), topic)  # fmt: skip
            if isinstance(item, DeadLetter):
                await deadletters.send(key=key, value=item.model_dump_json().encode())
                metrics.dead_lettered(source, item.reason, item.error_type)
                continue
            # A marker goes after the events its partition gathered, in the same record(s): a
            # burst of releases is a few records, not one per marker copy.
            gathering.add(where, item.model_dump_json().encode(), (offset, valid))
            if not isinstance(item, ReleaseEnd):
                gathering.earliest.setdefault(where, timestamp or time.time())
            valid += 1
        if valid:  # (counted once a record: a batch's events together)
            metrics.consumed(source, valid)
        gathering.finished[(topic, partition)] = offset
        shell.ingested[(topic, partition)] = offset

    async def forward(gathering: Gathering) -> None:
        """Send what ingest gathered to the ordered stream; then its records count as finished
        (lag, "read to its end" for idleness, quiet), not when they were decoded."""
        for where, values in gathering.values.items():
            await send_events(where, values, gathering.places[where],
                              gathering.earliest.get(where))  # fmt: skip
        shell.done.update(gathering.finished)
        gathering.clear()
        await asyncio.sleep(0)

    def wrong_topic(item: Event, raw: bytes, origin: Origin, topic: str) -> DeadLetter:
        belongs = names.of_type(item.type)
        return dead_letter(raw, origin, now(), "validation", "wrong_topic",
                           f"a {item.type} event belongs on {belongs}, not {topic}")  # fmt: skip

    def check_marker(value: bytes, origin: Origin, topic: str) -> ReleaseEnd | DeadLetter:
        """A marker as the boundary sees it: valid and on a partition it names, or a dead letter."""
        try:
            marker = ReleaseEnd.model_validate_json(value)
        except ValidationError as exc:
            first = exc.errors(include_url=False)[0]
            return dead_letter(value, origin, now(), "validation", "invalid_marker",
                               f"not a valid release_end marker: {first['msg']}")  # fmt: skip
        kind = names.type_of(topic)
        problem = None
        if kind not in marker.topics:
            problem = f"a marker for {', '.join(marker.topics)} arrived on {topic}"
        elif marker.partition != origin.partition or marker.partitions != partitions[topic]:
            problem = (f"a marker for partition {marker.partition} of {marker.partitions} arrived "
                       f"on partition {origin.partition} of {partitions[topic]}")  # fmt: skip
        if problem is not None:
            return dead_letter(value, origin, now(), "validation", "misrouted_marker", problem)
        return marker

    async def send_events(
        where: str, values: list[bytes], at: list[Place], published: float | None
    ) -> None:
        """The events and markers of one input partition to the ordered stream, in order, a few
        records at most, each with its items' places in the input partition."""
        if k.batch == 1:
            for i, value in enumerate(values):
                await send_ordered(where, value, at[i : i + 1], published)
            return
        start = 0
        while start < len(values):
            end, size = start, 0
            while end < len(values) and (end == start or size + len(values[end]) < BATCH_BYTES):
                size += len(values[end]) + 1
                end += 1
            chunk = values[start:end]
            value = chunk[0] if len(chunk) == 1 else BATCH + b",".join(chunk) + b"]}"
            await send_ordered(where, value, at[start:end], published)
            start = end

    async def send_ordered(
        where: str, value: bytes, at: list[Place], published: float | None
    ) -> None:
        headers = {"source": where.encode(), "places": encode_places(at)}
        if published is not None:
            headers["published"] = repr(published).encode()
        await events.send(key=shell.key, value=value, headers=headers)

    @app.agent(closures_in, name=AGENT_CLOSURES)
    async def closures(stream: Any) -> None:
        async for event in stream.events():
            message = event.message
            origin = Origin(
                source="kafka", topic=message.topic, partition=message.partition,
                offset=message.offset,
                key=(message.key or b"").decode("utf-8", "replace") or None,
            )  # fmt: skip
            item = decode_closure(event.value, origin, now())
            if isinstance(item, DeadLetter):
                await deadletters.send(key=message.key, value=item.model_dump_json().encode())
                metrics.dead_lettered(CLOSURE_SOURCE, item.reason, item.error_type)
            else:
                await events.send(
                    key=shell.key,
                    value=item.model_dump_json().encode(),
                    headers={"source": CLOSURE_SOURCE.encode()},
                )
                metrics.consumed(CLOSURE_SOURCE)
            shell.done[(message.topic, message.partition)] = message.offset

    @app.agent(events, name=AGENT_CORE)
    async def core(stream: Any) -> None:
        async for batch in batches(stream, k.batch):
            own = None
            started, closed = time.perf_counter(), shell.core.closed
            for event in batch:
                processing(event)
                await core_record(event)
                if event.message.partition == shell.events_partition:
                    own = event
            metrics.core_batch_done(time.perf_counter() - started)
            settled = shell.core.closed == closed and not shell.core.markers
            if own is not None and checkpoint_due(
                time.monotonic() - shell.last_checkpoint, k.checkpoint_seconds, settled
            ):
                # The checkpoint belongs to the dataset's partition of the table, whichever
                # dataset's record the batch ended with.
                processing(own)
                await checkpoint()

    async def core_record(event: Any) -> None:
        try:
            await core_handle(event)
        finally:
            shell.taken += 1
            if event.value and not event.value.startswith(b'{"type":"tick"'):
                # Quiet is measured from the end of the last record: one record may carry
                # thousands of events, and its own processing time is not a quiet stream.
                shell.last_activity = time.monotonic()

    async def core_handle(event: Any) -> None:
        message = event.message
        if message.key != shell.key:
            return  # another dataset's ordered stream
        if not shell.restored:
            try:
                await restore(message.offset)
            except Exception as exc:
                exit_if_infrastructure(exc, "the core agent (restoring)")
                raise
        elif message.offset > shell.core.position + 1:
            tp = TopicPartition(message.topic, message.partition)
            await read_directly(gap(tp, range(shell.core.position + 1, message.offset)))
        shell.done[(message.topic, message.partition)] = message.offset
        if shell.core.covered(message.offset):
            return
        headers = dict(event.headers or {})
        try:
            await handle(message.offset, event.value, headers)
        except Exception as exc:  # a bug met by data must not stop the stream
            # The broker, not the record: nothing to quarantine. The worker ends (status 70)
            # before faust acknowledges the record, and a fresh one resumes from the checkpoint
            # and reads it again.
            exit_if_infrastructure(exc, "the core agent")
            await quarantine(message.offset, event.value, exc)
            return
        if "published" in headers:
            metrics.processed(time.time() - float(headers["published"]))

    async def quarantine(offset: int, value: bytes, exc: Exception) -> None:
        """Dead-letter the record that made the core fail and go back to the last checkpoint.

        The engine may have been half-way through the record, so its state is not trusted: the
        next record reloads the checkpoint, and the records after it are read again — all but
        this one.
        """
        log.exception("core failed on record %s of %s; quarantined", offset, names.events)
        shell.poison.add(offset)
        origin = Origin(source="kafka", topic=names.events, offset=offset)
        summary = f"the engine failed on this record: {type(exc).__name__}: {exc}"
        letter = dead_letter(value, origin, now(), "processing", type(exc).__name__, summary)
        await send_rejection(offset, letter)
        shell.restored = False
        observer.release()

    async def handle(offset: int, value: bytes, headers: Mapping[str, bytes]) -> None:
        if offset in shell.poison:
            shell.core.skip(offset)
            return
        if value == TICK or value.startswith(TICK_AFTER):
            if value == TICK:
                quiet = time.monotonic() - shell.last_activity >= k.idle_seconds
            else:
                quiet = shell.core.fed <= json.loads(value)["after"]
            if quiet and shell.core.dirty:
                await publish(shell.core.flush(offset), offset, value)
                await checkpoint()
            else:
                shell.core.skip(offset)
            return
        if value.startswith(IDLE_TICK):
            # Quiet input partitions, named by the shell's timer: a decision recorded in the log.
            await publish(shell.core.idle(json.loads(value)["idle"], offset), offset, value)
            return
        shell.last_activity = time.monotonic()
        source = headers.get("source", b"").decode()
        if source == CLOSURE_SOURCE:
            # Validated by the closures agent; a record that is not one fails here and is
            # quarantined like any record the core fails on.
            closure = StaffClosure.model_validate_json(value)
            await publish(shell.core.close(closure, offset), offset, value)
            return
        origin = Origin(source="kafka", topic=names.events, offset=offset)
        item: Event | DeadLetter | ReleaseEnd | list[Event | ReleaseEnd]
        if value.startswith(BATCH):
            try:
                item = ordered_items(value, core_decoder)
            except ValidationError as exc:
                first = exc.errors(include_url=False)[0]
                item = dead_letter(value, origin, now(), "validation", first["type"],
                                   f"not a batch of events: {first['msg']}")  # fmt: skip
            except ValueError as exc:  # (not JSON, or not the shape of a batch)
                item = dead_letter(value, origin, now(), "decode", "invalid_batch", str(exc))
        else:
            item = decode(value, origin, now())
            if isinstance(item, DeadLetter) and is_marker(value):
                with contextlib.suppress(ValidationError):  # else it stays a dead letter
                    item = ReleaseEnd.model_validate_json(value)
        if isinstance(item, DeadLetter) or source not in shell.core.buffer.sources:
            # Only the ingest agent writes here; anything else is a foreign producer's record.
            reason = item.summary if isinstance(item, DeadLetter) else f"unknown source {source!r}"
            letter = dead_letter(
                value, Origin(source="kafka", topic=names.events, offset=offset), now(),
                "processing", "foreign_record", reason,
            )  # fmt: skip
            await send_rejection(offset, letter)
            shell.core.skip(offset)
            return
        shell.last_seen[source] = time.monotonic()
        started = time.perf_counter()
        items = item if isinstance(item, list) else [item]
        at = decode_places(headers.get("places"), len(items))
        rejections, copies = 0, shell.core.copies
        steps = shell.core.receive_record(items, source, offset, at)
        metrics.copies_skipped(shell.core.copies - copies)
        for outputs, judged in steps:
            rejections = await publish(outputs, offset, value, rejections)
            for release in judged:  # after its alerts: "judged, all of it out"
                ack = release.model_dump_json().encode()
                await releases.send(key=release.dataset.encode(), value=ack, force=True)
                metrics.release_judged(time.perf_counter() - started)

    async def publish(outputs: list[Output], offset: int, value: bytes, rejections: int = 0) -> int:
        """Send ``outputs`` of the record at ``offset``; ``rejections`` it caused so far, and
        after (each has its own dead letter key)."""
        for output in outputs:
            if isinstance(output, Alert):
                observer.emitted(output)  # Alertmanager posts are idempotent: always
                if (output.id, output.sequence) in shell.published:
                    # Published by a previous owner before it stopped: alerts are deterministic.
                    shell.published.discard((output.id, output.sequence))
                    continue
                # force: send now, not when the record is acknowledged, so that a checkpoint
                # taken after this record also covers what it produced.
                await alerts.send(
                    key=output.group.encode(), value=output.model_dump_json().encode(), force=True
                )
                observer.published(output)
            else:
                origin = Origin(source="kafka", topic=names.events, offset=offset)
                letter = dead_letter(
                    value, origin, now(), "validation", output.error_type, output.summary
                )
                # One record may carry many events: the n-th rejection it caused has its own key.
                await send_rejection(offset, letter, rejections)
                rejections += 1
        return rejections

    async def send_rejection(offset: int, letter: DeadLetter, index: int = 0) -> None:
        key = b"core:" + str(offset).encode() + (b"." + str(index).encode() if index else b"")
        if key in shell.rejected:
            shell.rejected.discard(key)
        else:
            await deadletters.send(key=key, value=letter.model_dump_json().encode(), force=True)
            metrics.dead_lettered("unknown", letter.reason, letter.error_type)

    async def restore(first_offset: int) -> None:
        manifest = table.get(f"{k.dataset}/manifest")
        data: dict[str, Any] | None = None
        marks: dict[str, dict[str, int]] = {}
        if manifest is not None:
            head = manifest
            prefix = f"{k.dataset}/chunk/{head['generation']}"
            blob = b"".join(base64.b64decode(table[f"{prefix}/{i}"]) for i in range(head["chunks"]))
            data = json.loads(gzip.decompress(blob))
            marks = head["ends"]
            shell.generation = head["generation"]
        shell.core.restore(data)
        shell.published, shell.rejected = await read_back(k.bootstrap, names, partitions, marks)
        if manifest is not None:
            # What an earlier owner published before that checkpoint but this state has not
            # produced yet (carried over from owner to owner until it is produced).
            shell.published |= {(i, s) for i, s in manifest.get("published", [])}
            shell.rejected |= {r.encode() for r in manifest.get("rejected", [])}
            shell.poison |= set(manifest.get("poison", []))
        shell.restored = True
        log.info(
            "core restored at offset %s (checkpoint %s); %s alert versions already published",
            shell.core.position, shell.generation, len(shell.published),
        )  # fmt: skip
        # Records between the checkpoint and the first one faust delivers (committed by the
        # previous owner before it died) are read directly: nothing in between is lost.
        await read_directly(range(shell.core.position + 1, first_offset))

    async def read_directly(missing: range) -> None:
        """Records of the ordered stream faust did not deliver, read from the broker and handled
        in order (another dataset's are only stepped over)."""
        tp = TopicPartition(names.events, shell.events_partition)
        async for offset, key, value, headers in read_range(k.bootstrap, tp, missing):
            if key == shell.key:
                await handle(offset, value, headers)
            else:
                shell.core.skip(offset)

    async def checkpoint() -> None:
        started = time.perf_counter()
        await app.producer.flush()
        outputs = {name: partitions[name] for name in (names.alerts, names.deadletter)}
        ends = await end_offsets(k.bootstrap, outputs)
        blob = gzip.compress(encode_checkpoint(shell.core.checkpoint()), 5)
        generation = shell.generation + 1
        chunks = [blob[i : i + CHUNK_BYTES] for i in range(0, len(blob), CHUNK_BYTES)]
        for i, chunk in enumerate(chunks):
            table[f"{k.dataset}/chunk/{generation}/{i}"] = base64.b64encode(chunk).decode("ascii")
        previous = table.get(f"{k.dataset}/manifest")
        head = {
            "generation": generation,
            "chunks": len(chunks),
            "ends": ends,
            "published": sorted([i, s] for i, s in shell.published),
            "rejected": sorted(r.decode() for r in shell.rejected),
            "poison": sorted(shell.poison),
        }
        table[f"{k.dataset}/manifest"] = head
        if previous is not None:
            for i in range(previous["chunks"]):
                table.pop(f"{k.dataset}/chunk/{previous['generation']}/{i}", None)
        shell.generation = generation
        shell.last_checkpoint = time.monotonic()
        shell.checkpoints_written += 1
        shell.after_checkpoint(shell.checkpoints_written)
        metrics.checkpointed(len(blob), time.perf_counter() - started)

    @app.on_partitions_assigned.connect
    async def assigned(sender: Any, /, *args: Any, signal: Any, **kwargs: Any) -> None:
        tps = args[0] if args else kwargs.get("assigned", set())
        owner = any(
            tp.topic == names.events and tp.partition == shell.events_partition for tp in tps
        )
        if owner and not shell.owner:
            shell.restored = False  # (re)load the checkpoint at the first record
        if shell.owner and not owner:
            observer.release()
        shell.owner = owner
        shell.assigned = {(tp.topic, tp.partition) for tp in tps}
        # A partition away and back may have been read meanwhile by another worker.
        shell.ingested = {p: o for p, o in shell.ingested.items() if p in shell.assigned}

    @app.timer(interval=1.0)
    async def tick() -> None:
        # The wall clock lives here, in the shell: a quiet stream gets a tick on the ordered
        # stream itself, so the flush happens at a definite place in the log.
        # A new owner restores at its first record: if the stream has nothing new for it (the
        # previous owner had read everything), a tick is that first record.
        waking = shell.owner and not shell.restored
        quiet = time.monotonic() - shell.last_activity >= k.idle_seconds
        if waking:  # (naming no record: it wakes the new owner, and flushes nothing)
            await events.send(key=shell.key, value=quiet_tick(-1), partition=shell.events_partition)
        elif shell.owner and shell.core.dirty and quiet and not ingesting(app, shell):
            value = quiet_tick(shell.core.fed)
            await events.send(key=shell.key, value=value, partition=shell.events_partition)
        elif shell.owner and shell.restored and shell.core.dirty and k.partition_idle_seconds:
            # Per-partition idleness: a quiet input partition stops holding the watermark.
            idle = quiet_sources(
                shell, time.monotonic(), k.partition_idle_seconds, caught_up(app, shell)
            )
            if idle:
                value = IDLE_TICK + json.dumps(idle).encode() + b"}"
                await events.send(key=shell.key, value=value, partition=shell.events_partition)

    @app.timer(interval=1.0)
    async def observe() -> None:
        # The picture (open alerts) and Alertmanager re-posts come from the engine's own state,
        # so they survive restarts and rebalances: only the worker holding the engine shows them.
        if shell.owner and shell.restored:
            observer.refresh(shell.core.engine)
        lag = consumer_lag(app, shell)
        metrics.set_lag(lag)
        shell.note_progress(sum(lag.values()))

    @app.task
    async def watch() -> None:
        # Faust runs app tasks once the first rebalance is complete: the stall arm starts here.
        shell.observed_at = shell.progress_at = time.monotonic()
        shell.watching = True

    app.tutka_shell = shell  # type: ignore[attr-defined]
    app.tutka_observer = observer  # type: ignore[attr-defined]
    app.tutka_deliveries = install_delivery(app, settings, hierarchy, metrics)  # type: ignore[attr-defined]
    return app


class Gathering:
    """What the ingest has gathered for the ordered stream since it last sent: the valid events
    and markers of each input partition in order (so a marker follows its release's events),
    each with its place (input offset, index among the items sent on from that record)."""

    def __init__(self) -> None:
        self.values: dict[str, list[bytes]] = {}
        self.places: dict[str, list[Place]] = {}
        #: When the oldest event gathered per partition was published: a record's latency is
        #: that of the event in it that waited longest.
        self.earliest: dict[str, float] = {}
        #: The last input offset taken per partition (finished once sent on).
        self.finished: dict[tuple[str, int], int] = {}
        #: Items taken (events, markers and dead letters) since the last send.
        self.events = 0

    def add(self, where: str, value: bytes, place: Place) -> None:
        self.values.setdefault(where, []).append(value)
        self.places.setdefault(where, []).append(place)

    def clear(self) -> None:
        self.values.clear()
        self.places.clear()
        self.earliest.clear()
        self.finished.clear()
        self.events = 0


def checkpoint_due(since: float, every: float, settled: bool) -> bool:
    """Whether the core checkpoints now, ``since`` seconds after the last checkpoint.

    A checkpoint stops the event loop for a second or more (10 000 series). Taken while
    releases are being completed (the batch closed one, or markers wait for the rest), it holds
    back the releases right behind — in ``tutka bench kafka`` the next day's notices, whose
    alerts came a second later. So a checkpoint due after ``every`` seconds waits for a
    ``settled`` batch (no release closed, no markers pending: a release is being collected, or
    the stream is quiet), but not beyond ``CHECKPOINT_PATIENCE`` times ``every``.
    """
    return since >= every * (1 if settled else CHECKPOINT_PATIENCE)


def encode_checkpoint(data: Mapping[str, Any]) -> bytes:
    """A checkpoint as JSON that ``json.loads`` reads back as ``json.dumps`` would have written it.

    pydantic-core's encoder (NaN and Infinity as json writes them): about three times as fast as
    ``json.dumps`` on a 10 000-series engine (0.16 s instead of 0.45 s, the event loop blocked).
    """
    return to_json(data, inf_nan_mode="constants")


def consumer_class(fetch_wait_ms: int) -> type[Any]:
    """Faust's Kafka consumer with ``fetch_wait_ms`` as the fetch's longest wait at the broker.

    Faust fixes aiokafka's ``fetch_max_wait_ms`` at 1500. aiokafka leaves a partition whose
    fetched records the agents have not taken yet out of the next fetch request, and sends no
    other request to that broker until the one in flight returns: when the partitions in the
    request are quiet (the alerts topic, the closures), new records of the busy ones wait up to
    that long. Measured with ``tutka bench kafka``: stalls of 0.4-1.7 s between a release's last
    records and the core.
    """

    class Thread(AIOKafkaConsumerThread):
        def _create_worker_consumer(self, transport: Any) -> Any:
            consumer = super()._create_worker_consumer(transport)
            consumer._fetch_max_wait_ms = fetch_wait_ms  # noqa: SLF001 (read when it starts)
            return consumer

    class Consumer(AIOKafkaTransportConsumer):
        def _new_consumer_thread(self) -> Thread:
            return Thread(self, loop=self.loop, beacon=self.beacon)

    return Consumer


def processing(event: Any) -> None:
    """``event`` is the one this task processes now: the table writes to its partition.

    Faust's tables find the partition of a write in the task-local ``current_event`` context
    variable, which faust sets only inside its own one-at-a-time iteration. For a batch of
    ``take_events`` it is set here, per record, in this task's context only (it stays set after
    the batch, for the checkpoint that follows). Never through ``Stream._set_current_event``:
    that also sets the stream's shared ``current_event``, which ``take_events``'s background
    reader takes for the record it adds once the batch being processed is done. A record arriving
    during a batch was then replaced by the batch's last one (read twice) and never processed,
    and the worker's alerts differed from replay's.
    """
    _current_event.set(weakref.ref(event))


async def batches(stream: Any, size: int) -> AsyncIterator[list[Any]]:
    """A stream's events in batches of up to ``size`` (one at a time when it is 1)."""
    if size > 1:
        async for batch in stream.take_events(size, within=TAKE_WITHIN):
            yield list(batch)
    else:
        async for event in stream.events():
            yield [event]


def quiet_sources(
    shell: Shell, now: float, idle_seconds: float, caught: set[tuple[str, int]]
) -> list[str]:
    """Input partitions to name idle: nothing from them for ``idle_seconds``, not yet idle.

    Only a partition this worker has read to its end (``caught``), with the ordered stream read
    to its end as well, counts as quiet: a partition merely behind others (a backlog) is not.
    """
    core = shell.core
    if (shell.topics.events, shell.events_partition) not in caught:
        return []
    return [
        source
        for source in core.sources
        if source not in core.buffer.idle
        and (source.rsplit(":", 1)[0], int(source.rsplit(":", 1)[1])) in caught
        and now - shell.last_seen.get(source, shell.started) >= idle_seconds
    ]


def encode_places(places: Sequence[Place]) -> bytes:
    """Items' places as runs: ``[offset, first index, count]`` for items of one record, and
    ``[first offset, last offset]`` for records of one item each. ``[[7,0,500]]``: 500 items of
    the record at offset 7; ``[[7,9]]``: the records at offsets 7 to 9, an event each."""
    runs: list[list[int]] = []
    for offset, index in places:
        last = runs[-1] if runs else None
        if last is not None and last[0] == offset and last[1] + last[2] == index:
            last[2] += 1
        else:
            runs.append([offset, index, 1])
    merged: list[list[int]] = []
    for run in runs:
        last = merged[-1] if merged else None
        single = run[1:] == [0, 1]
        if single and last is not None and len(last) == 2 and last[1] + 1 == run[0]:
            last[1] = run[0]
        elif single:
            merged.append([run[0], run[0]])
        else:
            merged.append(run)
    return json.dumps(merged, separators=(",", ":")).encode()


def decode_places(header: bytes | None, items: int) -> list[Place] | None:
    """The places :func:`encode_places` wrote, one per item; None without them (a record from
    before they were written), or when they do not add up to ``items``."""
    if header is None:
        return None
    try:
        places: list[Place] = []
        for run in json.loads(header):
            if len(run) == 2:
                first, last = run
                if last - first >= items - len(places):  # (more than the items: no use)
                    return None
                places.extend((o, 0) for o in range(first, last + 1))
            else:
                offset, index, count = run
                if count > items - len(places):
                    return None
                places.extend((offset, index + n) for n in range(count))
    except (ValueError, TypeError):
        return None
    if len(places) != items or any(type(o) is not int or type(i) is not int for o, i in places):
        return None
    return places


def quiet_tick(after: int) -> bytes:
    """A tick: flush, if no record with input came after the one at offset ``after``."""
    return TICK_AFTER + str(after).encode() + b"}"


def ingesting(app: faust.App, shell: Shell) -> bool:
    """Whether this worker's ingest has input records it has not finished: then the ordered
    stream is not quiet, only waiting for them (a long batch of batch records holds the event
    loop for seconds, and a tick written before what it sends would judge a release early)."""
    lag = consumer_lag(app, shell)
    return any(lag.get(topic, 0) > 0 for topic in shell.topics.inputs)


def caught_up(app: faust.App, shell: Shell) -> set[tuple[str, int]]:
    """This worker's partitions whose every record (as of faust's last fetch) is finished."""
    monitor = app.monitor
    ends = getattr(monitor, "tp_end_offsets", {})
    committed = getattr(monitor, "tp_committed_offsets", {})
    out: set[tuple[str, int]] = set()
    for tp, end in ends.items():
        key = (tp.topic, tp.partition)
        if key not in shell.assigned:
            continue
        done = shell.done.get(key)
        if (done is not None and done + 1 >= end) or committed.get(tp, -1) >= end or end == 0:
            out.add(key)
    return out


def consumer_lag(app: faust.App, shell: Shell) -> dict[str, int]:
    """Records not yet finished in this worker's partitions of the stream topics, per topic.

    The end of a partition is the high-water mark faust saw at its last fetch. What is finished is
    what our agents completed (not merely fetched), so a stuck agent shows as growing lag; for a
    partition our agents have not reported on, faust's read or committed offset stands in.
    """
    monitor = app.monitor
    ends = getattr(monitor, "tp_end_offsets", {})
    read = getattr(monitor, "tp_read_offsets", {})
    committed = getattr(monitor, "tp_committed_offsets", {})
    watched = {*shell.topics.inputs, shell.topics.events, shell.topics.alerts,
               shell.topics.closures}  # fmt: skip
    lag: dict[str, int] = {topic: 0 for topic, _ in shell.assigned if topic in watched}
    for tp, end in ends.items():
        key = (tp.topic, tp.partition)
        if tp.topic not in watched or key not in shell.assigned:
            continue
        done = shell.done.get(key, read.get(tp))
        if done is not None:
            waiting = end - (done + 1)
        elif tp in committed:
            waiting = end - committed[tp]
        else:
            continue
        lag[tp.topic] += max(0, waiting)
    return lag


async def end_offsets(bootstrap: str, partitions: Mapping[str, int]) -> dict[str, dict[str, int]]:
    """The current end offset of every partition of the given topics."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        out: dict[str, dict[str, int]] = {}
        for name, count in partitions.items():
            ends = await consumer.end_offsets([TopicPartition(name, p) for p in range(count)])
            out[name] = {str(tp.partition): offset for tp, offset in ends.items()}
        return out
    finally:
        await consumer.stop()


async def read_back(
    bootstrap: str,
    names: Topics,
    partitions: Mapping[str, int],
    marks: Mapping[str, Mapping[str, int]],
) -> tuple[set[tuple[str, int]], set[bytes]]:
    """Alert versions and core dead letters published after the checkpoint's end offsets."""
    published: set[tuple[str, int]] = set()
    rejected: set[bytes] = set()
    for name in (names.alerts, names.deadletter):
        async for record in read_topic(bootstrap, name, partitions[name], marks.get(name, {})):
            if name == names.alerts and record.value:
                alert = json.loads(record.value)
                published.add((alert["id"], alert["sequence"]))
            elif record.key and record.key.startswith(b"core:"):
                rejected.add(record.key)
    return published, rejected


async def read_topic(
    bootstrap: str, name: str, partitions: int, start: Mapping[str, int]
) -> AsyncIterator[Any]:
    """Every record of ``name`` from ``start`` (offset per partition; default 0) to its end."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        tps = [TopicPartition(name, p) for p in range(partitions)]
        ends = await consumer.end_offsets(tps)
        consumer.assign(tps)
        for tp in tps:
            consumer.seek(tp, start.get(str(tp.partition), 0))
        remaining = {tp for tp in tps if await consumer.position(tp) < ends[tp]}
        while remaining:
            batch = await consumer.getmany(*remaining, timeout_ms=1000)
            for records in batch.values():
                for record in records:
                    yield record
            remaining = {tp for tp in remaining if await consumer.position(tp) < ends[tp]}
    finally:
        await consumer.stop()


async def read_range(
    bootstrap: str, tp: TopicPartition, offsets: range
) -> AsyncIterator[tuple[int, bytes | None, bytes, dict[str, bytes]]]:
    """Records of one partition in ``offsets``, read directly (not through the group)."""
    if not offsets:
        return
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign([tp])
        consumer.seek(tp, offsets.start)
        while await consumer.position(tp) < offsets.stop:
            batch = await consumer.getmany(tp, timeout_ms=1000)
            for record in batch.get(tp, []):
                if record.offset >= offsets.stop:
                    return
                headers = {name: value for name, value in (record.headers or ())}
                yield record.offset, record.key, record.value, headers
    finally:
        await consumer.stop()


def discover_partitions(bootstrap: str, names: Topics) -> dict[str, int]:
    """How many partitions the topics really have (they may predate our settings)."""
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(bootstrap_servers=bootstrap)
    try:
        counts = {}
        for name in (*names.inputs, names.events, names.alerts, names.deadletter):
            parts = consumer.partitions_for_topic(name)
            if not parts:
                raise RuntimeError(f"topic {name} does not exist on {bootstrap}")
            counts[name] = len(parts)
        return counts
    finally:
        consumer.close()


def freeze_after_checkpoint(written: int, thaw_every: int = GC_THAW_EVERY) -> None:
    """Keep what lives long (the engine's state) out of the cyclic garbage collector's walks.

    With 10 000 series every full collection walks the whole engine — 0.2-0.4 s with the event
    loop stopped, several a minute, freeing next to nothing (measured in ``tutka bench kafka``),
    and often just after a release, when its alerts are due. After a checkpoint everything
    alive is frozen (:func:`gc.freeze`, as the replay does): later collections walk only what
    came after. The engine makes no cyclic garbage, but faust and asyncio may, and cycles that
    die while frozen are not freed: so every ``thaw_every``-th checkpoint thaws and collects
    everything once (that checkpoint's pause is longer).
    """
    if written % thaw_every == 0:
        gc.unfreeze()
        gc.collect()
    gc.freeze()


def build(settings: Settings, hierarchy: Hierarchy, catalogue: Catalogue,
          sectors: Mapping[str, Localized]) -> faust.App:  # fmt: skip
    """Create missing topics and the app, ready for a faust worker (metrics served, watched)."""
    k = settings.kafka
    ensure_topics(k)
    partitions = discover_partitions(k.bootstrap, topics_for(k))
    observer = Observer.create(hierarchy, settings.metrics, settings.alertmanager)
    app = create_app(settings, hierarchy, catalogue, sectors, partitions, observer)
    shell: Shell = app.tutka_shell  # type: ignore[attr-defined]
    shell.after_checkpoint = freeze_after_checkpoint
    # The loop the worker runs (``tutka worker`` hands faust's worker this one): the loop arm
    # pings it from the start, so a loop blocked before the first rebalance is seen as well.
    start_watchdog(
        lambda now: watchdog_check(
            shell, app, now, k.stall_seconds, k.start_seconds, k.loop_seconds
        ),
        beat=ping(app.loop, shell.pings),
    )
    return app


def watchdog_check(
    shell: Shell,
    app: faust.App,
    now: float,
    stall_seconds: float,
    start_seconds: float,
    loop_seconds: float | None = None,
) -> str | None:
    """The watchdog's look, once a second from its thread: recovery's progress, then the verdict.

    Recovery is read only once faust has begun a rebalance: by then its table manager has made
    its recovery service (reading it earlier would make one from this thread).
    """
    rebalance = shell.start.rebalance
    if rebalance is not None and rebalance.begun:
        shell.start.note_recovery(recovery_position(app), now)
    return shell.verdict(now, stall_seconds, start_seconds, consumer_generation(app), loop_seconds)
