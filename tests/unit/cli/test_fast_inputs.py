"""The fast reading paths give exactly what the general ones give: the same events, the same
dead letters, and an order scan that never calls a file sorted when it is not."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tutka.inputs import Decoder, parse_json, scan_order
from tutka.models.deadletter import DeadLetter, Origin, decode

NOW = datetime(2024, 1, 1, tzinfo=UTC)

FIGURE: dict[str, Any] = {
    "schema_version": 1,
    "area": "KU091",
    "period": "2023-09",
    "sector": None,
    "occupation": "2221",
    "value": 512.0,
    "published": "2023-10-25",
    "revision": 0,
    "source": "synthetic",
    "type": "unemployment",
    "measure": "unemployed_jobseekers",
}


def line(**changes: Any) -> str:
    payload = {**FIGURE, **changes}
    for key in [k for k, v in changes.items() if v is DROP]:
        del payload[key]
    return json.dumps(payload, separators=(",", ":"))


DROP = object()

#: Figures of one series that the fast path must judge exactly as full validation does: each
#: differs from the template (the first, valid line) in a field that changes month to month, or
#: in one that does not.
VARIANTS = [
    line(),
    line(period="2023-10", published="2023-11-27", value=530.0),
    line(revision=1, published="2023-11-27"),
    line(revision=DROP, value=1.0),
    line(value=0.0),
    line(value=-0.0),
    line(value=1e9),
    line(value=1.5e9),
    line(value=-1.0),
    line(value=7),  # an integer: strict floats take it, the fast path leaves it to them
    line(value=True),
    line(value="7.0"),
    line(value=None),
    line(period="2023-13"),
    line(period="1989-12", published="1990-01-25"),
    line(period="2023-9"),
    line(period=202309),
    line(published="2023-09-30"),  # before the month is over
    line(published="2023-10-01"),
    line(published="2023-10-32"),
    line(published="2101-01-01"),
    line(published="20231025"),
    line(published="2023-10-25T00:00:00"),
    line(revision=-1),
    line(revision=None),
    line(revision=True),
    line(revision=1.0),
    line(revision="1"),
    line(schema_version=True),
    line(schema_version=1.0),
    line(area="KU92"),
    line(area="KU092"),
    line(source="131052-308T"),  # a personal identity code
    line(extra=1),
    line(occupation=None),
    line(occupation=""),
    line(sector="C"),
    line(value=3.0).replace(",", ", "),  # the same series, not as the models write it
    line(occupation=["2221"]),
    line(type="vacancies"),
    line(type="vacancies", measure="open_at_month_end"),
    line(measure="nonsense"),
    '{"type":"unemployment",' + line()[1:].replace('"type":"unemployment",', ""),  # key order
    line().replace('"value":512.0', '"value":NaN'),
    line().replace('"value":512.0', '"value":Infinity'),
    line().replace('"value":512.0', '"value":5.12e2'),
    line().replace('"value":512.0', '"value":512.0 '),
    line().replace('"KU091"', '"KU\\u0030091"'),
    line().replace('"source":"synthetic"', '"source":"syn\\tthetic"'),
    line().replace('"source":"synthetic"', '"source":"syn\tthetic"'),
    line().replace('"source":"synthetic"', '"source":"synteettinen väki"'),
    line()[:-1],
    "[1, 2]",
    "",
]


def _same(fast: Any, slow: Any) -> None:
    assert type(fast) is type(slow)
    if isinstance(slow, DeadLetter):
        assert fast.model_dump() == slow.model_dump()
    else:
        assert fast == slow
        assert fast.model_dump_json() == slow.model_dump_json()
        assert fast.model_fields_set == slow.model_fields_set


def test_the_decoder_judges_every_variant_as_decode_does() -> None:
    decoder = Decoder()
    for number, text in enumerate(VARIANTS, start=1):
        origin = Origin(source="file", file="x.jsonl", line=number)
        raw = text.encode("utf-8", errors="surrogateescape")
        _same(decoder.line(text, "x.jsonl", number, NOW), decode(raw, origin, NOW))
    assert decoder.fast >= 5, "the variants should have gone through the fast path"


def test_a_template_learnt_from_one_series_is_not_used_for_another() -> None:
    decoder = Decoder()
    first = decoder.line(line(), "x.jsonl", 1, NOW)
    other = decoder.line(line(area="KU092", value=3.0), "x.jsonl", 2, NOW)
    assert not isinstance(first, DeadLetter) and not isinstance(other, DeadLetter)
    assert (other.area, other.value, decoder.fast) == ("KU092", 3.0, 0)


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(
    value=st.one_of(
        st.floats(0, 1e9), st.floats(0, 1e9), st.floats(allow_nan=True), st.integers(-5, 10**10)
    ),
    month=st.integers(1988 * 12, 2102 * 12),
    day=st.integers(-10, 400),
    revision=st.integers(-1, 3),
)
def test_the_fast_path_agrees_with_validation_on_generated_figures(
    value: float, month: int, day: int, revision: int
) -> None:
    from datetime import date, timedelta

    period = f"{month // 12:04d}-{month % 12 + 1:02d}"
    try:
        published = (date(month // 12, month % 12 + 1, 1) + timedelta(days=day)).isoformat()
    except (ValueError, OverflowError):
        published = "0001-01-01"
    decoder = Decoder()
    decoder.line(line(), "x.jsonl", 1, NOW)  # the template
    text = json.dumps({**FIGURE, "value": value, "period": period, "published": published,
                       "revision": revision})  # fmt: skip
    origin = Origin(source="file", file="x.jsonl", line=2)
    _same(decoder.line(text, "x.jsonl", 2, NOW), decode(text.encode(), origin, NOW))


def test_a_series_month_after_month_goes_the_fast_way() -> None:
    decoder = Decoder()
    for i in range(60):
        month = 2015 * 12 + i
        period = f"{month // 12:04d}-{month % 12 + 1:02d}"
        after = month + 1
        text = line(period=period, published=f"{after // 12:04d}-{after % 12 + 1:02d}-25",
                    value=float(100 + i), revision=i % 2)  # fmt: skip
        origin = Origin(source="file", file="x.jsonl", line=i + 1)
        _same(decoder.line(text, "x.jsonl", i + 1, NOW), decode(text.encode(), origin, NOW))
    assert decoder.fast == 59  # all but the first, which became the template


def test_canonical_lines_parse_as_json_does() -> None:
    canonical = line(value=5.0)
    assert parse_json(canonical) == json.loads(canonical)
    for text in VARIANTS:
        try:
            expected: Any = json.loads(text)
        except ValueError as exc:
            with pytest.raises(type(exc)):
                parse_json(text)
            continue
        got = parse_json(text)
        assert got == expected
        if isinstance(got, dict):
            assert list(got.items()) == list(expected.items())
            assert [type(v) for v in got.values()] == [type(v) for v in expected.values()]


# -- the order scan --------------------------------------------------------------------------------


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(text + "\n" for text in lines), encoding="utf-8")
    return path


def month(i: int, area: str = "KU091", revision: int = 0) -> str:
    period = f"2023-{i:02d}"
    published = f"2023-{i + 1:02d}-25" if i < 12 else "2024-01-25"
    return line(period=period, published=published, area=area, revision=revision)


def test_a_file_in_availability_order_is_sorted(tmp_path: Path) -> None:
    lines = [month(i, area) for i in range(1, 7) for area in ("KU091", "KU092")]
    order = scan_order(write(tmp_path / "a.jsonl", [*lines[:3], "", "{broken", *lines[3:]]))
    assert (order.mode, order.records) == ("sorted", len(lines) + 1)


def test_days_in_order_but_not_within_a_day_is_by_day(tmp_path: Path) -> None:
    lines = [month(i, area) for i in range(1, 7) for area in ("KU092", "KU091")]
    assert scan_order(write(tmp_path / "a.jsonl", lines)).mode == "by_day"


def test_a_day_going_back_or_an_unclear_line_is_unsorted(tmp_path: Path) -> None:
    lines = [month(i) for i in range(1, 7)]
    assert scan_order(write(tmp_path / "a.jsonl", [*lines[1:], lines[0]])).mode == "unsorted"
    # a revision given as a float cannot be placed without validating it: play safe
    odd = line(period="2023-03", published="2023-04-25", revision=1.0)
    assert scan_order(write(tmp_path / "b.jsonl", [*lines, odd])).mode == "unsorted"


def test_lines_that_can_only_be_dead_letters_take_no_place_in_the_order(tmp_path: Path) -> None:
    lines = [month(i) for i in range(1, 7)]
    junk = ["not json", "[1, 2]", '{"type": "nonsense", "published": "1999-01-01"}']
    order = scan_order(write(tmp_path / "a.jsonl", [*lines[:3], *junk, *lines[3:]]))
    assert (order.mode, order.records) == ("sorted", 9)


@settings(max_examples=100, deadline=None)
@given(seed=st.integers(0, 10**6), swaps=st.integers(0, 3))
def test_the_scan_never_calls_an_unsorted_file_sorted(tmp_path_factory, seed, swaps) -> None:  # type: ignore[no-untyped-def]
    from tutka.streams.ordering import ordering_key

    rng = random.Random(seed)
    lines = [month(i, area, revision) for i in range(1, 5) for area in ("KU091", "KU092")
             for revision in (0, 1)]  # fmt: skip
    for _ in range(swaps):
        a, b = rng.randrange(len(lines)), rng.randrange(len(lines))
        lines[a], lines[b] = lines[b], lines[a]
    path = write(tmp_path_factory.mktemp("scan") / "x.jsonl", lines)
    keys = [ordering_key(decode(text, Origin(source="t"), NOW)) for text in lines]  # type: ignore[arg-type]
    days = [k[0] for k in keys]
    expected = (
        "sorted" if keys == sorted(keys) else "by_day" if days == sorted(days) else "unsorted"
    )
    assert scan_order(path).mode == expected


def test_statistics_finland_tables_are_sorted_a_day_at_a_time(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text(
        "month,area,measure,value\n2023-01,MK19,TYOTTOMATLOPUSSA,5\n2023-01,MK01,AVPAIKATLOPUSSA,4\n"
        "2023-01,MK19,OUTO,1\n2023-02,MK19,TYOTTOMATLOPUSSA,5\n",
        encoding="utf-8",
    )
    assert (scan_order(path).mode, scan_order(path).records) == ("by_day", 4)
