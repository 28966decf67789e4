"""Context novelty beyond the conformance suite: wrong-time values, resting, adoption, bounds."""

from __future__ import annotations

import json

from tutka.detectors.context_novelty import ContextNovelty, Reading

from .streams import STREAMS  # first: it gathers every detector's stream module
from .streams_context_novelty import DAY, daily


def learn_all(detector: ContextNovelty, readings: list[Reading]) -> list[int]:
    return [t for t, r in enumerate(readings) if detector.learn(r)[1]]


def test_a_normal_value_at_an_abnormal_hour_is_new() -> None:
    assert STREAMS["context_novelty"].stationary(1, 24) == daily(1, 24)
    detector = ContextNovelty()
    assert learn_all(detector, daily(1, 24 * 30)) == []
    busy_level_at_night = Reading(90.0, 20)
    assessment = detector.assess(busy_level_at_night)
    assert detector.alarm(busy_level_at_night)
    assert assessment.direction == 1
    # The same level at a busy hour is familiar.
    assert not detector.alarm(Reading(90.0, 10))
    # (Night hours of the first day are not used: the range was not known yet.)


def test_one_change_is_reported_once_then_adopted() -> None:
    detector = ContextNovelty(ContextNovelty.Params(rest=48))
    readings = daily(2, 24 * 40)
    shifted = [Reading(r.value + (0 if DAY[r.phase] == 10 else -40.0), r.phase) for r in readings]
    alarms = learn_all(detector, readings[: 24 * 20] + shifted[24 * 20 :])
    assert alarms, "the lower busy level must be noticed"
    assert alarms[0] >= 24 * 20 + 7  # the first busy hour after the change
    # A few reminders while the new pattern's longer contexts are still new, then silence for
    # the remaining two weeks: the change has become the normal.
    assert len(alarms) <= 3
    assert alarms[-1] < 24 * 26


def test_rest_silences_novelty_but_not_range_breaches() -> None:
    detector = ContextNovelty(ContextNovelty.Params(rest=1000))
    learn_all(detector, daily(3, 24 * 20))
    assert detector.learn(Reading(50.0, 10))[1]  # new mid level: alarm, rest begins
    assert detector.assess(Reading(50.0, 3)).score == 0.0  # novelty is silent while resting
    assert detector.assess(Reading(500.0, 3)).score == 1.0  # a range breach still speaks


def test_memory_caps_the_remembered_contexts() -> None:
    small = ContextNovelty(ContextNovelty.Params(memory=100, warmup=1))
    for t in range(2000):
        small.learn(Reading(float((t * 7919) % 1000), t % 24))
    state = small.snapshot()["state"]
    assert isinstance(state, dict) and isinstance(state["seen"], list)
    assert len(state["seen"]) == 100
    assert len(json.dumps(small.snapshot())) < 10_000
