"""Input records into events (one per record or a batch record), and the publishers' batcher."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from tutka.inputs.decoding import Decoder
from tutka.models.deadletter import DeadLetter, Origin, decode
from tutka.worker.intake import (
    BATCH,
    RecordBatcher,
    in_batch,
    ordered_items,
    record_items,
)
from tutka.worker.markers import partition_of

from .market import Event, Run, markers_for

NOW = datetime(2024, 1, 1, tzinfo=UTC)
ORIGIN = Origin(source="kafka", topic="tutka.unemployment.v1", partition=0, offset=7, key="k")


def batch_of(values: list[bytes]) -> bytes:
    return BATCH + b",".join(values) + b"]}"


def test_a_record_of_one_event_is_judged_as_decode_judges_it(run: Run) -> None:
    """Every event of the market, and bad payloads, give what ``decode`` gives (the later
    figures of a series through the decoder's templates)."""
    decoder = Decoder()
    values = [e.model_dump_json().encode() for e in run.events]
    values += [b"{not json", b"\xff\xfe", b"[]", b'{"type":"vacancies"}', b"1e999999"]
    for value in values:
        ((place, raw, item),) = record_items(value, ORIGIN, NOW, decoder)
        assert (place, raw) == (None, value)
        assert item == decode(value, ORIGIN, NOW)
    assert decoder.fast > len(run.events) // 2  # most figures took the fast path


def test_a_batch_record_carries_its_events_in_order(run: Run) -> None:
    events = run.events[:600]
    decoder = Decoder()
    items = record_items(batch_of([e.model_dump_json().encode() for e in events]), ORIGIN, NOW,
                         decoder)  # fmt: skip
    assert [item for _, _, item in items] == events
    assert [place for place, _, _ in items] == list(range(1, len(events) + 1))


def test_an_invalid_event_of_a_batch_is_its_own_dead_letter(run: Run) -> None:
    """The others go on; the dead letter keeps the event's own payload and its place."""
    good = [e.model_dump_json().encode() for e in run.events[:3]]
    bad = json.loads(good[1])
    bad["value"] = -5.0
    bad["area"] = "KU240"
    value = batch_of([good[0], json.dumps(bad).encode(), good[2], b'"just text"'])
    items = record_items(value, ORIGIN, NOW, Decoder())
    assert [type(item) for _, _, item in items] == [
        type(run.events[0]), DeadLetter, type(run.events[2]), DeadLetter
    ]  # fmt: skip
    (place, raw, letter), (last_place, _, last) = items[1], items[3]
    assert isinstance(letter, DeadLetter) and isinstance(last, DeadLetter)
    assert (place, letter.origin.item, letter.origin.offset) == (2, 2, 7)
    assert json.loads(raw) == bad and json.loads(letter.raw) == bad
    assert letter.reason == "validation" and "value" in letter.summary
    assert (last_place, last.origin.item, last.error_type) == (4, 4, "not_an_object")


@pytest.mark.parametrize("value", [BATCH + b"{oops", BATCH + b'],"extra":1}'])
def test_a_broken_batch_record_is_one_dead_letter(value: bytes) -> None:
    ((place, raw, item),) = record_items(value, ORIGIN, NOW, Decoder())
    assert (place, raw) == (None, value)
    assert isinstance(item, DeadLetter) and item.error_type == "invalid_batch"
    assert item.raw == value.decode() and item.origin == ORIGIN


def test_a_batch_of_something_other_than_events_is_a_dead_letter_per_item() -> None:
    """``events`` is a list, but of no object: still a batch, each item judged on its own."""
    ((place, _, item),) = record_items(BATCH + b"1]}", ORIGIN, NOW, Decoder())
    assert place == 1 and isinstance(item, DeadLetter)
    assert item.error_type == "not_an_object"


def test_a_record_not_starting_as_a_batch_is_judged_as_one_event() -> None:
    value = b'{"type":"events","events":{}}'
    ((_, _, item),) = record_items(value, ORIGIN, NOW, Decoder())
    assert item == decode(value, ORIGIN, NOW)
    assert isinstance(item, DeadLetter) and item.error_type == "union_tag_invalid"


def test_in_batch_names_the_place_only_for_a_batch() -> None:
    assert in_batch(ORIGIN, None) is ORIGIN
    assert in_batch(ORIGIN, 3) == ORIGIN.model_copy(update={"item": 3})


def test_the_ordered_stream_batches_give_what_validating_each_gives(run: Run) -> None:
    """Events and markers mixed, several records in a row (templates carried over)."""
    events: list[Event] = list(run.events[:400])
    markers = list(markers_for(events[-1].available_on, events).values())
    items = [*events[:200], *markers, *events[200:]]
    values = [i.model_dump_json().encode() for i in items]
    decoder = Decoder()
    got = ordered_items(batch_of(values[:250]), decoder) + ordered_items(
        batch_of(values[250:]), decoder
    )
    assert got == items
    assert decoder.fast > 300


def test_an_invalid_item_makes_an_ordered_batch_fail(run: Run) -> None:
    good = run.events[0].model_dump_json().encode()
    with pytest.raises(ValidationError):
        ordered_items(batch_of([good, b'{"type":"unemployment","area":"KU240"}']), Decoder())
    with pytest.raises(ValueError):
        ordered_items(BATCH + b"{oops", Decoder())
    with pytest.raises(ValueError):
        ordered_items(b'{"type":"events","events":{}}', Decoder())


# -- the publishers' batcher ----------------------------------------------------------------------


def _where(topic: str, key: bytes) -> int:
    return partition_of(key, 3)


@settings(max_examples=60, deadline=None)
@given(
    events=st.lists(
        st.tuples(
            st.sampled_from(["a", "b"]),
            st.sampled_from([b"x", b"y", b"z", b"w"]),
            st.binary(min_size=1, max_size=40).map(lambda b: json.dumps(b.hex()).encode()),
        ),
        max_size=120,
    ),
    size=st.integers(1, 9),
    max_bytes=st.integers(60, 400),
)
def test_the_batcher_keeps_every_event_once_in_order_per_partition(
    events: list[tuple[str, bytes, bytes]], size: int, max_bytes: int
) -> None:
    batcher = RecordBatcher(size, _where, max_bytes=max_bytes)
    out = [r for topic, key, value in events for r in batcher.add(topic, key, value)]
    out += batcher.flush()
    assert batcher.flush() == []
    got: dict[tuple[str, int], list[bytes]] = {}
    for topic, partition, key, value in out:
        if value.startswith(BATCH):
            assert key is None
            inner = [json.dumps(v).encode() for v in json.loads(value)["events"]]
            assert 1 < len(inner) <= size
            assert len(value) <= max_bytes
        else:
            assert key is not None and _where(topic, key) == partition
            inner = [value]
        got.setdefault((topic, partition), []).extend(inner)
    want: dict[tuple[str, int], list[bytes]] = {}
    for topic, key, value in events:
        want.setdefault((topic, _where(topic, key)), []).append(value)
    assert got == want


def test_a_batch_of_one_is_a_plain_keyed_record() -> None:
    batcher = RecordBatcher(1, _where)
    assert batcher.add("a", b"x", b"{}") == [("a", _where("a", b"x"), b"x", b"{}")]
    with pytest.raises(ValueError):
        RecordBatcher(0, _where)
