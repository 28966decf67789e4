"""Lasting shifts labelled with hindsight: each criterion of the definition, on built series."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

from tutka.detectors.hindsight import _nanmedian, lasting_shifts

COUNTRY = np.full(96, 100_000.0)


def series(levels: list[tuple[int, float]], months: int = 96, noise: float = 0.01, seed: int = 1):
    """A count at given levels from given months on, with multiplicative noise."""
    rng = np.random.default_rng(seed)
    level = np.empty(months)
    for start, value in levels:
        level[start:] = value
    return np.round(level * np.exp(rng.normal(0, noise, months)))[None, :]


def test_a_lasting_step_is_one_shift_dated_at_the_step() -> None:
    shifts = lasting_shifts(series([(0, 1000.0), (40, 1300.0)]), COUNTRY, first_month=0)
    assert [(s.month, s.polarity, s.large) for s in shifts] == [(39, "negative", True)]
    assert shifts[0].change == pytest.approx(0.3, abs=0.02)


def test_a_fall_is_positive_change() -> None:
    shifts = lasting_shifts(series([(0, 1000.0), (40, 800.0)]), COUNTRY, first_month=0)
    assert [s.polarity for s in shifts] == ["positive"]


def test_a_rise_that_does_not_last_is_not_a_shift() -> None:
    # Up 30 % for a year, then back: for the rise L − B is near zero. The way back is a lasting
    # fall against the year before it, so the definition labels it (positive change).
    counts = series([(0, 1000.0), (40, 1300.0), (52, 1000.0)])
    shifts = lasting_shifts(counts, COUNTRY, 0)
    assert [(s.polarity, 50 <= s.month <= 53) for s in shifts] == [("positive", True)]


def test_too_few_people_is_not_a_shift() -> None:
    # +30 % of 100 people is 30 people: under the 50-person floor.
    assert lasting_shifts(series([(0, 100.0), (40, 130.0)]), COUNTRY, 0) == []


def test_a_slow_drift_is_not_a_quick_shift() -> None:
    counts = np.round(np.linspace(1000, 1400, 96))[None, :]
    assert lasting_shifts(counts, COUNTRY, 0) == []


def test_the_country_moving_alone_is_no_shift() -> None:
    country = np.where(np.arange(96) < 40, 100_000.0, 130_000.0)
    counts = series([(0, 1000.0), (40, 1300.0)])  # the area follows the country exactly
    assert lasting_shifts(counts, country, 0) == []


def test_shifts_in_an_excluded_period_are_dropped() -> None:
    counts = series([(0, 1000.0), (40, 1300.0)])
    assert lasting_shifts(counts, COUNTRY, 0, excluded=(35, 45)) == []


def test_two_steps_close_together_merge_into_the_larger() -> None:
    counts = series([(0, 1000.0), (40, 1150.0), (46, 1500.0)], noise=0.005)
    shifts = lasting_shifts(counts, COUNTRY, 0)
    assert len(shifts) == 1 and 39 <= shifts[0].month <= 46


def test_too_short_a_series_labels_nothing() -> None:
    assert lasting_shifts(series([(0, 1000.0), (10, 1500.0)], months=36), COUNTRY[:36], 0) == []


def test_the_nan_median_is_numpys_bit_for_bit() -> None:
    """The labels' fast NaN-median equals ``np.nanmedian`` exactly: odd and even counts, ties,
    signed zeros, gaps and all-NaN lanes, along each axis the labels use."""
    rng = np.random.default_rng(5)
    checked = 0
    for _ in range(400):
        shape = (int(rng.integers(1, 5)), int(rng.integers(1, 40)))
        values = rng.normal(size=shape) * 10.0 ** int(rng.integers(-3, 4))
        if rng.random() < 0.5:
            values = np.round(values, 1)  # ties and (signed) zeros
        values[rng.random(shape) < rng.random()] = np.nan
        cases = [(values, 0), (values, 1)]
        if shape[1] >= 13:
            cases.append((sliding_window_view(values, 13, axis=1), 2))
        for array, axis in cases:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                expected = np.nanmedian(array, axis=axis)
            got = _nanmedian(array, axis)
            assert got.shape == expected.shape
            assert got.tobytes() == expected.tobytes(), (array, axis)
            checked += 1
    assert checked > 800
