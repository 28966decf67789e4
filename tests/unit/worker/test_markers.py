"""End-of-release markers and idle partitions in the worker's core, without a broker.

A release whose markers have arrived on every partition of its topics, with as many events as
each copy counts, is judged at once; a partial set of markers or a missing event waits; a quiet
partition named idle no longer holds the watermark. Whatever closes the releases, the alerts are
exactly the ones ``tutka replay`` gives.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from tutka.models.alerts import Alert
from tutka.models.markers import ReleaseEnd, ReleaseJudged, is_marker
from tutka.streams.engine import Output
from tutka.streams.ordering import ordering_key
from tutka.worker.core import CoreProcessor
from tutka.worker.markers import ReleaseCounter, partition_of

from .market import (
    CATALOGUE,
    KINDS,
    SOURCES,
    Event,
    H,
    Run,
    markers_for,
    partition_logs,
    releases,
    replayed,
    source_of,
    through_json,
)


def processor() -> CoreProcessor:
    return CoreProcessor(H, CATALOGUE, {}, SOURCES, KINDS)


class Feed:
    def __init__(self, core: CoreProcessor) -> None:
        self.core, self.offset, self.out = core, 0, []  # type: ignore[var-annotated]

    def events(self, events: list[Event]) -> list[object]:
        got: list[object] = []
        for event in events:
            got += self.core.receive(event, source_of(event), self.offset)
            self.offset += 1
        self.out += got
        return got

    def mark(self, source: str, marker: ReleaseEnd) -> list[object]:
        got = list(self.core.mark(marker, source, self.offset))
        self.offset += 1
        self.out += got
        return got


def all_but_the_last_marked(
    day: date, events: list[Event]
) -> tuple[CoreProcessor, Feed, dict[str, ReleaseEnd]]:
    """A fresh core fed a release's events and the markers of every partition but the last."""
    core = processor()
    feed = Feed(core)
    feed.events(events)
    markers = markers_for(day, events)
    for source in SOURCES[:-1]:
        feed.mark(source, markers[source])
    return core, feed, markers


def test_releases_closed_by_markers_give_the_replays_alerts_each_at_its_own_marker(
    run: Run,
) -> None:
    feed = Feed(processor())
    first_alert_at: date | None = None
    for day, events in releases(run.events):
        feed.events(events)
        got: list[object] = []
        for source, marker in markers_for(day, events).items():
            got += feed.mark(source, marker)
        # Complete: nothing held back, nothing pending; the release was judged now.
        assert len(feed.core.buffer) == 0 and feed.core.engine.state.pending is None
        assert not feed.core.markers and not feed.core.dirty
        if first_alert_at is None and any(isinstance(o, Alert) for o in got):
            first_alert_at = day
    assert feed.out == replayed(run.events)  # the final flush adds nothing
    assert feed.core.flush() == []
    expected = [o for o in replayed(run.events) if isinstance(o, Alert)]
    assert first_alert_at is not None and first_alert_at == expected[0].available_on


def test_each_release_closed_by_its_markers_is_handed_out_once_with_its_alert_count(
    run: Run,
) -> None:
    feed = Feed(processor())
    expected: list[ReleaseJudged] = []
    for day, events in releases(run.events):
        feed.events(events)
        assert feed.core.take_judged() == []  # events alone close nothing
        got: list[object] = []
        for source, marker in markers_for(day, events).items():
            got += feed.mark(source, marker)
        alerts = sum(1 for o in got if isinstance(o, Alert))
        expected.append(ReleaseJudged(dataset="publish", published=day, events=len(events),
                                      alerts=alerts))  # fmt: skip
        assert feed.core.take_judged() == expected[-1:]
        assert feed.core.take_judged() == []  # taken: gone
    assert any(j.alerts for j in expected) and any(not j.alerts for j in expected)
    assert sum(j.alerts for j in expected) == sum(
        1 for o in replayed(run.events) if isinstance(o, Alert)
    )


def test_a_release_judged_with_a_later_ones_markers_is_acknowledged_with_that_one(
    run: Run,
) -> None:
    """A marker also says "nothing earlier is coming from me": the later release's markers
    judge the earlier release too, and only the later one is acknowledged (once)."""
    (day, first), (next_day, second) = releases(run.events)[:2]
    core = processor()
    feed = Feed(core)
    feed.events(first + second)
    for source, marker in markers_for(next_day, second).items():
        feed.mark(source, marker)
    assert len(core.buffer) == 0
    (judged,) = core.take_judged()
    assert judged.published == next_day and judged.events == len(second)
    for source, marker in markers_for(day, first).items():  # late: stale, judge nothing
        feed.mark(source, marker)
    assert core.take_judged() == []


def test_judgements_not_yet_taken_are_dropped_with_the_state_they_came_from(run: Run) -> None:
    (day, first), _ = releases(run.events)[:2]
    core, feed, markers = all_but_the_last_marked(day, first)
    feed.mark(SOURCES[-1], markers[SOURCES[-1]])
    assert core.judged
    core.restore(None)  # the shell reloads a checkpoint after a failure: judged again later
    assert core.take_judged() == []


def test_a_partial_set_of_markers_or_a_missing_event_waits(run: Run) -> None:
    last = SOURCES[-1]
    both = [r for r in releases(run.events) if any(source_of(e) == last for e in r[1])]
    (day, first), (next_day, second) = both[:2]
    core, feed, markers = all_but_the_last_marked(day, first)
    assert len(core.buffer) > 0 and core.markers  # one partition has not said it is done
    assert not core.complete(("publish", day))

    # The last copy counts one event more than has arrived: still waiting.
    assert markers[last].count > 0
    feed.mark(last, markers[last].model_copy(update={"count": markers[last].count + 1}))
    assert len(core.buffer) > 0 and core.markers
    # A late event of the release on that partition: now complete, judged at once.
    late = next(e for e in second if source_of(e) == last)
    late = late.model_copy(update={"published": day})
    assert core.take_judged() == []
    feed.events([late])
    assert len(core.buffer) == 0 and not core.markers
    (judged,) = core.take_judged()
    assert judged.release == ("publish", day) and judged.events == len(first) + 1
    assert core.engine.state.pending is None
    assert next_day > day


def test_markers_survive_a_checkpoint(run: Run) -> None:
    (day, first), _ = releases(run.events)[:2]
    core, feed, markers = all_but_the_last_marked(day, first)
    checkpoint = through_json(core.checkpoint())
    restored = processor()
    restored.restore(checkpoint)
    assert restored.markers == core.markers and restored.seen == core.seen
    restored.mark(markers[SOURCES[-1]], SOURCES[-1], feed.offset)
    assert len(restored.buffer) == 0 and not restored.markers
    # A checkpoint from before markers (no such keys) restores as "none pending".
    old = {k: v for k, v in checkpoint.items() if k not in ("idle", "seen", "markers", "closed")}
    processor().restore(old)


def test_a_marker_on_a_topic_it_does_not_name_proves_nothing(run: Run) -> None:
    (day, first), _ = releases(run.events)[:2]
    core = processor()
    Feed(core).events(first)
    copy = markers_for(day, first)[SOURCES[1]].model_copy(update={"topics": ("vacancies",)})
    assert core.mark(copy, SOURCES[1], 99) == [] and not core.markers


def test_an_idle_partition_no_longer_holds_the_watermark(run: Run) -> None:
    core = processor()
    feed = Feed(core)
    notices = SOURCES[0]
    # Everything but the notices partition sends two releases; the notices partition is quiet.
    (day, first), (_, second) = releases([e for e in run.events if source_of(e) != notices])[:2]
    feed.events(first + second)
    assert core.buffer.watermark is None and len(core.buffer) == len(first) + len(second)
    core.idle([notices], feed.offset)
    assert notices in core.buffer.idle and core.buffer.watermark is not None
    # The first release is out (judged when the second began); the second waits for its end.
    assert len(core.buffer) == len(second)
    assert core.engine.state.pending is not None
    assert core.engine.state.pending.available_on == day
    # The partition speaks again: it holds the watermark once more.
    notice = next(e for e in run.events if source_of(e) == notices)
    core.receive(notice.model_copy(update={"announced": day + timedelta(days=400)}), notices, 500)
    assert notices not in core.buffer.idle


def test_the_release_counter_counts_each_partition_and_closes_on_the_next_day() -> None:
    counter = ReleaseCounter("t", {"unemployment": 3, "vacancies": 2})
    day = date(2024, 1, 20)
    keys = [f"KU{n:03d}".encode() for n in range(20)]
    for key in keys:
        assert counter.add("unemployment", key, day, "2023-12") == []
    closed = counter.add("vacancies", b"KU001", day + timedelta(days=1), "2023-12")
    # Every partition of every topic the publisher writes gets a copy (zero where none went).
    assert [(k, m.partition) for k, m in closed] == [
        *(("unemployment", p) for p in range(3)),
        ("vacancies", 0),
        ("vacancies", 1),
    ]
    assert [m.count for _, m in closed] == [
        *(sum(partition_of(k, 3) == p for k in keys) for p in range(3)),
        0,
        0,
    ]
    assert all(m.published == day and m.topics == ("unemployment", "vacancies") for _, m in closed)
    last = counter.finish()
    assert [(k, m.partition, m.count) for k, m in last] == [
        ("unemployment", 0, 0),
        ("unemployment", 1, 0),
        ("unemployment", 2, 0),
        ("vacancies", 0, int(partition_of(b"KU001", 2) == 0)),
        ("vacancies", 1, int(partition_of(b"KU001", 2) == 1)),
    ]
    assert counter.finish() == []


def test_a_marker_is_checked_at_the_boundary() -> None:
    good = ReleaseEnd(dataset="12r5", published=date(2024, 1, 20), topics=("unemployment",),
                      partition=0, partitions=3, count=4)  # fmt: skip
    assert is_marker(good.model_dump_json().encode())
    with pytest.raises(ValidationError, match="does not exist"):
        good.model_validate({**good.model_dump(), "partition": 3})
    with pytest.raises(ValidationError):
        good.model_validate({**good.model_dump(), "count": -1})
    with pytest.raises(ValidationError):
        good.model_validate({**good.model_dump(), "topics": ("alerts",)})


def test_a_marker_read_twice_does_not_judge_a_later_release_early(run: Run) -> None:
    """At-least-once: after a rebalance a release's events and markers may come again, after
    the release was closed; the stale copies must not close the release now being collected."""
    (day, first), (next_day, second) = releases(run.events)[:2]
    feed = Feed(processor())
    core = feed.core
    feed.events(first)
    markers = markers_for(day, first)
    for source, marker in markers.items():
        feed.mark(source, marker)
    assert core.closed == 1 and core.closed_through == day
    # The next release, whole but without its markers yet: all sources past it, still pending.
    feed.events(second)
    # Read again: the first release's events and markers.
    feed.events(first)
    for source, marker in markers.items():
        assert feed.mark(source, marker) == []
    assert core.closed == 1 and not core.markers
    assert core.stale(day) and not core.stale(next_day)


def records_of(logs: dict[str, list[Event | ReleaseEnd]], seed: int) -> list[tuple[str, list[Any]]]:
    """The logs cut into records of 1-40 items of one partition, the partitions interleaved."""
    rng = random.Random(seed)
    queues = {source: list(items) for source, items in logs.items()}
    out: list[tuple[str, list[Any]]] = []
    while any(queues.values()):
        source = rng.choice([s for s, q in queues.items() if q])
        size = rng.randint(1, 40)
        out.append((source, queues[source][:size]))
        del queues[source][:size]
    return out


class LookingAtEveryEvent(CoreProcessor):
    """The core as it was: every event of a day with markers pending looked for complete
    releases (the reference for the cheaper look)."""

    looked = 0

    def receive(self, event: Event, source: str, offset: int) -> list[Output]:
        closed = self.closed
        out = super().receive(event, source, offset)
        if event.available_on in self._on:
            out.extend(self._close_complete(self._on[event.available_on]))
        self.looked += self.closed - closed  # releases an event completed
        return out


@pytest.mark.parametrize(("seed", "ahead"), [(1, 0), (2, 3)])
def test_a_record_of_events_and_markers_gives_what_its_items_one_by_one_give(
    run: Run, seed: int, ahead: int
) -> None:
    """Records carrying several releases' events and markers (ingest's batches): the same
    outputs, the same releases judged at the same items, the same state, as one item a record;
    and the replay's alerts."""
    records = records_of(partition_logs(run.events, ahead), seed)
    assert any(sum(isinstance(i, ReleaseEnd) for i in items) > 1 for _, items in records)
    one, many = LookingAtEveryEvent(H, CATALOGUE, {}, SOURCES, KINDS), processor()
    expected: list[tuple[list[object], list[ReleaseJudged]]] = []
    got: list[tuple[list[object], list[ReleaseJudged]]] = []
    for offset, (source, items) in enumerate(records):
        out: list[object] = []
        for item in items:
            if isinstance(item, ReleaseEnd):
                out += one.mark(item, source, offset)
            else:
                out += one.receive(item, source, offset)
            judged = one.take_judged()
            if judged:
                expected.append((out, judged))
                out = []
        if out:
            expected.append((out, []))
        got += many.receive_record(items, source, offset)
    assert got == expected
    assert many.checkpoint() == one.checkpoint()
    judged = [j for _, js in got for j in js]
    assert len(judged) == len(releases(run.events)) and many.closed == len(judged)
    assert [j.published for j in judged] == sorted(j.published for j in judged)
    # With markers ahead, events complete releases too.
    assert (one.looked > 0) == bool(ahead)
    alerts = [o for out, _ in got for o in out if isinstance(o, Alert)]
    assert alerts == [o for o in replayed(run.events) if isinstance(o, Alert)]


def test_an_event_completes_a_release_only_at_its_markers_count(run: Run) -> None:
    """Markers ahead of events: the release waits for the events its copies count, and is
    judged at the event that brings the last count up, not before."""
    (day, first), _ = releases(run.events)[:2]
    core = processor()
    markers = markers_for(day, first)
    for source, marker in markers.items():
        core.mark(marker, source, 0)
    assert core.markers and core.take_judged() == []
    *early, last = sorted(first, key=ordering_key)
    steps = core.receive_record(early, source_of(last), 1)
    assert core.take_judged() == [] and all(not judged for _, judged in steps)
    assert core.markers
    steps = core.receive_record([last], source_of(last), 2)
    assert [j.release for _, judged in steps for j in judged] == [("publish", day)]
    assert not core.markers and len(core.buffer) == 0
