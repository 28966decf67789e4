"""Reading files: JSON lines and Statistics Finland's long CSV, bad lines as dead letters."""

from __future__ import annotations

import gzip
from datetime import date
from pathlib import Path

import pytest

from tutka.inputs import Decoder, InputError, input_files, read_records
from tutka.models.deadletter import DeadLetter
from tutka.models.events import UnemploymentReported, VacanciesReported
from tutka.streams.ordering import ordering_key

CSV = """month,area,measure,value
2023-09,MK19,TYOTTOMATLOPUSSA,11000
2023-09,MK19,TYOVOIMATK,90000
2023-09,MK19,AVPAIKATLOPUSSA,2100
2023-09,MK19,AVPAIKATLOPUSSA,
2023-09,MK19,OUTOMITTARI,5
2023-09,MK19,TYOTTOMATLOPUSSA,-3
2023-13,MK19,TYOTTOMATLOPUSSA,3
2023-09,MK19,TYOTTOMATLOPUSSA
"""


def test_pxweb_csv_becomes_figures_published_on_the_25th(tmp_path: Path) -> None:
    path = tmp_path / "tyonv_12r5.csv"
    path.write_text(CSV, encoding="utf-8")
    decoder = Decoder()
    records = list(read_records(path, decoder=decoder))
    items = [r.item for r in records]
    unemployed, labour_force, vacancies = items[:3]
    assert isinstance(unemployed, UnemploymentReported) and isinstance(vacancies, VacanciesReported)
    assert (unemployed.measure.value, unemployed.value) == ("unemployed_jobseekers", 11000.0)
    assert labour_force.measure.value == "labour_force"  # type: ignore[union-attr]
    assert unemployed.published == date(2023, 10, 25) and unemployed.source == "tyonv_12r5"
    dead = [i for i in items if isinstance(i, DeadLetter)]
    # The blank vacancy cell is suppressed by the source: counted, not a dead letter.
    assert decoder.suppressed == 1
    assert [d.error_type for d in dead] == [
        "unknown_measure",
        "greater_than_equal",
        "value_error",
        "csv_columns",
    ]
    assert all(d.origin.file == str(path) and d.origin.line for d in dead)
    assert dead[0].raw == "2023-09,MK19,OUTOMITTARI,5"
    assert "OUTOMITTARI" in dead[0].summary


def test_occupation_column_and_all_occupations(tmp_path: Path) -> None:
    path = tmp_path / "ti.csv.gz"
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        handle.write(
            "month,area,occupation,measure,value\n2020-01,SSS,SSS,TYOTTOMATLOPUSSA,1\n"
            "2020-01,MK01,7212,AVPAIKATLOPUSSA,4\n"
        )
    total, welders = (r.item for r in read_records(path))
    assert total.occupation is None  # type: ignore[union-attr]
    assert welders.occupation == "7212"  # type: ignore[union-attr]


def test_jsonl_lines_are_decoded_with_their_origin(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    good = (
        '{"type":"vacancies","area":"SSS","period":"2023-09","measure":"new_in_month",'
        '"value":5,"published":"2023-10-25"}'
    )
    path.write_text(good + "\n\n{not json\n", encoding="utf-8")
    first, second = read_records(path)
    assert isinstance(first.item, VacanciesReported)
    assert isinstance(second.item, DeadLetter) and second.item.origin.line == 3
    assert second.item.reason == "decode"


def test_a_csv_with_the_wrong_header_is_unreadable_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(InputError, match="month, area, measure and value"):
        list(read_records(path))


def test_directories_skip_files_that_are_not_data(tmp_path: Path) -> None:
    (tmp_path / "truth.csv").write_text("event_id,regions\nx,SSS\n", encoding="utf-8")
    (tmp_path / "manifest.json").write_text("{}", encoding="utf-8")
    (tmp_path / "b.csv").write_text(CSV, encoding="utf-8")
    (tmp_path / "a.jsonl").write_text("", encoding="utf-8")
    assert [p.name for p in input_files([tmp_path])] == ["a.jsonl", "b.csv"]
    with pytest.raises(InputError, match="no such file"):
        input_files([tmp_path / "missing.jsonl"])
    with pytest.raises(InputError, match="unknown input format"):
        input_files([tmp_path / "manifest.json"])


def test_availability_order_puts_figures_of_a_release_together(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text(CSV, encoding="utf-8")
    events = [r.item for r in read_records(path) if not isinstance(r.item, DeadLetter)]
    ordered = sorted(events, key=ordering_key)  # type: ignore[arg-type]
    assert [e.published for e in ordered] == sorted(e.published for e in events)


def test_an_engine_failure_on_one_event_is_a_processing_dead_letter(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tutka.config.areas import load_hierarchy
    from tutka.config.catalogue import load_catalogue
    from tutka.replay import replay
    from tutka.streams.engine import Engine

    path = tmp_path / "x.csv"
    path.write_text(CSV, encoding="utf-8")
    original = Engine.process

    def flaky(self: Engine, event):  # type: ignore[no-untyped-def]
        if getattr(event, "measure", None) is not None and event.measure.value == "labour_force":
            raise RuntimeError("simulated bug")
        return original(self, event)

    monkeypatch.setattr(Engine, "process", flaky)
    result = replay([path], load_hierarchy(), load_catalogue())
    processing = [d for d in result.dead_letters if d.reason == "processing"]
    assert [(d.error_type, d.raw) for d in processing] == [
        ("RuntimeError", "2023-09,MK19,TYOVOIMATK,90000")
    ]
    assert "simulated bug" in processing[0].summary
    assert result.engine.stats.events["vacancies"] == 1  # the events after it were processed


@pytest.mark.parametrize("cell", ["", "..", ".", "-", " "])
def test_suppressed_cells_are_counted_not_dead_letters(tmp_path: Path, cell: str) -> None:
    path = tmp_path / "ti.csv"
    path.write_text(
        "month,area,occupation,measure,value\n"
        f"2020-01,MK01,7212,AVPAIKATLOPUSSA,{cell}\n2020-01,MK01,7212,TYOTTOMATLOPUSSA,7\n",
        encoding="utf-8",
    )
    decoder = Decoder()
    (only,) = read_records(path, decoder=decoder)
    assert isinstance(only.item, UnemploymentReported) and only.item.value == 7.0
    assert decoder.suppressed == 1
