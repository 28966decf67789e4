"""The core stage of the worker without Kafka: ordered events in, engine outputs out, checkpoints.

The faust agent hands every record of the ordered event stream to :class:`CoreProcessor` with
its offset. The processor restores availability order across the input partitions
(:class:`~tutka.streams.ordering.OrderingBuffer`), runs the engine, and can describe its whole
state — engine, held-back events, and the offset it has reached — as one checkpoint. A worker
restarted from a checkpoint skips what the checkpoint already covers and carries on exactly as
before.

Two things let a release be judged without waiting for the next one or for a quiet stream:

* **end-of-release markers** (:class:`~tutka.models.markers.ReleaseEnd`): once the marker of a
  release has arrived on every partition of the topics it names, and as many of the release's
  events as each copy counts, the release is complete: everything available up to its date is
  released in order and judged. A partial set of markers, or too few events, waits.
* **idle partitions**: a partition the shell found quiet (a tick names it) no longer holds the
  watermark while the others advance, until it sends again.

Both arrive as records of the ordered stream, so a restarted worker makes the same decisions.
Each release its markers close is also handed out as a
:class:`~tutka.models.markers.ReleaseJudged` (:meth:`CoreProcessor.take_judged`), for the shell
to publish after the release's alerts.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, timedelta
from typing import Any, Final

from pydantic import TypeAdapter

from tutka.config.catalogue import Catalogue
from tutka.models.alerts import Alert, Localized
from tutka.models.areas import Hierarchy
from tutka.models.closures import StaffClosure
from tutka.models.events import Event
from tutka.models.markers import ReleaseEnd, ReleaseJudged
from tutka.streams.engine import Engine, Output
from tutka.streams.ordering import OrderingBuffer
from tutka.streams.state import restore as restore_engine
from tutka.streams.state import snapshot as snapshot_engine

CHECKPOINT_VERSION: Final = 1
#: Days of event counts kept for markers that may still come (beyond, the oldest are forgotten).
SEEN_DAYS: Final = 400
_EVENT: Final[TypeAdapter[Event]] = TypeAdapter(Event)


#: An item's place in its input partition: (the input record's offset, its index among the
#: items the ingest sent on from that record).
Place = tuple[int, int]


class CoreProcessor:
    """One dataset's engine behind a watermark buffer, at a known offset of the event stream."""

    def __init__(
        self,
        hierarchy: Hierarchy,
        catalogue: Catalogue,
        sectors: Mapping[str, Localized],
        sources: Iterable[str],
        kinds: Mapping[str, str] | None = None,
    ) -> None:
        self.hierarchy = hierarchy
        self.catalogue = catalogue
        self.sectors = dict(sectors)
        self.sources = sorted(sources)
        #: The event type each source (input partition) carries; markers name types.
        self.kinds = dict(kinds or {})
        self.engine = Engine(hierarchy, catalogue, self.sectors)
        self.buffer = OrderingBuffer(self.sources)
        #: Offset of the last record of the event stream folded in (-1: none).
        self.position = -1
        #: Offset of the last record that brought input (events, markers, a closure; not a
        #: tick): a quiet tick naming it flushes, one naming an earlier record does not.
        self.fed = -1
        #: True when something is held back or pending that an idle flush would release.
        self.dirty = False
        #: Per input partition, the place (input offset, index) of the last item folded in.
        self.through: dict[str, Place] = {}
        #: Items skipped as copies (the metric's count; not checkpointed).
        self.copies = 0
        self._reset_markers()

    def _reset_markers(self) -> None:
        #: Events seen per availability date and source, for the markers' counts.
        self.seen: dict[date, Counter[str]] = {}
        #: Markers of releases not complete yet: (dataset, date) → (topics, source → count).
        self.markers: dict[tuple[str, date], tuple[tuple[str, ...], dict[str, int]]] = {}
        #: The pending releases by date (derived from ``markers``).
        self._on: dict[date, set[tuple[str, date]]] = {}
        #: Releases closed by their markers (a figure for the metrics).
        self.closed = 0
        #: The latest date a marker closed: a copy for it or an earlier one (a record read twice,
        #: at least once as the stream is) is stale and must not judge a later release early.
        self.closed_through: date | None = None
        #: Releases closed by their markers since the shell last took them (not checkpointed:
        #: the shell takes them after every record).
        self.judged: list[ReleaseJudged] = []

    # -- processing -----------------------------------------------------------------------------

    def covered(self, offset: int) -> bool:
        """Whether the record at ``offset`` is already in this state (a replay after restart)."""
        return offset <= self.position

    def receive(self, event: Event, source: str, offset: int) -> list[Output]:
        """Fold in one validated event from input partition ``source``."""
        self.position = self.fed = offset
        self.dirty = True
        day = event.available_on
        counts = self.seen.get(day)
        if counts is None:
            counts = self.seen[day] = Counter()
            if len(self.seen) > SEEN_DAYS:
                self._forget_counts()
        counts[source] += 1
        seen = counts[source]
        out = self._process(self.buffer.add(source, event))
        pending = self._on.get(day)
        # A pending release is never complete (it would have been closed), and an event can
        # complete one only by bringing its partition's count up to the marker's: only then is
        # it worth looking (before, every event of a day with markers pending looked).
        if pending is not None and any(self.markers[r][1].get(source) == seen for r in pending):
            out.extend(self._close_complete(pending))
        return out

    def receive_record(
        self,
        items: Iterable[Event | ReleaseEnd],
        source: str,
        offset: int,
        places: Sequence[Place] | None = None,
    ) -> list[tuple[list[Output], list[ReleaseJudged]]]:
        """Fold in the events and markers of one record of input partition ``source``, in order.

        Exactly :meth:`receive` and :meth:`mark` item after item (a release is judged at the
        item that completes it, before the later items reach the buffer: what they release
        could otherwise reach the engine ahead of the judgement and change it). The outputs come
        in steps, each ending with the releases judged in it (:meth:`take_judged`), so the shell
        can acknowledge each release right after its alerts, as when every marker was a record
        of its own. The steps' outputs together are what the items one by one give.

        ``places``: each item's place in its input partition (the input record's offset, and
        the item's index among those the ingest sent on from it). An item at or before the last
        place folded in from ``source`` is a copy — the ingest read that input again after a
        restart — and is skipped (counted in ``copies``).
        """
        self.position = max(self.position, offset)  # an empty record too
        self.fed = offset
        steps: list[tuple[list[Output], list[ReleaseJudged]]] = []
        out: list[Output] = []
        through = self.through.get(source)
        for i, item in enumerate(items):
            if places is not None:
                place = places[i]
                if through is not None and place <= through:
                    self.copies += 1
                    continue
                through = self.through[source] = place
            if isinstance(item, ReleaseEnd):
                out.extend(self.mark(item, source, offset))
            else:
                out.extend(self.receive(item, source, offset))
            if self.judged:
                steps.append((out, self.take_judged()))
                out = []
        if out:
            steps.append((out, []))
        return steps

    def mark(self, marker: ReleaseEnd, source: str, offset: int) -> list[Output]:
        """Fold in one copy of a release's end marker, from input partition ``source``."""
        self.position = self.fed = offset
        if self.kinds.get(source) not in marker.topics:
            return []  # the shell checks this; a stray copy proves nothing
        if self.stale(marker.published):
            return []
        _, counts = self.markers.setdefault(marker.release, (marker.topics, {}))
        counts[source] = marker.count
        self._on.setdefault(marker.published, set()).add(marker.release)
        self.dirty = True
        return self._close_complete({marker.release})

    def idle(self, sources: Iterable[str], offset: int) -> list[Output]:
        """Quiet sources (named by a tick) stop holding the watermark until they send again."""
        self.position = offset
        return self._process(self.buffer.set_idle(sources))

    def stale(self, day: date) -> bool:
        """Whether the release of ``day`` is closed already (by a marker or a later release)."""
        pending = self.engine.state.pending
        return (self.closed_through is not None and day <= self.closed_through) or (
            pending is not None and pending.available_on > day
        )

    def complete(self, release: tuple[str, date]) -> bool:
        """Whether every partition of the release's topics sent its marker and its events."""
        topics, counts = self.markers[release]
        if len(counts) < len(self.sources) and any(s not in counts for s in self._covered(topics)):
            return False
        seen = self.seen.get(release[1], Counter())
        return all(seen[s] >= n for s, n in counts.items())

    def _covered(self, topics: tuple[str, ...]) -> list[str]:
        return [s for s in self.sources if self.kinds.get(s) in topics]

    def _close_complete(self, candidates: Iterable[tuple[str, date]]) -> list[Output]:
        out: list[Output] = []
        for release in sorted(candidates, key=lambda r: (r[1], r[0])):
            if release not in self.markers or not self.complete(release):
                continue
            day = release[1]
            topics, counts = self.markers[release]
            for source in self._covered(topics):
                self.buffer.advance(source, day + timedelta(days=1))
            judging = self._process(self.buffer.release_through(day))
            judging.extend(self.engine.flush())
            out.extend(judging)
            alerts = sum(1 for o in judging if isinstance(o, Alert))
            events = sum(counts.values())
            self.judged.append(
                ReleaseJudged(dataset=release[0], published=day, events=events, alerts=alerts)
            )
            self.closed += 1
            self.closed_through = max(day, self.closed_through or day)
            # Releases up to this date are all out: their markers and counts have done their work.
            for earlier in [d for d in self._on if d <= day]:
                for done in self._on.pop(earlier):
                    del self.markers[done]
            for earlier in [d for d in self.seen if d <= day and d not in self._on]:
                del self.seen[earlier]
        self.dirty = len(self.buffer) > 0 or bool(self.markers)
        return out

    def take_judged(self) -> list[ReleaseJudged]:
        """The releases closed by their markers since the last call, in the order judged."""
        judged, self.judged = self.judged, []
        return judged

    def _forget_counts(self) -> None:
        """Counts of days long past that no marker waits for (a publisher without markers)."""
        keep = sorted(self.seen)[-SEEN_DAYS // 2 :]
        for day in [d for d in self.seen if d not in self._on and d not in keep]:
            del self.seen[day]

    def _process(self, events: Iterable[Event]) -> list[Output]:
        out: list[Output] = []
        for released in events:
            out.extend(self.engine.process(released))
        return out

    def flush(self, offset: int | None = None) -> list[Output]:
        """Release everything held back and judge the pending release (a quiet stream)."""
        if offset is not None:
            self.position = offset
        out: list[Output] = []
        for released in self.buffer.release_all():
            out.extend(self.engine.process(released))
        out.extend(self.engine.flush())
        self.dirty = False
        self.seen.clear()
        self.markers.clear()
        self._on.clear()
        return out

    def close(self, closure: StaffClosure, offset: int) -> list[Output]:
        """Staff close a held alert (the command at ``offset`` of the event stream)."""
        self.position = self.fed = offset
        return self.engine.close(closure)

    def skip(self, offset: int) -> None:
        """A record that is not an event (e.g. a tick while busy) still moves the position."""
        self.position = max(self.position, offset)

    # -- checkpoints ----------------------------------------------------------------------------

    def checkpoint(self) -> dict[str, Any]:
        return {
            "v": CHECKPOINT_VERSION,
            "position": self.position,
            "fed": self.fed,
            "through": {s: list(p) for s, p in sorted(self.through.items())},
            "dirty": self.dirty,
            "sources": self.sources,
            "watermarks": {s: d.isoformat() for s, d in self.buffer.watermarks.items()},
            "buffered": [e.model_dump(mode="json") for e in self.buffer.buffered()],
            "idle": sorted(self.buffer.idle),
            "seen": [
                [s, d.isoformat(), n]
                for d, counts in sorted(self.seen.items())
                for s, n in sorted(counts.items())
            ],
            "markers": [
                [dataset, day.isoformat(), list(topics), counts]
                for (dataset, day), (topics, counts) in sorted(self.markers.items())
            ],
            "closed": self.closed,
            "closed_through": self.closed_through.isoformat() if self.closed_through else None,
            "engine": snapshot_engine(self.engine),
        }

    def restore(self, data: Mapping[str, Any] | None) -> None:
        """Reset to ``data`` (a checkpoint), or to the beginning when there is none."""
        self.engine = Engine(self.hierarchy, self.catalogue, self.sectors)
        self.buffer = OrderingBuffer(self.sources)
        self.position, self.fed, self.dirty = -1, -1, False
        self.through = {}
        self._reset_markers()
        if data is None:
            return
        if data.get("v") != CHECKPOINT_VERSION:
            raise ValueError(f"checkpoint version {data.get('v')!r} is not {CHECKPOINT_VERSION}")
        if sorted(data["sources"]) != self.sources:
            raise ValueError(
                f"checkpoint was taken with input partitions {data['sources']}, "
                f"not {self.sources}: "
                "changing partition counts needs a new topic version"
            )
        self.engine = restore_engine(data["engine"], self.hierarchy, self.catalogue, self.sectors)
        self.buffer.restore(
            {s: date.fromisoformat(d) for s, d in data["watermarks"].items()},
            (_EVENT.validate_python(e) for e in data["buffered"]),
            data.get("idle", ()),
        )
        # Checkpoints from before markers have none of these (the same state as no markers).
        for s, d, n in data.get("seen", []):
            self.seen.setdefault(date.fromisoformat(d), Counter())[s] = n
        self.markers = {
            (dataset, date.fromisoformat(day)): (tuple(topics), dict(counts))
            for dataset, day, topics, counts in data.get("markers", [])
        }
        for release in self.markers:
            self._on.setdefault(release[1], set()).add(release)
        self.closed = data.get("closed", 0)
        through = data.get("closed_through")
        self.closed_through = date.fromisoformat(through) if through else None
        self.position = data["position"]
        # (Checkpoints from before quiet ticks named a record have none: their position.)
        self.fed = data.get("fed", self.position)
        self.through = {s: (p[0], p[1]) for s, p in data.get("through", {}).items()}
        self.dirty = data["dirty"]
