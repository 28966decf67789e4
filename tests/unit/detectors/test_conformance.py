"""The conformance suite (STYLE.md §8), run over every registered detector."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from tutka.detectors import registry
from tutka.detectors.base import BaseDetector, Detector, PooledDetector, json_roundtrip

from .streams import STREAMS

NAMES = sorted(registry.DETECTORS)
#: Detectors whose conformance runs cost seconds each (a forest of 100 trees refitted on a
#: schedule): the full suite runs them; ``make fast`` keeps their cheap checks and their own
#: module's fast tests.
COSTLY = {"isolation_forest"}
#: Every registered detector, the costly ones marked slow (the test ids are the same).
RUNS = [pytest.param(n, marks=pytest.mark.slow) if n in COSTLY else n for n in NAMES]


def fresh(name: str) -> BaseDetector:  # type: ignore[type-arg]
    return registry.create(name)


def run(detector: BaseDetector, xs: list) -> list[tuple[float, float, int, bool]]:  # type: ignore[type-arg]
    out = []
    for x in xs:
        a, alarm = detector.learn(x)
        out.append((a.score, a.baseline, a.direction, alarm))
    return out


def test_every_registered_detector_has_conformance_streams() -> None:
    assert set(NAMES) == set(STREAMS), "register conformance streams for every detector"


@pytest.mark.parametrize("name", NAMES)
def test_params_reject_bad_values_at_start_up(name: str) -> None:
    with pytest.raises(ValidationError):
        registry.create(name, {"threshold": -1})
    with pytest.raises(ValidationError):
        registry.create(name, {"no_such_parameter": 1})


@pytest.mark.parametrize("name", RUNS)
def test_assess_and_score_do_not_change_state(name: str) -> None:
    s = STREAMS[name]
    xs = s.stationary(1, s.length)
    det = fresh(name)
    run(det, xs[: s.length // 2])
    before = det.snapshot()
    for x in xs[s.length // 2 :]:
        det.assess(x)
        det.score(x)
        det.alarm(x)
    assert det.snapshot() == before


@pytest.mark.parametrize("name", RUNS)
def test_seeded_runs_are_deterministic(name: str) -> None:
    s = STREAMS[name]
    xs = s.shifted(3, s.length, s.shift_at)
    assert run(fresh(name), xs) == run(fresh(name), xs)


@pytest.mark.parametrize("name", RUNS)
@pytest.mark.parametrize("seed", range(5))
def test_no_alarm_on_a_long_stationary_series(name: str, seed: int) -> None:
    s = STREAMS[name]
    alarms = [t for t, r in enumerate(run(fresh(name), s.stationary(100 + seed, s.length))) if r[3]]
    assert alarms == []


@pytest.mark.parametrize("name", RUNS)
@pytest.mark.parametrize("seed", range(5))
def test_alarm_soon_after_an_injected_change(name: str, seed: int) -> None:
    s = STREAMS[name]
    results = run(fresh(name), s.shifted(200 + seed, s.length, s.shift_at))
    alarms = [t for t, r in enumerate(results) if r[3]]
    assert alarms, "no alarm at all"
    assert s.shift_at <= alarms[0] <= s.shift_at + s.within


@pytest.mark.parametrize("name", RUNS)
def test_state_is_bounded(name: str) -> None:
    s = STREAMS[name]
    det = fresh(name)
    run(det, s.stationary(5, s.length))
    size_early = len(json.dumps(det.snapshot()))
    run(det, s.stationary(6, s.length * 4))
    assert len(json.dumps(det.snapshot())) <= size_early * 1.1 + 64


@pytest.mark.parametrize("name", NAMES)
def test_snapshot_is_versioned_json(name: str) -> None:
    s = STREAMS[name]
    det = fresh(name)
    run(det, s.stationary(7, 60))
    snap = det.snapshot()
    assert snap["v"] == type(det).STATE_VERSION
    assert snap["detector"] == name
    json.dumps(snap, allow_nan=False)
    wrong = dict(snap, v=999)
    with pytest.raises(ValueError, match="version"):
        registry.restore(wrong)


@pytest.mark.parametrize("name", RUNS)
def test_snapshot_restore_gives_the_same_later_scores(name: str) -> None:
    s = STREAMS[name]

    @settings(max_examples=s.restore_examples, deadline=None)
    @given(seed=st.integers(0, 10_000), split=st.integers(1, 10_000))
    def check(seed: int, split: int) -> None:
        xs = s.shifted(seed, s.length, s.shift_at)
        split = 1 + split % (len(xs) - 1)
        original = fresh(name)
        run(original, xs[:split])
        restored = registry.restore(json_roundtrip(original.snapshot()))
        assert run(restored, xs[split:]) == run(original, xs[split:])

    check()


@pytest.mark.parametrize("name", RUNS)
@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_scores_are_finite_and_non_negative(name: str, data: st.DataObject) -> None:
    s = STREAMS[name]
    xs = data.draw(st.lists(s.inputs, min_size=1, max_size=80))
    det = fresh(name)
    for x in xs:
        a, _ = det.learn(x)
        assert a.score >= 0 and a.score == a.score and a.score != float("inf")
        assert a.baseline == a.baseline and abs(a.baseline) != float("inf")


@pytest.mark.parametrize("name", RUNS)
def test_learn_is_exactly_assess_then_update(name: str) -> None:
    # Detectors may fuse the two for speed (judging a point once); nothing else may change.
    s = STREAMS[name]
    xs = s.shifted(5, s.length, s.shift_at)
    fused, apart = fresh(name), fresh(name)
    for x in xs:
        assessment, alarm = fused.learn(x)
        expected = apart.assess(x)
        assert (assessment, alarm) == (expected, apart.is_alarm(expected))
        apart.update(x)
        assert fused.snapshot() == apart.snapshot()


@pytest.mark.parametrize("name", NAMES)
def test_every_registered_detector_implements_the_protocol(name: str) -> None:
    # The pipeline reaches detectors only through the protocols (tutka.detectors.base).
    assert isinstance(registry.create(name), Detector)
    pooled = isinstance(registry.create(name), PooledDetector)
    assert pooled == (name in registry.POOLED_DETECTORS)


@pytest.mark.parametrize("name", NAMES)
def test_a_detector_is_created_for_a_part_only_if_it_can_play_it(name: str) -> None:
    for part, make, restore, role in (
        ("judge notice tallies", registry.notice_detector, registry.restore_notice_detector,
         registry.NOTICE_DETECTORS),
        ("judge areas pooled", registry.pooled_detector, registry.restore_pooled_detector,
         registry.POOLED_DETECTORS),
    ):  # fmt: skip
        snap = registry.create(name).snapshot()
        if name in role:
            assert make(name).name == name and restore(snap).name == name
        else:
            with pytest.raises(ValueError, match=f"cannot {part}; known: "):
                make(name)
            with pytest.raises(ValueError, match=f"cannot {part}"):
                restore(snap)


def test_an_unknown_detector_is_named_with_the_known_ones() -> None:
    with pytest.raises(ValueError, match="unknown detector 'nope'; known: bocpd"):
        registry.notice_detector("nope")
