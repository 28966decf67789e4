"""Input records into events: one event per record, or a batch record carrying several.

Any producer may send one event per record. A publisher that sends many (``tutka publish``,
the bench) may instead send a **batch record**, ``{"type":"events","events":[…]}``: consecutive
events bound for one partition of one input topic, in order. Kafka and faust then handle one
record for hundreds of events, which is where a Python consumer spends most of its time per
event (the worker's ingest: faust's per-record machinery was half of it, see the README,
"The Kafka path").

Both shapes are judged by the same rules: each event is validated on its own, and an invalid
one becomes its own dead letter (its raw payload, the record's place and the event's place in
the batch) while the others go on. A batch record that is not a batch at all (not JSON, no
list of events) is one dead letter with the whole record.

:class:`RecordBatcher` is the publishers' half: it gathers events per partition and hands out
batch records at a size, and everything held before a release's markers.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, Final

from pydantic import Field, TypeAdapter

from tutka.inputs.decoding import Decoder
from tutka.models.deadletter import DeadLetter, Origin, dead_letter, decode
from tutka.models.events import Event, LayoffNoticeFiled, UnemploymentReported, VacanciesReported
from tutka.models.markers import ReleaseEnd

#: How a batch record starts (as :class:`RecordBatcher` writes it; the ordered stream's
#: records of several events have the same shape).
BATCH: Final = b'{"type":"events","events":['
#: A batch record stays well under Kafka's default 1 MB message limit.
BATCH_BYTES: Final = 512 * 1024
#: Events per batch record a publisher sends by default (``tutka publish --batch``).
BATCH_EVENTS: Final = 500

#: One record's events, each with its place in a batch (None: the record is the event) and its
#: raw payload (what a dead letter of it keeps; empty for a valid event of a batch).
Items = list[tuple[int | None, bytes, Event | DeadLetter]]


def record_items(value: bytes, origin: Origin, now: datetime, decoder: Decoder) -> Items:
    """The events (or dead letters) one input record carries, in order."""
    if value.startswith(BATCH):
        return _batch_items(value, origin, now, decoder)
    return [(None, value, _one(value, origin, now, decoder))]


def _one(value: bytes, origin: Origin, now: datetime, decoder: Decoder) -> Event | DeadLetter:
    """A record of one event, as :func:`~tutka.models.deadletter.decode` judges it (a later
    figure of a series checked against its first, as the file readers do)."""
    try:
        text = value.decode("utf-8")
        payload = json.loads(text)
    except (ValueError, RecursionError):  # (UnicodeDecodeError is a ValueError)
        return decode(value, origin, now)  # the dead letter, with its reason
    fast = decoder.from_template(payload)
    return fast if fast is not None else decoder.validated(payload, text, origin, now)


def _batch_items(value: bytes, origin: Origin, now: datetime, decoder: Decoder) -> Items:
    try:
        batch = json.loads(value)
    except (ValueError, RecursionError) as exc:
        return [(None, value, _not_a_batch(value, origin, now, f"not JSON: {exc}"))]
    events = batch.get("events") if type(batch) is dict else None
    if type(events) is not list or set(batch) != {"type", "events"}:
        reason = 'not {"type": "events", "events": [...]} and nothing else'
        return [(None, value, _not_a_batch(value, origin, now, reason))]
    items: Items = []
    for place, payload in enumerate(events, start=1):
        fast = decoder.from_template(payload)
        if fast is not None:
            items.append((place, b"", fast))  # (valid: its raw text is not needed)
            continue
        raw = _raw(payload)
        at = in_batch(origin, place)
        items.append((place, raw.encode(), decoder.validated(payload, raw, at, now)))
    return items


def in_batch(origin: Origin, place: int | None) -> Origin:
    """The origin of the event at ``place`` in a batch record (the record's own for None)."""
    return origin if place is None else origin.model_copy(update={"item": place})


def _raw(payload: Any) -> str:
    """An event of a batch as JSON text again (the batch's own text is not kept apart)."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


def _not_a_batch(value: bytes, origin: Origin, now: datetime, reason: str) -> DeadLetter:
    return dead_letter(value, origin, now, "decode", "invalid_batch", f"a batch record {reason}")


#: What a batch record of the ordered stream carries: events and markers.
_ORDERED: Final[TypeAdapter[Event | ReleaseEnd]] = TypeAdapter(
    Annotated[LayoffNoticeFiled | UnemploymentReported | VacanciesReported | ReleaseEnd,
              Field(discriminator="type")]
)  # fmt: skip


def ordered_items(value: bytes, decoder: Decoder) -> list[Event | ReleaseEnd]:
    """The events and markers of a batch record of the ordered stream (``ValueError``, often a
    ``ValidationError``, unless every one is valid: only the ingest writes there, so anything
    else is a foreign record).

    A series' later figures are checked against its first (as the ingest and the file readers
    do); the rest (its first figure, notices, markers) are validated one by one.
    """
    try:
        payloads = json.loads(value)["events"]
    except (RecursionError, TypeError, KeyError) as exc:
        raise ValueError(f"not a batch of events: {exc}") from exc
    if type(payloads) is not list:
        raise ValueError("not a batch of events: no list of events")
    items: list[Event | ReleaseEnd] = []
    for payload in payloads:
        fast = decoder.from_template(payload)
        if fast is not None:
            items.append(fast)
            continue
        item = _ORDERED.validate_python(payload)
        decoder.learn(payload, item)  # (the series' next figures take the fast path)
        items.append(item)
    return items


#: A record to send: (topic, partition, key, value); a batch record has no key (its events
#: have one each, all of the same partition).
Outgoing = tuple[str, int, bytes | None, bytes]


class RecordBatcher:
    """Gathers a publisher's events per (topic, partition) into batch records.

    ``add`` returns the records a full batch makes (none most of the time); ``flush`` returns
    everything held, and must be called before a release's markers go out (a marker follows
    its partition's events) and at the end. ``size`` 1 makes no batches: every event is its
    own record.
    """

    def __init__(
        self,
        size: int,
        partition_of: Callable[[str, bytes], int],
        max_bytes: int = BATCH_BYTES,
    ) -> None:
        if size < 1:
            raise ValueError(f"a batch holds at least one event, not {size}")
        self.size = size
        self.max_bytes = max_bytes
        self._partition_of = partition_of
        self._held: dict[tuple[str, int], list[tuple[bytes, bytes]]] = {}
        self._bytes: dict[tuple[str, int], int] = {}

    def add(self, topic: str, key: bytes, value: bytes) -> list[Outgoing]:
        """Hold one event (keyed as it would be sent alone); the batch records now full."""
        where = (topic, self._partition_of(topic, key))
        held = self._held.setdefault(where, [])
        size = self._bytes.get(where, len(BATCH) + 2)
        out = []
        if held and size + len(value) + 1 > self.max_bytes:
            out.append(self._take(where))
            held, size = self._held.setdefault(where, []), len(BATCH) + 2
        held.append((key, value))
        self._bytes[where] = size + len(value) + 1
        if len(held) >= self.size:
            out.append(self._take(where))
        return out

    def flush(self) -> list[Outgoing]:
        """Every event held, as records (per partition in order)."""
        return [self._take(where) for where in list(self._held)]

    def _take(self, where: tuple[str, int]) -> Outgoing:
        held = self._held.pop(where)
        self._bytes.pop(where, None)
        if len(held) == 1:
            return (where[0], where[1], *held[0])
        return (where[0], where[1], None, BATCH + b",".join(value for _, value in held) + b"]}")
