"""Reading input files into events and dead letters (the file boundary of the embedded runner).

Accepted, optionally gzip-compressed (``.gz``):

* JSON lines (``*.jsonl``): one event per line, any of the three types, each with its
  ``type`` discriminator (``layoff_notice``, ``unemployment``, ``vacancies``);
* Statistics Finland's long CSV from PxWeb: ``month,area,measure,value`` (table 12r5) or
  ``month,area,occupation,measure,value`` (table 12ti), with measure codes such as
  ``TYOTTOMATLOPUSSA``, ``TYOVOIMATK`` and ``AVPAIKATLOPUSSA``. A CSV has no publication date:
  each figure is taken as published on the 25th of the following month, as the employment
  service statistics are.

A directory means every such file in it, in name order; CSV files in a directory that are not in
the long format (such as a ground-truth ``truth.csv`` beside the data) are skipped.
"""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import IO, Final

from models.codes import period_index
from models.deadletter import DeadLetter, Origin, dead_letter, decode, validate
from models.events import (
    PXWEB_MEASURES,
    LayoffNoticeFiled,
    UnemploymentMeasure,
    UnemploymentReported,
    VacanciesReported,
    VacancyMeasure,
)

Event = LayoffNoticeFiled | UnemploymentReported | VacanciesReported
SUFFIXES: Final = (".jsonl", ".csv")
DATA_COLUMNS: Final = frozenset({"month", "area", "measure", "value"})
PUBLICATION_DAY: Final = 25
#: Statistics Finland's code for "all" in a classification column.
ALL: Final = "SSS"


@dataclass(frozen=True, slots=True)
class Record:
    """One input item: the event it became (or the dead letter) and the raw text behind it."""

    item: Event | DeadLetter
    raw: str
    origin: Origin


class InputError(Exception):
    """An input that cannot be read at all (missing, unreadable, unknown format)."""


def input_files(paths: list[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if _is_input(p) and _is_data(p))
            if not found:
                raise InputError(f"{path} contains no .jsonl or .csv input files")
            files.extend(found)
        elif path.is_file():
            if not _is_input(path):
                raise InputError(
                    f"{path}: unknown input format (expected .jsonl or .csv, optionally .gz)"
                )
            files.append(path)
        else:
            raise InputError(f"{path}: no such file or directory")
    return files


def _is_data(path: Path) -> bool:
    """JSON lines always; a CSV only if it is in Statistics Finland's long format."""
    if not path.name.removesuffix(".gz").endswith(".csv"):
        return True
    try:
        with _open(path) as handle:
            header = next(csv.reader(handle), [])
    except (OSError, EOFError, gzip.BadGzipFile, UnicodeDecodeError):
        return True  # let reading it report the problem
    return {c.strip().lstrip("\ufeff") for c in header} >= DATA_COLUMNS


def _is_input(path: Path) -> bool:
    name = path.name.removesuffix(".gz")
    return path.is_file() and name.endswith(SUFFIXES)


def read_records(path: Path, received_at: datetime | None = None) -> Iterator[Record]:
    """Every line of ``path`` as a record; bad lines become dead letters, never exceptions."""
    now = received_at or datetime.now(UTC)
    name = path.name.removesuffix(".gz")
    try:
        with _open(path) as handle:
            if name.endswith(".csv"):
                yield from _csv_records(handle, str(path), now)
            else:
                yield from _jsonl_records(handle, str(path), now)
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise InputError(f"cannot read {path}: {exc}") from exc


def _open(path: Path) -> IO[str]:
    if path.name.endswith(".gz"):
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", errors="surrogateescape")
    return path.open("r", encoding="utf-8", errors="surrogateescape", newline="")


def _jsonl_records(handle: IO[str], file: str, now: datetime) -> Iterator[Record]:
    for number, line in enumerate(handle, start=1):
        text = line.rstrip("\r\n")
        if not text.strip():
            continue
        origin = Origin(source="file", file=file, line=number)
        raw = text.encode("utf-8", errors="surrogateescape")
        yield Record(decode(raw, origin, now), text, origin)


def _csv_records(handle: IO[str], file: str, now: datetime) -> Iterator[Record]:
    reader = csv.reader(handle)
    header = next(reader, None)
    if header is None:
        return
    columns = [c.strip().lstrip("\ufeff") for c in header]
    if not set(columns) >= DATA_COLUMNS:
        raise InputError(
            f"{file}: CSV header {columns} lacks month, area, measure and value "
            "(Statistics Finland's long format)"
        )
    source = Path(file).name.split(".")[0][:64] or "csv"
    for row in reader:
        number = reader.line_num
        raw = ",".join(row)
        origin = Origin(source="file", file=file, line=number)
        if len(row) != len(columns):
            yield Record(
                _bad(
                    raw,
                    origin,
                    now,
                    "csv_columns",
                    f"expected {len(columns)} columns, got {len(row)}",
                ),
                raw,
                origin,
            )
            continue
        yield Record(
            _csv_event(dict(zip(columns, row, strict=True)), raw, origin, now, source), raw, origin
        )


def _csv_event(
    row: dict[str, str], raw: str, origin: Origin, now: datetime, source: str
) -> Event | DeadLetter:
    code = row["measure"].strip()
    measure = PXWEB_MEASURES.get(code) or _own_measure(code)
    if measure is None:
        known = ", ".join(sorted(PXWEB_MEASURES))
        return _bad(raw, origin, now, "unknown_measure", f"measure {code!r} is not one of {known}")
    value_text = row["value"].strip()
    if value_text in ("", ".", "..", "-"):
        return _bad(
            raw, origin, now, "missing_value", f"no value for {row['area']} {row['month']} {code}"
        )
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
        "published": _published(month),
        "source": source,
    }
    occupation = row.get("occupation", ALL).strip()
    if occupation and occupation != ALL:
        payload["occupation"] = occupation
    return validate(payload, raw, origin, now)


def _own_measure(code: str) -> UnemploymentMeasure | VacancyMeasure | None:
    """Our own measure names are accepted in CSV too (e.g. ``unemployed_jobseekers``)."""
    for enum in (UnemploymentMeasure, VacancyMeasure):
        try:
            return enum(code)  # type: ignore[return-value]
        except ValueError:
            continue
    return None


def _published(month: str) -> str:
    """The 25th of the following month; a malformed month is left for validation to report."""
    try:
        index = period_index(month) + 1
    except ValueError:
        return "1970-01-01"
    return date(index // 12, index % 12 + 1, PUBLICATION_DAY).isoformat()


def _bad(raw: str, origin: Origin, now: datetime, error_type: str, summary: str) -> DeadLetter:
    return dead_letter(raw, origin, now, "validation", error_type, summary)
