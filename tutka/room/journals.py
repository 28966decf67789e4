"""Where case work and subscription changes are kept: a Kafka topic, or (embedded default) a
local JSON-lines file that every room instance on the machine tails.

A journal is written first and folded in second: the room appends the event, folds it at once
for the page that made it, and folds it again when it comes back from the file or topic, which
the fold ignores (case events by id, subscription changes by revision). Another instance on the
same file or topic sees it on its next read. Lines that do not parse are counted and set aside
with the reason, never dropped silently and never fatal.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO, Final, Protocol, TypeVar

from pydantic import BaseModel, ValidationError

from tutka.models.deadletter import DeadLetter, Origin, dead_letter

log = logging.getLogger("tutka.room")

#: How often a file journal is checked for lines written by other instances.
POLL_SECONDS: Final = 0.25


class Journal(Protocol):
    def append(self, key: str, event: BaseModel) -> None:
        """Durably record one event (raises when it could not be recorded)."""
        ...


@dataclass
class KafkaJournal:
    """A topic, keyed so one alert's (or one subscription's) events stay in order."""

    producer: Any
    topic: str
    timeout_seconds: float = 10.0

    def append(self, key: str, event: BaseModel) -> None:
        future = self.producer.send(
            self.topic, key=key.encode(), value=event.model_dump_json().encode()
        )
        future.get(timeout=self.timeout_seconds)  # acks=all: on the broker, or an error


Handler = Callable[[str], None]
OnDead = Callable[[DeadLetter], None]


T = TypeVar("T")


def parse_or_dead(parse: Callable[[str], T], raw: str, origin: Origin, on_dead: OnDead) -> T | None:
    """Parse one journal entry; a bad one becomes a dead letter with the reason."""
    try:
        return parse(raw)
    except (ValidationError, ValueError) as exc:
        summary = str(exc).splitlines()[0][:300]
        on_dead(
            dead_letter(raw, origin, datetime.now(UTC), "validation", type(exc).__name__, summary)
        )
        return None


@dataclass
class FileJournal:
    """An append-only JSON-lines file, tailed by a thread."""

    path: Path
    on_line: Handler
    name: str

    def __post_init__(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.touch(exist_ok=True)
        self._offset = 0
        self._line = 0
        self._read_lock = threading.Lock()
        self.repair()

    def repair(self) -> bool:
        """End a torn last line (a crash mid-write) so that nothing is appended onto it.

        The fragment becomes a line of its own, which does not parse: a dead letter, counted,
        as any bad line. True if the file needed it.
        """
        with open(self.path, "a+b") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                return _end_torn_line(handle)
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def append(self, key: str, event: BaseModel) -> None:
        line = (event.model_dump_json() + "\n").encode()
        # One write under an exclusive lock: instances appending together never interleave.
        with open(self.path, "a+b") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                # A torn tail left by a crash (of any instance) is ended first: a note appended
                # onto it would be part of a bad line, and lost.
                if _end_torn_line(handle):
                    log.warning("%s ended in a torn line: ended it before appending", self.path)
                handle.write(line)
                handle.flush()
                os.fsync(handle.fileno())
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def read_new(self) -> int:
        """Hand every complete line written since the last read to ``on_line``."""
        with self._read_lock:
            with open(self.path, "rb") as handle:
                handle.seek(self._offset)
                data = handle.read()
            complete = data.rfind(b"\n") + 1  # a line still being written waits
            lines = data[:complete].splitlines()
            self._offset += complete
            for raw in lines:
                self._line += 1
                if raw.strip():
                    self.on_line(raw.decode("utf-8", errors="replace"))
            return len(lines)

    def origin(self) -> Origin:
        return Origin(source=f"room-{self.name}", file=str(self.path), line=self._line)

    def follow(self, stop: threading.Event) -> threading.Thread:
        def run() -> None:
            while not stop.is_set():
                try:
                    self.read_new()
                except OSError as exc:  # a file on a flaky share: try again
                    log.warning("reading %s failed: %s", self.path, exc)
                stop.wait(POLL_SECONDS)

        thread = threading.Thread(target=run, name=f"room-{self.name}", daemon=True)
        thread.start()
        return thread


def _end_torn_line(handle: BinaryIO) -> bool:
    """Write a newline if the (locked, ``a+b``) file does not end with one."""
    size = os.fstat(handle.fileno()).st_size
    if size == 0 or os.pread(handle.fileno(), 1, size - 1) == b"\n":
        return False
    handle.write(b"\n")
    handle.flush()
    os.fsync(handle.fileno())
    return True
