"""The order scan: how an input file is ordered, read once without validation.

The pipeline needs its input in availability order (:func:`tutka.streams.ordering.ordering_key`).
:func:`scan_order` says whether a file is ``sorted``, ``by_day`` or ``unsorted`` (see
:mod:`tutka.inputs`), so that the replay can stream it instead of holding it all in memory.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Final, Literal

import numpy as np

from tutka.inputs.decoding import CANONICAL_FIGURE, ISO_DAY, is_figure_type
from tutka.inputs.formats import (
    ALL,
    CORRUPT,
    DATA_COLUMNS,
    MAX_FIELD_CHARS,
    CappedLines,
    InputError,
    Unreadable,
    csv_published,
    csv_rows,
    is_blank_row,
    is_csv,
    is_parquet,
    open_input,
    own_measure,
)
from tutka.models.codes import period_index
from tutka.models.events import PXWEB_MEASURES

OrderMode = Literal["sorted", "by_day", "unsorted"]
#: A raw ordering key: the availability day (ISO text) first, then as ``ordering_key``.
RawKey = tuple[object, ...]


@dataclass(frozen=True, slots=True)
class FileOrder:
    """How an input file is ordered, and how many records it holds (lines or data rows)."""

    path: Path
    mode: OrderMode
    records: int
    #: A CSV whose every line is one plain row (ASCII, no quotes, the header's columns, no
    #: blank or unreadable line, no byte-order mark): it may be read in columnar batches
    #: (:mod:`tutka.inputs.columnar`), which then give exactly the rows the csv module gives.
    plain: bool = False


class _Unknown:
    """A line whose place in the order cannot be told without validating it."""


_UNKNOWN: Final = _Unknown()


def scan_order(path: Path) -> FileOrder:
    """Read ``path`` once, without validation, and classify its order (see the module doc).

    Lines that can only become dead letters (not JSON, no known type, a CSV row with a missing
    value …) take no place in the order. A line whose place is unclear without validation
    (an odd type in a key field) makes the file ``unsorted``: the safe, in-memory way.

    Once a plain CSV is found ``unsorted`` (the occupation table 12ti: a few hundred rows in),
    only its rows are left to count and its plainness to check: the rest is read in large
    blocks and checked at once (:func:`_plain_rest`). Should the rest not be plain beyond
    doubt, the file is scanned again row by row.
    """
    if is_parquet(path):
        return _scan_parquet(path)
    try:
        return _scan_text(path, fast_rest=True)
    except _NotPlain:
        return _scan_text(path, fast_rest=False)


class _NotPlain(Exception):
    """The rest of a CSV is not plain beyond doubt (see :func:`_plain_rest`)."""


def _scan_text(path: Path, fast_rest: bool) -> FileOrder:
    try:
        with open_input(path) as handle:
            lines = CappedLines(handle)
            if not is_csv(path):
                return _classify(path, _json_lines(lines), _json_key, lines)
            plain = _Plain(not _has_bom(path))
            reader = csv.reader(plain.lines(lines))
            columns = [c.strip() for c in next(reader, [])]
            if not set(columns) >= DATA_COLUMNS:
                return FileOrder(path, "unsorted", 0)  # reading it will say what is wrong

            def key(row: list[str] | Unreadable) -> RawKey | _Unknown | None:
                return None if isinstance(row, Unreadable) else _csv_key(columns, row)

            plain.width = len(columns)

            def rest() -> int | None:
                if not (fast_rest and plain.plain and lines.end is None and not lines.problems):
                    return None
                return _plain_rest(handle, plain.width)

            order = _classify(path, plain.rows(csv_rows(reader, lines)), key, lines, rest)
            is_plain = plain.plain and lines.end is None and not lines.problems
            return FileOrder(path, order.mode, order.records, is_plain)
    except (csv.Error, *CORRUPT):  # the header: reading it will make the dead letter
        return FileOrder(path, "unsorted", 1)
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {path}: {exc}") from exc


def _scan_parquet(path: Path) -> FileOrder:
    """A Parquet file's order, row by row as text (as the readers see it)."""
    import pyarrow as pa  # (columnar reading only: 100 MB of libraries)

    from tutka.inputs.columnar import parquet_batches, parquet_columns, rows

    try:
        columns = [c.strip() for c in parquet_columns(path)]
        if not set(columns) >= DATA_COLUMNS:
            return FileOrder(path, "unsorted", 0)  # reading it will say what is wrong
        order = _classify(
            path, rows(parquet_batches(path)), lambda row: _csv_key(columns, row),
            CappedLines(io.StringIO()),  # (no lines: nothing cut short)
        )  # fmt: skip
    except (OSError, pa.ArrowException) as exc:
        raise InputError(f"cannot read {path}: {exc}") from exc
    return FileOrder(path, order.mode, order.records, plain=True)


#: Characters read at a time by :func:`_plain_rest`.
REST_BLOCK: Final = 1 << 20


def _plain_rest(handle: IO[str], width: int) -> int:
    """The rows left in a plain CSV's ``handle`` (at the start of a line), counted a block at
    a time; :class:`_NotPlain` unless every line left is plain beyond doubt: ASCII, no quote,
    no NUL, no carriage return but one ending the line, exactly ``width`` fields (so neither
    blank nor cut short), none longer than a CSV field may be. Such a line is one row, as the
    csv module reads it."""
    count = 0
    tail = ""
    try:
        while block := handle.read(REST_BLOCK):
            text = tail + block
            cut = text.rfind("\n") + 1
            body, tail = text[:cut], text[cut:]
            if len(tail) > MAX_FIELD_CHARS:
                raise _NotPlain
            count += _plain_lines(body, width)
    except CORRUPT as exc:  # (a broken end: the row-by-row scan makes its dead letter)
        raise _NotPlain from exc
    return count + (_plain_lines(tail + "\n", width) if tail else 0)


def _plain_lines(body: str, width: int) -> int:
    """How many lines ``body`` (whole lines) holds, if each is plain (see :func:`_plain_rest`)."""
    if not body:
        return 0
    if (
        not body.isascii()
        or '"' in body
        or "\x00" in body
        or body.count("\r") != body.count("\r\n")
    ):
        raise _NotPlain
    data = np.frombuffer(body.encode("ascii"), dtype=np.uint8)
    ends = np.flatnonzero(data == ord("\n"))
    starts = np.concatenate(([0], ends[:-1] + 1))
    commas = np.concatenate(([0], np.cumsum(data == ord(","))))
    if np.any(commas[ends] - commas[starts] != width - 1) or np.any(
        ends - starts > MAX_FIELD_CHARS
    ):
        raise _NotPlain
    return len(ends)


class _Plain:
    """Watches a CSV's lines and rows go by and says whether the file is plain (see FileOrder)."""

    def __init__(self, plain: bool) -> None:
        self.width = 0
        self.plain = plain

    def lines(self, lines: CappedLines) -> Iterator[str]:
        for line in lines:
            if self.plain and (not line.isascii() or '"' in line or "\r" in line.rstrip("\r\n")):
                self.plain = False
            yield line

    def rows(self, rows: Iterator[list[str] | Unreadable]) -> Iterator[list[str] | Unreadable]:
        for row in rows:
            if _blank(row):
                self.plain = False
                continue
            if isinstance(row, Unreadable) or len(row) != self.width:
                self.plain = False
            yield row


def _has_bom(path: Path) -> bool:
    with open_input(path) as handle:
        return handle.read(1) == "\ufeff"


def _json_lines(lines: CappedLines) -> Iterator[str]:
    """The lines that are records: not blank; a line too long to read stands as an empty one."""
    for line in lines:
        if lines.problems.pop(lines.number, None) is not None:
            yield ""  # (not JSON: a dead letter, with no place in the order)
        elif line.strip():
            yield line


def _blank(row: list[str] | Unreadable) -> bool:
    return not isinstance(row, Unreadable) and is_blank_row(row)


def _classify(
    path: Path,
    items: Iterator[Any],
    key_of: Callable[[Any], RawKey | _Unknown | None],
    lines: CappedLines,
    rest: Callable[[], int | None] | None = None,
) -> FileOrder:
    """The order of ``items``; ``rest``, once the file is found unsorted, may count the items
    left at once (None: they are counted one by one)."""
    mode: OrderMode = "sorted"
    count = 0
    last: RawKey | None = None
    for item in items:
        count += 1
        if mode == "unsorted":
            continue  # only counting now
        key = key_of(item)
        if key is None:
            continue
        if isinstance(key, _Unknown) or (
            last is not None and key < last and key[0] < last[0]  # type: ignore[operator]
        ):
            mode = "unsorted"  # (the availability day went back)
            left = rest() if rest is not None else None
            if left is not None:
                count += left
                break
            continue
        if last is not None and key < last:
            mode = "by_day"
        last = key
    if lines.end is not None:
        count += 1  # the rest of the file, one dead letter
    return FileOrder(path, mode, count)


def _json_key(line: str) -> RawKey | _Unknown | None:
    text = line.rstrip("\r\n")
    match = CANONICAL_FIGURE.fullmatch(text)
    if match is not None:  # the common case, without building the dict
        area, period, sector, occupation = match.group(1, 2, 3, 4)
        published, revision, measure = match.group(8, 9, 12)
        if not (_PERIOD_TEXT.fullmatch(period) and ISO_DAY.fullmatch(published)):
            return _UNKNOWN
        index = int(period[:4]) * 12 + int(period[5:]) - 1
        return (published, 0, index, area, measure, sector or "", occupation or "", int(revision))
    try:
        payload = json.loads(text)
    except (ValueError, RecursionError):
        return None  # not JSON: a dead letter
    if type(payload) is not dict:
        return None  # not an object: a dead letter
    kind = payload.get("type")
    if kind != "layoff_notice" and not is_figure_type(kind):
        return None  # no event type: the discriminated union rejects it
    revision = payload.get("revision", 0)
    if type(revision) is not int:
        return _UNKNOWN
    if kind == "layoff_notice":
        announced, notice_id = payload.get("announced"), payload.get("notice_id")
        if _is_day(announced) and type(notice_id) is str:
            return (announced, 1, notice_id, revision)
        return _UNKNOWN
    published, period = payload.get("published"), payload.get("period")
    area, measure = payload.get("area"), payload.get("measure")
    sector, occupation = payload.get("sector"), payload.get("occupation")
    if not (
        _is_day(published)
        and type(period) is str
        and _PERIOD_TEXT.fullmatch(period)
        and type(area) is str
        and type(measure) is str
        and (sector is None or type(sector) is str)
        and (occupation is None or type(occupation) is str)
    ):
        return _UNKNOWN
    index = int(period[:4]) * 12 + int(period[5:]) - 1
    return (published, 0, index, area, measure, sector or "", occupation or "", revision)


_PERIOD_TEXT: Final = re.compile(r"[0-9]{4}-[0-9]{2}")


def _is_day(value: object) -> bool:
    return type(value) is str and ISO_DAY.fullmatch(value) is not None


def _csv_key(columns: list[str], row: list[str]) -> RawKey | None:
    """The ordering key of the figure a CSV row becomes (as the readers build it); None: dead."""
    if len(row) != len(columns):
        return None
    fields = dict(zip(columns, row, strict=True))
    code = fields["measure"].strip()
    measure = PXWEB_MEASURES.get(code) or own_measure(code)
    if measure is None or fields["value"].strip() in ("", ".", "..", "-"):
        return None
    month = fields["month"].strip()
    try:
        index = period_index(month)
    except ValueError:
        return None  # the period fails validation
    occupation = fields.get("occupation", ALL).strip()
    occupation = "" if occupation == ALL else occupation
    return (
        csv_published(month),
        0,
        index,
        fields["area"].strip(),
        measure.value,
        "",
        occupation,
        0,
    )
