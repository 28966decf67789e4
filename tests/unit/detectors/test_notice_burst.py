"""NoticeBurst: exact alarms on seeded tallies, plus the properties analysts rely on."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tutka.detectors.base import json_roundtrip
from tutka.detectors.notice_burst import NoticeBurst, NoticeBurstParams, NoticeTally, nb_tail_log10

from . import streams  # noqa: F401  (loads the stream registry before the module below)
from .streams_notice_burst import BURST, notices

QUIET = NoticeTally(0, 0)


def alarms(det: NoticeBurst, tallies: list[NoticeTally]) -> list[int]:
    return [t for t, x in enumerate(tallies) if det.learn(x)[1]]


def learned(tallies: list[NoticeTally], **params: float) -> NoticeBurst:
    det = NoticeBurst(NoticeBurstParams(**params))
    for x in tallies:
        det.update(x)
    return det


# -- golden alarm indices ----------------------------------------------------------------------
def test_background_with_a_closure_wave_alarms_only_at_the_wave() -> None:
    tallies = notices(202, 240, bursts={120: BURST})
    assert alarms(NoticeBurst(), tallies) == [120]


def test_two_waves_in_a_busy_cell() -> None:
    # 1.5 notices a month of 10-80 persons; eight extra notices at 80, nine small ones at 170.
    waves = {80: NoticeTally(8, 700), 170: NoticeTally(9, 300)}
    tallies = notices(31, 240, rate=1.5, sizes=(10, 80), bursts=waves)
    assert alarms(NoticeBurst(), tallies) == [80, 170]


def test_stationary_background_stays_quiet_for_twenty_years() -> None:
    assert alarms(NoticeBurst(), notices(17, 240)) == []


# -- the negative binomial tail ----------------------------------------------------------------
def brute_tail(count: int, shape: float, rate: float) -> float:
    p = rate / (rate + 1)
    total = 0.0
    for k in range(count, 2000):
        log_pmf = (
            math.lgamma(k + shape)
            - math.lgamma(shape)
            - math.lgamma(k + 1)
            + shape * math.log(p)
            + k * math.log(1 - p)
        )
        total += math.exp(log_pmf)
    return -math.log10(total)


@pytest.mark.parametrize("shape", [0.3, 1.0, 4.0, 15.0])
@pytest.mark.parametrize("rate", [0.5, 2.0, 30.0])
@pytest.mark.parametrize("count", [1, 2, 4, 9, 25])
def test_negative_binomial_tail_matches_a_brute_force_sum(
    count: int, shape: float, rate: float
) -> None:
    assert nb_tail_log10(count, shape, rate) == pytest.approx(
        brute_tail(count, shape, rate), rel=1e-9
    )


def test_tail_of_zero_notices_is_certain() -> None:
    assert nb_tail_log10(0, 3.0, 2.0) == 0.0


# -- tolerance properties ----------------------------------------------------------------------
@settings(max_examples=60, deadline=None)
@given(
    history=st.lists(st.integers(0, 3), min_size=0, max_size=40),
    count=st.integers(1, 49),
    extra=st.integers(0, 48),
)
def test_below_the_headcount_floor_never_scores(history: list[int], count: int, extra: int) -> None:
    # However unusual: many notices in a cell that never had any, just under 50 persons.
    det = learned([NoticeTally(c, c * 5) for c in history])
    persons = min(count + extra, 49)
    tally = NoticeTally(count, persons)
    assert det.assess(tally).score == 0.0
    assert not det.alarm(tally)


def test_floor_is_absolute_and_configurable() -> None:
    det = learned([QUIET] * 60, headcount_floor=10)
    assert det.alarm(NoticeTally(6, 30))
    assert not learned([QUIET] * 60).alarm(NoticeTally(6, 30))


def test_a_big_single_closure_in_a_quiet_sector_alarms() -> None:
    # One small notice a year or so, then one employer lays off 400.
    det = learned(notices(5, 120, rate=0.08, sizes=(5, 15)))
    a = det.assess(NoticeTally(1, 400))
    assert det.is_alarm(a)
    assert a.direction == 1
    assert a.baseline < 10


def test_a_normal_month_in_a_sector_with_regular_large_notices_does_not_alarm() -> None:
    history = notices(8, 120, rate=3.0, sizes=(50, 300))
    det = learned(history)
    typical = NoticeTally(3, 520)  # three notices of mid size: the sector's ordinary month
    a = det.assess(typical)
    assert a.score < 1.0
    assert not det.alarm(typical)
    assert 400 < a.baseline < 650  # about 3 notices x 175 persons
    # ... and over twenty more years of ordinary months it never alarms.
    assert alarms(det, notices(9, 240, rate=3.0, sizes=(50, 300))) == []


def test_the_same_wave_scores_lower_where_waves_are_common() -> None:
    wave = NoticeTally(6, 520)
    sparse, busy = learned(notices(4, 120)), learned(notices(4, 120, rate=4.0, sizes=(40, 150)))
    assert sparse.alarm(wave)
    assert not busy.alarm(wave)


def test_month_to_date_score_rises_as_notices_arrive() -> None:
    det = learned(notices(12, 120))
    before = det.snapshot()
    so_far = [(1, 30), (2, 70), (3, 150), (4, 260), (5, 330), (6, 420)]
    scores = [det.assess(NoticeTally(c, p)).score for c, p in so_far]
    assert scores == sorted(scores)
    assert scores[0] == 0.0  # under the headcount floor
    assert scores[-1] > scores[1]
    assert not det.is_alarm(det.assess(NoticeTally(2, 70)))
    assert det.alarm(NoticeTally(6, 420))
    assert det.snapshot() == before  # assessing the month so far learns nothing


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 1000), sizes=st.lists(st.integers(1, 400), min_size=2, max_size=12))
def test_month_to_date_score_never_falls(seed: int, sizes: list[int]) -> None:
    det = learned(notices(seed, 60))
    count = persons = 0
    last = 0.0
    for size in sizes:  # one notice arrives
        count, persons = count + 1, persons + size
        score = det.assess(NoticeTally(count, persons)).score
        assert score >= last
        last = score


def test_not_ready_before_min_months_and_then_scoring() -> None:
    det = NoticeBurst(NoticeBurstParams(min_months=3))
    huge = NoticeTally(10, 2000)
    for _ in range(3):
        assert not det.ready
        a = det.assess(huge)
        assert (a.score, a.direction) == (0.0, 0)
        det.update(QUIET)
    assert det.ready
    assert det.alarm(huge)


def test_baseline_is_the_discounted_mean_of_monthly_persons() -> None:
    det = learned([NoticeTally(1, 100), QUIET], alpha=0.5)
    # weights 0.5 and 1: (0.5 * 100 + 0) / 1.5
    assert det.assess(QUIET).baseline == pytest.approx(100 / 3)
    assert det.assess(NoticeTally(1, 60)).direction == 0  # not ready yet: quiet


def test_direction_follows_the_baseline() -> None:
    det = learned(notices(3, 60, rate=2.0, sizes=(20, 60)))
    assert det.assess(NoticeTally(4, 300)).direction == 1
    assert det.assess(QUIET).direction == -1


@pytest.mark.parametrize(
    ("tally", "message"),
    [
        (NoticeTally(-1, 0), "negative"),
        (NoticeTally(0, -5), "negative"),
        (NoticeTally(3, 2), "at least one person"),
        (NoticeTally(0, 7), "persons without notices"),
    ],
)
def test_rejects_impossible_tallies(tally: NoticeTally, message: str) -> None:
    det = NoticeBurst()
    with pytest.raises(ValueError, match=message):
        det.assess(tally)
    with pytest.raises(ValueError, match=message):
        det.update(tally)


def test_snapshot_restore_mid_stream_continues_identically() -> None:
    tallies = notices(202, 240, bursts={120: BURST})
    original = NoticeBurst()
    for x in tallies[:117]:
        original.learn(x)
    restored = NoticeBurst.from_snapshot(json_roundtrip(original.snapshot()))
    rest = tallies[117:]
    assert [restored.learn(x) for x in rest] == [original.learn(x) for x in rest]
    assert restored.snapshot() == original.snapshot()


def test_snapshot_rejects_a_malformed_state() -> None:
    snap = NoticeBurst().snapshot()
    state = snap["state"]
    assert isinstance(state, dict)
    state = {**state, "counts": "many"}
    with pytest.raises(ValueError, match="expected a number"):
        NoticeBurst.from_snapshot(dict(snap, state=state))
