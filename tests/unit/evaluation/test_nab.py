"""The NAB scoring rules on hand-sized files, and the sweep agreeing with direct scoring."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tutka.evaluation.nab import (
    OUTSIDE,
    PROBATION,
    PROFILES,
    FileLayout,
    best_threshold,
    normalised,
    probationary_rows,
    scaled_sigmoid,
    score_at,
    score_file,
    searched_threshold,
    sweep,
)

STANDARD = PROFILES["standard"]


def detections(rows: int, *at: int) -> np.ndarray:
    scores = np.zeros(rows)
    scores[list(at)] = 1.0
    return scores


def test_probation_is_15_percent_capped_at_750_rows() -> None:
    assert probationary_rows(100) == 15
    assert probationary_rows(4032) == 604
    assert probationary_rows(22_695) == 750


def test_a_window_inside_the_probation_is_not_scored() -> None:
    layout = FileLayout.of(rows=100, windows=[(5, 9), (50, 59)])
    assert layout.scored_windows == frozenset({1})
    assert (layout.window[:15] == PROBATION).all()
    assert layout.window[20] == OUTSIDE
    missed = score_file(layout, np.zeros(100), 0.5, STANDARD)
    assert missed.score == -1.0  # only the second window costs its miss


def test_earlier_detection_in_a_window_earns_more_and_only_the_first_counts() -> None:
    layout = FileLayout.of(rows=100, windows=[(50, 59)])
    first = score_file(layout, detections(100, 50), 0.5, STANDARD).score
    middle = score_file(layout, detections(100, 55), 0.5, STANDARD).score
    last = score_file(layout, detections(100, 59), 0.5, STANDARD).score
    assert first == pytest.approx(1.0)
    assert first > middle > last > 0
    assert middle == pytest.approx(scaled_sigmoid(-0.5) / scaled_sigmoid(-1.0))
    both = score_file(layout, detections(100, 55, 57), 0.5, STANDARD)
    assert both.score == pytest.approx(middle)
    assert both.detected_windows == 1 and both.tp == 2


def test_false_positives_cost_less_just_after_a_window() -> None:
    layout = FileLayout.of(rows=200, windows=[(50, 59)])
    before = score_file(layout, detections(200, 50, 40), 0.5, STANDARD).score - 1.0
    just_after = score_file(layout, detections(200, 50, 61), 0.5, STANDARD).score - 1.0
    far_after = score_file(layout, detections(200, 50, 150), 0.5, STANDARD).score - 1.0
    assert before == pytest.approx(-0.11)
    assert far_after == pytest.approx(-0.11)
    expected = 0.11 * scaled_sigmoid(2 / 9)  # two rows past a window of width 10
    assert just_after == pytest.approx(expected)
    assert -0.11 < just_after < 0


def test_profiles_weigh_misses_and_false_alarms_differently() -> None:
    layout = FileLayout.of(rows=100, windows=[(50, 59)])
    one_false_alarm_and_a_miss = detections(100, 30)
    scores = {
        name: score_file(layout, one_false_alarm_and_a_miss, 0.5, profile).score
        for name, profile in PROFILES.items()
    }
    assert scores["standard"] == pytest.approx(-1.11)
    assert scores["reward_low_FP_rate"] == pytest.approx(-1.22)
    assert scores["reward_low_FN_rate"] == pytest.approx(-2.11)


def test_normalisation_puts_null_at_0_and_perfect_at_100() -> None:
    for profile in PROFILES.values():
        assert normalised(-profile.fn_weight * 10, 10, profile) == pytest.approx(0.0)
        assert normalised(profile.tp_weight * 10, 10, profile) == pytest.approx(100.0)
    assert normalised(0.0, 10, STANDARD) == pytest.approx(50.0)


def test_bad_windows_are_refused() -> None:
    with pytest.raises(ValueError, match="not inside"):
        FileLayout.of(rows=10, windows=[(5, 12)])
    with pytest.raises(ValueError, match="overlaps"):
        FileLayout.of(rows=100, windows=[(20, 30), (25, 40)])
    with pytest.raises(ValueError, match="expected 10 anomaly scores"):
        score_file(FileLayout.of(rows=10, windows=[]), np.zeros(9), 0.5, STANDARD)


files = st.integers(min_value=30, max_value=120).flatmap(
    lambda rows: st.tuples(
        st.just(rows),
        st.lists(st.integers(min_value=0, max_value=rows - 1), max_size=6, unique=True),
        st.lists(
            st.sampled_from([0.0, 0.1, 0.3, 0.5, 0.7, 0.9, 1.0]), min_size=rows, max_size=rows
        ),
    )
)


def _layout(rows: int, starts: list[int]) -> FileLayout:
    windows, previous = [], -1
    for start in sorted(starts):
        if start > previous + 1:
            end = min(start + 4, rows - 1)
            windows.append((start, end))
            previous = end
    return FileLayout.of(rows, windows)


@settings(max_examples=60, deadline=None)
@given(corpus=st.lists(files, min_size=1, max_size=3), profile=st.sampled_from(list(PROFILES)))
def test_the_sweep_equals_scoring_each_file_at_each_threshold(
    corpus: list[tuple[int, list[int], list[float]]], profile: str
) -> None:
    cost = PROFILES[profile]
    pairs = [(_layout(rows, starts), np.array(values)) for rows, starts, values in corpus]
    candidates = sweep(pairs, cost)
    thresholds = [c.threshold for c in candidates]
    assert thresholds == sorted(thresholds, reverse=True)
    for candidate in candidates:
        direct = sum(score_file(lay, sc, candidate.threshold, cost).score for lay, sc in pairs)
        assert candidate.score == pytest.approx(direct)
        assert score_at(candidates, candidate.threshold) == pytest.approx(direct)
    best = best_threshold(candidates)
    assert all(c.score <= best.score for c in candidates)
    assert searched_threshold(candidates).score <= best.score + 1e-12


def test_the_climb_finds_a_threshold_between_the_detections() -> None:
    layout = FileLayout.of(rows=100, windows=[(50, 59)])
    scores = np.full(100, 0.2)
    scores[52] = 0.83  # the window: detected only above the noise
    candidates = sweep([(layout, scores)], STANDARD)
    found = searched_threshold(candidates)
    assert 0.2 < found.threshold <= 0.83
    assert found.score == pytest.approx(scaled_sigmoid(-0.8) / scaled_sigmoid(-1.0))
    assert found.score == pytest.approx(best_threshold(candidates).score)
