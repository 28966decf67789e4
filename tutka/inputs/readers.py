"""Input files into records: each line an event or a dead letter, never an exception."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Final

from tutka.inputs.decoding import Decoder
from tutka.inputs.formats import (
    ALL,
    CORRUPT,
    DATA_COLUMNS,
    SUFFIXES,
    SUPPRESSED,
    CappedLines,
    Event,
    InputError,
    LineCounts,
    Unreadable,
    csv_published,
    csv_rows,
    file_origin,
    is_blank_row,
    is_csv,
    is_parquet,
    open_input,
    own_measure,
)
from tutka.inputs.records import Record
from tutka.models.deadletter import DeadLetter, Origin, dead_letter
from tutka.models.events import PXWEB_MEASURES, UnemploymentMeasure

if TYPE_CHECKING:
    from tutka.inputs.blocks import PendingBlock

#: A plain CSV of at least this many records is worth reading in columnar batches (the replay's
#: choice); a shorter one is read row by row, sparing pyarrow's libraries and batches (about
#: 150 MB of memory) where they would gain a few seconds.
COLUMNAR_RECORDS: Final = 500_000


def input_files(paths: list[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if _is_input(p) and _is_data(p))
            if not found:
                raise InputError(f"{path} contains no .jsonl, .csv or .parquet input files")
            files.extend(found)
        elif path.is_file():
            if not _is_input(path):
                raise InputError(
                    f"{path}: unknown input format (expected .jsonl or .csv, optionally .gz, "
                    "or .parquet)"
                )
            files.append(path)
        else:
            raise InputError(f"{path}: no such file or directory")
    return files


def _is_data(path: Path) -> bool:
    """JSON lines and Parquet always; a CSV only if it is in Statistics Finland's long format."""
    if not is_csv(path):
        return True
    try:
        with open_input(path) as handle:
            header = next(csv.reader(handle), [])
    except (OSError, UnicodeDecodeError, csv.Error, *CORRUPT):
        return True  # let reading it report the problem
    return {c.strip().lstrip("\ufeff") for c in header} >= DATA_COLUMNS


def _is_input(path: Path) -> bool:
    name = path.name if is_parquet(path) else path.name.removesuffix(".gz")
    return path.is_file() and name.endswith(SUFFIXES)


def read_records(
    path: Path,
    received_at: datetime | None = None,
    decoder: Decoder | None = None,
    counts: LineCounts | None = None,
    plain: bool = False,
) -> Iterator[Record]:
    """Every line of ``path`` as a record; bad lines become dead letters, never exceptions.

    Blank lines are not records: they are counted in ``counts``. A line longer than
    :data:`~tutka.inputs.formats.MAX_LINE_CHARS` (a CSV field longer than
    :data:`~tutka.inputs.formats.MAX_FIELD_CHARS`) is a dead letter, and so is the rest of a
    compressed file that stops decompressing: reading the other files goes on.

    ``plain``: the order scan found the CSV plain (:class:`~tutka.inputs.ordering.FileOrder`),
    so it is read in columnar batches (the replay asks for that from :data:`COLUMNAR_RECORDS`
    records on); a Parquet file always is.
    """
    now = received_at or datetime.now(UTC)
    decoder = decoder if decoder is not None else Decoder()
    counts = counts if counts is not None else LineCounts()
    if is_parquet(path):
        yield from _columnar_records(path, _parquet_header(path), now, decoder)
        return
    if plain:
        yield from _columnar_records(path, _csv_header(path), now, decoder)
        return
    try:
        with open_input(path) as handle:
            lines = CappedLines(handle)
            if is_csv(path):
                yield from _csv_records(lines, str(path), now, decoder, counts)
            else:
                yield from _jsonl_records(lines, str(path), now, decoder, counts)
            if lines.end is not None:
                yield _unreadable(lines.end, str(path), lines.number + 1, now)
    except CORRUPT as exc:  # before the first line: not a compressed file at all
        yield _unreadable(Unreadable("unreadable", f"the file cannot be read: {exc}"),
                          str(path), 1, now)  # fmt: skip
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc}") from exc


def _csv_header(path: Path) -> list[str]:
    with open_input(path) as handle:
        return [c.strip() for c in next(csv.reader(handle), [])]


def _parquet_header(path: Path) -> list[str]:
    import pyarrow as pa  # (columnar reading only: 100 MB of libraries)

    from tutka.inputs.columnar import parquet_columns

    try:
        columns = [c.strip() for c in parquet_columns(path)]
    except (OSError, pa.ArrowException) as exc:
        raise InputError(f"cannot read {path}: {exc}") from exc
    if not set(columns) >= DATA_COLUMNS:
        raise InputError(
            f"{path}: Parquet columns {columns} lack month, area, measure and value "
            "(Statistics Finland's long format)"
        )
    return columns


def _unreadable(problem: Unreadable, file: str, number: int, now: datetime) -> Record:
    origin = file_origin(file, number)
    letter = dead_letter(problem.raw, origin, now, "decode", problem.error_type, problem.summary)
    return Record(letter, "", file, number)


def _jsonl_records(
    lines: CappedLines, file: str, now: datetime, decoder: Decoder, counts: LineCounts
) -> Iterator[Record]:
    for line in lines:
        number = lines.number
        problem = lines.problems.pop(number, None)
        if problem is not None:
            yield _unreadable(problem, file, number, now)
            continue
        text = line.rstrip("\r\n")
        if not text.strip():
            counts.blank += 1
            continue
        yield Record(decoder.line(text, file, number, now), text, file, number)


def _csv_records(
    lines: CappedLines, file: str, now: datetime, decoder: Decoder, counts: LineCounts
) -> Iterator[Record]:
    reader = csv.reader(lines)
    header = next(reader, None)
    if header is None:
        return
    columns = [c.strip() for c in header]
    if not set(columns) >= DATA_COLUMNS:
        raise InputError(
            f"{file}: CSV header {columns} lacks month, area, measure and value "
            "(Statistics Finland's long format)"
        )
    source = _source(file)
    for row in csv_rows(reader, lines):
        number = lines.number
        if isinstance(row, Unreadable):
            yield _unreadable(row, file, number, now)
            continue
        if is_blank_row(row):
            counts.blank += 1
            continue
        item = _row_item(row, columns, file, number, now, source, decoder)
        if item is not None:
            yield Record(item, ",".join(row), file, number)


def _source(file: str) -> str:
    return Path(file).name.split(".")[0][:64] or "csv"


def _row_item(
    row: list[str],
    columns: list[str],
    file: str,
    number: int,
    now: datetime,
    source: str,
    decoder: Decoder,
) -> Event | DeadLetter | None:
    """One data row's event or dead letter; None (counted) for a suppressed cell."""
    raw = ",".join(row)
    if len(row) != len(columns):
        return _bad(
            raw,
            file_origin(file, number),
            now,
            "csv_columns",
            f"expected {len(columns)} columns, got {len(row)}",
        )
    event = _csv_event(
        dict(zip(columns, row, strict=True)), raw, file, number, now, source, decoder
    )
    if event is None:
        decoder.suppressed += 1
    return event


def read_pending(
    path: Path, received_at: datetime, decoder: Decoder, counts: LineCounts, plain: bool
) -> Iterator[Record | PendingBlock]:
    """:func:`read_records`, but a plain CSV (``plain``) or a Parquet file, read in columnar
    batches, gives a block per batch (:class:`~tutka.inputs.blocks.PendingBlock`: its figures
    of the fast path as columns, for the external sort); any other file gives its records."""
    if is_parquet(path):
        yield from _columnar_blocks(path, _parquet_header(path), received_at, decoder)
    elif plain:
        yield from _columnar_blocks(path, _csv_header(path), received_at, decoder)
    else:
        yield from read_records(path, received_at, decoder, counts)


def _columnar_records(
    path: Path, columns: list[str], now: datetime, decoder: Decoder
) -> Iterator[Record]:
    """A plain CSV or a Parquet file read in columnar batches, record by record."""
    file = str(path)
    for block in _columnar_blocks(path, columns, now, decoder):
        yield from block.items(build=True, file=file)  # type: ignore[misc]


def _columnar_blocks(
    path: Path, columns: list[str], now: datetime, decoder: Decoder
) -> Iterator[PendingBlock]:
    """A plain CSV or a Parquet file read in columnar batches (:mod:`tutka.inputs.columnar`)."""
    import pyarrow as pa  # (columnar reading only: 100 MB of libraries)

    from tutka.inputs.columnar import columnar_blocks, csv_batches, parquet_batches

    file, source = str(path), _source(str(path))

    def slow(row: list[str], number: int) -> Event | DeadLetter | None:
        return _row_item(row, columns, file, number, now, source, decoder)

    if is_parquet(path):
        batches, first = parquet_batches(path), 1
    else:
        batches, first = csv_batches(path, len(columns)), 2
    try:
        yield from columnar_blocks(batches, columns, decoder, slow, first, file)
    except pa.ArrowException as exc:
        raise InputError(f"cannot read {path} in columns: {exc}") from exc


def _csv_event(
    row: dict[str, str],
    raw: str,
    file: str,
    number: int,
    now: datetime,
    source: str,
    decoder: Decoder,
) -> Event | DeadLetter | None:
    """The row's event, a dead letter, or None for a suppressed cell (see :data:`SUPPRESSED`)."""
    code = row["measure"].strip()
    measure = PXWEB_MEASURES.get(code) or own_measure(code)
    if measure is None:
        known = ", ".join(sorted(PXWEB_MEASURES))
        return _bad(
            raw,
            file_origin(file, number),
            now,
            "unknown_measure",
            f"measure {code!r} is not one of {known}",
        )
    value_text = row["value"].strip()
    if value_text in SUPPRESSED:
        return None
    try:
        value: float | str = float(value_text.replace(",", "."))
    except ValueError:
        value = value_text  # let validation say what is wrong with it
    month = row["month"].strip()
    payload: dict[str, object] = {
        "type": "unemployment" if isinstance(measure, UnemploymentMeasure) else "vacancies",
        "area": row["area"].strip(),
        "period": month,
        "measure": measure.value,
        "value": value,
        "published": csv_published(month),
        "source": source,
    }
    occupation = row.get("occupation", ALL).strip()
    if occupation and occupation != ALL:
        payload["occupation"] = occupation
    return decoder.payload(payload, raw, file, number, now)


def _bad(raw: str, origin: Origin, now: datetime, error_type: str, summary: str) -> DeadLetter:
    return dead_letter(raw, origin, now, "validation", error_type, summary)
