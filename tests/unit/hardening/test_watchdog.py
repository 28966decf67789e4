"""The worker's watchdog (issue #14, found by the broker fault test): a worker that hangs after the
broker comes back exits, for its supervisor to restart it."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from tutka.worker.app import Shell


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
