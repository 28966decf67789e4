"""IsolationForestOutlier: golden alarms, batch = single, refit schedule, exact restore."""

from __future__ import annotations

import json

import numpy as np
import pytest
from pydantic import ValidationError
from sklearn.ensemble import IsolationForest

from tutka.detectors.base import Assessment, json_roundtrip
from tutka.detectors.isolation_forest import (
    NORMAL_SCORE,
    IsolationForestOutlier,
    IsolationForestParams,
)

from .streams import STREAMS  # first: streams.py gathers streams_isolation_forest itself
from .streams_isolation_forest import SHIFT, feature_vectors

Vector = tuple[float, ...]

#: Small forests keep these tests fast; the defaults are exercised by the golden tests.
SMALL = IsolationForestParams(n_estimators=25, window=30, refit_every=6, min_fit=12)


def small(**changes: object) -> IsolationForestOutlier:
    return IsolationForestOutlier(SMALL.model_copy(update=changes))


def learn_all(det: IsolationForestOutlier, xs: list[Vector]) -> list[tuple[Assessment, bool]]:
    return [det.learn(x) for x in xs]


def count_fits(det: IsolationForestOutlier) -> list[int]:
    """Record the stream length at each fit the detector actually carries out."""
    fits: list[int] = []
    fit = det._fit

    def counting(training: np.ndarray) -> None:  # type: ignore[type-arg]
        fits.append(det.n_seen)
        fit(training)

    det._fit = counting  # type: ignore[method-assign]
    return fits


def pooled_releases(months: int, areas: int, seed: int) -> list[list[Vector]]:
    """Monthly releases of ``areas`` feature vectors; area 7 jumps by +10 in two features at 24."""
    rng = np.random.default_rng(seed)
    area_effect = rng.normal(0.0, 0.5, size=(areas, 4))
    releases = []
    for month in range(months):
        matrix = area_effect + rng.standard_normal((areas, 4))
        if month >= 24:
            matrix[7, :2] += 10.0
        releases.append([tuple(float(v) for v in row) for row in matrix])
    return releases


# -- golden alarm indices ------------------------------------------------------------------------
#: Defaults, one vector a month, +10 in two features from month 120 (the conformance stream).
GOLDEN_SINGLE = [121, 122]
#: Twelve areas a month; area 7 jumps at month 24 and stays up. (month, area).
GOLDEN_POOLED = [(25, 7), (26, 7), (27, 7), (30, 7)]


@pytest.mark.slow
def test_golden_alarms_on_a_single_seeded_stream() -> None:
    xs = feature_vectors(11, 240, at=120)
    det = IsolationForestOutlier()
    results = learn_all(det, xs)
    assert [t for t, (_, alarm) in enumerate(results) if alarm] == GOLDEN_SINGLE
    # The first shifted vector lies outside the training range and scores like an ordinary
    # extreme vector: the alarm comes one step later, from the forest refit on it.
    assert results[120][0].score < 0.7 <= results[121][0].score


@pytest.mark.slow
def test_golden_alarms_on_pooled_monthly_releases() -> None:
    # Twelve areas a month, refit once a release: the pipeline's way of using the detector.
    det = IsolationForestOutlier(
        IsolationForestParams(window=120, refit_every=12, min_fit=48, seed=1)
    )
    alarms, area_7 = [], []
    for month, release in enumerate(pooled_releases(40, 12, seed=5)):
        assessments = det.assess_many(release)
        alarms += [(month, area) for area, a in enumerate(assessments) if det.is_alarm(a)]
        area_7.append(assessments[7].score)
        det.update_many(release)
    assert alarms == GOLDEN_POOLED
    # Month 24 is beyond the training range, so it scores like an extreme normal month; from 25
    # on area 7 falls into the leaf of its own month 24; its shifted months slowly mask it.
    assert 0.5 < area_7[24] < 0.7 <= area_7[25]
    assert max(area_7[31:]) < 0.7


def test_the_conformance_streams_differ_only_by_the_shift() -> None:
    streams = STREAMS["isolation_forest"]
    calm, shifted = streams.stationary(1, 240), streams.shifted(1, 240, 120)
    assert len(calm) == len(shifted) == 240
    assert calm[:120] == shifted[:120]
    difference = np.array(shifted[120:]) - np.array(calm[120:])
    assert np.allclose(difference, [SHIFT, SHIFT, 0.0, 0.0])
    assert abs(float(np.mean(calm))) < 0.1 and abs(float(np.std(calm)) - 1.0) < 0.1


# -- score meaning -------------------------------------------------------------------------------
def test_not_ready_before_min_fit_then_scores_are_sklearn_anomaly_scores() -> None:
    xs = feature_vectors(2, 40)
    det = small()
    for x in xs[: SMALL.min_fit - 1]:
        assert det.assess(x) == Assessment(0.0, NORMAL_SCORE, 0)
        det.update(x)
    assert not det.ready
    det.update(xs[SMALL.min_fit - 1])
    assert det.ready and det.fitted_at == SMALL.min_fit
    # An independent forest with the same settings on the same training set.
    training = np.array(xs[: SMALL.min_fit])
    forest = IsolationForest(
        n_estimators=SMALL.n_estimators, max_samples=SMALL.min_fit, random_state=SMALL.seed
    ).fit(training)
    probes = np.array(xs[SMALL.min_fit :])
    expected = [-float(s) for s in forest.score_samples(probes)]
    got = det.assess_many([tuple(row) for row in probes.tolist()])
    assert [a.score for a in got] == expected
    assert all(0.0 < s < 1.0 for s in expected)
    median = float(np.median(-forest.score_samples(training)))
    assert {a.baseline for a in got} == {median}
    assert {a.direction for a in got} == {0}


def test_scores_rise_towards_the_corners_and_saturate_beyond_the_training_range() -> None:
    xs = feature_vectors(3, 30)
    det = small()
    learn_all(det, xs)
    assert det.fitted_at == 30  # on the schedule: trained on exactly xs
    training = np.array(xs)
    low, high = training.min(axis=0), training.max(axis=0)
    corner = (high[0], low[1], high[2], low[3])  # inside the box, far from the data
    beyond = (high[0] + 100, low[1] - 100, high[2] + 100, low[3] - 100)
    central = det.assess((0.0, 0.0, 0.0, 0.0))
    assert central.score < central.baseline < 0.6 < det.score(corner)
    # Every split value lies inside the training range: farther out, the same path.
    assert det.score(beyond) == det.score(corner)


# -- batch = single ------------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("chunks", [[1, 7, 30, 2, 11, 60, 3, 26], [13] * 12, [150, 6]])
def test_batch_methods_agree_exactly_with_single_ones(chunks: list[int]) -> None:
    # The pipeline's monthly step: assess a whole release with the forest as it stands, then
    # learn the release. One detector does it item by item, the other in batches.
    xs = feature_vectors(4, sum(chunks), at=70, shift=8.0)
    single, batch = small(), small()
    single_fits, batch_fits = count_fits(single), count_fits(batch)
    start = 0
    for size in chunks:
        release = xs[start : start + size]
        start += size
        assert batch.assess_many(release) == [single.assess(x) for x in release]
        batch.update_many(release)
        for x in release:
            single.update(x)
        assert batch.snapshot() == single.snapshot()
    assert batch.ready
    probe = (0.3, -0.2, 2.5, 0.1)
    assert batch.assess(probe) == single.assess(probe)
    # Refits due inside a batch collapse into one: nothing is scored between them.
    assert len(batch_fits) <= len(chunks) < len(single_fits)


def test_assess_many_of_nothing_and_update_many_of_nothing() -> None:
    det = small()
    assert det.assess_many([]) == []
    det.update_many([])
    assert det.n_seen == 0 and det.dim is None


# -- refit schedule ------------------------------------------------------------------------------
def test_the_forest_changes_exactly_on_schedule_without_novelty() -> None:
    det = small(refit_on_novelty=False)
    fits = count_fits(det)
    probe = (0.5, 0.5, -0.5, 0.2)
    changes, last = [], 0.0
    for n, x in enumerate(feature_vectors(5, 80, at=40, shift=8.0), start=1):
        det.update(x)
        score = det.score(probe)
        if score != last:
            changes.append(n)
        last = score
    expected = list(range(SMALL.min_fit, 81, SMALL.refit_every))  # 12, 18, 24, ...
    assert fits == expected
    assert changes == expected
    assert det.fitted_at == 78


def test_a_vector_outside_the_training_range_triggers_a_refit_without_moving_the_grid() -> None:
    det = small()
    fits = count_fits(det)
    rng = np.random.default_rng(6)
    # Corners first, so that nothing else leaves the training box while it spans the window.
    inside = [(1.0,) * 4, (-1.0,) * 4] + [
        tuple(float(v) for v in row) for row in rng.uniform(-0.9, 0.9, (26, 4))
    ]
    for x in inside[:15]:
        det.update(x)
    assert fits == [12]
    det.update((0.0, 5.0, 0.0, 0.0))  # vector 16: beyond the maximum of feature 1
    assert fits == [12, 16]
    assert det.fitted_at == 16
    for x in inside[15:]:
        det.update(x)  # vectors 17-29
    assert fits == [12, 16, 18, 24]  # the schedule stays min_fit + k * refit_every


# -- snapshots -----------------------------------------------------------------------------------
@pytest.mark.slow
def test_restore_after_json_reproduces_later_scores_at_every_phase() -> None:
    xs = feature_vectors(7, 100, at=50, shift=10.0)
    capacity = SMALL.window + SMALL.refit_every
    # Before the first fit, just after it, between refits, and with a full ring.
    for split in [*range(10, 26), 49, 50, 51, 52, capacity + 1, 83, 87]:
        original = small()
        learn_all(original, xs[:split])
        state = json_roundtrip(original.snapshot())
        restored = IsolationForestOutlier.from_snapshot(state)
        assert restored.fitted_at == original.fitted_at
        later = xs[split : split + 14]
        assert learn_all(restored, later) == learn_all(original, later), split
        assert restored.snapshot() == original.snapshot()


def test_restore_needs_the_vectors_that_came_after_the_last_fit() -> None:
    # A control for the test above: the same ring, but pretending the last fit was just now,
    # gives other scores. Exact restore depends on since_fit.
    xs = feature_vectors(8, 60)
    params = SMALL.model_copy(update={"refit_on_novelty": False})
    original = IsolationForestOutlier(params)
    learn_all(original, xs[:40])  # fits at 12, 18, ..., 36
    snap = json_roundtrip(original.snapshot())
    state = snap["state"]
    assert isinstance(state, dict)
    assert state["since_fit"] == 4
    wrong = IsolationForestOutlier.restore(params, dict(state, since_fit=0))
    right = IsolationForestOutlier.restore(params, state)
    probes = xs[40:]
    assert [a.score for a in right.assess_many(probes)] == [
        a.score for a in original.assess_many(probes)
    ]
    assert [a.score for a in wrong.assess_many(probes)] != [
        a.score for a in original.assess_many(probes)
    ]


def test_restore_rejects_inconsistent_states() -> None:
    det = small()
    learn_all(det, feature_vectors(9, 40))
    state = det.snapshot()["state"]
    assert isinstance(state, dict)
    vectors = state["vectors"]
    assert isinstance(vectors, list)
    with pytest.raises(ValueError, match="holds 35 vectors"):
        IsolationForestOutlier.restore(SMALL, dict(state, vectors=vectors[1:]))
    with pytest.raises(ValueError, match="since_fit"):
        IsolationForestOutlier.restore(SMALL, dict(state, since_fit=SMALL.refit_every))
    with pytest.raises(ValueError, match="3 features; expected 4"):
        IsolationForestOutlier.restore(SMALL, dict(state, vectors=[[1.0, 2.0, 3.0], *vectors[1:]]))


@pytest.mark.slow
def test_state_is_bounded_by_window_plus_refit_every() -> None:
    det = small()
    sizes = []
    for seed in range(4):
        learn_all(det, feature_vectors(20 + seed, 60))
        snap = det.snapshot()
        state = snap["state"]
        assert isinstance(state, dict) and isinstance(state["vectors"], list)
        assert len(state["vectors"]) == SMALL.window + SMALL.refit_every
        sizes.append(len(json.dumps(snap)))
    assert max(sizes) < 1.1 * min(sizes)
    assert det.n_seen == 240


# -- validation ----------------------------------------------------------------------------------
def test_a_changed_dimension_raises_and_leaves_the_state_alone() -> None:
    det = small()
    learn_all(det, feature_vectors(10, 20))
    before = det.snapshot()
    message = r"has 3 features; expected 4 \(fixed by the first vector this detector learnt\)"
    with pytest.raises(ValueError, match="the feature vector " + message):
        det.assess((1.0, 2.0, 3.0))
    with pytest.raises(ValueError, match="the feature vector has 5 features"):
        det.update((1.0, 2.0, 3.0, 4.0, 5.0))
    with pytest.raises(ValueError, match="feature vector 1 of 3 " + message):
        det.update_many([(0.0,) * 4, (1.0, 2.0, 3.0), (0.0,) * 4])
    with pytest.raises(ValueError, match="feature vector 2 of 3 " + message):
        det.assess_many([(0.0,) * 4, (0.0,) * 4, (1.0, 2.0, 3.0)])
    assert det.snapshot() == before


def test_a_batch_must_be_consistent_before_anything_is_learnt() -> None:
    det = small()
    with pytest.raises(ValueError, match=r"vector 1 of 2 has 2 features; expected 3 \(like the"):
        det.update_many([(0.0, 1.0, 2.0), (0.0, 1.0)])
    assert det.dim is None
    det.update((0.0, 1.0))
    assert det.dim == 2


@pytest.mark.parametrize(
    ("vector", "match"),
    [
        ((0.0, float("nan"), 0.0, 0.0), "has nan at position 1; features must be finite"),
        ((0.0, 0.0, float("-inf"), 0.0), "has -inf at position 2"),
        ((0.0, 0.0, 0.0, 1e39), r"has 1e\+39 at position 3; .* float32"),
        ((), "the feature vector is empty"),
        ("abcd", "must be a sequence of floats, got str"),
        (1.5, "must be a sequence of floats, got float"),
    ],
)
def test_bad_vectors_raise_precise_errors(vector: Vector, match: str) -> None:
    det = small()
    learn_all(det, feature_vectors(12, 5))
    for method in (det.assess, det.update):
        with pytest.raises(ValueError, match=match):
            method(vector)
    assert det.n_seen == 5


def test_params_are_validated_at_start_up() -> None:
    with pytest.raises(ValidationError, match="min_fit"):
        IsolationForestParams(window=20, min_fit=30)
    for bad in ({"threshold": 0.5}, {"threshold": 1.0}, {"seed": -1}, {"refit_every": 0}):
        with pytest.raises(ValidationError):
            IsolationForestParams.model_validate(bad)


# -- seeds ---------------------------------------------------------------------------------------
def scores_with(seed: int) -> list[float]:
    det = small(seed=seed)
    return [a.score for a, _ in learn_all(det, feature_vectors(13, 60, at=40))]


@pytest.mark.slow
def test_same_seed_same_scores_other_seed_other_scores() -> None:
    first, again, other = scores_with(3), scores_with(3), scores_with(4)
    assert first == again
    ready = slice(SMALL.min_fit, None)
    assert first[: SMALL.min_fit] == other[: SMALL.min_fit] == [0.0] * SMALL.min_fit
    differing = sum(a != b for a, b in zip(first[ready], other[ready], strict=True))
    assert differing >= 0.8 * (len(first) - SMALL.min_fit)


@pytest.mark.parametrize(
    ("n_estimators", "max_samples", "max_features", "rows"),
    [(10, 64, 1.0, 600), (50, 512, 1.0, 600), (20, 128, 0.5, 600), (10, 1, 1.0, 1)],
)
def test_tree_by_tree_scores_are_bit_for_bit_those_of_score_samples(
    n_estimators: int, max_samples: int, max_features: float, rows: int
) -> None:
    from tutka.detectors.isolation_forest import _anomaly_scores_sklearn, anomaly_scores

    rng = np.random.default_rng(4)
    train = rng.normal(size=(rows, 4))
    train[:5] += 8.0
    forest = IsolationForest(
        n_estimators=n_estimators,
        max_samples=max_samples,
        max_features=max_features,
        random_state=3,
        n_jobs=1,
    ).fit(train)
    x = np.vstack([train[:50], rng.normal(scale=5.0, size=(40, 4)), [[1e30, -1e30, 0.0, 3.0]]])
    fast, reference = anomaly_scores(forest, x), _anomaly_scores_sklearn(forest, x)
    assert fast == reference  # exact floats, not approximately
    assert len(set(fast)) > 1 or rows == 1
