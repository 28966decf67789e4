"""External sort: a file's records in availability order, in memory bounded by a chunk.

A file whose records are not in availability order (:func:`tutka.inputs.scan_order` says
``unsorted``; e.g. Statistics Finland's occupation table 12ti, ordered by area, occupation and
month) is sorted here: its records are taken ``chunk`` at a time, each chunk sorted (stably) and
written to a temporary file, and the chunk files merged. The result is the order
``sorted(records, key=ordering_key)`` gives (ties keep the order of the file), with memory
following the chunk, the number of chunks and the number of series instead of the file's
length. A file of one chunk or less is sorted in memory, without touching the disk.

Nothing is pickled record by record. A chunk becomes rows of numbers (a numpy structured array):
the ordering key as numbers, and for a figure only what varies in its series (period, value,
publication day, revision, previous value) beside a small number naming the series' *shape*
(every other field, kept once in memory, one per series). The key is
``(day, kind, month, name)``: the availability day as an ordinal, 0 for a figure and 1 for a
notice, the month index, and the rank of the rest of :func:`~tutka.streams.ordering.ordering_key`
(area, measure, sector, occupation, revision; a notice's id and revision) among every such
*name* of the file, plus the record's place in the file (``seq``), which makes ties stable.
A chunk is sorted by those columns with :func:`numpy.lexsort` (names ranked among the chunk's
own, an order that stays true among all of them), and the chunk files are merged a block at a
time: each block's key packed into one 64-bit number with the names' final ranks, everything
up to the smallest last key of the blocks loaded taken at once and put in order by numpy.
The raw text (a dead letter of the run itself needs it) goes beside the rows as one string per
block. Reading a figure back rebuilds exactly the object that was written (same fields, same
fields set), the way pydantic copies a model, without validating it again: it was validated
when it was read. Anything else (a layoff notice, a figure with an unusual value) is pickled
whole. The columnar reading hands a batch's figures over unbuilt, as columns
(:class:`~tutka.inputs.blocks.PendingBlock`: each figure its series' template and what
varies): their rows are made at once, from what each template's first figure shares with every
other, and a figure is built once, after the merge. (A single unbuilt figure,
:class:`~tutka.inputs.decoding.Pending`, is taken the same way, one row at a time.) A chunk
then holds ``chunk`` records, a batch split where one ends.

>>> from tutka.inputs.readers import Record
>>> from tutka.models.events import VacanciesReported
>>> from datetime import date
>>> def line(n, area, month):
...     event = VacanciesReported(area=area, period=month, measure="new_in_month", value=n,
...                               published=date(2024, int(month[5:]) + 1, 25))
...     return Record(event, f"{month},{area},{n}", "t.csv", n)
>>> records = [line(1, "MK02", "2024-01"), line(2, "MK02", "2024-02"),
...            line(3, "MK01", "2024-01"), line(4, "MK01", "2024-02")]
>>> sorter = ExternalSort(chunk=3)
>>> [(r.line, r.item.area, r.item.period) for r in sorter.sort(iter(records))]
[(3, 'MK01', '2024-01'), (1, 'MK02', '2024-01'), (4, 'MK01', '2024-02'), (2, 'MK02', '2024-02')]
>>> sorter.chunks_written
2
"""

from __future__ import annotations

import pickle
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from operator import itemgetter
from pathlib import Path
from typing import IO, Any, Final, Literal

import numpy as np
import numpy.typing as npt

from tutka.inputs.blocks import PendingBlock, distinct
from tutka.inputs.decoding import Pending
from tutka.inputs.formats import Event
from tutka.inputs.records import Record
from tutka.models.events import LayoffNoticeFiled, UnemploymentReported, VacanciesReported
from tutka.streams.ordering import month_index, ordering_key

#: Records sorted in memory at a time; a longer unsorted file is sorted in chunks on disk. A
#: chunk in memory is its records (about two kilobytes each: event, raw text) until it is
#: turned into rows of 68 bytes (and its raw texts) and written.
SORT_CHUNK: Final = 50_000
#: Rows written (and read back while merging) together: one block per chunk file in memory;
#: also the merged rows turned into Python objects at a time.
BLOCK: Final = 4_096
#: Fields of a figure that change from month to month; the rest is its series' shape.
_VARYING: Final = ("period", "value", "published", "revision", "previous_value")
_FIGURES: Final = (UnemploymentReported, VacanciesReported)
#: A chunk row: the key columns, then what rebuilds the record. ``shape`` -1 marks a record
#: pickled whole (``period`` is then its place among the block's whole records).
ROW: Final = np.dtype(
    [
        ("day", "<i4"),
        ("kind", "<i4"),
        ("month", "<i4"),
        ("name", "<i4"),
        ("seq", "<i8"),
        ("shape", "<i4"),
        ("period", "<i4"),
        ("value", "<f8"),
        ("previous", "<f8"),
        ("line", "<i8"),
        ("file", "<i4"),
        ("raw", "<i8"),
    ]
)
_WHOLE: Final = -1
#: The packed merge key: day (22 bits, any ordinal up to year 9999), kind (1), month (17),
#: name rank (24: up to 16.7 million distinct names in a file).
_DAY_SHIFT: Final = 42
_KIND_SHIFT: Final = 41
_MONTH_SHIFT: Final = 24
MAX_NAMES: Final = 1 << _MONTH_SHIFT
#: A month index (up to year 9999) packed below a name in :meth:`RowCodec.revision_free`.
_MONTH_BITS: Final = 17

Name = tuple[Any, ...]
Rows = npt.NDArray[Any]


@dataclass
class ExternalSort:
    """Sorts records ``chunk`` at a time through temporary files (see the module doc).

    ``directory``: where the chunk files go (the system's temporary directory by default);
    ``chunks_written`` counts them, so a caller (and a test) can tell which way a sort went.
    """

    chunk: int = SORT_CHUNK
    directory: Path | None = None
    chunks_written: int = 0
    #: Whether no figure of the file revises another or comes late (see
    #: :meth:`RowCodec.revision_free`); known once the sorted records begin, False until then.
    revision_free: bool = False
    block: int = BLOCK

    def __post_init__(self) -> None:
        if self.chunk < 1:
            raise ValueError(f"a sort chunk holds at least one record, got {self.chunk}")
        if self.block < 1:
            raise ValueError(f"a sort block holds at least one row, got {self.block}")

    def sort(
        self, records: Iterator[Record | Pending | PendingBlock], file: str = ""
    ) -> Iterator[Record]:
        """``records`` (events, not dead letters) in availability order, ties in file order.

        A :class:`~tutka.inputs.decoding.Pending` figure, or a block's (of ``file``), comes out
        built."""
        chunks = _chunks(records, self.chunk)
        first = next(chunks, [])
        if _count(first) < self.chunk:
            built = [_built(record, file) for record in _one_by_one(first)]
            built.sort(key=_record_key)  # stable: ties keep the file's order
            yield from built
            return
        codec = RowCodec(pending_file=file, slice=self.block)
        with tempfile.TemporaryDirectory(prefix="tutka-sort-", dir=self.directory) as tmp:
            files: list[IO[bytes]] = []
            try:
                chunk, first = first, []
                while chunk:
                    rows, raws, wholes = codec.encode(chunk)
                    del chunk
                    spill: IO[bytes] = open(Path(tmp) / f"chunk-{len(files):05d}", "w+b")  # noqa: SIM115
                    files.append(spill)
                    _write(spill, *codec.sorted_chunk(rows, raws, wholes), self.block)
                    del rows, raws, wholes
                    self.chunks_written += 1
                    chunk = next(chunks, [])
                for chunk_file in files:
                    chunk_file.seek(0)
                self.revision_free = codec.revision_free()
                yield from codec.merge([_blocks(f) for f in files])
            finally:
                for chunk_file in files:
                    chunk_file.close()


Item = Record | Pending | PendingBlock


def _chunks(items: Iterator[Item], size: int) -> Iterator[list[Item]]:
    """``items`` in lists of ``size`` records each (the last may hold fewer), a block split
    where a list ends."""
    chunk: list[Item] = []
    count = 0
    for item in items:
        if type(item) is PendingBlock:
            while count + len(item) > size:
                head, item = item.split(size - count)
                chunk.append(head)
                yield chunk
                chunk, count = [], 0
            if not len(item):
                continue
            count += len(item)
        else:
            count += 1
        chunk.append(item)
        if count == size:
            yield chunk
            chunk, count = [], 0
    if chunk:
        yield chunk


def _count(items: list[Item]) -> int:
    return sum(len(i) if type(i) is PendingBlock else 1 for i in items)


def _one_by_one(items: list[Item]) -> Iterator[Record | Pending]:
    for item in items:
        if type(item) is PendingBlock:
            yield from item.items(build=False)
        else:
            yield item  # type: ignore[misc]


def _built(record: Record | Pending, file: str) -> Record:
    if isinstance(record, Pending):
        return Record(record.build(), record.raw, file, record.line)
    return record


def _record_key(record: Record) -> tuple[Any, ...]:
    return ordering_key(record.item)  # type: ignore[arg-type]


Block = tuple[Rows, str, list[Any]]


def _write(handle: IO[bytes], rows: Rows, raws: list[str], wholes: list[Any], size: int) -> None:
    """A sorted chunk as blocks: rows, their raw texts as one string, their whole records."""
    for start in range(0, len(rows), size):
        block = rows[start : start + size].copy()
        whole = np.flatnonzero(block["shape"] == _WHOLE)
        kept = [wholes[i] for i in block["period"][whole].tolist()]
        block["period"][whole] = np.arange(len(whole))
        text = raws[start : start + size]
        block["raw"] = np.cumsum([len(r) for r in text])
        pickle.dump((block, "".join(text), kept), handle, protocol=pickle.HIGHEST_PROTOCOL)


def _blocks(handle: IO[bytes]) -> Iterator[Block]:
    while True:
        try:
            block: Block = pickle.load(handle)  # (our own temporary file)
        except EOFError:
            return
        yield block


@dataclass
class _Cursor:
    """One chunk file being merged: its current block and how far it has been taken."""

    blocks: Iterator[Block]
    rows: Rows
    text: str
    wholes: list[Any]
    high: npt.NDArray[np.uint64]
    seq: npt.NDArray[np.int64]
    at: int = 0
    more: bool = True


@dataclass
class RowCodec:
    """Records to chunk rows and back (see the module doc): one per sort.

    The shapes, names, periods and file names seen are kept in memory: one per series (plus
    one per revision pattern and notice), not one per record.
    """

    _shape_ids: dict[tuple[Any, ...], int] = field(default_factory=dict)
    _shapes: list[tuple[type[Any], dict[str, Any], frozenset[str], Name]] = field(
        default_factory=list
    )
    #: Per event class, what reads its fixed fields (all but :data:`_VARYING`) from ``__dict__``.
    _fixed: dict[type[Any], Callable[[dict[str, Any]], tuple[Any, ...]]] = field(
        default_factory=dict
    )
    _name_ids: dict[Name, int] = field(default_factory=dict)
    names: list[Name] = field(default_factory=list)
    _period_ids: dict[str, int] = field(default_factory=dict)
    _periods: list[str] = field(default_factory=list)
    _months: list[int] = field(default_factory=list)
    _file_ids: dict[str, int] = field(default_factory=dict)
    _files: list[str] = field(default_factory=list)
    #: What the figures of each template (of :class:`Pending` figures) share, by its ``id``;
    #: the templates themselves are kept, so that no other object takes one's ``id``.
    _templates: dict[int, tuple[int, int, float] | Literal[False]] = field(default_factory=dict)
    _kept: list[Any] = field(default_factory=list)
    #: Whether a record other than a figure was encoded; every figure's series and month (name
    #: and month index, packed), and the (month, day) pairs seen (packed), until then.
    _mixed: bool = False
    _series_months: list[npt.NDArray[np.int64]] = field(default_factory=list)
    _month_days: set[int] = field(default_factory=set)
    #: Each name's last part (a figure's revision), for the merge.
    _revisions: list[Any] = field(default_factory=list)
    #: The file of the :class:`Pending` figures.
    pending_file: str = ""
    seq: int = 0
    #: Merged rows turned into records at a time (the rest wait as numpy rows).
    slice: int = BLOCK

    def __post_init__(self) -> None:
        self._pending_file = self._file(self.pending_file)

    def encode(self, items: list[Item]) -> tuple[Rows, list[str], list[Any]]:
        """A chunk's rows, raw texts and records pickled whole.

        The rows are in no particular order: a row's ``seq`` tells its place in the file (a
        record's count in the sort; for a block's items, their line numbers: a file is read
        either in blocks or record by record)."""
        arrays: list[Rows] = []
        array_raws: list[str] = []
        rows: list[tuple[Any, ...]] = []  # rows of single records, made an array at the end
        raws: list[str] = []
        wholes: list[Any] = []
        seq = self.seq
        for item in items:
            if type(item) is PendingBlock:
                block = self._block_rows(item)
                if block is None:  # a template of figures pickled whole: one by one
                    pending = (item.pending(i) for i in range(len(item.lines)))
                    rows.extend(self._row(p, p.line, raws, wholes) for p in pending)
                else:
                    arrays.append(block)
                    array_raws.extend(item.raws)
                rows.extend(self._row(r, r.line, raws, wholes) for r in item.others)
            else:
                rows.append(self._row(item, seq, raws, wholes))  # type: ignore[arg-type]
                seq += 1
        self.seq = seq
        arrays.append(np.array(rows, dtype=ROW))
        array_raws.extend(raws)
        chunk = np.concatenate(arrays)
        self._note_months(chunk)
        return chunk, array_raws, wholes

    def _note_months(self, rows: Rows) -> None:
        """Note each figure's series and month, and each month's publication days (for
        :meth:`revision_free`); nothing once the file holds anything but figures."""
        if self._mixed:
            return
        if np.any(rows["shape"] == _WHOLE):
            self._mixed = True
            self._series_months = []
            return
        months = rows["month"].astype(np.int64)
        self._series_months.append((rows["name"].astype(np.int64) << _MONTH_BITS) | months)
        self._month_days.update(distinct((months << 32) | rows["day"]).tolist())

    def revision_free(self) -> bool:
        """Whether every record encoded is a figure of revision 0, no series has two figures
        for a month, and every publication day of a month comes before (or on) every day of
        a later month. Then, in availability order, the months never go back: no figure
        revises another or comes after a later month's (what an engine's revision
        checkpoints are for). Asked once, when every chunk is encoded."""
        if self._mixed or any(name[-1] != 0 for name in self.names):
            return False
        pairs = np.concatenate([np.empty(0, np.int64), *self._series_months])
        self._series_months = []
        if len(distinct(pairs)) != len(pairs):
            return False
        latest = -1  # the latest day of the months before
        days_of: dict[int, list[int]] = {}
        for packed in sorted(self._month_days):
            days_of.setdefault(packed >> 32, []).append(packed & 0xFFFFFFFF)
        for days in days_of.values():  # (in month order)
            if days[0] < latest:
                return False
            latest = days[-1]
        return True

    def _row(
        self, record: Record | Pending, seq: int, raws: list[str], wholes: list[Any]
    ) -> tuple[Any, ...]:
        """A record's row (its raw text put in ``raws``, a record pickled whole in ``wholes``)."""
        if type(record) is Pending:
            template, period, value, published, raw, line = record
            known = self._templates.get(id(template))
            if known is None:
                known = self._template(record)
            raws.append(raw)
            if known:
                number, name, previous = known
                month = self._month_of(period)
                return (published.toordinal(), 0, month, name, seq, number,
                        self._period_ids[period], value, previous, line, self._pending_file,
                        0)  # fmt: skip
            event: Any = record.build()
            file_id = self._pending_file
        else:
            event, raw, line = record.item, record.raw, record.line  # type: ignore[union-attr]
            file_id = self._file(record.file)  # type: ignore[union-attr]
            raws.append(raw)
        figure = self._figure(event) if type(event) in _FIGURES else None
        if figure is not None:
            number, name, previous = figure
            period = event.period
            return (event.published.toordinal(), 0, self._month_of(period), name, seq, number,
                    self._period_ids[period], event.value, previous, line, file_id, 0)  # fmt: skip
        day, kind, month, name = self._whole_key(event)
        wholes.append(event)
        return (day, kind, month, name, seq, _WHOLE, len(wholes) - 1, 0.0, 0.0, line, file_id, 0)

    def _month_of(self, period: str) -> int:
        """The month index of ``period`` (known from now on by its id too)."""
        number = self._period_ids.get(period)
        if number is None:
            number = self._period(period)
        return self._months[number]

    def _block_rows(self, block: PendingBlock) -> Rows | None:
        """A block's fast rows, made at once; None when a template's figures are pickled whole."""
        known = [self._templates.get(id(t)) for t in block.templates]
        for i, shared in enumerate(known):
            if shared is None:
                first = int(np.argmax(block.template == i))
                known[i] = self._template(block.pending(first))
        if not all(known):
            return None
        shapes, names, previous = zip(*known, strict=True)
        used = distinct(block.month)
        period_of = np.zeros(len(block.months), dtype=np.int32)
        month_of = np.zeros(len(block.months), dtype=np.int32)
        day_of = np.zeros(len(block.months), dtype=np.int32)
        for i in used.tolist():
            period = block.months[i]
            month_of[i] = self._month_of(period)
            period_of[i] = self._period_ids[period]
            day = block.days[i]
            assert day is not None  # (a fast row's month has its day)
            day_of[i] = day.toordinal()
        rows = np.zeros(len(block.lines), dtype=ROW)
        rows["day"] = day_of[block.month]
        rows["month"] = month_of[block.month]
        rows["name"] = np.array(names, dtype=np.int32)[block.template]
        rows["seq"] = block.lines
        rows["shape"] = np.array(shapes, dtype=np.int32)[block.template]
        rows["period"] = period_of[block.month]
        rows["value"] = block.values
        rows["previous"] = np.array(previous, dtype=np.float64)[block.template]
        rows["line"] = block.lines
        rows["file"] = self._pending_file
        return rows

    def _template(self, pending: Pending) -> tuple[int, int, float] | Literal[False]:
        """What every figure a template makes shares (shape, name, previous value), or False
        (they are pickled whole); the template is kept, so that its ``id`` stays its own."""
        self._kept.append(pending.template)
        shared = self._figure(pending.build())
        known: tuple[int, int, float] | Literal[False] = False if shared is None else shared
        self._templates[id(pending.template)] = known
        return known

    def _figure(self, event: Any) -> tuple[int, int, float] | None:
        """A figure's shape, name and previous value (NaN for None), or None: pickle it whole.

        (Its period, value and publication day go in its row.)"""
        values = event.__dict__
        period, value, published = values["period"], values["value"], values["published"]
        revision, previous = values["revision"], values["previous_value"]
        if (
            type(period) is not str
            or type(value) is not float
            or type(published) is not date
            or type(revision) is not int
            or event.__pydantic_extra__
            or event.__pydantic_private__
        ):
            return None
        if previous is None:
            previous = np.nan  # (None's mark: a valid previous value is never NaN)
        elif type(previous) is not float or previous != previous:
            return None
        cls = type(event)
        fixed_of = self._fixed.get(cls) or self._fixed_of(cls)
        shape = (cls, fixed_of(values), frozenset(event.__pydantic_fields_set__))
        try:
            number = self._shape_ids.get(shape)
        except TypeError:  # an unhashable value: the record is pickled whole
            return None
        if number is None:
            number = self._new_shape(shape, event, values)
        name_key = (*self._shapes[number][3], revision)
        name = self._name_ids.get(name_key)
        if name is None:
            name = self._name(name_key)
        return number, name, previous

    def _fixed_of(self, cls: type[Any]) -> Callable[[dict[str, Any]], tuple[Any, ...]]:
        """What reads a class's fixed fields (all but :data:`_VARYING`) from ``__dict__``."""
        fixed = [name for name in cls.model_fields if name not in _VARYING]
        getter = self._fixed[cls] = itemgetter(*fixed)
        return getter

    def _new_shape(self, shape: tuple[Any, ...], event: Any, values: dict[str, Any]) -> int:
        number = len(self._shapes)
        self._shape_ids[shape] = number
        key = ordering_key(event)
        self._shapes.append((type(event), dict(values), frozenset(shape[2]), (0, *key[3:7])))
        return number

    def _name(self, name: Name) -> int:
        if len(self.names) >= MAX_NAMES:
            raise ValueError(f"more than {MAX_NAMES:,} series in one unsorted file")
        number = self._name_ids[name] = len(self.names)
        self.names.append(name)
        return number

    def _period(self, period: str) -> int:
        number = self._period_ids[period] = len(self._periods)
        self._periods.append(period)
        self._months.append(month_index(period))
        return number

    def _file(self, file: str) -> int:
        number = self._file_ids.get(file)
        if number is None:
            number = self._file_ids[file] = len(self._files)
            self._files.append(file)
        return number

    def _whole_key(self, event: Event) -> tuple[int, int, int, int]:
        key = ordering_key(event)
        day: date = key[0]
        if isinstance(event, LayoffNoticeFiled):
            name: Name = (1, *key[2:])
            month = 0
        else:
            name, month = (0, *key[3:]), key[2]
        number = self._name_ids.get(name)
        if number is None:
            number = self._name(name)
        return day.toordinal(), key[1], month, number

    def sorted_chunk(
        self, rows: Rows, raws: list[str], wholes: list[Any]
    ) -> tuple[Rows, list[str], list[Any]]:
        """A chunk's rows in key order (stable), with their raw texts in the same order."""
        present, where = np.unique(rows["name"], return_inverse=True)
        names = self.names
        order = sorted(range(len(present)), key=lambda i: names[present[i]])
        rank = np.empty(len(present), dtype=np.int64)
        rank[order] = np.arange(len(present))
        keys = (rows["seq"], rank[where], rows["month"], rows["kind"], rows["day"])
        permutation = np.lexsort(keys)
        ordered = permutation.tolist()
        return rows[permutation], [raws[i] for i in ordered], wholes

    def merge(self, files: list[Iterator[Block]]) -> Iterator[Record]:
        """The sorted chunk files' records, merged in order, block by block."""
        ranks = np.empty(len(self.names), dtype=np.uint64)
        ranks[sorted(range(len(self.names)), key=self.names.__getitem__)] = np.arange(
            len(self.names), dtype=np.uint64
        )
        self._revisions = [name[-1] for name in self.names]  # (a figure's ends in its revision)
        cursors = [c for c in (self._cursor(blocks, ranks) for blocks in files) if c is not None]
        while cursors:
            bounds = [(int(c.high[-1]), int(c.seq[-1])) for c in cursors if c.more]
            limit = min(bounds) if bounds else None
            taken: list[tuple[_Cursor, int, int]] = []
            for cursor in cursors:
                end = len(cursor.rows) if limit is None else _upto(cursor, *limit)
                if end > cursor.at:
                    taken.append((cursor, cursor.at, end))
            yield from self._decode(taken)
            for cursor, _, end in taken:
                cursor.at = end
            cursors = [c for c in cursors if c.at < len(c.rows) or self._next(c, ranks)]

    def _cursor(self, blocks: Iterator[Block], ranks: npt.NDArray[np.uint64]) -> _Cursor | None:
        empty = np.empty(0, dtype=ROW)
        cursor = _Cursor(blocks, empty, "", [], np.empty(0, np.uint64), np.empty(0, np.int64))
        return cursor if self._next(cursor, ranks) else None

    def _next(self, cursor: _Cursor, ranks: npt.NDArray[np.uint64]) -> bool:
        """Load the cursor's next block; False when its file is done."""
        block = next(cursor.blocks, None)
        if block is None:
            cursor.more = False
            return False
        rows, cursor.text, cursor.wholes = block
        cursor.rows, cursor.at = rows, 0
        cursor.high = (
            (rows["day"].astype(np.uint64) << np.uint64(_DAY_SHIFT))
            | (rows["kind"].astype(np.uint64) << np.uint64(_KIND_SHIFT))
            | (rows["month"].astype(np.uint64) << np.uint64(_MONTH_SHIFT))
            | ranks[rows["name"]]
        )
        cursor.seq = rows["seq"]
        return True

    def _decode(self, taken: list[tuple[_Cursor, int, int]]) -> Iterator[Record]:
        """The rows taken from the cursors, in key order, as records (a slice at a time, so
        that only a slice's rows are Python objects at once)."""
        if not taken:
            return
        rows = np.concatenate([c.rows[a:b] for c, a, b in taken])
        high = np.concatenate([c.high[a:b] for c, a, b in taken])
        permutation = np.lexsort((rows["seq"], high))
        cursor_of = np.repeat(np.arange(len(taken)), [b - a for _, a, b in taken])
        # Each row's raw text: its block's text from the end of the row before to its own.
        ends = rows["raw"]
        starts = np.concatenate(
            [np.concatenate(([c.rows["raw"][a - 1] if a else 0], c.rows["raw"][a : b - 1]))
             for c, a, b in taken]
        )  # fmt: skip
        texts = [c.text for c, _, _ in taken]
        wholes = [c.wholes for c, _, _ in taken]
        shapes, periods, files = self._shapes, self._periods, self._files
        revisions = self._revisions
        days: dict[int, date] = {}
        new, setattr_, new_record = object.__new__, object.__setattr__, tuple.__new__
        for first in range(0, len(rows), self.slice):
            part = permutation[first : first + self.slice]
            ordered = rows[part]
            for cursor, start, end, shape, period, value, previous, day, name, line, file in zip(
                cursor_of[part].tolist(),
                starts[part].tolist(),
                ends[part].tolist(),
                ordered["shape"].tolist(),
                ordered["period"].tolist(),
                ordered["value"].tolist(),
                ordered["previous"].tolist(),
                ordered["day"].tolist(),
                ordered["name"].tolist(),
                ordered["line"].tolist(),
                ordered["file"].tolist(),
                strict=True,
            ):
                raw = texts[cursor][start:end]
                if shape == _WHOLE:
                    yield Record(wholes[cursor][period], raw, files[file], line)
                    continue
                cls, base, fields_set, _ = shapes[shape]
                published = days.get(day)
                if published is None:
                    published = days[day] = date.fromordinal(day)
                values = dict(
                    base,
                    period=periods[period],
                    value=value,
                    published=published,
                    revision=revisions[name],
                    previous_value=None if previous != previous else previous,
                )
                event = new(cls)
                setattr_(event, "__dict__", values)
                setattr_(event, "__pydantic_extra__", None)
                setattr_(event, "__pydantic_fields_set__", set(fields_set))
                setattr_(event, "__pydantic_private__", None)
                yield new_record(Record, (event, raw, files[file], line))


def _upto(cursor: _Cursor, high: int, seq: int) -> int:
    """Where the cursor's rows pass the key ``(high, seq)`` (rows up to it are ready)."""
    keys = cursor.high
    at = cursor.at
    lo = int(np.searchsorted(keys[at:], np.uint64(high), side="left")) + at
    hi = int(np.searchsorted(keys[at:], np.uint64(high), side="right")) + at
    return lo + int(np.searchsorted(cursor.seq[lo:hi], seq, side="right"))
