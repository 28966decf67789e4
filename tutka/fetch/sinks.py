"""Where a batch of fetched figures goes: JSON-lines files, or the worker's input topics.

Both deliver a batch *exactly once in effect*: :class:`~tutka.fetch.store.TableStore` records the
batch before delivery and commits after, and a sink asked to deliver a batch again (after a
crash) delivers only what has not arrived.

* :class:`FileSink` writes the batch as ``<source>-<NNNNNN>.jsonl`` in one atomic rename: the
  file is there, whole, or not at all. ``tutka replay DIR`` reads the files in name order.
* :class:`KafkaSink` produces each event to the topic of its type (``tutka.unemployment.v1``,
  ``tutka.vacancies.v1``) keyed by its area, as ``tutka publish`` and the worker expect, with an
  idempotent producer (``acks=all``; broker retries never duplicate). Before sending it reads the
  input topics back from the end offsets recorded when the batch began, and skips every event
  already there (same source, series, period and revision). After the batch it sends the
  end-of-release markers (:mod:`tutka.models.markers`) of each release in it, to every partition
  of its topics, counting the whole batch (also what had arrived before a crash), so the worker
  judges the release at once.
"""

from __future__ import annotations

import json
import time
import warnings
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any, Protocol

from tutka.config.settings import KafkaSettings
from tutka.fetch.client import FetchError
from tutka.fetch.store import Pending, write_lines_atomically
from tutka.models.markers import EventType, ReleaseEnd
from tutka.worker.markers import ReleaseCounter
from tutka.worker.topics import ensure_topics, topics_for

with warnings.catch_warnings():  # kafka-python's protocol schemas warn at import (not ours)
    warnings.filterwarnings("ignore", r"(read_text|open_text) is deprecated", DeprecationWarning)
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition
    from kafka.errors import KafkaError

Identity = tuple[object, ...]
#: The fields that name a figure downstream: the engine keeps the highest revision per series
#: and period, so one (source, series, period, revision) is one figure.
IDENTITY_FIELDS = ("source", "type", "area", "measure", "sector", "occupation", "period",
                   "revision")  # fmt: skip


def identity(payload: dict[str, Any]) -> Identity:
    return tuple(payload.get(name) for name in IDENTITY_FIELDS)


def identities(payload: Any) -> list[Identity]:
    """The identities of the events a record carries: one, or a batch record's (``tutka
    publish`` sends those; :mod:`tutka.worker.intake`); none for anything else."""
    if not isinstance(payload, dict):
        return []
    if payload.get("type") == "events" and isinstance(payload.get("events"), list):
        return [identity(event) for event in payload["events"] if isinstance(event, dict)]
    return [identity(payload)]


def batch_lines(path: Path) -> Iterator[str]:
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield line.rstrip("\n")


class Sink(Protocol):
    name: str

    def prepare(self, source: str, sequence: int) -> dict[str, Any]:
        """Where delivery of a new batch starts (recorded in its :class:`Pending`)."""

    def deliver(self, pending: Pending, batch: Path) -> int:
        """Deliver what of ``batch`` has not arrived yet; returns how many events were sent."""


class FileSink:
    """The embedded default: one JSON-lines file per batch in ``directory``."""

    name = "files"

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def prepare(self, source: str, sequence: int) -> dict[str, Any]:
        return {"file": f"{source.replace('/', '-').replace(':', '-')}-{sequence:06d}.jsonl"}

    def deliver(self, pending: Pending, batch: Path) -> int:
        if pending.file is None:
            raise ValueError("a batch for files needs its file name")
        target = self.directory / pending.file
        if target.exists():
            return 0  # delivered before a crash, not yet committed
        self.directory.mkdir(parents=True, exist_ok=True)
        return write_lines_atomically(target, batch_lines(batch))


class KafkaSink:
    """The worker's input topics on ``settings.bootstrap``."""

    name = "kafka"

    def __init__(
        self,
        settings: KafkaSettings,
        *,
        rate: float = 0.0,
        on_sent: Callable[[int], None] | None = None,
        markers: bool = False,
    ) -> None:
        self.settings = settings
        self.markers = markers
        self.topics = topics_for(settings)
        self.rate = rate
        self.on_sent = on_sent

    @property
    def inputs(self) -> tuple[str, str]:
        return (self.topics.unemployment, self.topics.vacancies)

    def prepare(self, source: str, sequence: int) -> dict[str, Any]:
        try:
            ensure_topics(self.settings)
            consumer = KafkaConsumer(bootstrap_servers=self.settings.bootstrap, group_id=None)
            try:
                ends = consumer.end_offsets(self._partitions(consumer))
            finally:
                consumer.close()
        except KafkaError as exc:
            raise FetchError("publish", f"cannot reach Kafka at {self.settings.bootstrap}: "
                             f"{exc}") from None  # fmt: skip
        offsets: dict[str, dict[int, int]] = {}
        for tp, offset in ends.items():
            offsets.setdefault(tp.topic, {})[tp.partition] = offset
        return {"offsets": offsets}

    def _partitions(self, consumer: Any) -> list[Any]:
        found = []
        for topic in self.inputs:
            for partition in sorted(consumer.partitions_for_topic(topic) or ()):
                found.append(TopicPartition(topic, partition))
        if not found:
            raise FetchError("publish", f"the topics {', '.join(self.inputs)} do not exist")
        return found

    def arrived(self, pending: Pending) -> set[Identity]:
        """Identities of the events already on the input topics since the batch began."""
        consumer = KafkaConsumer(
            bootstrap_servers=self.settings.bootstrap,
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
        )
        seen: set[Identity] = set()
        try:
            partitions = self._partitions(consumer)
            consumer.assign(partitions)
            for tp in partitions:
                consumer.seek(tp, pending.offsets.get(tp.topic, {}).get(tp.partition, 0))
            ends = consumer.end_offsets(partitions)
            while any(consumer.position(tp) < ends[tp] for tp in partitions):
                for records in consumer.poll(timeout_ms=500).values():
                    for record in records:
                        if record.value is None:
                            continue
                        try:
                            payload = json.loads(record.value)
                        except ValueError:
                            continue  # not ours to judge: the worker dead-letters it
                        seen.update(identities(payload))
        finally:
            consumer.close()
        return seen

    def deliver(self, pending: Pending, batch: Path) -> int:
        try:
            arrived = self.arrived(pending)
            return self._send(batch, arrived)
        except KafkaError as exc:
            raise FetchError("publish", f"publishing to {self.settings.bootstrap} failed: "
                             f"{exc}") from None  # fmt: skip

    def _send(self, batch: Path, arrived: set[Identity]) -> int:
        producer = KafkaProducer(
            bootstrap_servers=self.settings.bootstrap,
            acks="all",
            enable_idempotence=True,
            linger_ms=5,
        )
        futures = []
        started = time.monotonic()
        try:
            kinds: tuple[EventType, ...] = ("unemployment", "vacancies")
            partitions = {k: len(producer.partitions_for(self.topics.of_type(k))) for k in kinds}
            counter = ReleaseCounter(batch.name.removesuffix(".batch.jsonl"), partitions)
            markers: list[tuple[EventType, ReleaseEnd]] = []
            for line in batch_lines(batch):
                payload = json.loads(line)
                markers += counter.add(payload["type"], str(payload["area"]).encode(),
                                       date.fromisoformat(payload["published"]),
                                       payload.get("period"))  # fmt: skip
                if identity(payload) in arrived:
                    continue
                topic = self.topics.of_type(payload["type"])
                futures.append(
                    producer.send(topic, key=str(payload["area"]).encode(), value=line.encode())
                )
                if self.rate > 0:
                    ahead = len(futures) / self.rate - (time.monotonic() - started)
                    if ahead > 0:
                        producer.flush()
                        time.sleep(ahead)
                if self.on_sent is not None and len(futures) % 1000 == 0:
                    self.on_sent(len(futures))
            for kind, marker in markers + counter.finish() if self.markers else []:
                producer.send(self.topics.of_type(kind), partition=marker.partition,
                              value=marker.model_dump_json().encode())  # fmt: skip
            producer.flush()
            failed = [f.exception for f in futures if f.failed()]
        finally:
            producer.close()
        if failed:
            raise FetchError("publish", f"{len(failed)} of {len(futures)} events were not "
                             f"acknowledged by Kafka (first: {failed[0]})")  # fmt: skip
        return len(futures)
