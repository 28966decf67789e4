"""The worker's watchdog: a thread that ends a stuck worker (status 70) for a restart.

Infrastructure errors are meant to end the worker so that its supervisor starts a fresh one
(compose: ``restart``), and a fresh worker resumes exactly where the checkpoint and the
transactions left off. Faust can instead hang, neither working nor failing; the watchdog turns
such a hang into that error. It has two arms:

* **stall** (:meth:`tutka.worker.app.Shell.stalled`, ``TUTKA_KAFKA__STALL_SECONDS``): a running
  worker whose event loop stops, or that has records waiting and finishes none. After the broker
  goes away and comes back, faust can hang for good inside a consumer restart.
* **start** (:meth:`StartWatch.starting`, ``TUTKA_KAFKA__START_SECONDS``): a worker that never
  starts reading. Faust can freeze while taking up a partition assignment (seen once in CI: the
  last line of the worker's log was ``Executing _on_partitions_assigned``). Then nothing
  was ever fetched, so no lag shows and the stall arm has nothing to go on — and faust starts an
  app's timers and tasks only once the first rebalance has completed, so the stall arm is not
  even running yet.

A rebalance goes through three steps, each watched with its own clock, so that nothing legitimate
is cut short: *joining* the group (a join may wait out the other members, up to faust's 60 s
rebalance timeout), *taking up* the assignment (faust's ``_on_partitions_assigned``: no I/O of
ours, seconds at most), and *recovering* the ``engine`` table from its changelog. Recovery reads
the whole changelog (the memory store keeps nothing locally), and until Kafka compacts it that
holds every checkpoint written since the last compaction, so on a long-running deployment it may
take minutes: its clock restarts whenever the recovered offsets advance, so only a recovery that
stands still counts.

A thread, because the event loop itself may be what is stuck.
"""

from __future__ import annotations

import asyncio
import gc
import io
import logging
import os
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from faust.sensors import Sensor

log = logging.getLogger("tutka.worker")

#: Exit status of a worker that stalled (EX_SOFTWARE): its supervisor restarts it.
STALLED_EXIT = 70


@dataclass(frozen=True)
class Rebalance:
    """A rebalance not yet complete (monotonic times), as the start arm sees it.

    Replaced whole, never changed in place: faust's consumer thread starts a rebalance while the
    watchdog's thread reads it, and one assignment of an attribute is atomic.
    """

    began: float
    #: False for the worker's own start: faust has not begun its first rebalance yet.
    begun: bool = True
    #: When faust finished taking up the assignment (``_on_partitions_assigned`` returned).
    assigned: float | None = None
    #: The consumer's group generation when the rebalance began: a new one means that the join
    #: went through and the assignment came.
    generation: int | None = None


class StartWatch:
    """The start arm's view of the worker: the rebalance in progress, and recovery's progress."""

    def __init__(self, started: float) -> None:
        #: None when no rebalance is in progress; a start counts as one until faust's first.
        self.rebalance: Rebalance | None = Rebalance(started, begun=False)
        #: When the recovered changelog offsets last moved, and where they stood.
        self.recovered_at = started
        self.position: int | None = None

    def began(self, now: float, generation: int | None = None) -> None:
        """Faust began a rebalance (its consumer thread, before the group join)."""
        self.rebalance = Rebalance(now, generation=generation)

    def assigned(self, now: float) -> None:
        """Faust took up the assignment; table recovery comes next."""
        current = self.rebalance
        if current is not None:
            self.rebalance = replace(current, assigned=now)

    def ended(self) -> None:
        """Recovery is over and the agents read: the worker is running."""
        self.rebalance = None

    def note_recovery(self, position: int | None, now: float) -> None:
        """The sum of the changelog offsets recovered so far; a change is progress."""
        if position is not None and position != self.position:
            self.position = position
            self.recovered_at = now

    def starting(
        self, now: float, start_seconds: float, generation: int | None = None
    ) -> str | None:
        """Why the worker counts as stuck before it started reading at ``now``, or None.

        ``generation`` is the consumer's group generation now (if known): it tells a join that has
        not gone through from an assignment that came and was not taken up.
        """
        current = self.rebalance
        if current is None:
            return None
        if not current.begun:
            if now - current.began > start_seconds:
                return (f"started {now - current.began:.0f} s ago and faust never began "
                        "a rebalance (it has not joined the consumer group)")  # fmt: skip
            return None
        if current.assigned is None:
            if now - current.began <= start_seconds:
                return None
            began = f"a rebalance began {now - current.began:.0f} s ago"
            if generation is not None and generation != current.generation:
                return (f"{began}: the assignment came (generation {generation}) but was never "
                        "taken up (faust's _on_partitions_assigned did not finish)")  # fmt: skip
            if generation is not None:
                return f"{began} and the group join has not gone through (no assignment came)"
            return f"{began} and no assignment was taken up"
        since = max(current.assigned, self.recovered_at)
        if now - since > start_seconds:
            return (f"partitions were assigned {now - current.assigned:.0f} s ago and the worker "
                    f"has not started reading: table recovery has not advanced for "
                    f"{now - since:.0f} s")  # fmt: skip
        return None


class RebalanceSensor(Sensor):
    """Faust's rebalance hooks, fed to a :class:`StartWatch` (faust's public sensor interface).

    ``on_rebalance_start`` is called from faust's consumer thread, the others from the event loop.
    """

    def __init__(self, watch: StartWatch) -> None:
        super().__init__()
        self.watch = watch

    def on_rebalance_start(self, app: Any) -> dict[str, Any]:
        self.watch.began(time.monotonic(), consumer_generation(app))
        state: dict[str, Any] = super().on_rebalance_start(app)
        return state

    def on_rebalance_return(self, app: Any, state: dict[str, Any]) -> None:
        self.watch.assigned(time.monotonic())

    def on_rebalance_end(self, app: Any, state: dict[str, Any]) -> None:
        self.watch.ended()


def consumer_generation(app: Any) -> int | None:
    """The group generation of faust's consumer (set when an assignment comes), or None."""
    generation = getattr(app, "consumer_generation_id", None)
    return generation if isinstance(generation, int) else None


def recovery_position(app: Any) -> int | None:
    """The sum of the changelog offsets faust's table recovery has reached, or None.

    Read from the watchdog's thread: ``list`` copies a dict's values in one step under the GIL;
    a failed reading is none at all, which never counts as progress.
    """
    try:
        recovery = app.tables.recovery
        offsets: list[int | None] = [*list(recovery.active_offsets.values()),
                                     *list(recovery.standby_offsets.values())]  # fmt: skip
    except (AttributeError, RuntimeError):  # a dict changed under us, a faust without these
        return None
    return sum(offset for offset in offsets if offset is not None)


def stacks() -> str:
    """Where every thread and every unfinished asyncio task of the process stands, as text.

    Logged when the watchdog ends the worker, so that a hang says where it was: a thread blocked
    outside the event loop, or the awaits that never returned. Read from the watchdog's thread
    without the loop (which may be stuck): the tasks are found through the garbage collector.
    """
    out = io.StringIO()
    names = {thread.ident: thread.name for thread in threading.enumerate()}
    for ident, frame in sys._current_frames().items():  # noqa: SLF001 - documented, for this
        out.write(f"--- thread {names.get(ident, ident)}\n")
        out.write("".join(traceback.format_stack(frame)))
    # The worker freezes what lives long after each checkpoint (gc.freeze), and the garbage
    # collector does not list frozen objects: the tasks started before then (the agents, the
    # timers) would be missing. The process ends right after this, so thaw everything first.
    gc.unfreeze()
    try:
        tasks = [o for o in gc.get_objects() if isinstance(o, asyncio.Task) and not o.done()]
    except RuntimeError:  # the heap changed under us: the threads have to do
        tasks = []
    for task in tasks:
        out.write(f"--- task {task.get_name()}, awaiting:\n")
        out.writelines(f"{line}\n" for line in awaits(task.get_coro()))
    return out.getvalue()


def awaits(coro: Any) -> list[str]:
    """The chain of awaits a suspended coroutine stands in, outermost first (``File …, line …``).

    ``Task.print_stack`` shows a suspended task's outermost frame only; this follows ``cr_await``
    down to the innermost coroutine, which is where a hang waits.
    """
    lines: list[str] = []
    while coro is not None and len(lines) < 100:
        frame = next((f for f in (getattr(coro, a, None) for a in ("cr_frame", "gi_frame",
                      "ag_frame")) if f is not None), None)  # fmt: skip
        if frame is not None:
            code = frame.f_code
            lines.append(f'  File "{code.co_filename}", line {frame.f_lineno}, in {code.co_name}')
        coro = next((c for c in (getattr(coro, a, None) for a in ("cr_await", "gi_yieldfrom",
                     "ag_await")) if c is not None), None)  # fmt: skip
    return lines


def start_watchdog(check: Callable[[float], str | None]) -> threading.Thread:
    """A thread that ends the process (status 70) once ``check(now)`` gives a reason."""

    def run() -> None:
        while True:
            time.sleep(1.0)
            reason = check(time.monotonic())
            if reason is not None:
                log.critical("worker stalled (%s): exiting for a restart", reason)
                log.critical("where the worker stood:\n%s", stacks())
                logging.shutdown()
                os._exit(STALLED_EXIT)

    thread = threading.Thread(target=run, name="tutka-watchdog", daemon=True)
    thread.start()
    return thread
