"""The core stage of the worker without Kafka: ordered events in, engine outputs out, checkpoints.

The faust agent hands every record of the ordered event stream to :class:`CoreProcessor` with
its offset. The processor restores availability order across the input partitions
(:class:`~tutka.streams.ordering.OrderingBuffer`), runs the engine, and can describe its whole
state — engine, held-back events, and the offset it has reached — as one checkpoint. A worker
restarted from a checkpoint skips what the checkpoint already covers and carries on exactly as
before.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any, Final

from pydantic import TypeAdapter

from tutka.config.catalogue import Catalogue
from tutka.models.alerts import Localized
from tutka.models.areas import Hierarchy
from tutka.models.closures import StaffClosure
from tutka.models.events import Event
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
    ) -> None:
        self.hierarchy = hierarchy
        self.catalogue = catalogue
        self.sectors = dict(sectors)
        self.sources = sorted(sources)
        self.engine = Engine(hierarchy, catalogue, self.sectors)
        self.buffer = OrderingBuffer(self.sources)
        #: Offset of the last record of the event stream folded in (-1: none).
        self.position = -1
        #: True when something is held back or pending that an idle flush would release.
        self.dirty = False

    # -- processing -----------------------------------------------------------------------------

    def covered(self, offset: int) -> bool:
        """Whether the record at ``offset`` is already in this state (a replay after restart)."""
        return offset <= self.position

    def receive(self, event: Event, source: str, offset: int) -> list[Output]:
        """Fold in one validated event from input partition ``source``."""
        self.position = offset
        self.dirty = True
        out: list[Output] = []
        for released in self.buffer.add(source, event):
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
        return out

    def close(self, closure: StaffClosure, offset: int) -> list[Output]:
        """Staff close a held alert (the command at ``offset`` of the event stream)."""
        self.position = offset
        return self.engine.close(closure)

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
            "engine": snapshot_engine(self.engine),
        }

    def restore(self, data: Mapping[str, Any] | None) -> None:
        """Reset to ``data`` (a checkpoint), or to the beginning when there is none."""
        self.engine = Engine(self.hierarchy, self.catalogue, self.sectors)
        self.buffer = OrderingBuffer(self.sources)
        self.position, self.dirty = -1, False
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
        )
        self.position = data["position"]
        self.dirty = data["dirty"]
