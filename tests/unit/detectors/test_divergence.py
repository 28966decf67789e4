"""ReferenceDivergence: exact alarms on seeded series, plus the shift-share properties."""

from __future__ import annotations

import math

import pytest

from tutka.detectors.base import Assessment, json_roundtrip
from tutka.detectors.divergence import (
    DivergencePoint,
    ReferenceDivergence,
    ReferenceDivergenceParams,
)

from . import streams  # noqa: F401  (loads the stream registry before the module below)
from .streams_divergence import divergence_points, seasonal


def run(det: ReferenceDivergence, points: list[DivergencePoint]) -> list[tuple[int, int]]:
    """(index, direction) of every alarm."""
    out = []
    for t, x in enumerate(points):
        a, alarm = det.learn(x)
        if alarm:
            out.append((t, a.direction))
    return out


def scores(det: ReferenceDivergence, points: list[DivergencePoint]) -> list[float]:
    return [det.learn(x)[0].score for x in points]


# -- golden alarm indices ----------------------------------------------------------------------
def test_local_rise_alarms_four_times_then_is_adopted() -> None:
    points = divergence_points(4, 240, local_from=120)
    assert run(ReferenceDivergence(), points) == [(120, 1), (121, 1), (122, 1), (123, 1)]


def test_adoption_does_not_fake_a_reverse_divergence_a_year_later() -> None:
    # Without protect-and-adopt the alarm would last a whole season (until the year-on-year
    # comparison reaches the new level); shifting the run's own ratios too would alarm downwards
    # twelve months after the run.
    points = divergence_points(9, 240, local_from=120, local_factor=0.7)
    assert run(ReferenceDivergence(), points) == [(120, -1), (121, -1), (122, -1), (123, -1)]
    long_memory = ReferenceDivergence(ReferenceDivergenceParams(adopt_after=100))
    assert [t for t, _ in run(long_memory, points)] == list(range(120, 132))


def test_stationary_with_a_nationwide_shock_is_quiet() -> None:
    assert run(ReferenceDivergence(), divergence_points(21, 240)) == []


# -- shift-share properties --------------------------------------------------------------------
def test_a_nationwide_shock_does_not_score() -> None:
    # +40 % everywhere for fifteen months, arriving and leaving as steps.
    points = divergence_points(5, 240, shock=(100, 115, 1.4))
    found = scores(ReferenceDivergence(), points)
    assert max(found[100:130]) < 3.0
    # The same series judged on its own (the local against a flat reference) alarms at once.
    flat = [DivergencePoint(x.local, (40000.0,)) for x in points]
    alone = run(ReferenceDivergence(), flat)
    assert alone[0] == (100, 1)


def test_local_worsening_while_the_country_improves_alarms_upwards() -> None:
    points = divergence_points(6, 240, local_from=120, local_factor=1.25, refs_factor=0.85)
    det = ReferenceDivergence()
    for x in points[:120]:
        det.learn(x)
    a, alarm = det.learn(points[120])
    assert alarm and a.direction == 1
    # Had the area followed its region, it would be about 15 % lower than a year ago's share...
    expected = points[120].references[0] * points[108].local / points[108].references[0]
    assert a.baseline == pytest.approx(expected, rel=0.08)
    assert a.baseline < points[120].local / 1.3


def test_local_improvement_alarms_downwards() -> None:
    points = divergence_points(7, 240, local_from=120, local_factor=0.72)
    alarms = run(ReferenceDivergence(), points)
    assert alarms and alarms[0] == (120, -1)
    assert all(direction == -1 for _, direction in alarms)


def test_requires_divergence_from_every_reference() -> None:
    # A regional shock: the local area and its region rise together, the country does not.
    # Against the country it diverges; against its region it does not, so it does not score.
    points = divergence_points(8, 240)
    regional = [
        DivergencePoint(
            x.local * (1.4 if t >= 120 else 1),
            (x.references[0] * (1.4 if t >= 120 else 1), x.references[1]),
        )
        for t, x in enumerate(points)
    ]
    found = scores(ReferenceDivergence(), regional)
    assert max(found[120:132]) < 2.0
    only_country = [DivergencePoint(x.local, (x.references[1],)) for x in regional]
    assert run(ReferenceDivergence(), only_country)[0] == (120, 1)


def test_opposite_signs_score_zero() -> None:
    # The region surges more than the area, the country not at all: the area is above the
    # country but below its region, so there is no common direction.
    points = divergence_points(10, 240)
    mixed = [
        DivergencePoint(
            x.local * (1.3 if t >= 120 else 1),
            (x.references[0] * (1.8 if t >= 120 else 1), x.references[1]),
        )
        for t, x in enumerate(points)
    ]
    det = ReferenceDivergence()
    for x in mixed[:120]:
        det.learn(x)
    a = det.assess(mixed[120])
    assert (a.score, a.direction) == (0.0, 0)


def test_a_steady_relative_trend_is_not_an_anomaly() -> None:
    # The area grows 1 % a month faster than its references, for twenty years.
    points = divergence_points(12, 240)
    trending = [DivergencePoint(x.local * 1.01**t, x.references) for t, x in enumerate(points)]
    assert run(ReferenceDivergence(), trending) == []


def test_different_seasonal_patterns_cancel() -> None:
    # The area's season is twice as deep as the references': year-on-year it still matches.
    points = []
    for t in range(120):
        points.append(
            DivergencePoint(
                3000 * seasonal(t, 0, 0.4),
                (30000 * seasonal(t, 6, 0.1), 300000 * seasonal(t, 3, 0.05)),
            )
        )
    found = scores(ReferenceDivergence(), points)
    assert max(found) < 1e-9


def test_baseline_formula_for_a_noise_free_series() -> None:
    def point(t: int) -> DivergencePoint:
        return DivergencePoint(1000 * seasonal(t, 0), (8000 * seasonal(t, 5),))

    det = ReferenceDivergence()
    for t in range(30):
        det.learn(point(t))
    ref = 8000 * seasonal(30, 5) * 0.9
    a = det.assess(DivergencePoint(1500.0, (ref,)))
    then = math.log((1000 * seasonal(18, 0) + 1) / (8000 * seasonal(18, 5) + 1))
    assert a.baseline == pytest.approx((ref + 1) * math.exp(then) - 1)
    assert a.direction == 1 and det.is_alarm(a)


# -- protocol details --------------------------------------------------------------------------
def test_not_ready_until_a_season_and_min_ratios() -> None:
    det = ReferenceDivergence(ReferenceDivergenceParams(min_ratios=6))
    jump = 3.0  # a local tripling: enormous, but nothing to judge it by yet
    for t, x in enumerate(divergence_points(13, 40)):
        assert det.ready == (t >= 18)
        a = det.assess(DivergencePoint(x.local * jump, x.references))
        if t < 12:  # no year-ago ratio: no baseline either
            assert a == Assessment.quiet(x.local * jump)
        elif t < 18:  # a baseline, but too few changes to judge the spread
            assert (a.score, a.direction) == (0.0, 0)
            assert a.baseline < x.local * 1.5
        else:
            assert det.is_alarm(a) and a.direction == 1
        det.learn(x)


def test_rejects_a_changed_number_of_references() -> None:
    det = ReferenceDivergence()
    det.update(DivergencePoint(100.0, (1000.0, 10000.0)))
    with pytest.raises(ValueError, match="fed 2 reference\\(s\\) per point, got 1"):
        det.update(DivergencePoint(100.0, (1000.0,)))
    with pytest.raises(ValueError, match="fed 2 reference\\(s\\) per point, got 3"):
        det.assess(DivergencePoint(100.0, (1000.0, 10000.0, 5.0)))


@pytest.mark.parametrize("refs", [(), (1.0, 2.0, 3.0, 4.0, 5.0)])
def test_rejects_no_or_too_many_references(refs: tuple[float, ...]) -> None:
    with pytest.raises(ValueError, match="needs 1 to 4 references"):
        ReferenceDivergence().assess(DivergencePoint(10.0, refs))


@pytest.mark.parametrize("bad", [-1.0, math.nan, math.inf])
def test_rejects_values_that_are_not_counts(bad: float) -> None:
    with pytest.raises(ValueError, match="finite counts"):
        ReferenceDivergence().update(DivergencePoint(bad, (1.0,)))
    with pytest.raises(ValueError, match="finite counts"):
        ReferenceDivergence().update(DivergencePoint(1.0, (2.0, bad)))


def test_snapshot_restore_mid_stream_continues_identically() -> None:
    points = divergence_points(4, 240, local_from=120)
    original = ReferenceDivergence()
    for x in points[:122]:  # in the middle of an alarm run, before adoption
        original.learn(x)
    restored = ReferenceDivergence.from_snapshot(json_roundtrip(original.snapshot()))
    rest = points[122:]
    assert [restored.learn(x) for x in rest] == [original.learn(x) for x in rest]
    assert restored.snapshot() == original.snapshot()


def test_restored_detector_keeps_its_number_of_references() -> None:
    det = ReferenceDivergence()
    det.update(DivergencePoint(100.0, (1000.0, 10000.0)))
    restored = ReferenceDivergence.from_snapshot(json_roundtrip(det.snapshot()))
    with pytest.raises(ValueError, match="fed 2"):
        restored.assess(DivergencePoint(100.0, (1000.0,)))


def test_snapshot_rejects_ragged_state() -> None:
    det = ReferenceDivergence()
    det.update(DivergencePoint(100.0, (1000.0, 10000.0)))
    snap = det.snapshot()
    state = snap["state"]
    assert isinstance(state, dict)
    state = {**state, "z": [[0.1]]}
    with pytest.raises(ValueError, match="list of 2 lists"):
        ReferenceDivergence.from_snapshot(dict(snap, state=state))
