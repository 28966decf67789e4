"""RelativeShiftBank's own pieces; its conformance to the reference is in test_bank_conformance."""

from __future__ import annotations

import math
import statistics
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tutka.detectors.bank.relative_shift import (
    RelativeShiftBank,
    absolute_deviation_median,
    counted_medians,
)
from tutka.detectors.bank.seasonal_baseline import medians
from tutka.detectors.base import json_roundtrip
from tutka.detectors.relative_shift import RelativePoint, RelativeShift, RelativeShiftParams


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.lists(
            st.one_of(
                st.none(), st.sampled_from([0.0, -0.0, 1.0, -1.0, 2.5]), st.floats(-1e6, 1e6)
            ),
            min_size=1,
            max_size=14,
        ),
        min_size=1,
        max_size=6,
    ).map(lambda rows: [r + [None] * (14 - len(r)) for r in rows])
)
def test_the_medians_are_statistics_median_and_np_nanmedian(rows: list[list[float | None]]) -> None:
    """Even counts too: the mean of the middle two, as the reference's ``statistics.median``."""
    values = np.array([[math.nan if v is None else v for v in r] for r in rows])
    found = medians(values)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # "All-NaN slice encountered"
        numpy = np.nanmedian(values, axis=1)
    for row, got, theirs in zip(rows, found.tolist(), numpy.tolist(), strict=True):
        kept = [v for v in row if v is not None]
        if not kept:
            assert math.isnan(got) and math.isnan(theirs)
            continue
        assert got == statistics.median(kept) == theirs


def test_an_observation_is_a_count_and_a_reference() -> None:
    bank = RelativeShiftBank()
    bank.grow(2)
    with pytest.raises(ValueError, match=r"\(count, reference\) pair per row"):
        bank.learn(np.array([0, 1]), np.array([10.0, 20.0]))
    out = bank.learn(np.array([0, 1]), np.array([RelativePoint(10, 1000), RelativePoint(5, 0)]))
    assert out.score.tolist() == [0.0, 0.0] and out.baseline.tolist() == [10.0, 5.0]
    assert out.ready.tolist() == [False, False]
    empty = bank.learn(np.array([], dtype=np.int64), np.array([]))  # a release without values
    assert empty.score.shape == empty.alarm.shape == (0,)


def test_a_missing_share_is_learnt_as_a_gap() -> None:
    """No positive reference or a negative count: quiet, and no difference across the gap."""
    ref = RelativeShift()
    bank = RelativeShiftBank()
    bank.grow(1)
    points = [RelativePoint(100 + t % 12, 10_000) for t in range(40)]
    points[30] = RelativePoint(100, 0)
    points[33] = RelativePoint(-1, 10_000)
    for x in points:
        want, _ = ref.learn(x)
        got = bank.learn(np.array([0]), np.array([x]))
        assert float(got.score[0]) == pytest.approx(want.score, rel=1e-12, abs=1e-12)
    assert bank.export(0) == json_roundtrip(ref.snapshot())


def test_a_snapshot_that_does_not_fit_is_refused() -> None:
    ref = RelativeShift()
    for t in range(30):
        ref.learn(RelativePoint(100 + t, 10_000))
    snapshot = json_roundtrip(ref.snapshot())
    bank = RelativeShiftBank()
    bank.grow(1)
    bank.load(0, snapshot)
    assert bank.export(0) == snapshot
    state = snapshot["state"]
    assert isinstance(state, dict)
    for broken in (
        {**state, "seen": 3},  # more values kept than three observations leave
        {**state, "deviations": state["deviations"][:-1]},  # type: ignore[index]
        {**state, "s": ["x"]},
    ):
        with pytest.raises(ValueError, match=r"relative_shift state|seasonal deviation|number"):
            bank.load(0, {**snapshot, "state": broken})
    with pytest.raises(ValueError, match="not a relative_shift snapshot"):
        bank.load(0, {**snapshot, "detector": "cusum"})
    other = RelativeShiftBank(RelativeShiftParams(seasonal_years=1))
    other.grow(1)
    with pytest.raises(ValueError, match="relative_shift state"):
        other.load(0, snapshot)


@settings(max_examples=100, deadline=None)
@given(
    st.integers(1, 9).flatmap(
        lambda width: st.lists(
            st.lists(
                st.one_of(st.sampled_from([0.0, 1.0, -1.0, 0.25]), st.floats(-1e3, 1e3)),
                min_size=width,
                max_size=width,
            ),
            min_size=1,
            max_size=5,
        )
    ),
    st.booleans(),
)
def test_the_absolute_deviations_median_without_a_second_sort(
    rows: list[list[float]], ragged: bool
) -> None:
    """Exactly the median of the sorted distances, for full rows (by runs) and ragged ones."""
    values = np.sort(np.array(rows), axis=1)
    counts = np.full(len(rows), values.shape[1])
    if ragged:  # the last places of every other row not filled yet
        counts[::2] = np.maximum(counts[::2] - 2, 0)
        values[np.arange(values.shape[1])[None, :] >= counts[:, None]] = np.nan
    centre = counted_medians(values, counts)
    got = absolute_deviation_median(values, counts, centre)
    for row, c, g in zip(values.tolist(), centre.tolist(), got.tolist(), strict=True):
        kept = [v for v in row if not math.isnan(v)]
        if not kept:
            assert math.isnan(g)
            continue
        assert c == statistics.median(kept)
        assert g == statistics.median(abs(v - c) for v in kept)
