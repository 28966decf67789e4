"""Issue #14, items 2-4: bad files give dead letters, never tracebacks; memory stays bounded;
every line is counted once. Each test is named after the failure it guards against."""

from __future__ import annotations

import gzip
import json
import tracemalloc
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.unit.streams.market import figures
from tutka.cli import cli
from tutka.cli.replay import ALL_REJECTED
from tutka.inputs.formats import MAX_FIELD_CHARS, MAX_LINE_CHARS
from tutka.models.deadletter import MAX_RAW_BYTES
from tutka.replay import KEEP_DEAD_LETTERS, InputStream, load

#: A short valid series (some 200 figures) in the default area hierarchy.
LINES = [event.model_dump_json() for event in figures()][:200]


def replay(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["replay", "-q", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, " ".join(result.output.split())


def summary_counts(output: str) -> tuple[int, int, int]:
    """(records, events, dead letters) from the summary line."""
    words = output.replace(",", "").split()
    records = int(words[words.index("records:") - 1])
    events = int(words[words.index("records:") + 1])
    dead = int(words[words.index("dead") - 1])
    return records, events, dead


def flipped_gzip(path: Path, lines: list[str]) -> Path:
    data = bytearray(gzip.compress(("\n".join(lines) + "\n").encode()))
    middle = len(data) // 2
    for i in range(middle, middle + 16):
        data[i] ^= 0x5A
    path.write_bytes(bytes(data))
    return path


def test_gzip_with_flipped_deflate_bits_is_a_dead_letter_not_a_traceback(tmp_path: Path) -> None:
    flipped_gzip(tmp_path / "a.jsonl.gz", LINES)
    (tmp_path / "b.jsonl").write_text("\n".join(LINES) + "\n", encoding="utf-8")
    dead = tmp_path / "dead.jsonl"
    code, output = replay(str(tmp_path), "--dead-letters", str(dead))
    assert code == 0, output
    letters = [json.loads(line) for line in dead.read_text().splitlines()]
    assert any(d["error_type"] == "unreadable" for d in letters)
    records, events, dead_count = summary_counts(output)
    assert records == events + dead_count and events >= len(LINES)  # b.jsonl read in full


def test_truncated_gzip_and_a_file_that_is_not_gzip_do_not_stop_the_run(tmp_path: Path) -> None:
    whole = gzip.compress(("\n".join(LINES) + "\n").encode())
    (tmp_path / "cut.jsonl.gz").write_bytes(whole[: len(whole) // 2])
    (tmp_path / "fake.jsonl.gz").write_bytes(b"not gzip at all\n")
    (tmp_path / "good.jsonl").write_text("\n".join(LINES) + "\n", encoding="utf-8")
    code, output = replay(str(tmp_path))
    assert code == 0, output
    records, events, dead = summary_counts(output)
    assert records == events + dead and dead >= 2


def test_csv_field_over_131072_characters_is_a_dead_letter_and_the_directory_goes_on(
    tmp_path: Path,
) -> None:
    huge = "x" * (MAX_FIELD_CHARS + 10)
    (tmp_path / "a.csv").write_text(
        "month,area,measure,value\n"
        f'2023-09,MK19,TYOTTOMATLOPUSSA,"{huge}"\n'
        "2023-09,MK19,TYOTTOMATLOPUSSA,11000\n",
        encoding="utf-8",
    )
    (tmp_path / "b.jsonl").write_text("\n".join(LINES) + "\n", encoding="utf-8")
    stream = InputStream([tmp_path])
    events = list(stream)
    assert [d.error_type for d in stream.dead] == ["field_too_long"]
    assert len(events) == len(LINES) + 1


def test_line_over_the_cap_is_a_dead_letter_with_a_clear_reason(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_text(LINES[0] + "\n" + "y" * (MAX_LINE_CHARS + 5) + "\n" + LINES[1] + "\n")
    records, dead = load([path])
    assert len(records) == 2
    assert [(d.error_type, d.origin.line, d.raw_truncated) for d in dead] == [
        ("line_too_long", 2, True)
    ]
    assert "longer than 1,048,576 characters" in dead[0].summary


@pytest.mark.slow  # writes and reads 100 MB (2 s)
def test_ten_10_mb_dead_letters_do_not_hold_their_raw_text_in_memory(tmp_path: Path) -> None:
    path = tmp_path / "big.jsonl"
    with path.open("w", encoding="utf-8") as handle:
        for _ in range(10):
            handle.write('{"type": "' + "z" * 10_000_000 + '"}\n')
        handle.write("\n".join(LINES) + "\n")
    out = tmp_path / "dead.jsonl"
    tracemalloc.start()
    try:
        code, output = replay(str(path), "--dead-letters", str(out))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert code == 0, output
    assert peak < 64 * 2**20, f"peak {peak / 2**20:.0f} MiB"  # was 377 MiB
    assert out.stat().st_size < 12 * (MAX_RAW_BYTES + 2000)  # was 100 MB
    letters = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(letters) == 10 and all(d["raw_truncated"] for d in letters)


def test_dead_letters_beyond_the_kept_ones_are_counted_and_streamed(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text("not json\n" * (KEEP_DEAD_LETTERS + 50), encoding="utf-8")
    out = tmp_path / "dead.jsonl"
    code, output = replay(str(path), "--dead-letters", str(out))
    assert code == ALL_REJECTED
    assert len(out.read_text().splitlines()) == KEEP_DEAD_LETTERS + 50
    assert f"{KEEP_DEAD_LETTERS + 50:,} dead letters" in output


def test_event_rejected_for_an_unknown_area_is_a_dead_letter_not_also_an_event(
    tmp_path: Path,
) -> None:
    unknown = [line.replace('"area":"', '"area":"KU999', 1) for line in LINES[:11]]
    path = tmp_path / "a.jsonl"
    path.write_text("\n".join(LINES[:73] + unknown) + "\n", encoding="utf-8")
    assert all('"KU999' in u for u in unknown)
    code, output = replay(str(path))
    assert code == 0
    assert summary_counts(output) == (84, 73, 11), output


def test_whitespace_only_lines_are_counted_not_lost(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_text(LINES[0] + "\n   \n\t\n\n" + LINES[1] + "\n", encoding="utf-8")
    code, output = replay(str(path))
    assert code == 0
    assert summary_counts(output) == (2, 2, 0)
    assert "3 blank lines skipped" in output
    stream = InputStream([path])
    list(stream)
    assert stream.counts.blank == 3


def test_byte_order_mark_at_the_start_of_json_lines_is_not_a_dead_letter(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + ("\n".join(LINES[:5]) + "\n").encode())
    records, dead = load([path])
    assert (len(records), dead) == (5, [])


def test_run_where_every_row_is_rejected_exits_non_zero(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_text("not json\n{}\n", encoding="utf-8")
    code, output = replay(str(path))
    assert code == ALL_REJECTED
    assert "Every one of the 2 records was rejected" in output
