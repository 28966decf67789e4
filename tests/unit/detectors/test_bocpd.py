"""BOCPD: exact alarm indices on seeded series, the posterior against a direct computation, then
tolerance properties."""

from __future__ import annotations

import math
import random

import pytest
from pydantic import ValidationError

from tutka.detectors.base import json_roundtrip
from tutka.detectors.bocpd import BOCPD, BOCPDParams

from .series_gen import Alarm, indices, poisson_counts, trending_counts
from .series_gen import alarms as generated_alarms
from .streams import seasonal_counts


def alarms(xs: list[float], det: BOCPD | None = None) -> list[Alarm]:
    return generated_alarms(xs, det if det is not None else BOCPD())


def trained(xs: list[float], params: BOCPDParams | None = None) -> BOCPD:
    det = BOCPD(params)
    for x in xs:
        det.learn(x)
    return det


# -- golden -----------------------------------------------------------------------------------


def test_golden_alarms_on_the_conformance_shift() -> None:
    found = alarms(seasonal_counts(200, 240, 120))
    assert indices(found) == [120, 121, 122]
    assert all(a.direction == 1 and a.score > 0.99 for _, a in found)
    # every alarm of the shift compares against the old level (seasonal, about 2 000)
    assert [round(a.baseline) for _, a in found] == [2049, 2205, 2272]


def test_golden_alarms_on_a_rise_and_a_fall() -> None:
    rng = random.Random(7)

    def level(t: int) -> float:
        return 2000 * (1 + 0.15 * math.sin(2 * math.pi * t / 12)) * (1.25 if 60 <= t < 100 else 1)

    xs = [float(round(rng.gauss(level(t), 1.5 * math.sqrt(level(t))))) for t in range(144)]
    found = alarms(xs)
    assert [(t, a.direction) for t, a in found] == [
        (60, 1),
        (61, 1),
        (62, 1),
        (101, -1),
        (102, -1),
    ]


def test_golden_downward_alarms() -> None:
    found = alarms(seasonal_counts(0, 240, 120, factor=0.75))
    assert [(t, a.direction) for t, a in found] == [(120, -1), (121, -1), (122, -1)]


# -- the posterior ----------------------------------------------------------------------------


def student_t_logpdf(x: float, nu: float, loc: float, scale2: float) -> float:
    return (
        math.lgamma((nu + 1) / 2)
        - math.lgamma(nu / 2)
        - 0.5 * math.log(nu * math.pi * scale2)
        - (nu + 1) / 2 * math.log1p((x - loc) ** 2 / (nu * scale2))
    )


def direct_joint(det: BOCPD, v: float) -> list[float]:
    """P(r) x predictive density of v, straight from the Normal-Gamma posterior of each run."""
    p = det.params
    state = det.snapshot()["state"]
    assert isinstance(state, dict)
    probs, sum1, sum2 = state["probs"], state["sum1"], state["sum2"]
    assert isinstance(probs, list) and isinstance(sum1, list) and isinstance(sum2, list)
    pr = [float(q) for q in probs]  # type: ignore[arg-type]
    s1 = [float(q) for q in sum1]  # type: ignore[arg-type]
    s2 = [float(q) for q in sum2]  # type: ignore[arg-type]
    centre = sum(pr[r] * s1[r] / r for r in range(1, len(pr))) / (1 - pr[0])
    out = []
    for r in range(len(pr)):
        k0, a0, b0 = p.prior_kappa, p.prior_alpha, p.prior_beta
        kappa, alpha = k0 + r, a0 + r / 2
        mean = (k0 * centre + s1[r]) / kappa
        beta = b0 + 0.5 * (s2[r] + k0 * centre**2 - kappa * mean**2)
        scale2 = beta * (kappa + 1) / (alpha * kappa)
        out.append(pr[r] * math.exp(student_t_logpdf(v, 2 * alpha, mean, scale2)))
    return out


@pytest.mark.parametrize(("seed", "t"), [(1, 30), (1, 119), (5, 120), (5, 121), (9, 200)])
def test_score_is_the_posterior_probability_of_a_recent_change(seed: int, t: int) -> None:
    xs = seasonal_counts(seed, 240, 120)
    det = trained(xs[:t])
    _, _, v = det._standardise(xs[t])
    joint = direct_joint(det, v)
    window = det.params.window
    assert det.score(xs[t]) == pytest.approx(sum(joint[:window]) / sum(joint), rel=1e-9, abs=1e-12)
    # and the next run-length posterior is the growth/change-point recursion, tail folded
    hazard = 1 / det.params.expected_run
    grown = [(1 - hazard) * j / sum(joint) for j in joint]
    det.learn(xs[t])
    state = det.snapshot()["state"]
    assert isinstance(state, dict)
    expected = [hazard, *grown[:-2], grown[-2] + grown[-1]]
    assert state["probs"] == pytest.approx(expected, rel=1e-9, abs=1e-15)


def test_the_run_length_posterior_is_bounded_and_sums_to_one() -> None:
    det = trained(seasonal_counts(3, 600, 300))
    state = det.snapshot()["state"]
    assert isinstance(state, dict)
    probs = state["probs"]
    assert isinstance(probs, list)
    assert len(probs) == det.params.max_run + 1
    assert math.fsum(float(q) for q in probs) == pytest.approx(1.0)  # type: ignore[arg-type]


def test_nothing_explaining_an_observation_counts_as_a_change() -> None:
    # Unreachable with counts up to 1e7 (the new-segment predictive has heavy tails), but the
    # arithmetic must not divide by zero if every density underflows.
    det = trained(seasonal_counts(1, 40))
    assert det._score([0.0] * (det.params.max_run + 1)) == 1.0


# -- behaviour --------------------------------------------------------------------------------


def test_quiet_during_warm_up() -> None:
    det = BOCPD()
    xs = seasonal_counts(1, 30)
    for t, x in enumerate(xs[:24]):
        assert not det.ready
        a, alarm = det.learn(x * (5 if t == 20 else 1))  # even a wild value is not scored
        assert (a.score, a.direction, alarm) == (0.0, 0, False)
    assert det.ready
    assert 0 <= det.score(xs[24]) < 0.1


def test_learn_equals_assess_then_update() -> None:
    xs = seasonal_counts(8, 240, 120)
    fused, split = BOCPD(), BOCPD()
    for x in xs:
        a, alarm = fused.learn(x)
        b = split.assess(x)
        assert (a, alarm) == (b, split.is_alarm(b))
        split.update(x)
    assert fused.snapshot() == split.snapshot()


@pytest.mark.parametrize("seed", range(20))
def test_a_persistent_shift_gives_window_alarms_then_becomes_normal(seed: int) -> None:
    det = BOCPD()
    xs = seasonal_counts(seed, 240, 120)
    assert indices(alarms(xs, det)) == [120, 121, 122]
    shifted = seasonal_counts(seed, 241, 120)[240]
    assert det.assess(shifted).baseline == pytest.approx(shifted, rel=0.1)


@pytest.mark.parametrize("window", [1, 2, 4])
def test_the_window_sets_how_long_a_change_keeps_alarming(window: int) -> None:
    params = BOCPDParams(window=window)
    found = alarms(seasonal_counts(21, 240, 120), BOCPD(params))
    assert indices(found) == list(range(120, 120 + window))


@pytest.mark.parametrize("seed", range(5))
def test_a_downward_shift_alarms_with_direction_minus_one(seed: int) -> None:
    xs = seasonal_counts(300 + seed, 240, 120, factor=0.75)
    found = alarms(xs)
    assert indices(found) == [120, 121, 122]
    assert all(a.direction == -1 and a.baseline > xs[t] for t, a in found)


@pytest.mark.parametrize("rate", [0.01, 0.03])
@pytest.mark.parametrize("seed", range(10))
def test_a_slow_trend_gives_no_alarm(seed: int, rate: float) -> None:
    # The last run-length bin is a sliding window of max_run months, so a drift is followed.
    # (Measured on 100 seeds: 3 %/year gave an alarm in 4 twenty-year series, 1 %/year in 2.)
    assert alarms(trending_counts(seed, 240, rate)) == []


@pytest.mark.parametrize("seed", range(10))
def test_small_counts_with_poisson_noise_give_no_alarm(seed: int) -> None:
    assert alarms(poisson_counts(seed, 240, 20)) == []


@pytest.mark.parametrize("seed", range(5))
def test_a_ten_percent_shift_in_a_large_region_alarms_at_once(seed: int) -> None:
    found = alarms(poisson_counts(seed, 240, 20_000, 120, 1.10))
    assert indices(found) == [120, 121, 122]
    assert all(a.direction == 1 for _, a in found)


def test_counting_noise_keeps_a_low_small_count_from_looking_like_a_change() -> None:
    xs = poisson_counts(3, 60, 20)
    with_noise, without = trained(xs), trained(xs, BOCPDParams(count_noise=False))
    low = with_noise.assess(0.0).baseline * 0.3  # 6 where 20 are expected
    assert with_noise.score(low) < without.score(low)
    assert with_noise.score(low) < with_noise.params.threshold


@pytest.mark.parametrize("split", [10, 24, 25, 60, 120, 121, 122, 200])
def test_restore_mid_stream_continues_identically(split: int) -> None:
    xs = seasonal_counts(11, 240, 120)
    original = trained(xs[:split])
    restored = BOCPD.from_snapshot(json_roundtrip(original.snapshot()))
    assert restored.snapshot() == original.snapshot()
    assert [restored.learn(x) for x in xs[split:]] == [original.learn(x) for x in xs[split:]]


def test_snapshot_rejects_run_length_arrays_of_the_wrong_size() -> None:
    snap = json_roundtrip(trained(seasonal_counts(1, 40)).snapshot())
    state = snap["state"]
    assert isinstance(state, dict)
    state["probs"] = [1.0]
    with pytest.raises(ValueError, match="entries"):
        BOCPD.from_snapshot(snap)


def test_params_are_checked_at_start_up() -> None:
    with pytest.raises(ValidationError, match="two seasons"):
        BOCPDParams(warmup=12)
    with pytest.raises(ValidationError, match="max_run"):
        BOCPDParams(window=10, max_run=8)
    with pytest.raises(ValidationError):
        BOCPDParams(threshold=1.5)  # a probability
