"""``tutka bench kafka``'s latency: percentiles, where the paced part begins, and which
judgement answers which release. The bench itself is measured, never asserted on."""

from __future__ import annotations

import statistics
from datetime import date, timedelta
from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tutka.bench import HOW_MEASURED, RELEASE, Figures
from tutka.bench_latency import Latency, paced_start, percentile, release_waits, summarise

DAY = date(2023, 1, 2)


def day(n: int) -> date:
    return DAY + timedelta(days=n)


def test_percentiles_of_a_hundred_and_one_waits_are_the_waits_themselves() -> None:
    waits = [i / 100 for i in range(101)]  # 0.00 … 1.00: the q-th percentile is q / 100
    summary = summarise(list(reversed(waits)))
    assert summary == Latency(n=101, p50=0.5, p90=0.9, p99=0.99, max=1.0)


def test_with_few_waits_p99_lies_between_the_largest_two_not_at_the_largest() -> None:
    summary = summarise([0.1, 0.2, 1.0, 3.0])
    assert summary.n == 4 and summary.max == 3.0
    assert summary.p99 == pytest.approx(1.0 + 0.97 * 2.0)
    assert summary.p50 == pytest.approx(0.6)


def test_no_waits_no_figures_and_one_wait_is_every_percentile() -> None:
    assert summarise([], missing=3) == Latency(0, None, None, None, None, missing=3)
    assert summarise([0.4]) == Latency(1, 0.4, 0.4, 0.4, 0.4)


@pytest.mark.parametrize("q", [0, 100, 99.5, -1])
def test_a_percentile_outside_1_to_99_is_refused(q: float) -> None:
    with pytest.raises(ValueError, match="whole number between 0 and 100"):
        percentile([1.0, 2.0], q)


@given(st.lists(st.floats(0, 100, allow_nan=False), min_size=2, max_size=300))
def test_percentiles_are_ordered_and_within_the_waits(waits: list[float]) -> None:
    s = summarise(waits)
    assert s.p50 is not None and s.p90 is not None and s.p99 is not None
    tol = 1e-9 * (1 + max(waits))  # interpolation may be off by a rounding
    assert min(waits) - tol <= s.p50 <= s.p90 + tol <= s.p99 + 2 * tol <= max(waits) + 3 * tol
    assert s.max == max(waits)
    assert s.p50 == pytest.approx(statistics.median(waits))


def test_each_release_is_timed_from_its_close_to_its_first_judgement() -> None:
    closed_at = {day(0): 100.0, day(1): 101.0, day(2): 102.0}
    judged = [
        (day(-1), 99.5),  # a warm-up release: not timed
        (day(1), 101.25),  # out of order: matched by date
        (day(0), 100.5),
        (day(0), 140.0),  # judged again (a worker taking over): the first one counts
    ]
    waits, missing = release_waits(closed_at, judged)
    assert waits == [0.5, 0.25]  # in date order
    assert missing == 1  # day(2) was never judged


def test_a_release_judged_before_the_bench_saw_its_close_is_a_negative_wait_not_a_lost_one() -> (
    None
):
    # The bench stamps a release after its last send: a fast worker may answer within that gap.
    waits, missing = release_waits({day(0): 10.0}, [(day(0), 9.999)])
    assert waits == [pytest.approx(-0.001)] and missing == 0


def events_on(*days: int) -> list[SimpleNamespace]:
    return [SimpleNamespace(available_on=day(d)) for d in days]


@pytest.mark.parametrize(
    ("days", "paced", "start"),
    [
        ((0, 0, 1, 1, 1, 2), 3, 5),  # would split day 1: starts at day 2
        ((0, 0, 1, 1, 1, 2), 4, 2),  # begins with day 1
        ((0, 0, 1, 1, 1, 2), 6, 0),  # everything
        ((0, 0, 1, 1, 1, 2), 60, 0),
        ((0, 0, 1, 1, 1, 2), 0, 6),  # nothing paced
        ((0, 0, 0), 2, 3),  # one release only: nothing paced rather than half of it
    ],
)
def test_the_paced_part_begins_at_a_release(days: tuple[int, ...], paced: int, start: int) -> None:
    events = events_on(*days)
    got = paced_start(events, paced)
    assert got == start
    assert got == 0 or got == len(events) or events[got - 1].available_on < events[got].available_on


def test_the_table_says_how_the_latency_is_measured() -> None:
    figures = Figures("tutka worker", 10, 2.0, summarise([0.1, 0.3]), RELEASE)
    assert figures.rate == 5.0 and figures.latency_p50 == pytest.approx(0.2)
    assert "ReleaseJudged" in HOW_MEASURED and "lag 0" in HOW_MEASURED


def test_bench_all_reports_the_kafka_latency_with_its_n(capsys: pytest.CaptureFixture[str]) -> None:
    from tutka.bench_all import ReplayRow, _latency, _print_table

    worker = {"events_per_second": 3000.0, "latency_of": RELEASE,
              **_latency(summarise([0.2, 0.4, 0.9]))}  # fmt: skip
    noop = {"events_per_second": 1500.0, "latency_of": "record", **_latency(None)}
    assert worker["latency_n"] == 3 and worker["latency_max"] == 0.9
    assert noop["latency_p99"] is None and noop["latency_n"] == 0
    kafka = {"events": 10, "series": 2, "agents": {"tutka worker": worker, "no-op": noop}}
    market = ReplayRow(observations=100, series=2, seconds=1.0, cpu_seconds=1.0, peak_rss_mb=1.0,
                       alerts=0, state_bytes=200)  # fmt: skip
    _print_table(market, 2, {}, None, kafka)
    out = capsys.readouterr().out
    assert "p50 0.40 s" in out and "max 0.90 s" in out and "n = 3 releases" in out
