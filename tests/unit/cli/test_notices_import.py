"""``tutka notices import``: a spreadsheet of 1,000 rows, 10 % bad, loses none of them."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.notice_sheets import workbook
from tutka.cli import cli
from tutka.config.areas import load_hierarchy
from tutka.inputs.notice_sheet import parse_sheet
from tutka.models.events import NoticeKind


def test_a_thousand_rows_ten_percent_bad(tmp_path: Path) -> None:
    sheet = tmp_path / "ilmoitukset.xlsx"
    expected = workbook(sheet)
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
    workbook(sheet, rows=20, bad_every=1000)
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
