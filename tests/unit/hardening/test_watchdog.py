"""The worker's watchdog (issue #14, found by the broker fault test): a worker that hangs after the
broker comes back exits, for its supervisor to restart it; so does one that freezes at start."""

from __future__ import annotations

import asyncio
import gc
import threading
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from tutka.worker.app import Shell
from tutka.worker.watchdog import RebalanceSensor, StartWatch, recovery_position, stacks


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
