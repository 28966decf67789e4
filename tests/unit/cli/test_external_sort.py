"""An unsorted file is sorted in chunks on disk, and the replay sees exactly the in-memory order."""

from __future__ import annotations

import gzip
import random
from datetime import date
from pathlib import Path
from typing import IO, Any

import numpy as np
import pytest

from tutka.config.areas import load_hierarchy
from tutka.config.catalogue import load_catalogue
from tutka.inputs import Record, ordering, read_records, scan_order
from tutka.inputs.blocks import PendingBlock
from tutka.inputs.decoding import Pending
from tutka.inputs.external_sort import ExternalSort, RowCodec
from tutka.inputs.ordering import _scan_text
from tutka.models.deadletter import DeadLetter
from tutka.models.events import VacanciesReported
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


def figures(market: Path) -> list[Record]:
    """Every valid record of the market's figure files, in file order."""
    return [
        record
        for name in ("unemployment.jsonl", "vacancies.jsonl", "notices.jsonl")
        for record in read_records(market / name)
        if not isinstance(record.item, DeadLetter)
    ]


def fingerprint(records: list[Record]) -> list[tuple[object, ...]]:
    """Everything a record holds: its event field for field (and fields set), text, origin."""
    return [
        (type(r.item), r.item.__dict__, r.item.model_fields_set, r.raw, r.file, r.line)
        for r in records
    ]


def test_the_sort_spills_chunks_and_merges_them_stably(market: Path) -> None:
    records = figures(market)
    random.Random(2).shuffle(records)
    records = records[:1500]
    expected = sorted(records, key=lambda r: ordering_key(r.item))  # type: ignore[arg-type]
    # Every key twice, in chunks far apart (ties): they keep the input's order.
    records = records + records
    records = [Record(r.item, f"{r.raw} #{n}", r.file, r.line) for n, r in enumerate(records)]
    stable = sorted(records, key=lambda r: ordering_key(r.item))  # type: ignore[arg-type]
    sorter = ExternalSort(chunk=97, block=13)
    got = list(sorter.sort(iter(records)))
    assert fingerprint(got) == fingerprint(stable)
    assert [r.item for r in got[::2]] == [r.item for r in expected]
    assert sorter.chunks_written == -(-len(records) // 97)
    short = ExternalSort(chunk=len(records) + 1)
    assert fingerprint(list(short.sort(iter(records)))) == fingerprint(stable)
    assert short.chunks_written == 0
    with pytest.raises(ValueError, match="at least one record"):
        ExternalSort(chunk=0)
    with pytest.raises(ValueError, match="at least one row"):
        ExternalSort(block=0)


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


def test_a_chunk_file_rebuilds_each_record_exactly(market: Path, tmp_path: Path) -> None:
    """Figures of every shape, notices and odd figures (a revision with its previous value, a
    value the rows cannot hold) come back from the chunk files exactly as they went in."""
    records = figures(market)[:400]
    base = next(r for r in records if r.item.type == "unemployment")
    revised = base.item.model_copy(update={"revision": 2, "previous_value": 7.5})
    odd = base.item.model_copy(update={"value": 3})  # an int where the rows hold floats
    unicode = Record(base.item, "\u00e4\udcff raw", "other.csv", 10**12)
    records += [Record(revised, "revised", "x", 1), Record(odd, "odd", "x", 2), unicode]
    # Figures handed over unbuilt, of an ordinary template and of one the rows cannot hold.
    template = base.item
    oddly = template.model_copy(update={"revision": 1, "previous_value": 4})  # (an int)
    months = [f"20{20 + n // 12}-{n % 12 + 1:02d}" for n in range(40)]
    pending: list[Record | Pending] = [
        Pending(t, m, float(n), date(2030, 1, 1), f"{m},{n}", 500 + n)  # type: ignore[arg-type]
        for n, (t, m) in enumerate((t, m) for t in (template, oddly) for m in months[:20])
    ]
    items: list[Record | Pending] = [*records, *pending]
    random.Random(5).shuffle(items)
    sorter = ExternalSort(chunk=50, block=7, directory=tmp_path)
    got = list(sorter.sort(iter(items), "pending.csv"))
    built = [
        Record(i.build(), i.raw, "pending.csv", i.line) if isinstance(i, Pending) else i
        for i in items
    ]
    expected = sorted(built, key=lambda r: ordering_key(r.item))  # type: ignore[arg-type]
    assert fingerprint(got) == fingerprint(expected)
    assert [r.item.model_dump_json() for r in got] == [r.item.model_dump_json() for r in expected]
    assert sorter.chunks_written == -(-len(items) // 50) == 9
    assert not list(tmp_path.iterdir())  # the chunk files are gone


def a_block(templates: list[Any], others: list[Record], lines: range, seed: int) -> PendingBlock:
    """A batch as the columnar reading hands it over: fast rows of ``templates`` and
    ``others`` (given their lines here) at random places among ``lines``."""
    rng = random.Random(seed)
    other_lines = sorted(rng.sample(lines, len(others)))
    fast = [line for line in lines if line not in set(other_lines)]
    months = [f"2021-{m:02d}" for m in range(1, 13)]
    return PendingBlock(
        templates=templates,
        template=np.array([rng.randrange(len(templates)) for _ in fast], dtype=np.intp),
        months=months,
        days=[date(2022, 1, 25)] * len(months),
        month=np.array([rng.randrange(len(months)) for _ in fast], dtype=np.intp),
        values=np.array([float(rng.randrange(1000)) for _ in fast]),
        lines=np.array(fast, dtype=np.int64),
        raws=[f"raw {line}" for line in fast],
        others=[r._replace(line=line) for r, line in zip(others, other_lines, strict=True)],
    )


def test_blocks_split_anywhere_and_sort_as_their_records_would(
    market: Path, tmp_path: Path
) -> None:
    """Batches handed over as blocks (fast rows as columns, other records beside them) sort
    as their records one by one would, wherever a chunk cuts them: a block whose templates
    the rows hold is made into rows at once, one with a template they cannot hold (an int
    previous value) one by one."""
    records = figures(market)[:80]
    template = next(r for r in records if r.item.type == "unemployment").item
    oddly = template.model_copy(update={"revision": 1, "previous_value": 4})
    first = a_block([template], records[:40], range(10, 210), seed=1)
    second = a_block([oddly, template], records[40:], range(210, 400), seed=2)
    one_by_one = [*first.items(build=False), *second.items(build=False)]
    assert [item.line for item in one_by_one] == list(range(10, 400))
    for count in (1, 17, 160, len(first) - 1):
        head, tail = first.split(count)
        assert len(head) == count
        assert [*head.items(build=False), *tail.items(build=False)] == one_by_one[: len(first)]
    with pytest.raises(ValueError, match="cannot be split"):
        first.split(len(first))
    built = [
        Record(i.build(), i.raw, "t.csv", i.line) if isinstance(i, Pending) else i
        for i in one_by_one
    ]
    expected = sorted(built, key=lambda r: ordering_key(r.item))  # type: ignore[arg-type]
    for chunk in (7, 150, 1000):
        sorter = ExternalSort(chunk=chunk, block=9, directory=tmp_path)
        got = list(sorter.sort(iter([first, second]), "t.csv"))
        assert fingerprint(got) == fingerprint(expected)
        assert sorter.chunks_written == (0 if chunk > len(built) else -(-len(built) // chunk))


def test_a_block_without_its_dead_letters_keeps_its_events(market: Path, tmp_path: Path) -> None:
    records = figures(market)[:3]
    shuffled = shuffled_market(market, tmp_path / "shuffled.jsonl.gz")
    dead = [r for r in read_records(shuffled) if isinstance(r.item, DeadLetter)]
    assert dead
    block = a_block([records[0].item], [*records, *dead], range(1, 50), seed=4)
    kept = block.without_dead_letters()
    assert [r.item for r in kept.others] == [r.item for r in records]
    assert len(kept) == len(block) - len(dead)
    assert kept.without_dead_letters() is kept


def occupation_table(path: Path) -> Path:
    """A 12ti-like table (area, occupation, measure, month) with suppressed and bad cells."""
    lines = ["month,area,occupation,measure,value"]
    for area in ("SSS", "MK01", "MK02", "KU998"):  # (KU998: outside the hierarchy)
        for occupation in ("SSS", "2221", "5120"):
            for measure in ("TYOTTOMATLOPUSSA", "AVPAIKATLOPUSSA"):
                for n in range(30):
                    month = f"{2019 + n // 12}-{n % 12 + 1:02d}"
                    value = "" if n % 7 == 3 else "x" if n == 11 else f"{(n * 37) % 500}"
                    lines.append(f"{month},{area},{occupation},{measure},{value}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_a_table_read_in_columns_is_sorted_unbuilt_and_comes_out_exactly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The columnar reading hands its figures to the sort unbuilt (Pending); they come out as
    the figures of reading row by row and sorting in memory: same events, text, lines."""
    path = occupation_table(tmp_path / "tyonv_12ti.csv")
    order = scan_order(path)
    assert (order.mode, order.plain) == ("unsorted", True)
    records = list(read_records(path))
    expected = sorted(
        (r for r in records if not isinstance(r.item, DeadLetter)),
        key=lambda r: ordering_key(r.item),  # type: ignore[arg-type]
    )
    monkeypatch.setattr("tutka.replay.COLUMNAR_RECORDS", 1)
    stream = InputStream([path], sort_chunk=100)
    got = list(stream)
    assert stream.decoder.fast > 400  # most figures went the Pending way
    assert stream.sorts[0].chunks_written == -(-len(got) // 100) > 5
    assert fingerprint(got) == fingerprint(expected)
    dead = [r.item for r in records if isinstance(r.item, DeadLetter)]
    assert [(d.origin.line, d.raw) for d in stream.dead] == [(d.origin.line, d.raw) for d in dead]
    assert stream.records == len(got) + len(stream.dead) + stream.suppressed
    # The run's own dead letters (KU998 is no area of the hierarchy) keep the raw text and line.
    result = replay([path], load_hierarchy(), load_catalogue(), sort_chunk=100)
    unknown = [d for d in result.dead_letters if d.error_type == "unknown_area"]
    by_line = {r.line: r.raw for r in records}
    assert len(unknown) == sum("KU998" in r.raw for r in expected)
    assert all(by_line[d.origin.line or 0] == d.raw and "KU998" in d.raw for d in unknown)


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


def vacancy(area: str, month: str, published: date, revision: int = 0) -> Record:
    event = VacanciesReported(
        area=area, period=month, measure="new_in_month", value=5.0, published=published,
        revision=revision,
    )  # fmt: skip
    return Record(event, f"{area},{month}", "v.csv", 1)


def revision_free(records: list[Record]) -> bool:
    codec = RowCodec()
    codec.encode([*records])
    return codec.revision_free()


def test_a_file_is_revision_free_only_when_no_figure_can_revise_or_come_late(
    market: Path,
) -> None:
    """Every series' months unique, revision 0, figures only, and no month published after a
    later one: then months never go back in availability order (nothing to rewind to)."""
    plain = [
        vacancy(area, month, date(2020, int(month[5:]) + 1, 25))
        for area in ("MK01", "MK02")
        for month in ("2020-01", "2020-02", "2020-03")
    ]
    assert revision_free(plain)
    assert revision_free([*plain, vacancy("MK01", "2020-04", date(2020, 6, 1))])  # late, alone
    assert not revision_free([*plain, vacancy("MK01", "2020-02", date(2020, 3, 26))])  # again
    assert not revision_free([*plain, vacancy("MK03", "2020-02", date(2020, 3, 25), 1)])
    assert not revision_free([*plain, vacancy("MK03", "2020-02", date(2020, 5, 1))])  # after 03's
    notice = next(iter(read_records(market / "notices.jsonl")))
    assert not revision_free([*plain, notice])


@pytest.mark.slow
def test_a_file_without_revisions_is_replayed_without_checkpoints_to_the_same_alerts(
    tmp_path: Path,
) -> None:
    """Sorted on disk and found revision-free, a file's replay keeps no revision checkpoints;
    the alerts are those of the same file sorted in memory (checkpoints kept)."""
    market = tmp_path / "market"
    write(generate(seed=5, start="2016-01", end="2020-12", occupations=1), market)
    lines = [
        line
        for name in ("unemployment.jsonl", "vacancies.jsonl")
        for line in (market / name).read_text(encoding="utf-8").splitlines()
        if '"revision":0' in line
    ]
    random.Random(2).shuffle(lines)
    path = tmp_path / "figures.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    hierarchy, catalogue = load_hierarchy(), load_catalogue()
    on_disk = replay([path], hierarchy, catalogue, sort_chunk=2_000)
    in_memory = replay([path], hierarchy, catalogue, sort_chunk=len(lines) + 1)
    assert on_disk.engine.context.catalogue.alerting.revision_depth == 0
    assert not any(series.checkpoints for series in on_disk.engine.series.values())
    assert in_memory.engine.context.catalogue == catalogue
    assert any(series.checkpoints for series in in_memory.engine.series.values())
    assert in_memory.alerts, "the market should raise alerts"
    assert [a.model_dump_json() for a in on_disk.alerts] == [
        a.model_dump_json() for a in in_memory.alerts
    ]


#: The rest of an unsorted table, after the day went back: every way a line may be (or not
#: be) plain, each checked alone.
ODD_RESTS = [
    "",
    "2020-04,MK19,SSS,TYOTTOMATLOPUSSA,11200",  # (no line end at the end)
    "2020-04,MK19,SSS,TYOTTOMATLOPUSSA,11200\n\n",  # a blank line
    "2020-04,MK19,SSS,TYOTTOMATLOPUSSA,11200\n   \n2020-05,MK19,SSS,TYOTTOMATLOPUSSA,1\n",
    '2020-04,MK19,SSS,TYOTTOMATLOPUSSA,"11200"\n',  # a quote
    "2020-04,MK19,SSS,TYOTTOMATLOPUSSA,11200,\n",  # a field too many
    "2020-04,MK19,SSS,11200\n",  # a field too few
    "2020-04,MK19,SSS,TYOTTOMATLOPUSSA,11200\r\n2020-05,MK19,SSS,TYOTTOMATLOPUSSA,1\r\n",
    "2020-04,MK19,SSS,TYOTTOMATLOPUSSA,11200\r2020-05,MK19,SSS,TYOTTOMATLOPUSSA,1\n",
    "2020-04,MK19,SSS,TYOTTOMATLOPUSSA,11200\r",
    "2020-04,MK19,SSS,TYÖTTÖMÄT,11200\n",  # not ASCII
    "2020-04,MK19,SSS,TYOTTOMATLOPUSSA,1\x00\n",
    "2020-04,MK19,SSS,TYOTTOMATLOPUSSA," + "9" * 140_000 + "\n",  # a field over the limit
    "2020-04,MK19,SSS,TYOTTOMATLOPUSSA,11200\n" * 40_000,  # more than a block
]


@pytest.mark.parametrize("rest", range(len(ODD_RESTS)))
@pytest.mark.parametrize("gz", [False, True])
def test_the_rest_of_an_unsorted_table_counts_as_row_by_row(
    tmp_path: Path, rest: int, gz: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once a CSV is unsorted its rest is counted in blocks: the same count and plainness as
    the row-by-row scan, whatever the rest holds."""
    counted: list[int] = []
    plain_rest = ordering._plain_rest

    def spy(handle: IO[str], width: int) -> int:
        counted.append(plain_rest(handle, width))
        return counted[-1]

    monkeypatch.setattr(ordering, "_plain_rest", spy)
    header, *rows = TABLE.splitlines(keepends=True)
    text = header + rows[11] + rows[0] + ODD_RESTS[rest]  # (MK19 in 2020-03, then 2020-01)
    path = tmp_path / ("t.csv.gz" if gz else "t.csv")
    data = text.encode("utf-8")
    path.write_bytes(gzip.compress(data) if gz else data)
    order = scan_order(path)
    assert order.mode == "unsorted"
    assert order == _scan_text(path, fast_rest=False)
    # Plain rests are counted in blocks (gzip reads a lone carriage return as a line end).
    assert bool(counted) == (rest in (0, 1, 7, 9, 13) or (gz and rest == 8))
