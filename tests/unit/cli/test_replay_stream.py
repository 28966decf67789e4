"""The streamed replay reads its files lazily yet sees exactly the order a full sort would give."""

from __future__ import annotations

import gc
import random
from pathlib import Path

import pytest

from tutka.config.areas import load_hierarchy
from tutka.config.catalogue import load_catalogue
from tutka.inputs import input_files, read_records, scan_order
from tutka.models.deadletter import DeadLetter
from tutka.replay import InputStream, load, replay
from tutka.streams.ordering import ordering_key
from tutka.synthetic import generate, write

CSV = """month,area,measure,value
2020-01,MK19,AVPAIKATLOPUSSA,2100
2020-01,MK19,TYOTTOMATLOPUSSA,11500
2020-01,MK19,OUTOMITTARI,5
2020-01,MK01,TYOTTOMATLOPUSSA,51500
2020-02,MK19,TYOTTOMATLOPUSSA,11000
2020-02,MK01,TYOTTOMATLOPUSSA,51000
2020-03,MK01,TYOTTOMATLOPUSSA,
2020-03,MK01,TYOTTOMATLOPUSSA,52000
"""


@pytest.fixture(scope="module")
def market(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small synthetic market with occupations, as ``tutka simulate`` writes it."""
    directory = tmp_path_factory.mktemp("market")
    write(generate(seed=3, start="2019-01", end="2020-12", occupations=2), directory)
    return directory


def mixed_inputs(market: Path, directory: Path) -> list[Path]:
    """The market as many files: sorted, split, shuffled, with bad lines, and a CSV by month."""
    rng = random.Random(5)
    unemployment = (market / "unemployment.jsonl").read_text(encoding="utf-8").splitlines()
    odd, even = unemployment[1::2], unemployment[::2]
    (directory / "a_even.jsonl").write_text("\n".join(even) + "\n", encoding="utf-8")
    (directory / "b_odd.jsonl").write_text(
        "\n".join([*odd[:100], "{not json", *odd[100:]]) + "\n", encoding="utf-8"
    )
    notices = (market / "notices.jsonl").read_text(encoding="utf-8").splitlines()
    rng.shuffle(notices)
    (directory / "c_notices.jsonl").write_text("\n".join(notices) + "\n", encoding="utf-8")
    (directory / "d_table.csv").write_text(CSV, encoding="utf-8")
    vacancies = directory / "e_vacancies.jsonl"
    vacancies.write_text((market / "vacancies.jsonl").read_text(encoding="utf-8"))
    return [directory / name for name in sorted(p.name for p in directory.iterdir())]


def sorted_in_memory(paths: list[Path]) -> tuple[list[object], list[DeadLetter]]:
    """What replay did before it streamed: read everything, one stable sort."""
    records = [r for path in input_files(paths) for r in read_records(path)]
    events = [r.item for r in records if not isinstance(r.item, DeadLetter)]
    dead = [r.item for r in records if isinstance(r.item, DeadLetter)]
    return sorted(events, key=ordering_key), dead  # type: ignore[arg-type]


@pytest.mark.slow
def test_the_merged_stream_is_the_stable_sort_of_all_records(market: Path, tmp_path: Path) -> None:
    paths = mixed_inputs(market, tmp_path)
    assert [scan_order(p).mode for p in paths] == [
        "sorted",
        "sorted",
        "unsorted",
        "by_day",
        "sorted",
    ]
    stream = InputStream(paths)
    events = [record.item for record in stream]
    expected, dead = sorted_in_memory(paths)
    assert events == expected
    assert [(d.origin.file, d.origin.line) for d in stream.dead] == [
        (d.origin.file, d.origin.line) for d in dead
    ]
    # The CSV's blank value is a suppressed cell: counted as a record, not a dead letter.
    assert stream.suppressed == 1
    assert len(stream.dead) == 2 and stream.records == len(events) + 2 + 1
    records, letters = load(paths)
    assert [r.item for r in records] == expected and len(letters) == 2


@pytest.mark.slow
def test_a_replay_of_the_mixed_files_equals_one_of_the_sorted_market(
    market: Path, tmp_path: Path
) -> None:
    hierarchy, catalogue = load_hierarchy(), load_catalogue()
    whole = replay([market], hierarchy, catalogue)
    paths = [p for p in mixed_inputs(market, tmp_path) if p.suffix != ".csv"]
    split = replay(paths, hierarchy, catalogue)
    assert [a.model_dump() for a in split.alerts] == [a.model_dump() for a in whole.alerts]
    assert whole.alerts, "the market should raise alerts"
    assert split.records == whole.records + 1  # the bad line
    assert [d.error_type for d in split.dead_letters] == ["json_invalid"]


def test_a_file_that_changes_after_its_scan_stops_the_replay(tmp_path: Path, market: Path) -> None:
    path = tmp_path / "u.jsonl"
    lines = (market / "unemployment.jsonl").read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    stream = InputStream([path])
    path.write_text("\n".join(reversed(lines)) + "\n", encoding="utf-8")
    with pytest.raises(RuntimeError, match="changed while it was being replayed"):
        list(stream)


@pytest.mark.slow
def test_the_collector_is_left_as_it_was_and_the_engine_makes_no_cycles(market: Path) -> None:
    before = (gc.get_threshold(), gc.get_freeze_count(), gc.isenabled())
    gc.collect()
    gc.disable()
    try:
        result = replay([market], load_hierarchy(), load_catalogue())
        gc.set_debug(gc.DEBUG_SAVEALL)
        gc.collect()
        ours = [
            type(o).__qualname__
            for o in gc.garbage
            if type(o).__module__.split(".")[0] in {"streams", "detectors", "models", "tutka"}
        ]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
    assert ours == []
    assert result.alerts
    assert (gc.get_threshold(), gc.get_freeze_count(), gc.isenabled()) == before
