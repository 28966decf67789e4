"""The room's live state: alerts, case work, subscriptions and evidence series, shared by the
HTTP handlers (asyncio) and the source threads (replay or Kafka), with a fan-out of changes to
every open page.

Everything that changes the state goes through :class:`RoomState`'s methods, under one lock;
listeners are asyncio queues fed with ``call_soon_threadsafe``, so a source thread never waits
for a slow browser.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from tutka.models.access import Principal, in_scope
from tutka.models.alerts import Alert
from tutka.models.areas import Hierarchy
from tutka.models.casework import CaseEvent, CaseState, apply_case_event
from tutka.models.events import Event, LayoffNoticeFiled
from tutka.models.subscriptions import (
    SubscriptionBook,
    SubscriptionRemoved,
    SubscriptionUpserted,
    apply_change,
)
from tutka.room.series import SeriesStore
from tutka.streams.picture import TimelineEntry, changes

#: Changes kept for the timeline (the page shows the most recent ones).
TIMELINE_LENGTH: Final = 2000
#: Messages waiting for one page before it is told to reload its picture instead.
QUEUE_SIZE: Final = 500


@dataclass(frozen=True, slots=True)
class Change:
    """A timeline entry and when this room learnt of it (wall clock)."""

    entry: TimelineEntry
    received: datetime


@dataclass(eq=False)
class Listener:
    """One open page's live stream."""

    principal: Principal
    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue[dict[str, Any]] = field(default_factory=lambda: asyncio.Queue(QUEUE_SIZE))
    overflowed: bool = False


@dataclass
class Status:
    mode: str
    source: str
    ready: bool = False
    detail: str = ""
    as_of: str | None = None
    events: int = 0
    dead_letters: int = 0
    error: str | None = None


class RoomState:
    def __init__(self, hierarchy: Hierarchy, status: Status) -> None:
        self.hierarchy = hierarchy
        self.status = status
        self.series = SeriesStore()
        self._lock = threading.RLock()
        self._alerts: dict[str, Alert] = {}
        self._timeline: deque[Change] = deque(maxlen=TIMELINE_LENGTH)
        self._cases: dict[str, CaseState] = {}
        self._book = SubscriptionBook()
        self._listeners: set[Listener] = set()
        self.on_alert: list[Callable[[Alert], None]] = []
        #: Called with every case event folded in for the first time (a page's or a journal's).
        self.on_case: list[Callable[[CaseEvent], None]] = []

    # -- reading (copies, so handlers never see a half-made change) ---------------------------

    def alerts(self) -> list[Alert]:
        with self._lock:
            return list(self._alerts.values())

    def alert(self, alert_id: str) -> Alert | None:
        with self._lock:
            return self._alerts.get(alert_id)

    def case(self, alert_id: str) -> CaseState | None:
        with self._lock:
            return self._cases.get(alert_id)

    def cases(self) -> dict[str, CaseState]:
        with self._lock:
            return dict(self._cases)

    def timeline(self) -> list[Change]:
        with self._lock:
            return list(self._timeline)

    def book(self) -> SubscriptionBook:
        with self._lock:
            return self._book

    def sees(self, principal: Principal, alert: Alert) -> bool:
        return in_scope(principal, alert.area, alert.parents, self.hierarchy)

    # -- changes from the sources ---------------------------------------------------------------

    def add_alert(self, alert: Alert) -> None:
        with self._lock:
            previous = self._alerts.get(alert.id)
            if previous is not None and alert.sequence <= previous.sequence:
                return  # redelivered, or older than what we have
            self._alerts[alert.id] = alert
            received = datetime.now(UTC)
            new = changes(previous, alert)
            self._timeline.extend(Change(entry, received) for entry in new)
        message = {
            "type": "alert",
            "id": alert.id,
            "sequence": alert.sequence,
            "status": alert.status.value,
            "change": new[0].change if new else "updated",
            "kind": alert.kind.value,
            "severity": alert.severity.value,
            "polarity": alert.polarity.value,
            "area": alert.area,
            "emitted": time.time() * 1000,
        }
        self._publish(message, alert.area, alert.parents)
        for hook in self.on_alert:
            hook(alert)

    def add_case_event(self, event: CaseEvent) -> CaseState:
        with self._lock:
            before = self._cases.get(event.alert_id)
            state = apply_case_event(before, event)
            self._cases[event.alert_id] = state
            alert = self._alerts.get(event.alert_id)
        if state is not before:
            area, parents = (alert.area, alert.parents) if alert else (event.ely or "SSS", ())
            message = {"type": "case", "alert_id": event.alert_id, "event": event.action.type,
                       "emitted": time.time() * 1000}  # fmt: skip
            self._publish(message, area, parents)
            for hook in self.on_case:
                hook(event)
        return state

    def apply_subscription_change(self, change: SubscriptionUpserted | SubscriptionRemoved) -> str:
        with self._lock:
            self._book, outcome = apply_change(self._book, change)
        if outcome in ("added", "updated", "removed"):
            self._publish({"type": "subscriptions", "id": change.id}, None, ())
        return outcome

    def observe(self, event: Event) -> None:
        """A figure for the evidence charts, and the data's date for the page header."""
        if not isinstance(event, LayoffNoticeFiled):
            self.series.add(event)
        as_of = event.available_on.isoformat()
        if self.status.as_of is None or as_of > self.status.as_of:
            self.status.as_of = as_of
        self.status.events += 1

    def set_ready(self, ready: bool, detail: str = "") -> None:
        self.status.ready = ready
        self.status.detail = detail
        self._publish({"type": "status", "ready": ready, "detail": detail}, None, ())

    def fail(self, error: str) -> None:
        self.status.error = error
        self._publish({"type": "status", "ready": self.status.ready, "error": error}, None, ())

    # -- live streams ---------------------------------------------------------------------------

    def listen(self, principal: Principal) -> Listener:
        listener = Listener(principal, asyncio.get_running_loop())
        with self._lock:
            self._listeners.add(listener)
        return listener

    def forget(self, listener: Listener) -> None:
        with self._lock:
            self._listeners.discard(listener)

    @property
    def listeners(self) -> int:
        with self._lock:
            return len(self._listeners)

    def _publish(self, message: dict[str, Any], area: str | None, parents: Iterable[str]) -> None:
        parents = tuple(parents)
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            if area is not None and not in_scope(listener.principal, area, parents, self.hierarchy):
                continue  # out of scope: the page is not even told something happened
            try:
                listener.loop.call_soon_threadsafe(_offer, listener, message)
            except RuntimeError:
                self.forget(listener)  # its event loop has closed


def _offer(listener: Listener, message: dict[str, Any]) -> None:
    try:
        listener.queue.put_nowait(message)
    except asyncio.QueueFull:
        # The page fell behind: it is told to fetch the whole picture again, once.
        listener.overflowed = True
