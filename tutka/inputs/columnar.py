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
of reading the file row by row. A batch becomes a :class:`~tutka.inputs.blocks.PendingBlock`:
its figures of the fast path as columns (the external sort makes them rows at once, without a
Python object per figure), its other records beside them; read row by row, the block gives its
figures built.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pv
import pyarrow.parquet as pq

from tutka.inputs.blocks import PendingBlock, distinct
from tutka.inputs.decoding import Decoder, Figure, varying_values
from tutka.inputs.formats import ALL, SUPPRESSED, Event, csv_published
from tutka.inputs.records import Record
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
#: Between the codes of a series key: no code the checks vouch for holds it.
_KEY_SEPARATOR: Final = "\x1f"
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


def columnar_blocks(
    batches: Iterator[list[pa.Array]],
    columns: list[str],
    decoder: Decoder,
    slow: SlowRow,
    first_line: int,
    file: str,
) -> Iterator[PendingBlock]:
    """Every batch's rows that are not suppressed cells, as a block (see the module doc).

    ``decoder`` is the row-by-row path's (its templates' figures are built the same way, and
    counted in its ``fast``); ``first_line`` the line (or row) number of the first data row;
    ``file`` names the file in the records of the rows that take the row-by-row path.
    """
    reading = _Reading(decoder, slow, {name: i for i, name in enumerate(columns)}, file)
    number = first_line
    for batch in batches:
        yield reading.block(batch, number)
        number += len(batch[0])


@dataclass
class _Reading:
    """What one file's columnar reading remembers from batch to batch."""

    decoder: Decoder
    slow: SlowRow
    index: dict[str, int]
    file: str
    #: Each series' first figure, by its key (area, occupation, measure joined): the template
    #: of its later figures.
    templates: dict[str, Figure] = field(default_factory=dict)
    #: Each month's publication day as ``varying_values`` finds it (None: the models object).
    month_days: dict[str, date | None] = field(default_factory=dict)

    def block(self, batch: list[pa.Array], first: int) -> PendingBlock:
        """A batch's rows as a block; ``first`` is the line number of its first row."""
        at = self.index
        month_at, value_at, measure_at = at["month"], at["value"], at["measure"]
        ordinary = _ordinary(
            batch, month_at, at["area"], measure_at, value_at, at.get("occupation")
        )
        values = _numbers(pc.if_else(ordinary, batch[value_at], "0"))
        months = pc.dictionary_encode(batch[month_at])
        month_list: list[str] = months.dictionary.to_pylist()
        month = months.indices.to_numpy(zero_copy_only=False).astype(np.intp)
        usual = ordinary.to_numpy(zero_copy_only=False) & (values >= 0.0) & (values <= 1e9)
        days = self._days(month_list, distinct(month[usual]))
        usual &= np.array([day is not None for day in days], dtype=bool)[month]
        keys = pc.dictionary_encode(self._keys(batch))
        key_list: list[str] = keys.dictionary.to_pylist()
        key = keys.indices.to_numpy(zero_copy_only=False).astype(np.intp)
        known = np.array([k in self.templates for k in key_list], dtype=bool)
        fast = usual & known[key]
        blank = _suppressed(batch, measure_at, value_at).to_numpy(zero_copy_only=False)
        # The rest, row by row in file order: rows of series without a template yet (one may
        # be made on the way) and whatever the checks do not vouch for, suppressed cells aside.
        rest = np.flatnonzero((usual & ~known[key]) | (~usual & ~blank))
        self.decoder.suppressed += int(np.count_nonzero(~usual & blank))
        others = self._row_by_row(batch, rest, usual, ordinary, blank, key, key_list, fast, first)
        places = np.flatnonzero(fast)
        self.decoder.fast += len(places)
        template_of = [self.templates.get(k) for k in key_list]
        used, template = np.unique(key[places], return_inverse=True)
        raws = pc.binary_join_element_wise(*batch, ",")
        return PendingBlock(
            templates=[template_of[k] for k in used.tolist()],
            template=template.astype(np.intp),
            months=month_list,
            days=days,
            month=month[places],
            values=values[places],
            lines=places.astype(np.int64) + first,
            raws=raws.take(pa.array(places)).to_pylist(),
            others=others,
        )

    def _row_by_row(
        self,
        batch: list[pa.Array],
        rest: npt.NDArray[np.intp],
        usual: npt.NDArray[np.bool_],
        ordinary: pa.Array,
        blank: npt.NDArray[np.bool_],
        key: npt.NDArray[np.intp],
        key_list: list[str],
        fast: npt.NDArray[np.bool_],
        first: int,
    ) -> list[Record]:
        """The rows of ``rest`` as the row-by-row reading takes them; a row of a series whose
        template it has just made joins the fast rows (``fast``, changed in place)."""
        others: list[Record] = []
        if not len(rest):
            return others
        templates, decoder, slow, file = self.templates, self.decoder, self.slow, self.file
        vouched = ordinary.to_numpy(zero_copy_only=False)
        for j in rest.tolist():
            name = key_list[key[j]]
            if usual[j] and name in templates:
                fast[j] = True
                continue
            if blank[j]:
                decoder.suppressed += 1  # as the row-by-row path counts it
                continue
            row = [column[j].as_py() for column in batch]
            item = slow(row, first + j)
            if item is None:
                continue
            if vouched[j] and name not in templates and isinstance(item, FIGURES):
                templates[name] = item
            others.append(Record(item, ",".join(row), file, first + j))
        return others

    def _days(self, months: list[str], wanted: npt.NDArray[np.integer[Any]]) -> list[date | None]:
        """The publication day of each month of ``wanted`` (indexes of ``months``); None for
        the others and for a month whose figures cannot take the fast path."""
        days: list[date | None] = [None] * len(months)
        known = self.month_days
        for i in wanted.tolist():
            month = months[i]
            if month not in known:
                known[month] = _publication_day(month, self.decoder.days)
            days[i] = known[month]
        return days

    def _keys(self, batch: list[pa.Array]) -> pa.Array:
        """Each row's series key: area, occupation (ALL without the column) and measure."""
        at = self.index
        occupation = batch[at["occupation"]] if "occupation" in at else pa.scalar(ALL)
        return pc.binary_join_element_wise(
            batch[at["area"]], occupation, batch[at["measure"]], _KEY_SEPARATOR
        )


def _numbers(text: pa.Array) -> npt.NDArray[np.float64]:
    return pc.cast(text, pa.float64()).to_numpy(zero_copy_only=False)  # type: ignore[no-any-return]


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
