"""Columnar reading: a long table parsed in batches by pyarrow, its common rows checked at once.

Statistics Finland's tables are long (the occupation table 12ti: 3.7 million rows), and nearly
every row is the same shape: codes, a month, a measure code and a number. Here pyarrow parses a
*plain* CSV (see :class:`tutka.inputs.ordering.FileOrder`; gzip or not) or a Parquet file in
batches, vectorised checks pick the rows that are ordinary beyond doubt (a code-like area and
occupation, a ``YYYY-MM`` month, a known measure code, a plain non-negative number), and such a
row of a series already seen becomes its figure straight from the series' template, as
:class:`tutka.inputs.decoding.Decoder` would build it. Every other row (the first of a series, a
suppressed or odd cell, anything the checks do not vouch for) goes through the row-by-row path
(``slow``), so events, dead letters (and their reasons) and suppressed counts are exactly those
of reading the file row by row.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Final

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pv
import pyarrow.parquet as pq

from tutka.inputs.decoding import Decoder, Figure, Pending, figure_from, varying_values
from tutka.inputs.formats import ALL, SUPPRESSED, Event, csv_published
from tutka.models.deadletter import DeadLetter
from tutka.models.events import (
    PXWEB_MEASURES,
    UnemploymentMeasure,
    UnemploymentReported,
    VacanciesReported,
    VacancyMeasure,
)

#: Bytes pyarrow parses at a time (a batch of roughly 25 000 rows of a long table).
BLOCK_BYTES: Final = 1 << 20
#: What the vectorised checks vouch for; anything else takes the row-by-row path.
_CODE: Final = r"^[A-Za-z0-9]{1,16}$"
_MONTH: Final = r"^[0-9]{4}-(0[1-9]|1[0-2])$"
_NUMBER: Final = r"^[0-9]{1,9}(\.[0-9]{1,9})?$"
_MEASURE_CODES: Final = pa.array(
    sorted(
        {
            *PXWEB_MEASURES,
            *(m.value for m in UnemploymentMeasure),
            *(m.value for m in VacancyMeasure),
        }
    )
)

#: Suppressed cells as the row-by-row path knows them (:data:`tutka.inputs.formats.SUPPRESSED`),
#: unpadded: a fifth of the occupation table's rows, skipped (and counted) without a row's work.
_SUPPRESSED_CELLS: Final = pa.array(sorted(SUPPRESSED))

FIGURES: Final = (UnemploymentReported, VacanciesReported)
#: A month not looked up yet (None is an answer: its figures cannot take the fast path).
_UNSEEN: Final = object()
#: Builds a :class:`Pending` from a full tuple, without the named tuple's ``__new__``.
_new = tuple.__new__
#: The row-by-row path: a row's fields and line number → its event, dead letter, or None (a
#: suppressed cell, counted by the callee).
SlowRow = Callable[[list[str], int], "Event | DeadLetter | None"]


def csv_batches(path: Path, width: int) -> Iterator[list[list[str]]]:
    """A plain CSV's data rows (after the header), column by column, a batch at a time."""
    names = [f"c{i}" for i in range(width)]
    reader = pv.open_csv(
        path,
        read_options=pv.ReadOptions(column_names=names, skip_rows=1, block_size=BLOCK_BYTES),
        parse_options=pv.ParseOptions(newlines_in_values=False),
        convert_options=pv.ConvertOptions(
            column_types=dict.fromkeys(names, pa.string()),
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    )
    for batch in reader:
        yield [batch.column(i) for i in range(width)]


def parquet_columns(path: Path) -> list[str]:
    """The column names of a Parquet file."""
    return list(pq.ParquetFile(path).schema_arrow.names)


def parquet_batches(path: Path) -> Iterator[list[pa.Array]]:
    """A Parquet file's rows, every column as text (a missing value as an empty cell)."""
    for batch in pq.ParquetFile(path).iter_batches(batch_size=25_000):
        yield [_as_text(batch.column(i)) for i in range(batch.num_columns)]


def _as_text(column: pa.Array) -> pa.Array:
    if pa.types.is_floating(column.type):
        # A whole number as the CSV writes it ("1200", not "1200.0"); others as pyarrow does.
        whole = pc.equal(column, pc.round(column))
        text = pc.if_else(
            whole,
            pc.cast(pc.cast(column, pa.int64(), safe=False), pa.string()),
            pc.cast(column, pa.string()),
        )
    else:
        text = pc.cast(column, pa.string())
    return pc.fill_null(text, "")


def rows(batches: Iterator[list[pa.Array]]) -> Iterator[list[str]]:
    """The rows of column batches, as lists of text (the order scan of a Parquet file)."""
    for columns in batches:
        yield from (list(row) for row in zip(*(c.to_pylist() for c in columns), strict=True))


def columnar_events(
    batches: Iterator[list[pa.Array]],
    columns: list[str],
    decoder: Decoder,
    slow: SlowRow,
    first_line: int,
    pending: bool = False,
) -> Iterator[tuple[Event | DeadLetter, str, int] | Pending]:
    """(item, raw text, line) for every row that is not a suppressed cell (see the module doc).

    ``decoder`` is the row-by-row path's (its templates' figures are built the same way, and
    counted in its ``fast``); ``first_line`` the line (or row) number of the first data row.
    ``pending``: a figure of the fast path comes as a :class:`Pending`, not built.
    """
    days = decoder.days
    index = {name: i for i, name in enumerate(columns)}
    month_at, area_at, measure_at = index["month"], index["area"], index["measure"]
    value_at, occupation_at = index["value"], index.get("occupation")
    templates: dict[tuple[str, str, str], Figure] = {}
    #: Each month's publication day as ``varying_values`` finds it (None: the models object).
    month_days: dict[str, date | None] = {}
    number = first_line - 1
    for batch in batches:
        ordinary = _ordinary(batch, month_at, area_at, measure_at, value_at, occupation_at)
        values = pc.cast(pc.if_else(ordinary, batch[value_at], "0"), pa.float64()).to_pylist()
        fast = ordinary.to_pylist()
        blank = _suppressed(batch, measure_at, value_at).to_pylist()
        text = [c.to_pylist() for c in batch]
        raws = pc.binary_join_element_wise(*batch, ",").to_pylist()
        months, areas, measures = text[month_at], text[area_at], text[measure_at]
        occupations = text[occupation_at] if occupation_at is not None else None
        for j in range(len(fast)):
            number += 1
            key: tuple[str, str, str] | None = None
            if fast[j]:
                occupation = occupations[j] if occupations is not None else ALL
                key = (areas[j], occupation, measures[j])
                template = templates.get(key)
                if template is not None:
                    month, value = months[j], values[j]
                    day = month_days.get(month, _UNSEEN)
                    if day is _UNSEEN:
                        day = month_days[month] = _publication_day(month, days)
                    # ``varying_values``'s checks, the day's once per month.
                    if day is not None and 0.0 <= value <= 1e9:
                        decoder.fast += 1
                        if pending:
                            yield _new(Pending, (template, month, value, day, raws[j], number))
                        else:
                            update = {"period": month, "value": value, "published": day}
                            yield figure_from(template, update), raws[j], number
                        continue
            if blank[j]:
                decoder.suppressed += 1  # as the row-by-row path counts it
                continue
            row = [column[j] for column in text]
            item = slow(row, number)
            if item is None:
                continue
            if key is not None and key not in templates and isinstance(item, FIGURES):
                templates[key] = item
            yield item, ",".join(row), number


def _ordinary(
    batch: list[pa.Array],
    month_at: int,
    area_at: int,
    measure_at: int,
    value_at: int,
    occupation_at: int | None,
) -> pa.Array:
    """The rows the vectorised checks vouch for (True), as a boolean array without nulls."""
    mask = pc.and_(
        pc.and_(
            pc.match_substring_regex(batch[month_at], _MONTH),
            pc.match_substring_regex(batch[area_at], _CODE),
        ),
        pc.and_(
            pc.is_in(batch[measure_at], value_set=_MEASURE_CODES),
            pc.match_substring_regex(batch[value_at], _NUMBER),
        ),
    )
    if occupation_at is not None:
        mask = pc.and_(mask, pc.match_substring_regex(batch[occupation_at], _CODE))
    return pc.fill_null(mask, False)


def _suppressed(batch: list[pa.Array], measure_at: int, value_at: int) -> pa.Array:
    """The rows the row-by-row path would skip as suppressed cells: a known measure code and a
    suppressed value, both exactly (a padded one takes that path, which says the same)."""
    mask = pc.and_(
        pc.is_in(batch[measure_at], value_set=_MEASURE_CODES),
        pc.is_in(batch[value_at], value_set=_SUPPRESSED_CELLS),
    )
    return pc.fill_null(mask, False)


def _publication_day(month: str, days: dict[tuple[str, str], date]) -> date | None:
    """The day the figures of ``month`` are published, as a template's update has it."""
    update = varying_values(month, 0.0, csv_published(month), None, days)
    return None if update is None else update["published"]  # type: ignore[return-value]
