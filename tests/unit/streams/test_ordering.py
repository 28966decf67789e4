"""The watermark buffer restores availability order from arbitrarily interleaved partitions."""

from __future__ import annotations

import heapq
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tutka.streams.ordering import OrderingBuffer, ordering_key

from .market import figures, notice

EVENTS = sorted(figures(months=18), key=ordering_key)


def partitioned(events, n: int) -> dict[str, list]:  # type: ignore[no-untyped-def]
    """Split by key as a producer would: each partition keeps its own order."""
    parts: dict[str, list] = {f"p{i}": [] for i in range(n)}  # type: ignore[type-arg]
    for event in events:
        parts[f"p{sum(map(ord, event.area)) % n}"].append(event)
    return parts


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 6), seed=st.integers(0, 10_000))
def test_any_interleaving_of_ordered_partitions_comes_out_in_availability_order(
    n: int, seed: int
) -> None:
    parts = partitioned(EVENTS, n)
    buffer = OrderingBuffer(parts)
    rng = random.Random(seed)
    cursors = {p: 0 for p in parts}
    released = []
    while any(cursors[p] < len(parts[p]) for p in parts):
        p = rng.choice([p for p in parts if cursors[p] < len(parts[p])])
        released += buffer.add(p, parts[p][cursors[p]])
        cursors[p] += 1
    released += buffer.release_all()
    assert released == EVENTS


def test_nothing_is_released_until_every_source_has_spoken() -> None:
    parts = partitioned(EVENTS, 3)
    buffer = OrderingBuffer([*parts, "silent"])
    out = [e for p, events in parts.items() for event in events for e in buffer.add(p, event)]
    assert out == [] and len(buffer) == len(EVENTS) and buffer.watermark is None
    assert buffer.release_all() == EVENTS


def test_events_of_the_watermark_day_wait_for_the_next_day() -> None:
    first, second = EVENTS[0], EVENTS[-1]
    buffer = OrderingBuffer(["a", "b"])
    assert buffer.add("a", first) == []
    assert buffer.add("b", first.model_copy(update={"area": "SK191"})) == []  # same day: wait
    assert len(buffer.add("a", second)) == 0  # b is still at the first day
    assert [e.available_on for e in buffer.add("b", second)] == [first.available_on] * 2


def test_save_and_restore_keep_what_was_held_back() -> None:
    buffer = OrderingBuffer(["a", "b"])
    for event in EVENTS[:30]:
        buffer.add("a", event)
    copy = OrderingBuffer(["a", "b"])
    copy.restore(dict(buffer.watermarks), buffer.buffered())
    assert copy.release_all() == buffer.release_all() == EVENTS[:30]


def test_notices_and_unknown_sources() -> None:
    buffer = OrderingBuffer(["a"])
    late_notice = notice("n1", EVENTS[0].published, 60)
    assert buffer.add("a", late_notice) == []
    assert buffer.add("a", EVENTS[-1]) == [late_notice]
    with pytest.raises(ValueError, match="unknown source"):
        buffer.add("zzz", EVENTS[0])


class _Uncached(OrderingBuffer):
    """The buffer working its watermark out afresh at every event, and releasing an event at a
    time however much goes (the reference)."""

    def add(self, source, event):  # type: ignore[no-untyped-def]
        self._known = None
        return super().add(source, event)

    def release_through(self, day):  # type: ignore[no-untyped-def]
        return self._pop_while(lambda available: available <= day)

    def _release(self, watermark, everything=False):  # type: ignore[no-untyped-def]
        if everything:
            return self._pop_while(lambda _: True)
        return self._pop_while(lambda available: watermark is not None and available < watermark)

    def _pop_while(self, takes):  # type: ignore[no-untyped-def]
        out = []
        while self._heap and takes(self._heap[0][2].available_on):
            out.append(heapq.heappop(self._heap)[2])
        return out


@settings(max_examples=80, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    steps=st.lists(
        st.sampled_from(["add", "add", "add", "idle", "advance", "restore", "through"]),
        min_size=1, max_size=200,
    ),
)  # fmt: skip
def test_the_remembered_watermark_releases_what_working_it_out_afresh_does(
    seed: int, steps: list[str]
) -> None:
    """``add`` keeps the watermark from event to event unless something may have moved it, and
    a release that takes everything held sorts it at once; any mix of events (late ones too),
    idle ticks, markers' advances, complete releases and restores releases exactly what the
    buffer working the watermark out at every event, and popping one event at a time,
    releases."""
    rng = random.Random(seed)
    parts = partitioned(EVENTS, 3)
    cached, fresh = OrderingBuffer(parts), _Uncached(parts)
    cursors = dict.fromkeys(parts, 0)
    for step in steps:
        p = rng.choice(sorted(parts))
        if step == "add":
            event = parts[p][min(cursors[p], len(parts[p]) - 1)]
            if rng.random() < 0.1:
                event = parts[p][rng.randrange(len(parts[p]))]  # late, or a repeat
            cursors[p] += 1
            assert cached.add(p, event) == fresh.add(p, event)
        elif step == "idle":
            quiet = rng.sample(sorted(parts), rng.randint(1, 2))
            assert cached.set_idle(quiet) == fresh.set_idle(quiet)
        elif step == "advance":
            day = EVENTS[rng.randrange(len(EVENTS))].available_on
            cached.advance(p, day)
            fresh.advance(p, day)
        elif step == "through":
            day = EVENTS[rng.randrange(len(EVENTS))].available_on
            assert cached.release_through(day) == fresh.release_through(day)
        else:
            held = cached.buffered()
            assert held == fresh.buffered()
            cached.restore(dict(cached.watermarks), held, cached.idle)
            fresh.restore(dict(fresh.watermarks), held, fresh.idle)
        assert cached.watermark == fresh.watermark
        # The invariant itself: what ``add`` remembers is the watermark, or nothing.
        assert cached._known is None or cached._known == (cached.watermark,)
    assert cached.release_all() == fresh.release_all()
