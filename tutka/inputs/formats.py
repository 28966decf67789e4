"""What an input file is: its formats, its events, and how it is opened.

See :mod:`tutka.inputs` for the formats accepted. Shared by the readers
(:mod:`tutka.inputs.readers`), the fast decoder (:mod:`tutka.inputs.decoding`) and the order scan
(:mod:`tutka.inputs.ordering`).
"""

from __future__ import annotations

import gzip
import io
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
SUFFIXES: Final = (".jsonl", ".csv")
DATA_COLUMNS: Final = frozenset({"month", "area", "measure", "value"})
PUBLICATION_DAY: Final = 25
#: Statistics Finland's code for "all" in a classification column.
ALL: Final = "SSS"


class InputError(Exception):
    """An input that cannot be read at all (missing, unreadable, unknown format)."""


def file_origin(file: str, line: int) -> Origin:
    # Built on demand: only a dead letter needs it, and a pydantic model per line is not free.
    return Origin(source="file", file=file, line=line)


def is_csv(path: Path) -> bool:
    return path.name.removesuffix(".gz").endswith(".csv")


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
