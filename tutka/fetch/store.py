"""A table's fetch state on disk: the committed state, the batch in flight, and a lock.

In ``state_dir``, per table:

* ``<table>.state.json`` — the committed :class:`~tutka.fetch.diff.TableState`: what downstream
  has. Replaced atomically (write, fsync, rename), never edited in place.
* ``<table>.batch.jsonl`` and ``<table>.pending.json`` — a batch in flight: the events to
  deliver, exactly as they will be delivered, and the state to commit once they are. Written
  (atomically) *before* anything is delivered, removed after the commit. A run that finds them
  finishes that delivery first — sending only what did not arrive — and commits; so a crash at
  any point neither loses nor repeats a figure.
* ``<table>.lock`` — held (``flock``) for a whole run: a second fetcher of the same table skips
  it instead of racing the first.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tutka.fetch.diff import TableState


class StateError(Exception):
    """A state file that cannot be read; the message says which and what to do."""


class Busy(Exception):
    """Another fetcher holds this table's lock."""


class Pending(BaseModel):
    """A batch in flight: where its events are, where delivery began, what to commit after."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    v: int = 1
    events: int
    #: The destination it goes to (``files``, ``kafka``).
    sink: str
    #: Kafka: end offsets of the input topics before the first send (topic → partition → offset).
    offsets: dict[str, dict[int, int]] = Field(default_factory=dict)
    #: Files: the name the batch is delivered under in the output directory.
    file: str | None = None
    state: TableState


class TableStore:
    """The files of one table in ``directory``."""

    def __init__(self, directory: Path, table: str) -> None:
        self.directory = directory
        self.table = table
        self.state_path = directory / f"{table}.state.json"
        self.pending_path = directory / f"{table}.pending.json"
        self.batch_path = directory / f"{table}.batch.jsonl"
        self.lock_path = directory / f"{table}.lock"

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the table's lock for the block; :class:`Busy` if another process holds it."""
        self.directory.mkdir(parents=True, exist_ok=True)
        with self.lock_path.open("a+") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                if exc.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                    handle.seek(0)
                    holder = handle.read().strip() or "another process"
                    raise Busy(f"table {self.table} is being fetched by {holder}") from None
                raise
            handle.seek(0)
            handle.truncate()
            handle.write(f"pid {os.getpid()}\n")
            handle.flush()
            try:
                yield
            finally:
                handle.seek(0)
                handle.truncate()
                fcntl.flock(handle, fcntl.LOCK_UN)

    def load(self, source: str) -> TableState:
        """The committed state (a fresh one before the first run)."""
        if not self.state_path.exists():
            return TableState(table=self.table, source=source)
        state = TableState.model_validate(self._read(self.state_path))
        return state

    def pending(self) -> Pending | None:
        if not self.pending_path.exists():
            return None
        return Pending.model_validate(self._read(self.pending_path))

    def begin(self, pending: Pending) -> None:
        """Record a batch in flight (its events already in :attr:`batch_path`)."""
        _write_atomically(self.pending_path, pending.model_dump_json().encode())

    def commit(self, state: TableState) -> None:
        """The batch arrived: its state is now the committed one; nothing is in flight."""
        _write_atomically(self.state_path, state.model_dump_json().encode())
        self.pending_path.unlink(missing_ok=True)
        self.batch_path.unlink(missing_ok=True)

    def discard(self) -> None:
        """Forget a batch that was never begun (its events file alone)."""
        if not self.pending_path.exists():
            self.batch_path.unlink(missing_ok=True)

    def _read(self, path: Path) -> Any:
        try:
            return json.loads(path.read_bytes())
        except (OSError, ValueError) as exc:
            raise StateError(
                f"cannot read {path}: {exc}. Move it aside to fetch table {self.table} from "
                "scratch (its figures are then sent again, as revision 0: downstream treats "
                "the repeats as duplicates)."
            ) from exc

    def validate(self, source: str) -> tuple[TableState, Pending | None]:
        """The committed state and any batch in flight, or :class:`StateError` saying why not."""
        try:
            return self.load(source), self.pending()
        except ValidationError as exc:
            raise StateError(
                f"the fetch state of table {self.table} in {self.directory} is not valid "
                f"({exc.error_count()} problems, first: {exc.errors()[0]['msg']}). Move "
                f"{self.table}.* aside to fetch it from scratch."
            ) from exc


def _write_atomically(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with tmp.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    _fsync_directory(path.parent)


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_lines_atomically(path: Path, lines: Iterator[str]) -> int:
    """Write ``lines`` to ``path`` all at once or not at all; returns how many."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    count = 0
    with tmp.open("w", encoding="utf-8") as handle:
        for line in lines:
            handle.write(line)
            handle.write("\n")
            count += 1
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    _fsync_directory(path.parent)
    return count
