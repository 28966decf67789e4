"""Integration tests against a real Kafka broker, started once per session.

Fixtures:

- ``kafka_bootstrap`` (session): the broker's ``host:port``. ``TUTKA_KAFKA__BOOTSTRAP``, when set,
  names an existing broker, which must answer; otherwise a ``LocalKafka`` is started on free
  ports in a temporary home and removed at the end of the session. A broker that cannot be had
  FAILS the tests with the reason; it never skips them.
- ``kafka_admin`` (session): a kafka-python ``KafkaAdminClient`` on that broker.
- ``topic_prefix``: a name part no other test or run uses, so tests never share topics or groups.
- ``new_topic``: creates ``<topic_prefix>-<suffix>`` topics (deleted after the test).
- ``read_topic``: reads every record of a topic, from the beginning, until it stays idle.

Every test under ``tests/integration`` gets the ``integration`` marker, so ``make unit``
(``-m "not integration"``) never starts a broker.
"""

from __future__ import annotations

import os
import re
import time
import uuid
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from tests.integration.workers import MASTER_KEY, Worker
from tutka.config.settings import KafkaSettings, Settings
from tutka.dev.local_kafka import CACHE_ENV, KafkaError, LocalKafka, probe
from tutka.worker.topics import Topics, ensure_topics

# kafka-python loads its protocol schemas at import through importlib.resources' legacy API,
# which warns once per schema (two hundred lines per run): not ours to fix, and not informative.
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", r"(read_text|open_text) is deprecated", DeprecationWarning)
    from kafka import KafkaConsumer, TopicPartition
    from kafka.admin import KafkaAdminClient
    from kafka.errors import KafkaError as ClientError

HERE = Path(__file__).resolve().parent

# A first start on a cold two-core machine (JVM warm-up, storage format) takes a few seconds;
# the margin is for a loaded CI machine. The one-time jar download is not counted in it.
START_TIMEOUT = 120.0

ReadTopic = Callable[..., list[Any]]
NewTopic = Callable[..., str]


@pytest.hookimpl(tryfirst=True)  # before -m deselects: the marker must already be there
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test collected from this directory (and only those) as ``integration``."""
    for item in items:
        if item.path.is_relative_to(HERE):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``host:port`` of a real Kafka broker shared by the whole session.

    ``TUTKA_KAFKA__BOOTSTRAP`` (read through ``Settings``) selects an existing broker. Without
    it a local KRaft broker is started from the cached jars (fetched with Maven on first use;
    ``TUTKA_DEVKAFKA_CACHE`` moves the cache) on free 127.0.0.1 ports, and stopped and deleted
    when the session ends.
    """
    # pytest.fail is called outside the except blocks so that the report shows our message
    # alone, not the whole chain of exceptions that led to it.
    problem: str | None = None
    try:
        settings = Settings()
    except ValidationError as exc:
        problem = f"invalid TUTKA_ settings, cannot choose a Kafka broker:\n{exc}"
    if problem is not None:
        pytest.fail(problem, pytrace=False)
    if "bootstrap" in settings.kafka.model_fields_set:
        address = settings.kafka.bootstrap
        try:
            probe(address, timeout=30)
        except KafkaError as exc:
            problem = (
                f"TUTKA_KAFKA__BOOTSTRAP={address} names a broker that does not answer: {exc}\n"
                "Unset it to let the tests start their own broker."
            )
        if problem is not None:
            pytest.fail(problem, pytrace=False)
        yield address
        return

    cache = os.environ.get(CACHE_ENV)  # developer tooling; deliberately not a Settings field
    broker = LocalKafka(
        tmp_path_factory.mktemp("kafka"),
        port=0,
        controller_port=0,
        cache_dir=Path(cache) if cache else None,
        stop_with_parent=True,  # a killed pytest must not leave a broker running
    )
    try:
        address = broker.start(timeout=START_TIMEOUT)
    except KafkaError as exc:
        broker.clean()
        problem = f"could not start a local Kafka broker for the integration tests:\n{exc}"
    if problem is not None:
        pytest.fail(problem, pytrace=False)
    try:
        yield address
    finally:
        broker.clean()


@pytest.fixture(scope="session")
def kafka_admin(kafka_bootstrap: str) -> Iterator[Any]:
    """A ``KafkaAdminClient`` on the session's broker."""
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap, client_id="tutka-tests")
    try:
        yield admin
    finally:
        admin.close()


@pytest.fixture
def topic_prefix(request: pytest.FixtureRequest) -> str:
    """A prefix unique to this test and run: ``it-<test name>-<8 hex>``, at most 32 characters.

    Only ``[a-z0-9-]``: valid in topic and group names (no '.'/'_' mix, which Kafka warns may
    collide in metric names) and also a valid ``KafkaSettings.dataset`` key.
    """
    name = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower().removeprefix("test_")).strip("-")
    return f"it-{name[:19].strip('-') or 'test'}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def new_topic(kafka_admin: Any, topic_prefix: str) -> Iterator[NewTopic]:
    """Create uniquely named topics for this test: ``new_topic("events", partitions=3)``.

    ``configs`` sets topic configs, e.g. ``{"cleanup.policy": "compact"}``.

    Returns the full name, ``<topic_prefix>-<suffix>``, once every partition has a leader (so an
    immediate produce does not race the creation). The topics are deleted after the test, which
    matters when ``TUTKA_KAFKA__BOOTSTRAP`` points at a long-lived broker.
    """
    created: list[str] = []

    def create(
        suffix: str = "events", partitions: int = 1, configs: dict[str, str] | None = None
    ) -> str:
        if not re.fullmatch(r"[A-Za-z0-9.-]{1,100}", suffix):
            raise ValueError(f"topic suffix must match [A-Za-z0-9.-]{{1,100}}, got {suffix!r}")
        name = f"{topic_prefix}-{suffix}"
        kafka_admin.create_topics(
            {
                name: {
                    "num_partitions": partitions,
                    "replication_factor": 1,
                    "configs": configs or {},
                }
            },
            wait_for_metadata=True,
        )
        created.append(name)
        return name

    yield create
    if created:
        try:
            kafka_admin.delete_topics(created)
        except ClientError as exc:  # leftovers are harmless: the names are never reused
            warnings.warn(f"could not delete test topics {created}: {exc!r}", stacklevel=1)


@pytest.fixture
def read_topic(kafka_bootstrap: str) -> ReadTopic:
    """``read_topic(topic, idle=1.0, timeout=30.0, min_records=0, bootstrap=None)``.

    Reads every record of ``topic`` from the beginning, without a consumer group, and returns
    them sorted by (partition, offset) once the end offsets are reached, at least ``min_records``
    were read, and nothing new arrived for ``idle`` seconds (so records still in flight from an
    asynchronous producer such as the worker are waited for). Fails the test if that does not
    happen within ``timeout`` seconds. ``bootstrap`` reads from another broker.
    """

    def read(
        topic: str,
        *,
        idle: float = 1.0,
        timeout: float = 30.0,
        min_records: int = 0,
        bootstrap: str | None = None,
    ) -> list[Any]:
        deadline = time.monotonic() + timeout
        consumer = KafkaConsumer(
            bootstrap_servers=bootstrap or kafka_bootstrap,
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            client_id="tutka-tests-reader",
            # Looking must not create: the code under test may create the topic later with its
            # own partition count, and would then find a one-partition impostor.
            allow_auto_create_topics=False,
        )
        try:
            partitions = consumer.partitions_for_topic(topic)
            while not partitions:  # the topic may be created by the code under test
                if time.monotonic() >= deadline:
                    pytest.fail(f"topic {topic!r} did not appear within {timeout:.0f} s")
                time.sleep(0.2)
                partitions = consumer.partitions_for_topic(topic)
            assigned = [TopicPartition(topic, p) for p in sorted(partitions)]
            consumer.assign(assigned)
            consumer.seek_to_beginning(*assigned)
            records: list[Any] = []
            last_new = time.monotonic()
            while True:
                batch = consumer.poll(timeout_ms=200)
                for chunk in batch.values():
                    records.extend(chunk)
                now = time.monotonic()
                if batch:
                    last_new = now
                elif now - last_new >= idle and len(records) >= min_records:
                    ends = consumer.end_offsets(assigned)
                    if all(consumer.position(tp) >= ends[tp] for tp in assigned):
                        break
                if now >= deadline:
                    pytest.fail(
                        f"{topic!r} did not go idle with at least {min_records} records within "
                        f"{timeout:.0f} s (read {len(records)})"
                    )
            return sorted(records, key=lambda r: (r.partition, r.offset))
        finally:
            consumer.close()

    return read


@pytest.fixture
def cluster(kafka_bootstrap: str, topic_prefix: str, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """Settings, topic names and a worker factory for one namespace; stops every worker.

    The workers are supervised (:class:`~tests.integration.workers.Worker`): one that exits 70 is
    restarted; a test fails if one of its workers exited any other way by itself, or logged a
    traceback.
    """
    settings = KafkaSettings(bootstrap=kafka_bootstrap, namespace=f"{topic_prefix}.", partitions=3)
    env = dict(os.environ)
    env.update({
        "TUTKA_KAFKA__BOOTSTRAP": kafka_bootstrap,
        "TUTKA_KAFKA__NAMESPACE": settings.namespace,
        "TUTKA_KAFKA__PARTITIONS": "3",
        "TUTKA_KAFKA__IDLE_SECONDS": "4",
        "TUTKA_KAFKA__CHECKPOINT_SECONDS": "2",
        "TUTKA_KAFKA__SESSION_TIMEOUT_SECONDS": "8",
        # A worker frozen at start exits 70 after this long and the Worker restarts it (as compose
        # would): a freeze, a restart and the work itself fit well inside the tests' 240 s waits.
        "TUTKA_KAFKA__START_SECONDS": "45",
        # The same for a worker that stops finishing the records waiting for it once running
        # (seen once in CI after the core had restored: no alert in four minutes).
        "TUTKA_KAFKA__STALL_SECONDS": "60",
        # And for a worker whose event loop a synchronous call holds (the loop arm).
        "TUTKA_KAFKA__LOOP_SECONDS": "30",
        "TUTKA_WEBHOOK__SIGNING_KEY": MASTER_KEY,
        "TUTKA_WEBHOOK__BACKOFF_SECONDS": "0.05",
        # The receivers are on 127.0.0.1 over http; a receiver down parks after one round.
        "TUTKA_WEBHOOK__ALLOW_PRIVATE_TARGETS": "true",
        "TUTKA_WEBHOOK__PATIENCE_SECONDS": "1",
    })  # fmt: skip
    ensure_topics(settings)
    workers: list[Worker] = []

    def start(name: str = "worker", **extra: str) -> Worker:
        worker = Worker({**env, **extra}, tmp_path / f"{name}-{len(workers)}.log")
        workers.append(worker)
        return worker

    yield {"settings": settings, "topics": Topics(settings.namespace), "start": start}
    for worker in workers:
        worker.stop()
    for worker in workers:
        assert worker.unexpected_exits == [], worker.text()[-4000:]
        assert "Traceback" not in worker.text(), worker.text()[-4000:]
