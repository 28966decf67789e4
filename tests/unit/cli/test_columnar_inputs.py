"""Columnar reading (pyarrow) gives exactly what reading row by row gives; Parquet is read too."""

from __future__ import annotations

import gzip
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tutka.inputs import columnar, input_files, read_records, scan_order
from tutka.inputs.decoding import Decoder, figure_from
from tutka.models.deadletter import DeadLetter
from tutka.models.events import VacanciesReported
from tutka.replay import InputStream

#: Ordinary rows, the first of each series, suppressed cells and every kind of odd cell.
TABLE = """month,area,occupation,measure,value
2020-01,MK01,SSS,TYOTTOMATLOPUSSA,51500
2020-02,MK01,SSS,TYOTTOMATLOPUSSA,51000
2020-03,MK01,SSS,TYOTTOMATLOPUSSA,
2020-04,MK01,SSS,TYOTTOMATLOPUSSA,..
2020-05,MK01,SSS,TYOTTOMATLOPUSSA,52000.5
2020-06,MK01,SSS,TYOTTOMATLOPUSSA, 52100
2020-07,MK01,SSS,TYOTTOMATLOPUSSA,1e3
2020-08,MK01,SSS,TYOTTOMATLOPUSSA,-5
2020-13,MK01,SSS,TYOTTOMATLOPUSSA,5
1989-12,MK01,SSS,TYOTTOMATLOPUSSA,5
2020-01,MK01,2221,AVPAIKATLOPUSSA,40
2020-02,MK01,2221,AVPAIKATLOPUSSA,x
2020-03,MK01,2221,AVPAIKATLOPUSSA,44
2020-04,MK01,2221,AVPAIKATLOPUSSA,2000000000
2020-01,MK19,SSS,OUTOMITTARI,5
2020-02,MK19,SSS,open_at_month_end,7
2020-03, MK19,SSS,TYOTTOMATLOPUSSA,11000
2020-04,MK19,SSS,TYOTTOMATLOPUSSA,11200
2100-12,MK19,SSS,TYOTTOMATLOPUSSA,11300
2020-05,MK19,SSS,OUTOMITTARI,
2020-06,MK19,SSS,TYOTTOMATLOPUSSA, ..
2020-07,MK19,SSS,TYOTTOMATLOPUSSA,-
2020-08,MK!9,SSS,TYOTTOMATLOPUSSA,.
"""


def as_rows(path: Path, plain: bool) -> tuple[list[tuple[object, ...]], Decoder]:
    decoder = Decoder()
    out: list[tuple[object, ...]] = []
    for record in read_records(path, decoder=decoder, plain=plain):
        item = record.item
        if isinstance(item, DeadLetter):
            out.append((item.reason, item.error_type, item.raw, record.line))
        else:
            out.append((item.model_dump_json(), item.model_fields_set, record.raw, record.line))
    return out, decoder


@pytest.fixture
def columnar_calls(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The columnar reads, counted."""
    calls: list[Path] = []
    blocks = columnar.columnar_blocks

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(Path())
        return blocks(*args, **kwargs)

    monkeypatch.setattr(columnar, "columnar_blocks", counted)
    return calls


@pytest.mark.parametrize("name", ["table.csv", "table.csv.gz"])
def test_a_plain_table_reads_the_same_in_columns_as_row_by_row(
    tmp_path: Path, name: str, columnar_calls: list[Path]
) -> None:
    path = tmp_path / name
    data = TABLE.encode()
    path.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    assert scan_order(path).plain
    rows, rows_decoder = as_rows(path, plain=False)
    assert columnar_calls == []
    columns, columns_decoder = as_rows(path, plain=True)
    assert len(columnar_calls) == 1
    assert columns == rows
    # A suppressed cell is one whatever else its row holds, but not under an unknown measure.
    assert columns_decoder.suppressed == rows_decoder.suppressed == 5
    assert columns_decoder.fast == rows_decoder.fast > 0
    assert sum(1 for r in rows if r[0] == "validation") == 8


@pytest.mark.parametrize(
    "text",
    [
        TABLE.replace("2020-02,MK01,SSS", '"2020-02",MK01,SSS'),
        TABLE.replace("\n2020-04,MK01,SSS", "\n\n2020-04,MK01,SSS"),
        TABLE.replace("MK19,SSS,OUTOMITTARI", "MK19,SSS,MITTARIÄ"),
        "\ufeff" + TABLE,
        TABLE.replace("2020-02,MK19,", "2020-02\r,MK19,"),
        TABLE.replace("MK19,SSS,OUTOMITTARI,5", "MK19,SSS,OUTOMITTARI,5,extra"),
    ],
    ids=["quoted", "blank-line", "not-ascii", "byte-order-mark", "carriage-return", "columns"],
)
def test_a_table_that_is_not_plain_is_read_row_by_row(tmp_path: Path, text: str) -> None:
    path = tmp_path / "table.csv"
    path.write_text(text, encoding="utf-8")
    assert not scan_order(path).plain


def test_a_figure_from_its_template_is_the_model_copy() -> None:
    template = VacanciesReported(
        area="MK01", period="2023-01", measure="open_at_month_end", value=1.0,
        published=date(2023, 2, 25), occupation="2221", source="x",
    )  # fmt: skip
    update: dict[str, object] = {"period": "2023-02", "value": 3.0, "revision": 1}
    built, copied = figure_from(template, update), template.model_copy(update=update)
    assert built == copied and built.model_fields_set == copied.model_fields_set
    assert built.model_dump_json() == copied.model_dump_json()
    assert template.value == 1.0 and "revision" not in template.model_fields_set


def test_a_parquet_table_gives_the_figures_of_the_same_csv(tmp_path: Path) -> None:
    csv_path = tmp_path / "table.csv"
    csv_path.write_text(TABLE, encoding="utf-8")
    lines = TABLE.splitlines()[1:]
    fields = [line.split(",") for line in lines]
    value = [float(f[4]) if f[4].strip().replace(".", "", 1).isdigit() else None for f in fields]
    table = pa.table(
        {
            "month": [f[0] for f in fields],
            "area": [f[1] for f in fields],
            "occupation": [f[2] for f in fields],
            "measure": [f[3] for f in fields],
            "value": pa.array(value, pa.float64()),
        }
    )
    parquet = tmp_path / "table.parquet"
    pq.write_table(table, parquet)
    assert input_files([tmp_path]) == [csv_path, parquet]
    order = scan_order(parquet)
    assert order.plain and order.mode == "unsorted" and order.records == len(fields)
    stream = InputStream([parquet])
    from_parquet = [r.item.model_dump_json() for r in stream]
    stream_csv = InputStream([csv_path])
    from_csv = [
        r.item.model_dump_json()
        for r in stream_csv
        if r.raw.split(",")[4].strip().replace(".", "", 1).isdigit()
    ]
    # Parquet holds numbers as numbers: the cells the CSV writes oddly are gone or blank there.
    assert from_parquet == from_csv
    assert stream.records == len(from_parquet) + len(stream.dead) + stream.suppressed
