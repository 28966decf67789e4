"""External sort: a file's records in availability order, in memory bounded by a chunk.

A file whose records are not in availability order (:func:`tutka.inputs.scan_order` says
``unsorted``; e.g. Statistics Finland's occupation table 12ti, ordered by area, occupation and
month) used to be read whole and sorted in memory: millions of event objects at once. Here the
records are taken ``chunk`` at a time, each chunk sorted (stably) and written to a temporary file,
and the chunk files merged (:func:`heapq.merge`, stable: ties keep the order of the file). The
result is the order ``sorted(records, key=ordering_key)`` gives, with memory following the chunk
and the number of series instead of the file's length. A file of one chunk or less is sorted in
memory as before, without touching the disk.

What a chunk file holds is compact: the ordering key (the availability day as an ordinal), the
line number and raw text (a dead letter of the run itself needs them), and for a figure only what
varies in its series (period, value, publication day, revision, previous value) beside a small
number naming the series' *shape* (every other field, kept once in memory). Reading a figure back
rebuilds exactly the object that was written (same fields, same fields set), the way pydantic
copies a model, without validating it again: it was validated when it was read. Anything else
(a layoff notice) is pickled whole.

>>> items = [5, 3, 9, 1, 3, 7, 2]
>>> sorter = ExternalSort(chunk=3)
>>> list(sorter.sort(iter(items), key=lambda x: (x,), encode=lambda x: x, decode=lambda x: x))
[1, 2, 3, 3, 5, 7, 9]
>>> sorter.chunks_written
3
"""

from __future__ import annotations

import heapq
import pickle
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from operator import itemgetter
from pathlib import Path
from typing import IO, Any, Final

from tutka.inputs.formats import Event
from tutka.streams.ordering import OrderKey, ordering_key

#: Records sorted in memory at a time; a longer unsorted file is sorted in chunks on disk. At
#: about two kilobytes per record in memory (event, raw text, keys) this holds a chunk near
#: 100 MB.
SORT_CHUNK: Final = 50_000
#: Records pickled together in a chunk file (fewer, larger writes; reading back holds one batch
#: per chunk).
BATCH: Final = 2_048
#: Fields of a figure that change from month to month; the rest is its series' shape.
_VARYING: Final = ("period", "value", "published", "revision", "previous_value")
_WHOLE: Final = -1

Spilled = tuple[tuple[Any, ...], Any]


@dataclass
class ExternalSort:
    """Sorts an iterator ``chunk`` items at a time through temporary files (see the module doc).

    ``directory``: where the chunk files go (the system's temporary directory by default);
    ``chunks_written`` counts them, so a caller (and a test) can tell which way a sort went.
    """

    chunk: int = SORT_CHUNK
    directory: Path | None = None
    chunks_written: int = 0

    def __post_init__(self) -> None:
        if self.chunk < 1:
            raise ValueError(f"a sort chunk holds at least one record, got {self.chunk}")

    def sort(
        self,
        items: Iterator[Any],
        key: Callable[[Any], tuple[Any, ...]],
        encode: Callable[[Any], Any],
        decode: Callable[[Any], Any],
    ) -> Iterator[Any]:
        """``items`` in ``key`` order (stable); chunks go to disk as ``encode`` makes them."""
        chunk = _take(items, self.chunk)
        if len(chunk) < self.chunk:
            chunk.sort(key=key)
            yield from chunk
            return
        with tempfile.TemporaryDirectory(prefix="tutka-sort-", dir=self.directory) as tmp:
            files: list[IO[bytes]] = []
            try:
                while chunk:
                    keyed = [(key(item), item) for item in chunk]
                    del chunk
                    keyed.sort(key=itemgetter(0))  # stable: ties keep the file's order
                    spill: IO[bytes] = open(Path(tmp) / f"chunk-{len(files):05d}", "w+b")  # noqa: SIM115
                    files.append(spill)
                    _write(spill, [(k, encode(item)) for k, item in keyed])
                    del keyed
                    self.chunks_written += 1
                    chunk = _take(items, self.chunk)
                for chunk_file in files:
                    chunk_file.seek(0)
                merged = heapq.merge(*(_read(h) for h in files), key=itemgetter(0))
                for _, payload in merged:
                    yield decode(payload)
            finally:
                for chunk_file in files:
                    chunk_file.close()


def _take(items: Iterator[Any], n: int) -> list[Any]:
    chunk = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= n:
            break
    return chunk


def _write(handle: IO[bytes], spilled: list[Spilled]) -> None:
    for start in range(0, len(spilled), BATCH):
        pickle.dump(spilled[start : start + BATCH], handle, protocol=pickle.HIGHEST_PROTOCOL)


def _read(handle: IO[bytes]) -> Iterator[Spilled]:
    while True:
        try:
            batch: list[Spilled] = pickle.load(handle)  # (our own temporary file)
        except EOFError:
            return
        yield from batch


@dataclass
class EventCodec:
    """Events to compact chunk-file payloads and back (see the module doc): one per sort.

    The shapes seen are kept in memory, one per series (plus one per revision pattern).
    """

    _ids: dict[tuple[Any, ...], int] = field(default_factory=dict)
    #: Per event class, what reads its fixed fields (all but :data:`_VARYING`) from ``__dict__``.
    _fixed: dict[type[Any], Callable[[dict[str, Any]], tuple[Any, ...]]] = field(
        default_factory=dict
    )
    _shapes: list[tuple[type[Any], dict[str, Any], set[str]]] = field(default_factory=list)

    def key(self, event: Event) -> OrderKey:
        """:func:`~tutka.streams.ordering.ordering_key` with the day as an ordinal (same order,
        cheaper to write)."""
        key = ordering_key(event)
        day: date = key[0]
        return (day.toordinal(), *key[1:])

    def encode(self, event: Event) -> tuple[Any, ...]:
        values = event.__dict__
        private = getattr(event, "__pydantic_private__", None)
        if event.type == "layoff_notice" or event.__pydantic_extra__ or private:
            return (_WHOLE, event)
        cls = type(event)
        fixed_of = self._fixed.get(cls)
        if fixed_of is None:
            names = [name for name in cls.model_fields if name not in _VARYING]
            fixed_of = self._fixed[cls] = itemgetter(*names)
        fields_set = event.model_fields_set
        shape = (cls, fixed_of(values), frozenset(fields_set))
        try:
            number = self._ids.get(shape)
        except TypeError:  # an unhashable value: written whole
            return (_WHOLE, event)
        if number is None:
            number = len(self._shapes)
            self._ids[shape] = number
            self._shapes.append((cls, dict(values), set(fields_set)))
        published: date = values["published"]
        return (
            number,
            values["period"],
            values["value"],
            published.toordinal(),
            values["revision"],
            values["previous_value"],
        )

    def decode(self, payload: tuple[Any, ...]) -> Event:
        number = payload[0]
        if number == _WHOLE:
            whole: Event = payload[1]
            return whole
        cls, base, fields_set = self._shapes[number]
        values = dict(base)
        values["period"] = payload[1]
        values["value"] = payload[2]
        values["published"] = date.fromordinal(payload[3])
        values["revision"] = payload[4]
        values["previous_value"] = payload[5]
        event: Event = cls.__new__(cls)
        object.__setattr__(event, "__dict__", values)
        object.__setattr__(event, "__pydantic_extra__", None)
        object.__setattr__(event, "__pydantic_fields_set__", set(fields_set))
        object.__setattr__(event, "__pydantic_private__", None)
        return event
