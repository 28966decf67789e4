"""An unsorted file is sorted in chunks on disk, and the replay sees exactly the in-memory order."""

from __future__ import annotations

import gzip
import random
from pathlib import Path

import pytest

from tutka.config.areas import load_hierarchy
from tutka.config.catalogue import load_catalogue
from tutka.inputs import read_records, scan_order
from tutka.inputs.external_sort import EventCodec, ExternalSort
from tutka.models.deadletter import DeadLetter
from tutka.replay import InputStream, replay
from tutka.streams.ordering import ordering_key
from tutka.synthetic import generate, write

#: Statistics Finland's occupation table (12ti) as PxWeb writes it: area, occupation, month.
TABLE = """month,area,occupation,measure,value
2020-01,MK01,SSS,TYOTTOMATLOPUSSA,51500
2020-02,MK01,SSS,TYOTTOMATLOPUSSA,51000
2020-03,MK01,SSS,TYOTTOMATLOPUSSA,
2020-01,MK01,2221,TYOTTOMATLOPUSSA,120
2020-02,MK01,2221,TYOTTOMATLOPUSSA,..
2020-03,MK01,2221,TYOTTOMATLOPUSSA,131
2020-01,MK01,2221,AVPAIKATLOPUSSA,40
2020-02,MK01,2221,AVPAIKATLOPUSSA,x
2020-03,MK01,2221,AVPAIKATLOPUSSA,44
2020-01,MK19,SSS,TYOTTOMATLOPUSSA,11500
2020-02,MK19,SSS,OUTOMITTARI,5
2020-03,MK19,SSS,TYOTTOMATLOPUSSA,11000
"""


@pytest.fixture(scope="module")
def market(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("market")
    write(generate(seed=3, start="2019-01", end="2020-12", occupations=2), directory)
    return directory


def shuffled_market(market: Path, path: Path) -> Path:
    """Every figure and notice of the market in one file, in random order, with a bad line."""
    lines = [
        line
        for name in ("unemployment.jsonl", "vacancies.jsonl", "notices.jsonl")
        for line in (market / name).read_text(encoding="utf-8").splitlines()
    ]
    random.Random(11).shuffle(lines)
    lines.insert(len(lines) // 2, "{not json")
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
    return path


def test_the_sort_spills_chunks_and_merges_them_stably() -> None:
    items = [(n % 7, n) for n in range(100)]
    random.Random(2).shuffle(items)
    sorter = ExternalSort(chunk=9)
    out = list(sorter.sort(iter(items), lambda x: (x[0],), lambda x: x, lambda x: tuple(x)))
    assert out == sorted(items, key=lambda x: x[0])  # stable: ties keep the input's order
    assert sorter.chunks_written == 12
    short = ExternalSort(chunk=1000)
    assert list(short.sort(iter(items), lambda x: x, lambda x: x, lambda x: x)) == sorted(items)
    assert short.chunks_written == 0
    with pytest.raises(ValueError, match="at least one record"):
        ExternalSort(chunk=0)


def test_a_shuffled_table_sorted_in_chunks_is_the_in_memory_sort(tmp_path: Path) -> None:
    path = tmp_path / "tyonv_12ti.csv"
    header, *rows = TABLE.splitlines()
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    assert scan_order(path).mode == "unsorted"
    records = list(read_records(path))
    expected = sorted(
        (r.item for r in records if not isinstance(r.item, DeadLetter)),
        key=ordering_key,
    )
    stream = InputStream([path], sort_chunk=2)
    got = [(record.item, record.raw, record.line) for record in stream]
    assert stream.sorts[0].chunks_written == 4
    assert [item for item, _, _ in got] == expected
    assert [item.model_fields_set for item, _, _ in got] == [e.model_fields_set for e in expected]
    by_line = {r.line: r.raw for r in records}
    assert all(by_line[line] == raw for _, raw, line in got)
    # Dead letters in file order, suppressed cells counted: the invariant holds.
    assert [(d.origin.line, d.error_type) for d in stream.dead] == [
        (9, "float_type"),
        (12, "unknown_measure"),
    ]
    assert stream.suppressed == 2
    assert stream.records == len(got) + len(stream.dead) + stream.suppressed


def test_the_codec_rebuilds_each_figure_exactly(market: Path) -> None:
    codec = EventCodec()
    events = [
        r.item
        for r in read_records(market / "unemployment.jsonl")
        if not isinstance(r.item, DeadLetter)
    ][:200]
    back = [codec.decode(codec.encode(e)) for e in events]
    assert [b.model_dump_json() for b in back] == [e.model_dump_json() for e in events]
    assert [b.model_fields_set for b in back] == [e.model_fields_set for e in events]


@pytest.mark.slow
def test_a_shuffled_market_sorted_on_disk_raises_the_alerts_of_the_sorted_one(
    market: Path, tmp_path: Path
) -> None:
    hierarchy, catalogue = load_hierarchy(), load_catalogue()
    path = shuffled_market(market, tmp_path / "shuffled.jsonl.gz")
    assert scan_order(path).mode == "unsorted"
    stream = InputStream([path], sort_chunk=500)
    for _ in stream:
        pass
    assert stream.sorts[0].chunks_written > 10
    whole = replay([market], hierarchy, catalogue)
    chunked = replay([path], hierarchy, catalogue, sort_chunk=500)
    assert whole.alerts, "the market should raise alerts"
    assert [a.model_dump_json() for a in chunked.alerts] == [
        a.model_dump_json() for a in whole.alerts
    ]
    assert chunked.records == whole.records + 1
    assert chunked.records == chunked.accepted + chunked.dead_letter_total + chunked.suppressed
    assert [d.error_type for d in chunked.dead_letters] == ["json_invalid"]
