"""Calibration to a false-alarm budget: episodes, the hindsight audit, the threshold, the state."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tutka.detectors.hindsight import SPAN
from tutka.streams.calibration import (
    EPISODE_GAP,
    EXPLAINED_BEFORE,
    PUBLICATION_LAG,
    CalibrationState,
    Curve,
    Track,
    _judged_span,
    alarm_episodes,
    calibrate,
    episodes_of,
    group_of,
    judge,
    marks,
    poisson_upper,
    shift_months,
    threshold_for,
)

GRID = tuple(3.0 + 0.5 * i for i in range(30))


def track(counts: list[float], scores: list[float], first: int = 0) -> Track:
    t = Track.empty(first)
    for i, (c, s) in enumerate(zip(counts, scores, strict=True)):
        t.record(first + i, c, 100_000.0, s)
    return t


def step(months: int, at: int, before: float, after: float) -> list[float]:
    rng = np.random.default_rng(at)
    level = np.where(np.arange(months) < at, before, after)
    return list(np.round(level * np.exp(rng.normal(0, 0.01, months))))


def test_episodes_join_months_at_most_two_apart_per_direction() -> None:
    signed = [0, 9, 0, 0, 9, 0, 0, 0, 9, -9, 0]
    assert alarm_episodes(signed, 8.0, first=10) == [(11, 1), (18, 1), (19, -1)]
    assert alarm_episodes(signed, 10.0, first=10) == []
    assert alarm_episodes([math.nan, 9.0], 8.0, first=0) == [(1, 1)]


def test_an_alarm_a_lasting_shift_explains_is_not_false() -> None:
    months = 96
    counts = step(months, 40, 1000, 1300)
    scores = [0.0] * months
    scores[41] = 12.0  # read in month 42: the shift (dated 39) explains it
    explained = judge([track(counts, scores)], GRID, now=months - 1)
    assert explained.alarms[GRID.index(10.0)] == 1
    assert explained.false_alarms[GRID.index(10.0)] == 0
    flat = step(months, 40, 1000, 1000)
    false = judge([track(flat, scores)], GRID, now=months - 1)
    assert false.false_alarms[GRID.index(10.0)] == 1
    assert false.false_alarms[GRID.index(12.5)] == 0  # above the score: no alarm at all


def test_tracks_labelled_together_get_what_each_gets_alone() -> None:
    """Batching by span changes nothing: shifts, gaps, a missing reference, mixed spans."""
    rng = np.random.default_rng(3)
    tracks = []
    for i in range(40):
        months, first = (96, 0) if i % 3 else (72, 5)
        at = int(rng.integers(20, months - 30))
        t = track(step(months, at, 1000, float(rng.choice([700, 1000, 1400]))), [0.0] * months,
                  first)  # fmt: skip
        if i % 5 == 0:
            t.references[int(rng.integers(0, months))] = math.nan
        if i % 7 == 0:
            t.references[10] = -1.0
        tracks.append(t)
    together = shift_months(tracks, excluded=[(60, 62)])
    alone = [shift_months([t], excluded=[(60, 62)])[0] for t in tracks]
    assert together == alone
    assert sum(len(months) for found in together for months in found.values()) >= 10


def test_recent_alarms_are_not_judged_yet() -> None:
    months = 96
    flat = step(months, 40, 1000, 1000)
    scores = [0.0] * months
    scores[80] = 12.0  # 15 months before the end: a lasting shift could still follow
    curve = judge([track(flat, scores)], GRID, now=months - 1)
    assert curve.alarms[0] == 0
    # Judged: from month 23 (an explaining shift needs a year before it, read a month later)
    # to month 64 (95 minus 24 months of look-ahead, 6 of excuse window and 1 of publication).
    assert curve.area_months == 64 - 23 + 1


def test_the_threshold_is_the_lowest_within_budget() -> None:
    # Over 1000 area-years: 50 false alarms at 3.0, 30 at 3.5, 10 at 4.0, none from 4.5.
    false = tuple(max(0, 50 - 20 * i) for i in range(len(GRID)))
    curve = Curve(false, false, 12_000)
    assert (
        threshold_for(curve, curve, GRID, budget=5.0, pooling_area_years=0, confidence=0.5) == 3.5
    )
    assert (
        threshold_for(curve, curve, GRID, budget=1.0, pooling_area_years=0, confidence=0.5) == 4.5
    )
    # A short history is cautious: the same rates over 10 area-years need a higher threshold.
    short = Curve(tuple(f // 100 for f in false), false, 120)
    assert threshold_for(short, short, GRID, 5.0, 0, confidence=0.8) > 4.0


def test_a_level_with_little_history_borrows_from_the_pool() -> None:
    pool = Curve(tuple(max(0, 40 - 10 * i) for i in range(len(GRID))), (0,) * len(GRID), 24_000)
    thin = Curve((0,) * len(GRID), (0,) * len(GRID), 60)
    alone = threshold_for(thin, Curve.zero(len(GRID)), GRID, 2.0, 0, 0.8)
    pooled = threshold_for(thin, pool, GRID, 2.0, pooling_area_years=120, confidence=0.8)
    assert alone == GRID[-1]  # five area-years cannot show a rate of 2 per 100 at 80 %
    assert pooled < alone


def test_poisson_upper_bound() -> None:
    assert poisson_upper(0, 0.8) == pytest.approx(1.6, abs=0.02)  # exact: -ln(0.2) = 1.61
    assert poisson_upper(100, 0.5) == pytest.approx(100.7, abs=0.3)
    assert poisson_upper(10, 0.95) > poisson_upper(10, 0.8) > 10


def test_calibrate_needs_enough_history_then_sets_every_group() -> None:
    months = 120
    tracks = [track(step(months, 40 + i, 1000, 1000), [0.0] * months) for i in range(3)]
    assert calibrate({"g": tracks}, {"g": 2.0}, GRID, now=months - 1, min_area_years=50) == {}
    many = [track(step(months, 40, 1000, 1000 + i), [0.0] * months) for i in range(60)]
    result = calibrate({"g": many}, {"g": 2.0}, GRID, now=months - 1, min_area_years=50)
    assert set(result) == {"g"}
    assert result["g"].threshold in GRID
    assert result["g"].years_between(100.0) == pytest.approx(result["g"].basis_area_years)


def test_state_records_trims_and_calibrates_yearly() -> None:
    state = CalibrationState()
    group = group_of("relative_shift", "unemployment", "KU", False)
    for period in range(24000, 24000 + 200):
        state.record(group, "KU1", period, 1000.0, 1e5, 0.0, keep=120)
    track_ = state.tracks[group]["KU1"]
    assert len(track_.counts) <= 132 and track_.last == 24199
    assert state.due(24000, month=1) and not state.due(24001, month=1)
    state.recalibrate(24199, {group: 2.0}, GRID, (), 120.0, 1.0, 120)
    assert state.calibrated == 24199 and not state.due(24000, month=1)
    assert state.threshold(group) is not None
    assert state.threshold("nothing") is None


def _episodes_month_by_month(
    signed: list[float], threshold: float, first: int
) -> list[tuple[int, int]]:
    """Alarm episodes as first written: a pass over every month for each threshold."""
    episodes: list[tuple[int, int]] = []
    last: dict[int, int] = {}
    for i, value in enumerate(signed):
        if math.isnan(value) or abs(value) < threshold:
            continue
        direction = 1 if value > 0 else -1
        month = first + i
        previous = last.get(direction)
        if previous is None or month - previous > EPISODE_GAP + 1:
            episodes.append((month, direction))
        last[direction] = month
    return episodes


@settings(max_examples=300, deadline=None)
@given(
    signed=st.lists(
        st.one_of(st.just(math.nan), st.floats(-12, 12), st.sampled_from([-8.0, 0.0, 8.0])),
        max_size=60,
    ),
    grid=st.lists(st.floats(0, 12), min_size=1, max_size=6),
    first=st.integers(0, 30_000),
)
def test_a_grid_counts_its_episodes_among_the_lowest_thresholds_marks(
    signed: list[float], grid: list[float], first: int
) -> None:
    # The judge picks the months out once, at the grid's lowest threshold, and counts every
    # threshold's episodes among them: as many as a pass over every month per threshold.
    candidates = marks(signed, min(grid), first)
    for threshold in grid:
        expected = _episodes_month_by_month(signed, threshold, first)
        assert episodes_of(candidates, threshold) == expected
        assert alarm_episodes(signed, threshold, first) == expected


def _judged_month_by_month(
    track: Track, judged_until: int, excluded: list[tuple[int, int]]
) -> frozenset[int]:
    """The judged months as first written: every month of the track, every excluded period."""
    months = set()
    judged_from = track.first + SPAN + EXPLAINED_BEFORE - PUBLICATION_LAG
    for i, value in enumerate(track.signed):
        month = track.first + i
        if month > judged_until:
            break
        if month < judged_from:
            continue
        if not math.isnan(value) and not any(a <= month <= b for a, b in excluded):
            months.add(month)
    return frozenset(months)


@settings(max_examples=300, deadline=None)
@given(
    scores=st.lists(st.one_of(st.just(math.nan), st.floats(-12, 12)), max_size=90),
    first=st.integers(0, 80),
    judged_until=st.integers(-10, 200),
    excluded=st.lists(st.tuples(st.integers(0, 200), st.integers(0, 200)), max_size=3),
)
def test_the_judged_months_skip_what_cannot_be_judged_as_a_month_by_month_pass(
    scores: list[float], first: int, judged_until: int, excluded: list[tuple[int, int]]
) -> None:
    t = track([1.0] * len(scores), scores, first)
    assert _judged_span(t, judged_until, excluded) == _judged_month_by_month(
        t, judged_until, excluded
    )
