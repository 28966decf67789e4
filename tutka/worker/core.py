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
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from typing import Any, Final

from pydantic import TypeAdapter

from tutka.config.catalogue import Catalogue
from tutka.models.alerts import Localized
from tutka.models.areas import Hierarchy
from tutka.models.events import Event
from tutka.models.markers import ReleaseEnd
from tutka.streams.engine import Engine, Output
from tutka.streams.ordering import OrderingBuffer
from tutka.streams.state import restore as restore_engine
from tutka.streams.state import snapshot as snapshot_engine

CHECKPOINT_VERSION: Final = 1
_EVENT: Final[TypeAdapter[Event]] = TypeAdapter(Event)


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
        #: True when something is held back or pending that an idle flush would release.
        self.dirty = False
        self._reset_markers()

    def _reset_markers(self) -> None:
        #: Events seen per (source, availability date), for the markers' counts.
        self.seen: Counter[tuple[str, date]] = Counter()
        #: Markers of releases not complete yet: (dataset, date) → (topics, source → count).
        self.markers: dict[tuple[str, date], tuple[tuple[str, ...], dict[str, int]]] = {}
        #: Releases closed by their markers (a figure for the metrics).
        self.closed = 0

    # -- processing -----------------------------------------------------------------------------

    def covered(self, offset: int) -> bool:
        """Whether the record at ``offset`` is already in this state (a replay after restart)."""
        return offset <= self.position

    def receive(self, event: Event, source: str, offset: int) -> list[Output]:
        """Fold in one validated event from input partition ``source``."""
        self.position = offset
        self.dirty = True
        day = event.available_on
        self.seen[(source, day)] += 1
        out = self._process(self.buffer.add(source, event))
        if self.markers and any(d == day for _, d in self.markers):
            out.extend(self._close_complete())
        return out

    def receive_many(self, items: Iterable[tuple[Event, str, int]]) -> list[Output]:
        """:meth:`receive` for each (event, source, offset) of a batch, in order."""
        out: list[Output] = []
        for event, source, offset in items:
            out.extend(self.receive(event, source, offset))
        return out

    def mark(self, marker: ReleaseEnd, source: str, offset: int) -> list[Output]:
        """Fold in one copy of a release's end marker, from input partition ``source``."""
        self.position = offset
        if self.kinds.get(source) not in marker.topics:
            return []  # the shell checks this; a stray copy proves nothing
        _, counts = self.markers.setdefault(marker.release, (marker.topics, {}))
        counts[source] = marker.count
        self.dirty = True
        return self._close_complete()

    def idle(self, sources: Iterable[str], offset: int) -> list[Output]:
        """Quiet sources (named by a tick) stop holding the watermark until they send again."""
        self.position = offset
        return self._process(self.buffer.set_idle(sources))

    def complete(self, release: tuple[str, date]) -> bool:
        """Whether every partition of the release's topics sent its marker and its events."""
        topics, counts = self.markers[release]
        day = release[1]
        covered = [s for s in self.sources if self.kinds.get(s) in topics]
        return bool(covered) and all(
            s in counts and self.seen[(s, day)] >= counts[s] for s in covered
        )

    def _close_complete(self) -> list[Output]:
        out: list[Output] = []
        for release in sorted(self.markers, key=lambda r: (r[1], r[0])):
            if release not in self.markers or not self.complete(release):
                continue
            day = release[1]
            topics, _ = self.markers.pop(release)
            for source in self.sources:
                if self.kinds.get(source) in topics:
                    self.buffer.advance(source, day + timedelta(days=1))
            out.extend(self._process(self.buffer.release_through(day)))
            out.extend(self.engine.flush())
            self.closed += 1
            # Releases up to this date are all out: their markers and counts have done their work.
            for other in [r for r in self.markers if r[1] < day]:
                del self.markers[other]
            pending = {d for _, d in self.markers}
            for key in [k for k in self.seen if k[1] <= day and k[1] not in pending]:
                del self.seen[key]
        self.dirty = len(self.buffer) > 0 or bool(self.markers)
        return out

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
        return out

    def skip(self, offset: int) -> None:
        """A record that is not an event (e.g. a tick while busy) still moves the position."""
        self.position = max(self.position, offset)

    # -- checkpoints ----------------------------------------------------------------------------

    def checkpoint(self) -> dict[str, Any]:
        return {
            "v": CHECKPOINT_VERSION,
            "position": self.position,
            "dirty": self.dirty,
            "sources": self.sources,
            "watermarks": {s: d.isoformat() for s, d in self.buffer.watermarks.items()},
            "buffered": [e.model_dump(mode="json") for e in self.buffer.buffered()],
            "idle": sorted(self.buffer.idle),
            "seen": [[s, d.isoformat(), n] for (s, d), n in sorted(self.seen.items())],
            "markers": [
                [dataset, day.isoformat(), list(topics), counts]
                for (dataset, day), (topics, counts) in sorted(self.markers.items())
            ],
            "closed": self.closed,
            "engine": snapshot_engine(self.engine),
        }

    def restore(self, data: Mapping[str, Any] | None) -> None:
        """Reset to ``data`` (a checkpoint), or to the beginning when there is none."""
        self.engine = Engine(self.hierarchy, self.catalogue, self.sectors)
        self.buffer = OrderingBuffer(self.sources)
        self.position, self.dirty = -1, False
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
        self.seen = Counter({(s, date.fromisoformat(d)): n for s, d, n in data.get("seen", [])})
        self.markers = {
            (dataset, date.fromisoformat(day)): (tuple(topics), dict(counts))
            for dataset, day, topics, counts in data.get("markers", [])
        }
        self.closed = data.get("closed", 0)
        self.position = data["position"]
        self.dirty = data["dirty"]
