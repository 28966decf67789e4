"""The worker's watchdog: a thread that ends a stuck worker (status 70) for a restart.

Infrastructure errors are meant to end the worker so that its supervisor starts a fresh one
(compose: ``restart``), and a fresh worker resumes exactly where the checkpoint and the
transactions left off. Faust can instead hang, neither working nor failing; the watchdog turns
such a hang into that error. It has three arms:

* **stall** (:meth:`tutka.worker.app.Shell.stalled`, ``TUTKA_KAFKA__STALL_SECONDS``): a running
  worker whose event loop stops, or that has records waiting and finishes none. After the broker
  goes away and comes back, faust can hang for good inside a consumer restart.
* **start** (:meth:`StartWatch.starting`, ``TUTKA_KAFKA__START_SECONDS``): a worker that never
  starts reading. Faust can freeze while taking up a partition assignment (seen once in CI: the
  last line of the worker's log was ``Executing _on_partitions_assigned``). Then nothing
  was ever fetched, so no lag shows and the stall arm has nothing to go on — and faust starts an
  app's timers and tasks only once the first rebalance has completed, so the stall arm is not
  even running yet.
* **loop** (:class:`LoopWatch`, ``TUTKA_KAFKA__LOOP_SECONDS``): a worker whose event loop does not
  run at all, because a synchronous call holds it (kafka-python's admin client once ran inside
  the loop; its waits have no overall bound). Every agent, timer and heartbeat stops with it, and
  nothing is logged. The watchdog posts a ping to the loop every second; one left unanswered that
  long ends the worker, and the stacks logged then show the blocking call in the main thread.
  The loop's longest legitimate pauses are seconds (a checkpoint of a big engine, restoring one).

The start arm watches the three steps of a rebalance, each with its own clock, so that nothing
legitimate is cut short: *joining* the group (a join may wait out the other members, up to faust's
60 s rebalance timeout), *taking up* the assignment (faust's ``_on_partitions_assigned``: no I/O of
ours, seconds at most), and *recovering* the ``engine`` table from its changelog. Recovery reads
the whole changelog (the memory store keeps nothing locally), and until Kafka compacts it that
holds every checkpoint written since the last compaction, so on a long-running deployment it may
take minutes: its clock restarts whenever the recovered offsets advance, so only a recovery that
stands still counts.

A thread, because the event loop itself may be what is stuck.

Infrastructure errors (the broker gone: :func:`infrastructure_cause`) end the worker the same
way, with status 70, rather than as a crash (status 1) or a quarantined record: our agents and
timers call :func:`exit_if_infrastructure`, and ``tutka worker`` (:mod:`tutka.streaming`) maps
one that crashed faust's own services.
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
import types
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, NoReturn

import aiokafka.errors
import kafka.errors
from faust.sensors import Sensor

from tutka.worker.topics import BrokerUnavailable

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


class LoopWatch:
    """The loop arm's view: the watchdog's pings to the event loop and the loop's answers.

    A ping is the monotonic time the watchdog posted it; the loop answers with the same value
    when it next runs. Only the watchdog's thread writes ``posted`` and only the loop writes
    ``answered`` (one assignment each, atomic), so the two never need a lock.
    """

    def __init__(self) -> None:
        self.posted: float | None = None
        self.answered: float | None = None

    def due(self) -> bool:
        """Whether to post a ping: none is waiting for its answer."""
        return self.posted is None or self.answered == self.posted

    def post(self, stamp: float) -> None:
        self.posted = stamp

    def answer(self, stamp: float) -> None:
        self.answered = stamp

    def blocked(self, now: float, loop_seconds: float) -> str | None:
        """Why the event loop counts as blocked at ``now`` (a ping unanswered), or None.

        >>> watch = LoopWatch()
        >>> watch.post(10.0)
        >>> watch.blocked(40.0, loop_seconds=30) is None
        True
        >>> watch.blocked(41.0, loop_seconds=30)[:50]
        'the event loop is blocked: it has not run for 31 s'
        >>> watch.answer(10.0)
        >>> watch.blocked(100.0, loop_seconds=30) is None
        True
        """
        posted = self.posted
        if posted is None or self.answered == posted or now - posted <= loop_seconds:
            return None
        return (f"the event loop is blocked: it has not run for {now - posted:.0f} s, "
                "a synchronous call holds it (the main thread's stack below shows it)")  # fmt: skip


def ping(loop: asyncio.AbstractEventLoop, watch: LoopWatch) -> Callable[[float], None]:
    """The watchdog's beat for the loop arm: post a ping to ``loop`` unless one is unanswered."""

    def beat(now: float) -> None:
        if not watch.due():
            return
        try:
            loop.call_soon_threadsafe(watch.answer, now)
        except RuntimeError:  # the loop is closed: the worker is ending
            return
        watch.post(now)  # after: an answer that came first holds the same stamp

    return beat


#: Errors of the world around the worker, by their libraries' own word (``retriable``), or by
#: type where a library marks none: the broker unreachable or too slow to answer.
_CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    ConnectionError,
    kafka.errors.KafkaConnectionError,
    kafka.errors.KafkaTimeoutError,
    aiokafka.errors.KafkaConnectionError,
    aiokafka.errors.KafkaTimeoutError,
    aiokafka.errors.NoBrokersAvailable,
)


def infrastructure_cause(exc: BaseException | None) -> BaseException | None:
    """The infrastructure error (the broker gone) behind ``exc``, or None for any other error.

    Follows the chain of causes: faust and click wrap what they catch. A Kafka error its library
    marks ``retriable`` counts (a leader moving, a request timing out), a refused request
    (``PolicyViolationError``, a bad setting) does not: a restart would not change it.

    >>> infrastructure_cause(ValueError("a bad record")) is None
    True
    >>> try:
    ...     raise RuntimeError("the app crashed") from BrokerUnavailable("no answer in 30 s")
    ... except RuntimeError as exc:
    ...     print(infrastructure_cause(exc))
    no answer in 30 s
    """
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if _infrastructure(exc):
            return exc
        exc = exc.__cause__ or exc.__context__
    return None


def _infrastructure(exc: BaseException) -> bool:
    if isinstance(exc, (BrokerUnavailable, *_CONNECTION_ERRORS)):
        return True
    kafka_error = isinstance(exc, kafka.errors.KafkaError | aiokafka.errors.KafkaError)
    return kafka_error and bool(getattr(exc, "retriable", False))


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


#: Where our own code lives: its coroutines are looked for behind awaitables (:func:`stacks`).
OWN_CODE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def stacks(own: str = OWN_CODE) -> str:
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
        objects = gc.get_objects()
    except RuntimeError:  # the heap changed under us: the threads have to do
        objects = []
    # By type, not isinstance: isinstance asks a weak proxy for its referent's class, and a dead
    # one raises ReferenceError.
    tasks = [o for o in objects if issubclass(type(o), asyncio.Task) and not o.done()]
    for task in tasks:
        out.write(f"--- task {task.get_name()}, awaiting:\n")
        out.writelines(f"{line}\n" for line in awaits(task.get_coro()))
    for coro in own_coroutines(objects, {id(task.get_coro()) for task in tasks}, own):
        out.write(f"--- coroutine {coro.__qualname__}, awaiting:\n")
        out.writelines(f"{line}\n" for line in awaits(coro))
    return out.getvalue()


def own_coroutines(objects: list[Any], tasks: set[int], own: str) -> list[Any]:
    """Suspended coroutines of our own code (under ``own``) no coroutine awaits, no task runs.

    A task's chain of awaits ends where it awaits something that is not a coroutine: faust runs
    each agent as ``await actor``, an awaitable whose ``__await__`` hides the agent's
    coroutine. These are those hidden heads (the agents), followed down on their own.
    """
    coros = [o for o in objects if type(o) is types.CoroutineType and o.cr_frame is not None]
    awaited = {id(c.cr_await) for c in coros}
    return [c for c in coros if id(c) not in awaited and id(c) not in tasks and _ours(c, own)]


def _ours(coro: types.CoroutineType[Any, Any, Any], own: str) -> bool:
    frame = coro.cr_frame
    return frame is not None and frame.f_code.co_filename.startswith(own + os.sep)


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


def exit_for_restart(reason: str, where: str | None = None) -> NoReturn:
    """End the process at once with status 70, for its supervisor to start a fresh worker.

    A ``CRITICAL`` line gives the reason (and ``where``: :func:`stacks`). No graceful stop: faust
    would acknowledge, and then commit, the record being handled, which a fresh worker must read
    again. The worker resumes from its checkpoint after this as after a kill.
    """
    log.critical("%s: exiting for a restart", reason)
    if where is not None:
        log.critical("where the worker stood:\n%s", where)
    logging.shutdown()
    os._exit(STALLED_EXIT)


def exit_if_infrastructure(exc: BaseException, who: str) -> None:
    """End the worker at once (status 70) if ``exc`` is the broker's error; else return."""
    cause = infrastructure_cause(exc)
    if cause is not None:
        exit_for_restart(f"{who}: {broker_unavailable(cause)}")


def broker_unavailable(cause: BaseException) -> str:
    """The reason logged for an infrastructure error: its type and message, once each.

    >>> broker_unavailable(BrokerUnavailable("no answer in 45 s"))
    'the broker is unavailable (BrokerUnavailable: no answer in 45 s)'
    """
    named = str(cause)  # aiokafka's errors begin with their type's name, kafka-python's not
    if not named.startswith(type(cause).__name__):
        named = f"{type(cause).__name__}: {named}"
    return f"the broker is unavailable ({named})"


def start_watchdog(
    check: Callable[[float], str | None], beat: Callable[[float], None] | None = None
) -> threading.Thread:
    """A thread that ends the process (status 70) once ``check(now)`` gives a reason.

    ``beat(now)`` runs after each look (once a second): the loop arm's ping (:func:`ping`).
    """

    def run() -> None:
        while True:
            time.sleep(1.0)
            now = time.monotonic()
            try:
                reason = check(now)
                if reason is None and beat is not None:
                    beat(now)
            except Exception:  # the watchdog must outlive a look that failed
                log.exception("the watchdog's look failed; it looks again in a second")
                continue
            if reason is not None:
                try:
                    where = stacks()
                except Exception as exc:  # the stacks are read while the loop runs on
                    where = f"(the stacks could not be read: {exc!r})"
                exit_for_restart(f"worker stalled ({reason})", where)

    thread = threading.Thread(target=run, name="tutka-watchdog", daemon=True)
    thread.start()
    return thread
