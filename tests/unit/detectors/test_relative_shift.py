"""RelativeShift: exact alarms on seeded share series, and properties that matter on real data."""

from __future__ import annotations

import json
import math
import random
from collections import deque

import pytest
from pydantic import ValidationError

from tutka.detectors.relative_shift import (
    RelativePoint,
    RelativeShift,
    RelativeShiftParams,
    _json_floats,
)

from .streams import STREAMS  # noqa: F401  (loads every stream module first)
from .streams_relative_shift import share_stream


def alarms(detector: RelativeShift, xs: list[RelativePoint]) -> list[tuple[int, int]]:
    out = []
    for t, x in enumerate(xs):
        assessment, alarm = detector.learn(x)
        if alarm:
            out.append((t, assessment.direction))
    return out


def test_exact_alarms_on_a_seeded_rise_of_the_share() -> None:
    found = alarms(RelativeShift(), share_stream(3, 180, at=120))
    assert found[0] == (121, 1)
    # The alarm lasts until the baseline median has moved past the shift (half of its twelve
    # months plus the window): then the new level is the normal.
    assert found[-1][0] == 131
    assert all(120 <= t <= 131 for t, _ in found)
    assert [d for _, d in found] == [1] * len(found)


def test_a_fall_of_the_share_alarms_downwards() -> None:
    found = alarms(RelativeShift(), share_stream(4, 180, at=120, factor=0.7))
    assert found and found[0][0] in (120, 121, 122) and found[0][1] == -1


def test_the_business_cycle_alone_never_alarms() -> None:
    # The country swings ±25 %; the area follows it exactly: its share does not move.
    for seed in range(10):
        assert alarms(RelativeShift(), share_stream(100 + seed, 240)) == []


def test_a_small_area_needs_a_material_change() -> None:
    # A 60 % rise of 20 people is 12 people: below min_persons whatever its z.
    xs = [RelativePoint(x.value / 100, x.reference) for x in share_stream(5, 180, 120, 1.6)]
    assert alarms(RelativeShift(), xs) == []
    lenient = RelativeShift(RelativeShiftParams(min_persons=5))
    assert alarms(lenient, xs), "the same change alarms once the floor allows it"


def test_not_ready_until_it_knows_the_noise() -> None:
    det = RelativeShift()
    xs = share_stream(6, 40)
    ready = []
    for x in xs:
        det.update(x)
        ready.append(det.ready)
    first = ready.index(True)
    # A seasonal factor from one year of centred medians, then twelve differences of s.
    assert 18 + 12 <= first <= 40


def test_expected_count_follows_the_country() -> None:
    det = RelativeShift()
    xs = share_stream(7, 60)
    for x in xs:
        det.update(x)
    doubled = RelativePoint(xs[-12].value * 2, xs[-12].reference * 2)
    assessment = det.assess(doubled)
    # The share is unchanged when both double: nothing to report, and about the same count.
    assert assessment.score < 3
    assert assessment.baseline == pytest.approx(doubled.value, rel=0.1)


def test_zero_or_missing_reference_is_quiet() -> None:
    det = RelativeShift()
    for x in share_stream(8, 60):
        det.update(x)
    assert det.assess(RelativePoint(100.0, 0.0)).score == 0.0


def test_params_are_validated() -> None:
    with pytest.raises(ValidationError, match="longest_window"):
        RelativeShiftParams(shortest_window=6, longest_window=3)
    with pytest.raises(ValidationError):
        RelativeShiftParams(min_change=-0.1)


@pytest.mark.parametrize(
    "values",
    [
        [1.0, 2.5, -0.0],
        [1.0, math.nan, 3.0],
        [math.inf, 1.0],
        [math.inf, -math.inf, 2.0],  # the sum is NaN without a NaN: the per-value path
        [],
    ],
)
def test_state_lists_write_nan_as_null_and_keep_every_other_value(values: list[float]) -> None:
    out = _json_floats(deque(values))
    assert len(out) == len(values)
    for got, want in zip(out, values, strict=True):
        if math.isnan(want):
            assert got is None
        else:
            assert got == want and math.copysign(1, got) == math.copysign(1, want)


def _assessments(xs: list[RelativePoint], bound: bool) -> tuple[list[tuple[float, ...]], int]:
    """Every assessment of a run, and how often the bound ruled every window out."""
    detector = RelativeShift()
    exact = detector._none_material
    skipped = 0

    def none_material(values: list[float], counts: list[float]) -> bool:
        nonlocal skipped
        skip = bound and exact(values, counts)
        skipped += skip
        return skip

    detector._none_material = none_material  # type: ignore[method-assign]
    out = []
    for x in xs:
        assessment, alarm = detector.learn(x)
        out.append((assessment.score, assessment.baseline, assessment.direction, alarm))
    return out, skipped


@pytest.mark.parametrize(
    ("size", "noise", "missing"),
    [(5, 0.3, 0.02), (40, 0.05, 0.0), (40, 0.3, 0.02), (120, 0.1, 0.02), (400, 0.05, 0.0),
     (3_000, 0.02, 0.02)],
)  # fmt: skip
def test_the_materiality_bound_changes_no_assessment(
    size: int, noise: float, missing: float
) -> None:
    # Areas from a handful of people to thousands, quiet or noisy, shifting by 60 %, some
    # months without a reference: the bound may skip only windows the exact computation finds
    # immaterial, so every score, baseline, direction and alarm stays the same.
    rng = random.Random(size)
    xs = []
    for t in range(200):
        level = size * (1.6 if t >= 120 else 1.0) * math.exp(rng.gauss(0, noise))
        reference = 0.0 if rng.random() < missing else 150_000.0
        xs.append(RelativePoint(float(round(level)), reference))
    with_bound, skipped = _assessments(xs, bound=True)
    without, _ = _assessments(xs, bound=False)
    assert with_bound == without
    if size >= 400:
        assert any(alarm for *_, alarm in without)  # material windows were computed too
    if size * (1 + 4 * noise) < 75:
        assert skipped > 100  # small quiet areas: where it saves the work


def test_snapshots_share_unchanged_lists_but_never_change_once_taken() -> None:
    detector = RelativeShift()
    taken: list[tuple[dict[str, object], str]] = []
    for t, x in enumerate(share_stream(8, 120, at=80)):
        detector.learn(x)
        if t % 3 == 0:
            snapshot = detector.snapshot()
            taken.append((snapshot, json.dumps(snapshot)))
    # Every snapshot still says what it said when taken, and restores the detector it was.
    assert all(json.dumps(s) == text for s, text in taken)
    last, _ = taken[-1]
    assert RelativeShift.from_snapshot(last).snapshot() == last
    # Consecutive snapshots share a calendar month's list when it did not change between them.
    before, after = taken[-2][0]["state"], taken[-1][0]["state"]
    assert isinstance(before, dict) and isinstance(after, dict)
    shared = [a is b for a, b in zip(before["deviations"], after["deviations"], strict=True)]
    assert 0 < sum(shared) < len(shared)
