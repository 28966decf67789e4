"""``tutka notices import``: a spreadsheet of 1,000 rows, 10 % bad, loses none of them."""

from __future__ import annotations

import csv
import json
import random
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from openpyxl import Workbook

from tutka.cli import cli
from tutka.config.areas import load_hierarchy
from tutka.inputs.notice_sheet import parse_sheet
from tutka.models.codes import business_id_check_digit
from tutka.models.events import NoticeKind

HEADER = ["Ilmoitusnumero", "Työnantaja", "Y-tunnus", "Kunta", "Toimiala", "Laji",
          "Henkilömäärä", "Ilmoituspäivä", "Alkamispäivä", "Päättymispäivä", "Ammatit",
          "Käsittelijän huomio"]  # fmt: skip
KINDS = ["irtisanominen", "lomautus", "osa-aikainen lomautus", "toiminnan lopettaminen"]


def _business_id(rng: random.Random) -> str:
    while True:
        digits = f"{rng.randrange(10**6, 10**7):07d}"
        check = business_id_check_digit(digits)
        if check is not None:
            return f"{digits}-{check}"


def _good(i: int, rng: random.Random) -> list[Any]:
    announced = date(2024, rng.randint(1, 12), rng.randint(1, 28))
    start = date(2025, rng.randint(1, 12), 1)
    kind = KINDS[i % 4]
    return [
        f"ELY15-2024-{i:04d}",
        f"Yritys {i} Oy",
        _business_id(rng),
        rng.choice([240, "KU698", "851", 91.0]),  # codes as staff type them, numbers too
        rng.choice(["17110", "C", 47]),
        kind,
        rng.randint(1, 400),
        datetime(announced.year, announced.month, announced.day),  # a date cell
        start.strftime("%-d.%-m.%Y"),  # a Finnish date as text
        None if kind != "lomautus" else f"{start.year + 1}-01-31",
        rng.choice([None, "7212", "7212; 8211"]),
        rng.choice([None, "soitettu", ""]),
    ]


#: Ten ways a row goes wrong, with the column and the English reason the report must give.
BAD: list[tuple[int, Any, str]] = [
    (6, None, "persons: is missing"),
    (6, -3, "persons: is too small"),
    (6, "kolmekymmentä", "persons: is not a whole number"),
    (2, "0112038-8", "business id: is not a valid business id"),
    (3, "KU999", "municipality: KU999 is not in the area classification"),
    (3, "Kemi", "municipality: is not a municipality code"),
    (5, "potkut", "kind: is unknown"),
    (7, "31.2.2024", "announced: is not a date"),
    (1, "Ville 131052-308T", "Contains a personal identity code"),
    (9, "2020-01-01", "Effective to is before effective from"),
]


def _workbook(path: Path, rows: int = 1000, bad_every: int = 10) -> dict[int, str]:
    """A sheet of ``rows`` notices, every ``bad_every``-th wrong; the bad lines and reasons."""
    rng = random.Random(17)
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(HEADER)
    expected: dict[int, str] = {}
    for i in range(rows):
        row = _good(i, rng)
        if i % bad_every == bad_every - 1:
            column, value, reason = BAD[(i // bad_every) % len(BAD)]
            row[column] = value
            expected[i + 2] = reason
        sheet.append(row)
    book.save(path)
    return expected


def test_a_thousand_rows_ten_percent_bad(tmp_path: Path) -> None:
    sheet = tmp_path / "ilmoitukset.xlsx"
    expected = _workbook(sheet)
    store = tmp_path / "store" / "notices.jsonl"
    rejected = tmp_path / "rejected.csv"
    result = CliRunner().invoke(
        cli,
        ["notices", "import", str(sheet), "--store", str(store), "--rejected", str(rejected)],
    )
    assert result.exit_code == 1, result.output  # some rows were rejected ...
    stored = [json.loads(line) for line in store.read_text(encoding="utf-8").splitlines()]
    assert len(stored) == 900  # ... and every valid one was stored
    assert {n["kind"] for n in stored} == {k.value for k in NoticeKind}
    out = result.output
    assert "1000 riviä: 900 ilmoitusta hyväksytty, 100 riviä hylätty, 0 tyhjää" in out
    assert "1000 rows: 900 notices accepted, 100 rows rejected, 0 blank" in out
    assert "Käsittelijän huomio" in out  # the unknown column is named, not silently dropped
    with rejected.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [int(r["line"]) for r in rows] == sorted(expected)
    for row in rows:
        assert expected[int(row["line"])] in row["reason_en"], row
        assert row["reason_fi"] and row["reason_fi"] != row["reason_en"]
        # Both languages are on the console too, by line.
        assert f"rivi {row['line']}: {row['reason_fi']}" in out
        assert f"line {row['line']}: {row['reason_en']}" in out
    assert "131052-308T" not in out and "131052-308T" not in rejected.read_text(encoding="utf-8")


def test_the_store_is_what_replay_reads(tmp_path: Path) -> None:
    sheet = tmp_path / "few.xlsx"
    _workbook(sheet, rows=20, bad_every=1000)
    store = tmp_path / "notices.jsonl"
    CliRunner().invoke(cli, ["notices", "import", str(sheet), "--store", str(store)])
    replayed = CliRunner().invoke(cli, ["replay", str(store), "-q"])
    assert replayed.exit_code == 0, replayed.output
    assert "20 events (layoff_notice 20), 0 dead letters" in replayed.output


def test_csv_with_semicolons_blank_rows_and_duplicates(tmp_path: Path) -> None:
    path = tmp_path / "notices.csv"
    path.write_text(
        "notice_id;employer;business_id;municipality;sector;kind;persons;announced;"
        "effective_from\n"
        "a-1;Oy Ab;0112038-9;240;17;irtisanominen;12;2024-03-01;1.4.2024\n"
        ";;;;;;;;\n"
        "a-1;Oy Ab;0112038-9;240;17;irtisanominen;12;2024-03-01;1.4.2024\n"
        "a-2;Oy Ab;0112038-9;240;17;uppsägning;3;2024-03-01;2024-04-01\n",
        encoding="utf-8",
    )
    result = parse_sheet(path, load_hierarchy())
    assert result.complete
    assert (result.rows, len(result.notices), len(result.rejected), result.blank) == (4, 2, 1, 1)
    [duplicate] = result.rejected
    assert duplicate.line == 4
    assert duplicate.reasons[0].fi == "ilmoitusnumero a-1 on jo rivillä 2"


@pytest.mark.parametrize("name", ["empty.csv", "notices.ods"])
def test_unreadable_files_are_a_clear_error(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text("", encoding="utf-8")
    result = CliRunner().invoke(cli, ["notices", "import", str(path), "--dry-run"])
    assert result.exit_code != 0
    assert "Error:" in result.output
