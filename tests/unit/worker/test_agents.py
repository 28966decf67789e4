"""The faust agents without a broker (faust's ``agent.test_context()``): what goes where.

Every topic's ``send`` is replaced by a recorder, and the few direct reads of Kafka the core agent
makes when it takes over (what was published after its checkpoint, the records between the
checkpoint and the first one faust delivers, end offsets) by stand-ins over what the test put on
the ordered stream. What the agents decide — forward or dead-letter, publish or skip as already
published, checkpoint, quarantine — is then visible without a broker.
"""

from __future__ import annotations

import asyncio
import base64
import gc
import gzip
import json
import random
import time
import weakref
from collections import Counter
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import faust.topics
import pytest
from faust.types import TP
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry
from pydantic import SecretStr, TypeAdapter

from tests.receiver import PostRecorder
from tutka.config.settings import AlertmanagerSettings, KafkaSettings, Settings, WebhookSettings
from tutka.models.alerts import Alert
from tutka.models.deadletter import DeadLetter
from tutka.models.events import Event as EventUnion
from tutka.models.markers import ReleaseEnd, ReleaseJudged
from tutka.models.subscriptions import (
    Subscription,
    SubscriptionUpserted,
    WebhookDelivery,
    apply_change,
)
from tutka.monitoring.observe import Observer
from tutka.worker import app as worker_app
from tutka.worker.core import CoreProcessor
from tutka.worker.delivery import AGENT_DELIVER
from tutka.worker.topics import Topics, topics_for

from .market import CATALOGUE, KINDS, SOURCES, Event, H, Run, partition_logs, releases

DATASET = b"tyonv"
EVENT: TypeAdapter[EventUnion] = TypeAdapter(EventUnion)


@dataclass(frozen=True)
class Sent:
    """One record an agent produced."""

    topic: str
    key: bytes | None
    value: bytes
    headers: dict[str, bytes]


@dataclass
class Worker:
    """The app of one worker, what it sent, and the Kafka it would have read directly."""

    app: faust.App
    names: Topics
    registry: CollectorRegistry
    sent: list[Sent] = field(default_factory=list)
    #: The ordered stream as put so far: offset → (key, value, headers), for read_range.
    log: dict[int, tuple[bytes, bytes, dict[str, bytes]]] = field(default_factory=dict)
    #: What read_back finds published after a checkpoint (alert versions, core dead letters).
    published_after: set[tuple[str, int]] = field(default_factory=set)
    #: Input records in their partitions that faust never handed over, for read_range.
    dropped: dict[tuple[str, int], dict[int, tuple[bytes, bytes, dict[str, bytes]]]] = field(
        default_factory=dict
    )

    @property
    def shell(self) -> worker_app.Shell:
        return self.app.tutka_shell  # type: ignore[no-any-return]

    def on(self, topic: str) -> list[Sent]:
        return [s for s in self.sent if s.topic == topic]

    def alerts(self) -> list[Alert]:
        return [Alert.model_validate_json(s.value) for s in self.on(self.names.alerts)]

    def letters(self) -> list[tuple[bytes | None, DeadLetter]]:
        out = self.on(self.names.deadletter)
        return [(s.key, DeadLetter.model_validate_json(s.value)) for s in out]

    def counted(self, name: str, **labels: str) -> float:
        return self.registry.get_sample_value(name, labels) or 0.0

    def table(self) -> Any:
        return self.app.tables["engine"]

    def subscribe(self, subscription_id: str, owner: str, url: str) -> None:
        """A webhook subscription, as if the follower had read it from the subscriptions topic."""
        deliveries = self.app.tutka_deliveries  # type: ignore[attr-defined]
        subscription = Subscription(
            id=subscription_id, owner=owner, delivery=WebhookDelivery(url=url),  # type: ignore[arg-type]
            created="2024-01-01",  # type: ignore[arg-type]
        )  # fmt: skip
        deliveries.book, outcome = apply_change(
            deliveries.book, SubscriptionUpserted(subscription=subscription)
        )
        assert outcome == "added"


@pytest.fixture
def worker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> Iterator[Worker]:
    # One record per batch unless a test asks for more (indirect parametrisation): ``put`` then
    # returns once the agent has handled it, and the tests rely on it.
    batch = getattr(request, "param", 1)
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        kafka=KafkaSettings(
            data_dir=tmp_path / "worker", partitions=1, dataset=DATASET.decode(), batch=batch
        ),
        webhook=WebhookSettings(
            signing_key=SecretStr("unit-test-master-key-of-at-least-32-bytes"),
            max_attempts=1,
            allow_private_targets=True,  # the receivers are on 127.0.0.1, over http
            patience_seconds=1e-6,  # a receiver down after one round: park at once
        ),
    )
    names = topics_for(settings.kafka)
    partitions = {t: 1 for t in (*names.inputs, names.events, names.alerts, names.deadletter)}
    partitions[names.vacancies] = 2  # as in SOURCES
    registry = CollectorRegistry()
    observer = Observer.create(H, None, AlertmanagerSettings(), registry=registry)
    app = worker_app.create_app(settings, H, CATALOGUE, {}, partitions, observer)
    w = Worker(app, names, registry)

    async def send(topic: Any, *, key: Any = None, value: Any = None, **kwargs: Any) -> None:
        w.sent.append(Sent(topic.get_topic_name(), key, value, dict(kwargs.get("headers") or {})))

    async def read_back(*args: Any) -> tuple[set[tuple[str, int]], set[bytes]]:
        return set(w.published_after), set()

    async def read_range(
        bootstrap: str, tp: Any, offsets: range
    ) -> AsyncIterator[tuple[int, bytes, bytes, dict[str, bytes]]]:
        log = w.log if tp.topic == w.names.events else w.dropped[(tp.topic, tp.partition)]
        for offset in offsets:
            yield (offset, *log[offset])

    async def end_offsets(bootstrap: str, counts: Mapping[str, int]) -> dict[str, dict[str, int]]:
        return {name: {"0": len(w.on(name))} for name in counts}

    async def flush() -> None:
        pass

    monkeypatch.setattr(faust.topics.Topic, "send", send)
    monkeypatch.setattr(worker_app, "read_back", read_back)
    monkeypatch.setattr(worker_app, "read_range", read_range)
    monkeypatch.setattr(worker_app, "end_offsets", end_offsets)
    monkeypatch.setattr(app.producer, "flush", flush)
    app.finalize()
    yield w
    observer.pusher.stop()


async def put_on(
    agent: Any,
    topic: str,
    value: bytes,
    key: bytes | None = None,
    partition: int | None = None,
    wait: bool = True,
) -> None:
    """``agent.put`` of a record of ``topic``: the test wrapper names a record's topic only for
    agents that read one topic, and ingest reads three. Offsets count per partition, as
    Kafka's do (the wrapper counts over all it was given)."""
    to_message = agent.to_message
    offsets: dict[tuple[str, int | None], int] = agent.__dict__.setdefault("offsets", {})

    def on_topic(*args: Any, **kwargs: Any) -> Any:
        message = to_message(*args, **kwargs)
        message.topic = topic
        message.offset = offsets.get((topic, partition), 0)
        offsets[(topic, partition)] = message.offset + 1
        return message

    agent.to_message = on_topic
    try:
        await agent.put(value, key=key, partition=partition, wait=wait)
    finally:
        del agent.to_message


async def put_events(w: Worker, agent: Any, records: list[tuple[str, Event]]) -> None:
    """Records on the ordered stream as ingest writes them: keyed by dataset, tagged by source.

    ``put`` returns when the agent takes the next record from its stream; as the stand-ins never
    wait, the core agent has then handled the record completely.
    """
    for source, event in records:
        await put_record(w, agent, event.model_dump_json().encode(), {"source": source.encode()})


async def put_record(
    w: Worker, agent: Any, value: bytes, headers: dict[str, bytes], key: bytes = DATASET
) -> None:
    w.log[agent.sent_offset] = (key, value, headers)
    taken = w.shell.taken
    await agent.put(value, key=key, headers=headers)
    # The core takes records in batches: wait until it has finished with this one.
    for _ in range(5000):
        if w.shell.taken > taken:
            return
        await asyncio.sleep(0.001)
    raise AssertionError("the core agent did not take the record")


def stream_is_quiet(w: Worker) -> None:
    """As if nothing had arrived for longer than ``idle_seconds``: the next tick flushes."""
    w.shell.last_activity = float("-inf")


def checkpoint_is_due(w: Worker) -> None:
    """As if ``checkpoint_seconds`` had passed: the next record handled is followed by one."""
    w.shell.last_checkpoint = float("-inf")


def stored_checkpoint(w: Worker) -> dict[str, Any]:
    """The engine checkpoint as the table holds it: a manifest and gzipped, base64 chunks."""
    table = w.table()
    head = table[f"{DATASET.decode()}/manifest"]
    prefix = f"{DATASET.decode()}/chunk/{head['generation']}"
    blob = b"".join(base64.b64decode(table[f"{prefix}/{i}"]) for i in range(head["chunks"]))
    return json.loads(gzip.decompress(blob))  # type: ignore[no-any-return]


# -- ingest ---------------------------------------------------------------------------------------


def test_ingest_forwards_valid_events_and_dead_letters_the_rest(worker: Worker, run: Run) -> None:
    names = worker.names
    figure = run.events[0]

    async def scenario() -> None:
        async with worker.app.agents[worker_app.AGENT_INGEST].test_context() as ingest:
            await put_on(ingest, names.unemployment, figure.model_dump_json().encode(), key=b"k")
            await put_on(ingest, names.unemployment, b"{not json", key=b"bad")
            await put_on(ingest, names.vacancies, figure.model_dump_json().encode(), key=b"wrong")

    asyncio.run(scenario())
    (forwarded,) = worker.on(names.events)
    assert (forwarded.key, forwarded.headers["source"]) == (DATASET, b"tutka.unemployment.v1:0")
    assert float(forwarded.headers["published"]) > 0
    assert forwarded.value == figure.model_dump_json().encode()

    letters = worker.letters()
    assert [(key, d.reason, d.error_type) for key, d in letters] == [
        (b"bad", "decode", "json_invalid"),
        (b"wrong", "validation", "wrong_topic"),
    ]
    assert [(d.origin.topic, d.origin.offset, d.origin.key) for _, d in letters] == [
        (names.unemployment, 1, "bad"),
        (names.vacancies, 0, "wrong"),  # (the first record of its partition)
    ]
    assert "belongs on tutka.unemployment.v1" in letters[1][1].summary
    consumed = "tutka_events_consumed_total"
    assert worker.counted(consumed, source="unemployment", outcome="valid") == 1
    assert worker.counted(consumed, source="unemployment", outcome="dead_letter") == 1
    assert worker.counted(consumed, source="vacancies", outcome="dead_letter") == 1


def test_ingest_takes_a_batch_record_event_by_event(worker: Worker, run: Run) -> None:
    """A batch record's valid events go on in order; each invalid one is its own dead letter
    (its payload, the record's place and its own), counted like a record of its own."""
    names = worker.names
    first, second = [e for e in run.events if e.type == "unemployment"][:2]
    bad = json.loads(first.model_dump_json())
    bad["value"] = "many"
    vacancy = next(e for e in run.events if e.type == "vacancies")
    values = [first.model_dump_json(), json.dumps(bad), second.model_dump_json(),
              vacancy.model_dump_json()]  # fmt: skip
    record = worker_app.BATCH + ",".join(values).encode() + b"]}"

    async def scenario() -> None:
        async with worker.app.agents[worker_app.AGENT_INGEST].test_context() as ingest:
            await put_on(ingest, names.unemployment, record, key=None)

    asyncio.run(scenario())
    forwarded = [r.value for r in worker.on(names.events)]
    assert forwarded == [e.model_dump_json().encode() for e in (first, second)]
    # Each names its place: the record at offset 0, the first and the second item sent on.
    places = [r.headers["places"] for r in worker.on(names.events)]
    assert places == [b"[[0,0]]", b"[[0,1,1]]"]
    letters = worker.letters()
    assert [(d.reason, d.error_type, d.origin.offset, d.origin.item) for _, d in letters] == [
        ("validation", "float_type", 0, 2),
        ("validation", "wrong_topic", 0, 4),
    ]
    assert json.loads(letters[0][1].raw) == bad
    assert json.loads(letters[1][1].raw) == json.loads(vacancy.model_dump_json())
    consumed = "tutka_events_consumed_total"
    assert worker.counted(consumed, source="unemployment", outcome="valid") == 2
    assert worker.counted(consumed, source="unemployment", outcome="dead_letter") == 2


async def until(done: Any) -> None:
    """Wait for ``done()`` while the agents run (an assertion error if it never comes)."""
    for _ in range(5000):
        if done():
            return
        await asyncio.sleep(0.002)
    raise AssertionError("the agent did not finish")


async def ingest_all(worker: Worker, items: Sequence[tuple[str, Any]]) -> None:
    """Every (source partition, event or marker) through the ingest agent, until it has sent
    on what they became (it marks a batch's records finished only then)."""
    async with worker.app.agents[worker_app.AGENT_INGEST].test_context() as ingest:
        for i, (source, item) in enumerate(items):
            topic, partition = source.rsplit(":", 1)
            value = item.model_dump_json().encode()
            await put_on(ingest, topic, value, b"k", int(partition), wait=False)
            if i % 50 == 0:
                await asyncio.sleep(0.001)
        inputs = set(worker.names.inputs)
        # Offsets count per partition: every partition finished to its last record.
        await until(
            lambda: (
                sum(o + 1 for (t, _), o in worker.shell.done.items() if t in inputs) == len(items)
            )
        )


async def core_takes_then_flushes(worker: Worker, forwarded: Sequence[Sent]) -> None:
    """The records ingest sent on, through the core agent (taken in batches); then quiet."""
    async with worker.app.agents[worker_app.AGENT_CORE].test_context() as core:
        for record in forwarded:
            worker.log[core.sent_offset] = (DATASET, record.value, record.headers)
            await core.put(record.value, key=DATASET, headers=record.headers, wait=False)
        await until(lambda: worker.shell.taken >= len(forwarded))
        stream_is_quiet(worker)
        await put_record(worker, core, worker_app.TICK, {})


@pytest.mark.slow
@pytest.mark.parametrize("worker", [64], indirect=True)
def test_batched_ingest_and_core_publish_exactly_the_replays_alerts(
    worker: Worker, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both agents taking records in batches; ingest forwarding each partition's events as one
    record of the ordered stream (split at ``BATCH_BYTES``), the core reading those."""
    monkeypatch.setattr(worker_app, "BATCH_BYTES", 4096)  # a few events a record
    names, records = worker.names, run.records

    async def scenario() -> None:
        await ingest_all(worker, records)
        forwarded = worker.on(names.events)
        assert len(forwarded) < len(records) / 3, "events go on several to a record"
        assert all(len(s.value) < 4096 + 2048 for s in forwarded)
        await core_takes_then_flushes(worker, forwarded)

    asyncio.run(scenario())
    assert worker.alerts() == [o for o in run.outputs if isinstance(o, Alert)]
    assert worker.letters() == []


@pytest.mark.slow
@pytest.mark.parametrize("worker", [64], indirect=True)
def test_ingest_sends_on_what_it_gathered_every_few_events_within_a_batch(
    worker: Worker, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch of batch records may hold a million events: ingest does not hold them (and the
    event loop) until the batch ends, and what it sends on early keeps each partition's order."""
    monkeypatch.setattr(worker_app, "FORWARD_EVENTS", 7)
    names, records = worker.names, run.records

    async def scenario() -> None:
        await ingest_all(worker, records)
        forwarded = worker.on(names.events)
        sizes = [len(json.loads(s.value).get("events", [None])) for s in forwarded]
        assert sum(sizes) == len(records) and max(sizes) <= 7
        await core_takes_then_flushes(worker, forwarded)

    asyncio.run(scenario())
    assert worker.alerts() == [o for o in run.outputs if isinstance(o, Alert)]


@pytest.mark.slow
@pytest.mark.parametrize("worker", [64], indirect=True)
def test_batched_markers_go_with_their_events_and_each_release_is_acknowledged_after_its_alerts(
    worker: Worker, run: Run
) -> None:
    """Ingest sends a batch's markers in the record of the events they follow (a burst of
    releases is a few records, not one per marker copy); the core folds such a record item by
    item: the same alerts and acknowledgements, in the same order, as one item a record."""
    names = worker.names
    logs = partition_logs(run.events)
    inputs = [(s, item) for s, queue in logs.items() for item in queue]
    rng = random.Random(5)
    order: list[tuple[str, Event | ReleaseEnd]] = []  # the partitions interleaved at random
    queues = {s: list(q) for s, q in logs.items()}
    while any(queues.values()):
        source = rng.choice([s for s, q in queues.items() if q])
        order.append((source, queues[source].pop(0)))
    assert len(order) == len(inputs)

    async def scenario() -> None:
        await ingest_all(worker, order)
        async with worker.app.agents[worker_app.AGENT_CORE].test_context() as core:
            for record in worker.on(names.events):
                worker.log[core.sent_offset] = (DATASET, record.value, record.headers)
                await core.put(record.value, key=DATASET, headers=record.headers, wait=False)
            await until(lambda: worker.shell.taken >= len(worker.on(names.events)))

    asyncio.run(scenario())
    forwarded = worker.on(names.events)
    markers = sum(isinstance(item, ReleaseEnd) for _, item in order)
    assert len(forwarded) < markers / 4, "markers go on with the events, several to a record"
    assert any(b'"release_end"' in s.value and b'"published"' in s.value[-400:] for s in forwarded)
    # The reference: the same records' items, one at a time, acknowledged as they close.
    reference = CoreProcessor(H, CATALOGUE, {}, SOURCES, KINDS)
    expected: list[tuple[str, bytes]] = []
    for offset, record in enumerate(forwarded):
        source = record.headers["source"].decode()
        value = record.value
        raw = (
            json.loads(value)["events"]
            if value.startswith(worker_app.BATCH)
            else [json.loads(value)]
        )
        for item in raw:
            if item["type"] == "release_end":
                out = reference.mark(ReleaseEnd.model_validate(item), source, offset)
            else:
                out = reference.receive(EVENT.validate_python(item), source, offset)
            expected += [(names.alerts, o.model_dump_json().encode()) for o in out
                         if isinstance(o, Alert)]  # fmt: skip
            expected += [(names.releases, j.model_dump_json().encode())
                         for j in reference.take_judged()]  # fmt: skip
    got = [(s.topic, s.value) for s in worker.sent if s.topic in (names.alerts, names.releases)]
    assert got == expected
    acks = [ReleaseJudged.model_validate_json(v) for t, v in got if t == names.releases]
    assert [a.published for a in acks] == [day for day, _ in releases(run.events)]
    assert worker.alerts() == [o for o in run.outputs if isinstance(o, Alert)]
    assert worker.letters() == []
    assert worker.counted("tutka_release_alerts_seconds_count") == len(acks)


# -- core -----------------------------------------------------------------------------------------


def test_the_core_publishes_exactly_the_replays_alerts_and_checkpoints_when_quiet(
    worker: Worker, run: Run
) -> None:
    records = run.records

    async def scenario() -> None:
        async with worker.app.agents[worker_app.AGENT_CORE].test_context() as core:
            await put_events(worker, core, records)
            stream_is_quiet(worker)
            await put_record(worker, core, worker_app.TICK, {})

    asyncio.run(scenario())
    expected = [o for o in run.outputs if isinstance(o, Alert)]
    assert worker.alerts() == expected
    assert [s.key for s in worker.on(worker.names.alerts)] == [a.group.encode() for a in expected]
    assert worker.letters() == []
    # The tick flushed what waited for quiet partitions, then checkpointed everything.
    assert worker.shell.checkpoints_written == 1 and worker.shell.core.position == len(records)
    checkpoint = stored_checkpoint(worker)
    assert checkpoint == json.loads(json.dumps(worker.shell.core.checkpoint()))
    restored = CoreProcessor(H, CATALOGUE, {}, SOURCES)
    restored.restore(checkpoint)
    assert restored.position == len(records) and not restored.dirty
    labels = {"kind": "unemployment", "polarity": "negative", "severity": expected[0].severity}
    assert worker.counted("tutka_alerts_total", status="open", **labels) == 1


@given(st.lists(st.tuples(st.integers(0, 50), st.integers(0, 3)), max_size=30))
def test_places_go_in_runs_and_come_back_as_they_were(raw: list[tuple[int, int]]) -> None:
    places = sorted(set(raw))
    assert worker_app.decode_places(worker_app.encode_places(places), len(places)) == places
    # A batch record's items are one run; records of one event each, one run apiece.
    assert worker_app.encode_places([(7, i) for i in range(500)]) == b"[[7,0,500]]"
    assert worker_app.encode_places([(7, 0), (8, 0), (9, 0)]) == b"[[7,9]]"
    assert worker_app.encode_places([(7, 0), (8, 0), (8, 1), (9, 0)]) == b"[[7,7],[8,0,2],[9,9]]"


@pytest.mark.parametrize(
    "header",
    [
        b"nonsense",
        b'[["7",0,1]]',
        b"[[7,6]]",
        b"[[7,0,2]]",
        b"[[7,8]]",
        b"{}",
        b"[7]",
        b"[[0,1000000000000]]",
    ],
)
def test_places_that_do_not_add_up_are_no_places(header: bytes) -> None:
    """Not one place an item: the record is taken as it comes, as before places were written."""
    assert worker_app.decode_places(header, 1) is None
    assert worker_app.decode_places(None, 1) is None


def test_input_records_faust_does_not_hand_over_are_read_from_the_broker(
    worker: Worker, run: Run
) -> None:
    """The same at the ingest: a record further on in its input partition than the next shows
    records faust dropped; they are read directly and go on in their place."""
    names = worker.names
    figures = [e for e in run.events if e.type == "unemployment"][:6]
    where = (names.unemployment, 0)

    async def scenario() -> None:
        async with worker.app.agents[worker_app.AGENT_INGEST].test_context() as ingest:
            offsets = ingest.__dict__.setdefault("offsets", {})
            for i, figure in enumerate(figures):
                value = figure.model_dump_json().encode()
                if i in (2, 3):  # in the partition, never handed over
                    offset = offsets[where] = offsets.get(where, 0) + 1
                    worker.dropped.setdefault(where, {})[offset - 1] = (b"k", value, {})
                    continue
                await put_on(ingest, names.unemployment, value, key=b"k", partition=0)

    asyncio.run(scenario())
    forwarded = worker.on(names.events)
    assert [r.value for r in forwarded] == [f.model_dump_json().encode() for f in figures]
    assert [r.headers["places"] for r in forwarded] == [f"[[{i},{i}]]".encode() for i in range(6)]
    assert worker.counted("tutka_gap_records_total", topic=names.unemployment) == 2


def test_records_faust_does_not_hand_over_are_read_from_the_broker(
    worker: Worker, run: Run
) -> None:
    """Around a rebalance faust drops (and acknowledges) records it fetched in the generation
    before, so they are not delivered again: the core sees the gap in the offsets and reads the
    missing records directly, in order, before the one that revealed it."""
    records, dropped = run.records, 0

    async def scenario() -> None:
        nonlocal dropped
        async with worker.app.agents[worker_app.AGENT_CORE].test_context() as core:
            for i, (source, event) in enumerate(records):
                value, headers = event.model_dump_json().encode(), {"source": source.encode()}
                if i % 7 == 3 or i == len(records) - 1:  # in the log, never handed over
                    worker.log[core.sent_offset] = (DATASET, value, headers)
                    core.sent_offset += 1
                    dropped += 1
                    continue
                await put_record(worker, core, value, headers)
            stream_is_quiet(worker)
            await put_record(worker, core, worker_app.TICK, {})

    asyncio.run(scenario())
    assert worker.alerts() == [o for o in run.outputs if isinstance(o, Alert)]
    gaps = worker.counted("tutka_gap_records_total", topic=worker.names.events)
    assert gaps == dropped > 100


def test_a_quiet_tick_flushes_by_the_record_it_names_not_by_the_readers_clock(
    worker: Worker, run: Run
) -> None:
    """A worker reading the log again after a restart is busy catching up, whatever the stream
    was when a tick was written: the tick names the last record with input its writer had, so
    the reader flushes where the writer did — and not when a record came in between."""
    records = run.records

    async def scenario() -> None:
        async with worker.app.agents[worker_app.AGENT_CORE].test_context() as core:
            await put_events(worker, core, records)
            fed = worker.shell.core.fed
            assert fed == len(records) - 1 and worker.shell.core.dirty
            stream_is_quiet(worker)  # the clock says quiet, but a record came after the one named
            await put_record(worker, core, worker_app.quiet_tick(fed - 1), {})
            assert worker.shell.core.dirty and worker.shell.checkpoints_written == 0
            worker.shell.last_activity = time.monotonic()  # the clock says busy
            await put_record(worker, core, worker_app.quiet_tick(fed), {})
            assert worker.shell.core.fed == fed, "a tick brings no input"

    asyncio.run(scenario())
    assert worker.alerts() == [o for o in run.outputs if isinstance(o, Alert)]
    assert not worker.shell.core.dirty and worker.shell.checkpoints_written == 1
    restored = CoreProcessor(H, CATALOGUE, {}, SOURCES)
    restored.restore(stored_checkpoint(worker))
    assert (restored.fed, restored.position) == (len(records) - 1, len(records) + 1)


def test_the_stream_is_not_quiet_while_ingest_has_records_to_finish(worker: Worker) -> None:
    """The quiet tick waits for this worker's ingest: a long batch of batch records holds the
    event loop, and a tick written before what the batch sends on would judge a release early."""
    topic = worker.names.unemployment
    worker.shell.assigned = {(topic, 0), (worker.names.events, 0)}
    ends = worker.app.monitor.tp_end_offsets
    ends[TP(topic, 0)] = 10
    ends[TP(worker.names.events, 0)] = 4  # the ordered stream's own backlog is the core's
    worker.shell.done[(topic, 0)] = 5
    assert worker_app.ingesting(worker.app, worker.shell)
    worker.shell.done[(topic, 0)] = 9
    assert not worker_app.ingesting(worker.app, worker.shell)


@pytest.mark.slow
@pytest.mark.parametrize("worker", [64], indirect=True)
def test_the_core_taking_records_in_batches_loses_none_that_arrive_meanwhile(
    worker: Worker, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Batches as faust's ``take_events`` makes them, with records arriving while one is handled.

    Its background reader adds a record that arrives during a batch once the batch is done, taking
    it from the stream's shared ``current_event``; the core once set that per record of its batch
    (for the table's partition), so such a record was replaced by the batch's last one and lost.
    """
    monkeypatch.setattr(worker_app, "TAKE_WITHIN", 0.005)
    records = run.records
    sent = faust.topics.Topic.send

    async def slow_send(topic: Any, **kwargs: Any) -> None:
        await asyncio.sleep(0)  # a real producer yields to the event loop
        await sent(topic, **kwargs)

    monkeypatch.setattr(faust.topics.Topic, "send", slow_send)
    offsets: list[int] = []
    handle = worker_app.CoreProcessor.receive

    def receive(core: CoreProcessor, event: Any, source: str, offset: int) -> Any:
        offsets.append(offset)
        return handle(core, event, source, offset)

    monkeypatch.setattr(worker_app.CoreProcessor, "receive", receive)

    async def scenario() -> None:
        async with worker.app.agents[worker_app.AGENT_CORE].test_context() as core:
            for i, (source, event) in enumerate(records):
                value = event.model_dump_json().encode()
                worker.log[core.sent_offset] = (DATASET, value, {"source": source.encode()})
                await core.put(value, key=DATASET, headers={"source": source.encode()}, wait=False)
                if i % 3 == 0:
                    await asyncio.sleep(0.001)  # records keep coming while batches are handled
            for _ in range(5000):
                if worker.shell.taken >= len(records):
                    break
                await asyncio.sleep(0.002)
            stream_is_quiet(worker)
            await put_record(worker, core, worker_app.TICK, {})

    asyncio.run(scenario())
    assert offsets == list(range(len(records)))  # each record once, in order
    assert worker.alerts() == [o for o in run.outputs if isinstance(o, Alert)]


def test_a_worker_taking_over_sends_no_alert_version_twice(worker: Worker, run: Run) -> None:
    records = run.records
    split = 1200

    async def scenario() -> None:
        async with worker.app.agents[worker_app.AGENT_CORE].test_context() as core:
            await put_events(worker, core, records[:split])
            checkpoint_is_due(worker)
            await put_events(worker, core, records[split : split + 1])  # checkpointed after it
            assert worker.shell.checkpoints_written == 1
            await put_events(worker, core, records[split + 1 :])
            before = worker.alerts()
            after_checkpoint = {
                (a.id, a.sequence) for a in before[len(before) - _sent_since_checkpoint(worker) :]
            }
            assert after_checkpoint, "the scenario should publish after the checkpoint"
            # A rebalance: this worker (or another) reloads the checkpoint at its next record and
            # reads back what was published since, while Kafka redelivers everything after it.
            worker.shell.restored = False
            worker.published_after = after_checkpoint
            await put_record(worker, core, worker_app.TICK, {})
            assert worker.shell.core.position == len(records)
            assert worker.alerts() == before, "alert versions published before were sent again"
            assert worker.shell.published == set()  # every one was produced again, and recognised
            stream_is_quiet(worker)
            await put_record(worker, core, worker_app.TICK, {})

    asyncio.run(scenario())
    expected = [o for o in run.outputs if isinstance(o, Alert)]
    assert worker.alerts() == expected
    assert len({(a.id, a.sequence) for a in worker.alerts()}) == len(expected)


def _sent_since_checkpoint(w: Worker) -> int:
    """Alert versions sent after the last checkpoint (its manifest records the end offsets)."""
    head = w.table()[f"{DATASET.decode()}/manifest"]
    return len(w.on(w.names.alerts)) - int(head["ends"][w.names.alerts]["0"])


def test_foreign_records_are_dead_lettered_and_other_datasets_ignored(
    worker: Worker, run: Run
) -> None:
    good = run.events[0].model_dump_json().encode()

    async def scenario() -> None:
        async with worker.app.agents[worker_app.AGENT_CORE].test_context() as core:
            await put_record(worker, core, good, {"source": b"someone.elses.topic:0"})
            await put_record(worker, core, b"[1, 2]", {"source": SOURCES[1].encode()})
            await put_record(worker, core, good, {"source": SOURCES[1].encode()}, key=b"other")
            await put_record(worker, core, good, {"source": SOURCES[1].encode()})

    asyncio.run(scenario())
    letters = worker.letters()
    assert [(key, d.reason, d.error_type, d.origin.offset) for key, d in letters] == [
        (b"core:0", "processing", "foreign_record", 0),
        (b"core:1", "processing", "foreign_record", 1),
    ]
    assert "unknown source 'someone.elses.topic:0'" in letters[0][1].summary
    assert worker.shell.core.position == 3  # the other dataset's record is not ours to count
    assert len(worker.shell.core.buffer) == 1 and worker.alerts() == []


def test_a_record_the_core_fails_on_is_quarantined_and_the_stream_goes_on(
    worker: Worker, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    records = run.records[:40]
    receive = CoreProcessor.receive

    def fail_at_offset_5(self: CoreProcessor, event: Event, source: str, offset: int) -> Any:
        if offset == 5:
            raise ZeroDivisionError("a bug met by data")
        return receive(self, event, source, offset)

    monkeypatch.setattr(CoreProcessor, "receive", fail_at_offset_5)

    async def scenario() -> None:
        async with worker.app.agents[worker_app.AGENT_CORE].test_context() as core:
            await put_events(worker, core, records)

    asyncio.run(scenario())
    ((key, letter),) = worker.letters()
    assert (key, letter.reason, letter.error_type) == (b"core:5", "processing", "ZeroDivisionError")
    assert "a bug met by data" in letter.summary
    assert letter.raw == records[5][1].model_dump_json()
    assert worker.shell.poison == {5}
    # The state was reloaded (from no checkpoint: the beginning) and the records read again,
    # all but the poisoned one.
    assert worker.shell.restored and worker.shell.core.position == len(records) - 1
    expected = CoreProcessor(H, CATALOGUE, {}, SOURCES)
    for offset, (source, event) in enumerate(records):
        if offset != 5:
            expected.receive(event, source, offset)
    assert worker.shell.core.checkpoint() == expected.checkpoint()


# -- delivery -------------------------------------------------------------------------------------


def test_an_alert_is_posted_to_the_webhooks_it_matches_and_a_failed_one_parked(
    worker: Worker, run: Run
) -> None:
    alert = next(o for o in run.outputs if isinstance(o, Alert))  # KU240, under ELY15
    receiver, closed = PostRecorder(), PostRecorder()
    closed.close()  # nothing listens there any more
    worker.subscribe("lappi", "ELY15", f"{receiver.url}/hook")
    worker.subscribe("uusimaa", "ELY01", f"{receiver.url}/other")
    worker.subscribe("lappi-down", "ELY15", f"{closed.url}/hook")

    async def scenario() -> None:
        async with worker.app.agents[AGENT_DELIVER].test_context() as deliver:
            await deliver.put(alert.model_dump_json().encode(), key=alert.group.encode())
            # The agent hands the posts to the subscriptions' lanes and goes on: wait for them.
            await deliver.put(b"", key=b"")
            assert await worker.app.tutka_deliveries.lanes.drained(10)  # type: ignore[attr-defined]

    try:
        asyncio.run(scenario())
    finally:
        receiver.close()
    assert [(path, body["id"], body["sequence"]) for path, body in receiver.posts] == [
        ("/hook", alert.id, alert.sequence)
    ]
    (parked,) = worker.on(worker.names.delivery_deadletter)
    record = json.loads(parked.value)
    assert parked.key == b"lappi-down" and record["subscription"] == "lappi-down"
    assert record["result"]["outcome"] == "failed" and record["alert"]["id"] == alert.id
    deliveries = "tutka_subscription_deliveries_total"
    assert worker.counted(deliveries, channel="webhook", outcome="delivered") == 1
    assert worker.counted(deliveries, channel="webhook", outcome="failed") == 1


def test_ingest_forwards_markers_and_dead_letters_invalid_or_misrouted_ones(
    worker: Worker, run: Run
) -> None:
    names = worker.names
    figure = run.events[0]
    marker = ReleaseEnd(dataset="publish", published=figure.available_on,
                        topics=("unemployment",), partition=0, partitions=1, count=1)  # fmt: skip
    good = marker.model_dump_json().encode()
    wrong_partition = marker.model_copy(update={"partition": 1, "partitions": 2})

    async def scenario() -> None:
        async with worker.app.agents[worker_app.AGENT_INGEST].test_context() as ingest:
            await put_on(ingest, names.unemployment, figure.model_dump_json().encode(), key=b"k")
            await put_on(ingest, names.unemployment, good)
            await put_on(ingest, names.vacancies, good)  # names unemployment only
            await put_on(ingest, names.unemployment, wrong_partition.model_dump_json().encode())
            await put_on(ingest, names.unemployment, good.replace(b'"count":1', b'"count":-1'))

    asyncio.run(scenario())
    forwarded = worker.on(names.events)
    assert [s.value for s in forwarded] == [figure.model_dump_json().encode(), good]
    assert forwarded[1].headers["source"] == b"tutka.unemployment.v1:0"
    assert [(d.reason, d.error_type) for _, d in worker.letters()] == [
        ("validation", "misrouted_marker"),
        ("validation", "misrouted_marker"),
        ("validation", "invalid_marker"),
    ]
    assert worker.counted("tutka_events_consumed_total", source="unemployment",
                          outcome="dead_letter") == 2  # fmt: skip


def test_the_core_judges_a_release_when_its_markers_are_in(worker: Worker, run: Run) -> None:
    """No tick, no later release: the markers alone close the release and its alert goes out."""
    expected = [o for o in run.outputs if isinstance(o, Alert)]
    day = expected[0].available_on
    upto = [(s, e) for s, e in run.records if e.available_on <= day]
    counts = Counter(s for s, e in upto if e.available_on == day)
    kinds = {s: worker.names.type_of(s.rsplit(":", 1)[0]) for s in SOURCES}

    async def scenario() -> None:
        async with worker.app.agents[worker_app.AGENT_CORE].test_context() as core:
            await put_events(worker, core, upto)
            for source in SOURCES:
                n = 2 if kinds[source] == "vacancies" else 1
                topics = tuple(sorted(set(kinds.values())))
                copy = ReleaseEnd(dataset="publish", published=day, topics=topics,  # type: ignore[arg-type]
                                  partition=int(source.rsplit(":", 1)[1]), partitions=n,
                                  count=counts[source])  # fmt: skip
                await put_record(worker, core, copy.model_dump_json().encode(),
                                 {"source": source.encode()})  # fmt: skip

    asyncio.run(scenario())
    got = worker.alerts()
    assert got and got == expected[: len(got)]  # the first alert out, before any later release
    assert worker.shell.core.closed >= 1 and len(worker.shell.core.buffer) == 0
    # ... and the release acknowledged, after its alerts, keyed by the publisher's dataset
    (ack,) = worker.on(worker.names.releases)
    judged = ReleaseJudged.model_validate_json(ack.value)
    assert ack.key == b"publish" and judged.release == ("publish", day)
    assert judged.events == sum(counts.values()) and judged.alerts == len(got)
    assert worker.sent.index(ack) > max(i for i, s in enumerate(worker.sent)
                                        if s.topic == worker.names.alerts)  # fmt: skip
    # judged once its last marker came: timed for operators, as every batch of the core
    assert worker.counted("tutka_release_alerts_seconds_count") == worker.shell.core.closed
    assert worker.counted("tutka_core_batch_seconds_count") == worker.shell.taken


# -- the consumer ---------------------------------------------------------------------------------


def test_the_consumer_waits_at_the_broker_at_most_fetch_wait_ms(worker: Worker) -> None:
    # faust fixes aiokafka's fetch_max_wait_ms at 1500: the setting replaces it
    async def scenario() -> tuple[int, str]:
        thread = worker.app.consumer._thread
        consumer = thread._create_worker_consumer(worker.app.transport)
        try:
            return consumer._fetch_max_wait_ms, consumer._group_id
        finally:
            await consumer.stop()

    wait, group = asyncio.run(scenario())
    assert wait == KafkaSettings().fetch_wait_ms == 100
    assert group == worker.app.conf.id  # faust's own settings otherwise


def test_a_checkpoint_is_encoded_as_json_dumps_would_have_written_it() -> None:
    inf = float("inf")
    data = {"v": 1, "x": [0.1, -inf, inf, 1e-310, 2**63, None, True], "t": (1, "ä"), "k": {3: "a"}}
    encoded = worker_app.encode_checkpoint(data)
    assert json.loads(encoded) == json.loads(json.dumps(data))
    nan = json.loads(worker_app.encode_checkpoint({"nan": float("nan")}))["nan"]
    assert nan != nan  # NaN, not null


def test_after_a_checkpoint_the_long_lived_objects_are_frozen_and_thawed_now_and_then() -> None:
    class Node:
        other: Any = None

    def cycle() -> Any:
        a, b = Node(), Node()
        a.other, b.other = b, a
        return weakref.ref(a)

    try:
        dead_while_frozen = cycle()  # garbage, not yet collected: once frozen, gc cannot free it
        worker_app.freeze_after_checkpoint(1, thaw_every=3)
        assert gc.get_freeze_count() > 0
        gc.collect()
        assert dead_while_frozen() is not None
        worker_app.freeze_after_checkpoint(3, thaw_every=3)  # the third: thawed, collected
        assert dead_while_frozen() is None
        assert gc.get_freeze_count() > 0  # and frozen again
    finally:
        gc.unfreeze()


@pytest.mark.parametrize(
    ("since", "settled", "due"),
    [(9.9, True, False), (10.0, True, True), (10.0, False, False), (29.9, False, False),
     (30.0, False, True)],
)  # fmt: skip
def test_a_checkpoint_due_waits_for_a_settled_batch_but_not_for_ever(
    since: float, settled: bool, due: bool
) -> None:
    assert worker_app.checkpoint_due(since, 10.0, settled) is due


def test_no_checkpoint_while_markers_wait_for_the_rest_of_their_release(
    worker: Worker, run: Run
) -> None:
    day = run.events[0].available_on
    upto = [(s, e) for s, e in run.records if e.available_on <= day]
    counts = Counter(s for s, e in upto if e.available_on == day)
    kinds = {s: worker.names.type_of(s.rsplit(":", 1)[0]) for s in SOURCES}
    written: list[int] = []

    async def scenario() -> None:
        async with worker.app.agents[worker_app.AGENT_CORE].test_context() as core:
            await put_events(worker, core, upto)
            for i, source in enumerate(SOURCES[:-1]):  # the last partition's marker never comes
                n = 2 if kinds[source] == "vacancies" else 1
                copy = ReleaseEnd(dataset="publish", published=day,
                                  topics=tuple(sorted(set(kinds.values()))),  # type: ignore[arg-type]
                                  partition=int(source.rsplit(":", 1)[1]), partitions=n,
                                  count=counts[source])  # fmt: skip
                # due (checkpoint_seconds is 10) at the first, overdue at the others
                worker.shell.last_checkpoint = time.monotonic() - (11 if i < 1 else 31)
                await put_record(worker, core, copy.model_dump_json().encode(),
                                 {"source": source.encode()})  # fmt: skip
                written.append(worker.shell.checkpoints_written)

    asyncio.run(scenario())
    assert worker.shell.core.markers  # the release still waits
    assert written == [0, 1, 2]  # due: waits; overdue: written anyway
    assert worker.counted("tutka_checkpoint_seconds_count") == 2
