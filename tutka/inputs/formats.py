"""What an input file is: its formats, its events, and how it is opened.

See :mod:`tutka.inputs` for the formats accepted. Shared by the readers
(:mod:`tutka.inputs.readers`), the fast decoder (:mod:`tutka.inputs.decoding`) and the order scan
(:mod:`tutka.inputs.ordering`).
"""

from __future__ import annotations

import csv
import gzip
import io
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import IO, Final

from tutka.models.codes import period_index
from tutka.models.deadletter import Origin
from tutka.models.events import (
    LayoffNoticeFiled,
    UnemploymentMeasure,
    UnemploymentReported,
    VacanciesReported,
    VacancyMeasure,
)

Event = LayoffNoticeFiled | UnemploymentReported | VacanciesReported
SUFFIXES: Final = (".jsonl", ".csv", ".parquet")
DATA_COLUMNS: Final = frozenset({"month", "area", "measure", "value"})
PUBLICATION_DAY: Final = 25
#: Statistics Finland's code for "all" in a classification column.
ALL: Final = "SSS"
#: How Statistics Finland's tables write a cell they do not publish: blank (PxWeb's CSV export of
#: a confidential or too uncertain figure), ``..`` (not available), ``.`` (not applicable) or
#: ``-`` (as some exports write "nil"). About a fifth of the occupation table 12ti is blank. Such a
#: cell is *suppressed*, not bad input: it is counted (:attr:`Decoder.suppressed`), never a dead
#: letter, and the series simply has no figure that month.
SUPPRESSED: Final = frozenset({"", ".", "..", "-"})
#: The longest input line taken in (characters): a longer one is a dead letter
#: (``line_too_long``) and is skipped without being held in memory.
MAX_LINE_CHARS: Final = 1 << 20
#: The longest CSV field (the csv module's own limit, named): a longer one makes its row a dead
#: letter (``field_too_long``).
MAX_FIELD_CHARS: Final = 131_072
#: Errors of a compressed file that stops decompressing (flipped bits, a cut-off end).
CORRUPT: Final = (EOFError, zlib.error, gzip.BadGzipFile)


class InputError(Exception):
    """An input that cannot be read at all (missing, unreadable, unknown format)."""


@dataclass(frozen=True, slots=True)
class Unreadable:
    """A line or the rest of a file that cannot be taken in, and why (a dead letter's reason)."""

    error_type: str
    summary: str
    raw: str = ""


@dataclass(slots=True)
class LineCounts:
    """What a read saw besides records: blank lines (counted, not records)."""

    blank: int = 0


@dataclass(slots=True)
class CappedLines:
    """The lines of a text handle, each at most :data:`MAX_LINE_CHARS` long, line ends kept.

    Iterating yields lines. A longer line is read past in bounded pieces and its start is set
    aside in ``problems`` (keyed by its line number, 1-based) while a placeholder line takes its
    place, so that a CSV reader over the lines stays in step. A compressed file that stops
    decompressing ends the lines, with the reason in ``end``. A byte-order mark at the start is
    dropped.
    """

    handle: IO[str]
    placeholder: str = "\n"
    problems: dict[int, Unreadable] = field(default_factory=dict)
    end: Unreadable | None = None
    number: int = 0

    def __iter__(self) -> Iterator[str]:
        while True:
            try:
                line = self.handle.readline(MAX_LINE_CHARS + 1)
                if not line:
                    return
                self.number += 1
                if self.number == 1:
                    line = line.removeprefix("\ufeff")
                if len(line) > MAX_LINE_CHARS and not line.endswith(("\n", "\r")):
                    self._skip_rest()
                    self.problems[self.number] = Unreadable(
                        "line_too_long",
                        f"line {self.number} is longer than {MAX_LINE_CHARS:,} characters",
                        line[:MAX_LINE_CHARS],
                    )
                    line = self.placeholder
            except CORRUPT as exc:
                self.end = Unreadable(
                    "unreadable",
                    f"the file cannot be read past line {self.number}: {type(exc).__name__}: {exc}",
                )
                return
            yield line

    def _skip_rest(self) -> None:
        while True:
            piece = self.handle.readline(MAX_LINE_CHARS)
            if not piece or piece.endswith(("\n", "\r")):
                return


def csv_rows(reader: Iterator[list[str]], lines: CappedLines) -> Iterator[list[str] | Unreadable]:
    """The rows of a CSV reader over ``lines``, each or an :class:`Unreadable` in its place.

    A row with a field over :data:`MAX_FIELD_CHARS`, over a line longer than
    :data:`MAX_LINE_CHARS` or otherwise not CSV is an :class:`Unreadable`; reading goes on.
    """
    consumed = lines.number
    while True:
        problem: Unreadable | None = None
        try:
            row: list[str] | None = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            row = None
            too_long = "field limit" in str(exc)
            problem = Unreadable(
                "field_too_long" if too_long else "csv_error",
                f"a field is longer than {MAX_FIELD_CHARS:,} characters"
                if too_long
                else f"the row cannot be parsed as CSV: {exc}",
            )
        first, consumed = consumed + 1, lines.number
        for number in range(first, consumed + 1):
            problem = lines.problems.pop(number, None) or problem
        if problem is not None:
            yield problem
        elif row is not None:
            yield row


def is_blank_row(row: list[str]) -> bool:
    """A CSV row from a blank or whitespace-only line: counted, not a record."""
    return not row or (len(row) == 1 and not row[0].strip())


def file_origin(file: str, line: int) -> Origin:
    # Built on demand: only a dead letter needs it, and a pydantic model per line is not free.
    return Origin(source="file", file=file, line=line)


def is_csv(path: Path) -> bool:
    return path.name.removesuffix(".gz").endswith(".csv")


def is_parquet(path: Path) -> bool:
    """A Parquet file (Statistics Finland's long format, in columns; compressed inside)."""
    return path.name.endswith(".parquet")


def open_input(path: Path) -> IO[str]:
    if path.name.endswith(".gz"):
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", errors="surrogateescape")
    return path.open("r", encoding="utf-8", errors="surrogateescape", newline="")


def own_measure(code: str) -> UnemploymentMeasure | VacancyMeasure | None:
    """Our own measure names are accepted in CSV too (e.g. ``unemployed_jobseekers``)."""
    for enum in (UnemploymentMeasure, VacancyMeasure):
        try:
            return enum(code)
        except ValueError:
            continue
    return None


def csv_published(month: str) -> str:
    """The 25th of the following month; a malformed month is left for validation to report."""
    try:
        index = period_index(month) + 1
    except ValueError:
        return "1970-01-01"
    return date(index // 12, index % 12 + 1, PUBLICATION_DAY).isoformat()
