"""The worker's watchdog (issue #14, found by the broker fault test): a worker that hangs after the
broker comes back exits, for its supervisor to restart it; so does one that freezes at start."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import socket
import subprocess
import sys
import threading
import time
import weakref
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aiokafka.errors
import kafka.errors
import pytest

from tutka.config.settings import KafkaSettings
from tutka.worker.app import Shell
from tutka.worker.topics import BrokerUnavailable, ensure_topics_in_thread
from tutka.worker.watchdog import (
    STALLED_EXIT,
    LoopWatch,
    RebalanceSensor,
    StartWatch,
    infrastructure_cause,
    ping,
    recovery_position,
    stacks,
)


def shell(**values: Any) -> Any:
    return SimpleNamespace(observed_at=0.0, progress_at=0.0, done={}, _done_total=0, **values)


def test_a_worker_with_records_waiting_that_finishes_none_counts_as_stalled() -> None:
    s = shell()
    s.done = {("events", 0): 10}
    Shell.note_progress(s, waiting=5)  # records done since the last look: progress
    last = s.progress_at
    Shell.note_progress(s, waiting=5)  # nothing done, records waiting: no progress
    assert s.progress_at == last
    assert Shell.stalled(s, last + 10, stall_seconds=30) is None
    assert s.observed_at >= last
    s.observed_at = last + 40  # the loop still looks, but nothing moves
    assert "none was finished" in Shell.stalled(s, last + 40, stall_seconds=30)


def test_an_idle_worker_is_not_stalled() -> None:
    s = shell()
    Shell.note_progress(s, waiting=0)
    assert Shell.stalled(s, s.progress_at + 20, stall_seconds=30) is None


def test_a_stuck_event_loop_counts_as_stalled() -> None:
    s = shell()
    Shell.note_progress(s, waiting=0)
    assert "event loop" in Shell.stalled(s, s.observed_at + 31, stall_seconds=30)


# -- the start arm: a worker that never starts reading ------------------------------------------


def test_a_worker_that_never_begins_a_rebalance_is_stuck_after_start_seconds() -> None:
    watch = StartWatch(started=100.0)
    assert watch.starting(100.0 + 45, start_seconds=45) is None
    reason = watch.starting(100.0 + 46, start_seconds=45)
    assert reason is not None and "never began a rebalance" in reason


def test_a_rebalance_whose_assignment_is_never_taken_up_is_stuck() -> None:
    """The freeze seen in CI: assigned, ``Executing _on_partitions_assigned``, then nothing."""
    watch = StartWatch(started=0.0)
    watch.began(10.0, generation=0)
    assert watch.starting(10.0 + 45, start_seconds=45, generation=1) is None
    reason = watch.starting(10.0 + 50, start_seconds=45, generation=1)
    assert reason is not None
    assert "a rebalance began 50 s ago" in reason
    assert "the assignment came (generation 1)" in reason and "_on_partitions_assigned" in reason


def test_a_group_join_that_never_goes_through_is_named_as_such() -> None:
    watch = StartWatch(started=0.0)
    watch.began(10.0, generation=3)
    reason = watch.starting(10.0 + 50, start_seconds=45, generation=3)
    assert reason is not None and "the group join has not gone through" in reason
    reason = watch.starting(10.0 + 50, start_seconds=45)  # the generation unknown
    assert reason is not None and "no assignment was taken up" in reason


def test_the_clock_of_a_start_restarts_with_the_rebalance() -> None:
    watch = StartWatch(started=0.0)
    watch.began(40.0)  # faust joins 40 s after the start: the join has its own 45 s
    assert watch.starting(80.0, start_seconds=45) is None


def test_a_recovery_that_advances_is_never_cut_short() -> None:
    """A big changelog may take minutes to read: only a recovery standing still counts."""
    watch = StartWatch(started=0.0)
    watch.began(1.0)
    watch.assigned(2.0)
    for second in range(3, 600, 10):  # ten minutes of recovery, progress every 10 s
        watch.note_recovery(second * 1000, float(second))
        assert watch.starting(float(second) + 9, start_seconds=45) is None
    watch.note_recovery(593_000, 650.0)  # the same position: no progress
    reason = watch.starting(593.0 + 46, start_seconds=45)
    assert reason is not None
    assert "has not started reading" in reason and "not advanced for 46 s" in reason


def test_a_recovery_with_nothing_to_read_counts_from_the_assignment() -> None:
    watch = StartWatch(started=0.0)
    watch.began(1.0)
    watch.note_recovery(None, 2.0)  # no reading: never progress
    watch.assigned(3.0)
    assert watch.starting(3.0 + 45, start_seconds=45) is None
    assert watch.starting(3.0 + 46, start_seconds=45) is not None


def test_a_worker_that_reads_is_not_stuck_until_the_next_rebalance() -> None:
    watch = StartWatch(started=0.0)
    watch.began(1.0)
    watch.assigned(2.0)
    watch.ended()
    assert watch.starting(10_000.0, start_seconds=45) is None
    watch.began(10_000.0)  # another worker joins: this one rebalances again
    reason = watch.starting(10_100.0, start_seconds=45)
    assert reason is not None and "a rebalance began 100 s ago" in reason


def test_the_stall_arm_waits_for_the_worker_to_run_and_the_start_arm_comes_first() -> None:
    s = shell(start=StartWatch(started=0.0), watching=False)
    # Before faust runs our timers the lag is never looked at: that is not a stalled loop.
    assert Shell.verdict(s, 30.0, stall_seconds=20, start_seconds=45) is None
    assert "never began" in Shell.verdict(s, 50.0, stall_seconds=20, start_seconds=45)
    s.start.began(50.0)
    s.start.assigned(51.0)
    s.start.ended()
    s.watching = True
    s.stalled = lambda now, seconds: Shell.stalled(s, now, seconds)
    assert "event loop" in Shell.verdict(s, 60.0, stall_seconds=20, start_seconds=45)


def test_the_sensor_feeds_faust_rebalances_to_the_watch() -> None:
    watch = StartWatch(started=0.0)
    sensor = RebalanceSensor(watch)
    state = sensor.on_rebalance_start(SimpleNamespace(consumer_generation_id=4))
    assert watch.rebalance is not None and watch.rebalance.begun
    assert watch.rebalance.generation == 4
    assert watch.rebalance.assigned is None
    sensor.on_rebalance_return(None, state)
    assert watch.rebalance is not None and watch.rebalance.assigned is not None
    sensor.on_rebalance_end(None, state)
    assert watch.rebalance is None


def test_recovery_position_sums_the_offsets_faust_recovered_and_survives_a_bad_reading() -> None:
    recovery = SimpleNamespace(active_offsets={"a": 5, "b": None}, standby_offsets={"c": 7})
    assert recovery_position(SimpleNamespace(tables=SimpleNamespace(recovery=recovery))) == 12
    assert recovery_position(SimpleNamespace()) is None


def test_the_stacks_logged_at_exit_show_each_thread_and_the_awaits_that_never_returned() -> None:
    async def never_answered(event: asyncio.Event) -> None:
        await event.wait()

    async def handling(event: asyncio.Event) -> None:
        await never_answered(event)  # the innermost await is where a hang waits

    async def look() -> str:
        task = asyncio.create_task(handling(asyncio.Event()), name="the-stuck-one")
        await asyncio.sleep(0)
        text = await asyncio.to_thread(stacks)  # from another thread, as the watchdog reads
        task.cancel()
        return text

    text = asyncio.run(look())
    assert f"--- thread {threading.current_thread().name}" in text
    assert "--- task the-stuck-one, awaiting:" in text
    stuck = text.split("--- task the-stuck-one, awaiting:\n")[1].split("---")[0]
    assert [line.rsplit(" in ", 1)[1] for line in stuck.splitlines()[:3]] == [
        "handling", "never_answered", "wait"]  # fmt: skip


def test_the_stacks_show_the_tasks_frozen_after_a_checkpoint() -> None:
    """The worker freezes what is alive after each checkpoint (gc.freeze): its agents' tasks too.

    The garbage collector does not list frozen objects, so a dump after the first checkpoint
    missed every agent and timer (seen in a stall of the subscribers test).
    """

    async def long_lived(event: asyncio.Event) -> None:
        await event.wait()

    async def look() -> str:
        task = asyncio.create_task(long_lived(asyncio.Event()), name="the-frozen-one")
        await asyncio.sleep(0)
        gc.freeze()
        try:
            return await asyncio.to_thread(stacks)
        finally:
            gc.unfreeze()
            task.cancel()

    assert "--- task the-frozen-one, awaiting:" in asyncio.run(look())


class _Actor:
    """Awaitable the way faust runs an agent (``await actor``): its coroutine hidden."""

    def __init__(self, coro: Any) -> None:
        self.coro = coro

    def __await__(self) -> Any:
        return self.coro.__await__()


def test_the_stacks_show_where_an_agent_run_behind_an_awaitable_waits() -> None:
    async def agent(event: asyncio.Event) -> None:
        await event.wait()

    async def execute(actor: _Actor) -> None:
        await actor

    async def look() -> str:
        task = asyncio.create_task(execute(_Actor(agent(asyncio.Event()))), name="the-actor")
        await asyncio.sleep(0)
        try:
            return await asyncio.to_thread(stacks, str(Path(__file__).parent))
        finally:
            task.cancel()

    text = asyncio.run(look())
    assert "--- task the-actor, awaiting:" in text
    hidden = text.split(".<locals>.agent, awaiting:\n")[1].split("---")[0]
    assert [line.rsplit(" in ", 1)[1] for line in hidden.splitlines()[:2]] == ["agent", "wait"]


# -- the loop arm: an event loop held by a synchronous call -------------------------------------


def test_a_ping_the_loop_leaves_unanswered_for_loop_seconds_means_it_is_blocked() -> None:
    watch = LoopWatch()
    assert watch.due() and watch.blocked(1_000.0, loop_seconds=30) is None  # nothing posted yet
    watch.post(100.0)
    assert not watch.due()  # one ping at a time
    assert watch.blocked(130.0, loop_seconds=30) is None
    reason = watch.blocked(131.0, loop_seconds=30)
    assert reason is not None and reason.startswith("the event loop is blocked: it has not run")
    assert "31 s" in reason
    watch.answer(99.0)  # an older ping's answer is not this one's
    assert watch.blocked(131.0, loop_seconds=30) is not None
    watch.answer(100.0)
    assert watch.due() and watch.blocked(10_000.0, loop_seconds=30) is None


def test_the_loop_arm_comes_first_and_watches_from_the_start() -> None:
    s = shell(start=StartWatch(started=0.0), watching=False, pings=LoopWatch())
    s.pings.post(1.0)  # the loop never ran the ping: blocked before faust even joined
    reason = Shell.verdict(s, 40.0, stall_seconds=60, start_seconds=45, loop_seconds=30)
    assert reason is not None and "event loop is blocked" in reason
    s.pings.answer(1.0)
    assert Shell.verdict(s, 40.0, stall_seconds=60, start_seconds=45, loop_seconds=30) is None


def test_the_loop_arm_sees_a_real_loop_held_by_a_synchronous_call_and_let_go() -> None:
    """A real event loop in its own thread, pinged as the watchdog pings it."""
    loop = asyncio.new_event_loop()
    runner = threading.Thread(target=loop.run_forever, daemon=True)
    runner.start()
    watch = LoopWatch()
    beat = ping(loop, watch)
    release = threading.Event()

    async def synchronous_call() -> None:
        release.wait(30)  # no await: the loop can run nothing else meanwhile

    try:
        beat(time.monotonic())
        wait_for(watch.due, "the running loop's answer")
        asyncio.run_coroutine_threadsafe(synchronous_call(), loop)
        time.sleep(0.05)
        beat(time.monotonic())
        time.sleep(0.6)
        beat(time.monotonic())  # still unanswered: no second ping
        reason = watch.blocked(time.monotonic(), loop_seconds=0.5)
        assert reason is not None and "event loop is blocked" in reason
        release.set()
        wait_for(watch.due, "the answer once the call returned")
        assert watch.blocked(time.monotonic(), loop_seconds=0.5) is None
    finally:
        release.set()
        loop.call_soon_threadsafe(loop.stop)
        runner.join(5)
        loop.close()
    beat(time.monotonic())  # a closed loop (the worker ending) is no error


def wait_for(condition: Any, what: str, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


#: A program whose event loop a synchronous kafka-python call holds (a broker that never
#: answers), with the watchdog's loop arm at 2 s: the worker's wiring (build) in small.
BLOCKED_PROGRAM = """
import asyncio, socket, sys, threading, logging
from kafka.admin import KafkaAdminClient
from tutka.worker.watchdog import LoopWatch, ping, start_watchdog

logging.basicConfig(level=logging.INFO, format="[%(levelname)s] %(message)s")
silent = socket.socket()
silent.bind(("127.0.0.1", 0))
silent.listen(8)  # accepts, never answers
held = []
accept = lambda: held.extend(silent.accept() for _ in range(50))
threading.Thread(target=accept, daemon=True).start()

loop = asyncio.new_event_loop()
watch = LoopWatch()
start_watchdog(lambda now: watch.blocked(now, 2.0), beat=ping(loop, watch))

def create_subscription_topic():
    KafkaAdminClient(bootstrap_servers="127.0.0.1:%d" % silent.getsockname()[1])

async def deliver():
    await asyncio.sleep(2.5)  # the loop runs and answers pings meanwhile
    print("calling kafka-python inside the loop", flush=True)
    create_subscription_topic()

loop.run_until_complete(deliver())
print("the call returned", flush=True)
sys.exit(0)
"""


@pytest.mark.slow
def test_a_loop_held_by_a_synchronous_kafka_call_ends_the_process_with_70_naming_it(
    tmp_path: Path,
) -> None:
    done = subprocess.run(
        [sys.executable, "-c", BLOCKED_PROGRAM], capture_output=True, text=True, timeout=60
    )
    output = done.stdout + done.stderr
    assert done.returncode == STALLED_EXIT, output[-3000:]
    assert "calling kafka-python inside the loop" in output
    assert "the call returned" not in output
    assert "[CRITICAL] worker stalled (the event loop is blocked: it has not run for" in output
    main = output.split("--- thread MainThread\n")[1].split("--- ")[0]
    assert "in create_subscription_topic" in main and "kafka/admin/client.py" in main, main


# -- infrastructure errors: the broker gone ends the worker with 70, not 1 -----------------------


def test_the_broker_gone_counts_as_infrastructure_through_the_wrapping_and_a_bug_does_not() -> None:
    def wrapped(inner: BaseException) -> RuntimeError:
        try:
            raise RuntimeError("faust: crashed") from inner
        except RuntimeError as exc:
            return exc

    gone = aiokafka.errors.KafkaConnectionError("Unable to bootstrap from [('127.0.0.1', 9)]")
    assert infrastructure_cause(wrapped(gone)) is gone  # follow_subscriptions in test_faults
    for error in (kafka.errors.KafkaConnectionError(), kafka.errors.KafkaTimeoutError(),
                  kafka.errors.NotControllerError(), aiokafka.errors.NoBrokersAvailable(),
                  aiokafka.errors.RequestTimedOutError(), ConnectionRefusedError(),
                  BrokerUnavailable("no answer")):  # fmt: skip
        assert infrastructure_cause(error) is error, error
    refused = (kafka.errors.PolicyViolationError(), kafka.errors.TopicAlreadyExistsError())
    for error in (ValueError("a bad record"), aiokafka.errors.RecordTooLargeError(), *refused):
        assert infrastructure_cause(error) is None, error
    assert infrastructure_cause(None) is None


@pytest.fixture
def silent_broker() -> Any:
    """A port that accepts connections and never answers: a broker hung."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[Any] = []

    def accept() -> None:
        with contextlib.suppress(OSError):
            while True:
                held.append(server.accept())

    threading.Thread(target=accept, daemon=True).start()
    yield f"127.0.0.1:{server.getsockname()[1]}"
    server.close()
    for connection, _ in held:
        connection.close()


def test_creating_topics_from_the_loop_leaves_it_running_and_names_the_broker_unavailable(
    silent_broker: str,
) -> None:
    settings = KafkaSettings(bootstrap=silent_broker)

    async def create() -> tuple[int, BaseException]:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.02)
                ticks += 1

        running = asyncio.create_task(ticker())
        with pytest.raises(BrokerUnavailable) as caught:
            await ensure_topics_in_thread(settings, timeout=0.6, attempts=2, backoff=0.01)
        running.cancel()
        return ticks, caught.value

    ticks, error = asyncio.run(create())
    assert ticks >= 20, "the event loop stood still while kafka-python waited"
    assert f"could not create topics on {silent_broker} in 2 attempts" in str(error)
    assert isinstance(error.__cause__, kafka.errors.KafkaTimeoutError | TimeoutError)
    assert infrastructure_cause(error) is error


#: The worker's agents meeting the broker's error: it must end the process with 70 at once.
AGENT_PROGRAM = """
import logging, sys
import aiokafka.errors
from tutka.worker.watchdog import exit_if_infrastructure

logging.basicConfig(level=logging.INFO, format="[%(levelname)s] %(message)s")
exit_if_infrastructure(ValueError("a bad alert"), "the delivery agent")  # a bug: returns
print("a bug is not the broker", flush=True)
try:
    raise RuntimeError("sending") from aiokafka.errors.KafkaConnectionError("Unable to bootstrap")
except RuntimeError as exc:
    exit_if_infrastructure(exc, "the delivery agent")
print("not reached", flush=True)
"""


def test_an_agent_meeting_the_broker_s_error_ends_the_process_with_70_naming_it() -> None:
    done = subprocess.run(
        [sys.executable, "-c", AGENT_PROGRAM], capture_output=True, text=True, timeout=60
    )
    output = done.stdout + done.stderr
    assert done.returncode == STALLED_EXIT, output[-3000:]
    assert "a bug is not the broker" in output and "not reached" not in output
    assert ("[CRITICAL] the delivery agent: the broker is unavailable (KafkaConnectionError: "
            "Unable to bootstrap): exiting for a restart") in output  # fmt: skip


#: A watchdog whose first look fails (faust's state read mid-change): it must look again.
FAILING_LOOK_PROGRAM = """
import logging, time
from tutka.worker.watchdog import start_watchdog

logging.basicConfig(level=logging.INFO, format="[%(levelname)s] %(message)s")
looks = []

def check(now):
    looks.append(now)
    if len(looks) == 1:
        raise RuntimeError("dictionary changed size during iteration")
    return "the second look found it stuck"

start_watchdog(check)
time.sleep(30)
print("not reached", flush=True)
"""


@pytest.mark.slow
def test_a_look_of_the_watchdog_that_fails_does_not_end_the_watchdog() -> None:
    done = subprocess.run(
        [sys.executable, "-c", FAILING_LOOK_PROGRAM], capture_output=True, text=True, timeout=60
    )
    output = done.stdout + done.stderr
    assert done.returncode == STALLED_EXIT, output[-3000:]
    assert "[ERROR] the watchdog's look failed; it looks again in a second" in output
    assert "[CRITICAL] worker stalled (the second look found it stuck)" in output
    assert "not reached" not in output


def test_the_stacks_are_read_past_a_dead_weak_proxy_on_the_heap() -> None:
    """A weak proxy whose object is gone raises ReferenceError at ``isinstance``: seen once the
    integration tests had run in the same process."""

    class Gone:
        pass

    thing = Gone()
    proxy = weakref.proxy(thing)
    del thing
    held = [proxy]  # the dead proxy stays on the heap
    assert "--- thread" in stacks()
    assert len(held) == 1
