"""CUSUM: exact alarm indices on seeded series, then tolerance properties."""

from __future__ import annotations

import math
import random

import pytest
from pydantic import ValidationError

from tutka.detectors.base import json_roundtrip
from tutka.detectors.cusum import CUSUM, CUSUMParams
from tutka.detectors.deseasonalise import Deseasonaliser

from .series_gen import Alarm, indices, poisson_counts, trending_counts
from .series_gen import alarms as generated_alarms
from .streams import seasonal_counts


def alarms(xs: list[float], det: CUSUM | None = None) -> list[Alarm]:
    return generated_alarms(xs, det if det is not None else CUSUM())


# -- golden -----------------------------------------------------------------------------------


def test_golden_alarm_on_the_conformance_shift() -> None:
    found = alarms(seasonal_counts(200, 240, 120))
    assert indices(found) == [120]
    (_, a) = found[0]
    assert a.direction == 1
    assert a.score == pytest.approx(7.10, abs=0.01)
    assert a.baseline == pytest.approx(2060, abs=1)


def test_golden_alarms_on_a_rise_and_a_fall() -> None:
    rng = random.Random(7)

    def level(t: int) -> float:
        return 2000 * (1 + 0.15 * math.sin(2 * math.pi * t / 12)) * (1.25 if 60 <= t < 100 else 1)

    xs = [round(rng.gauss(level(t), 1.5 * math.sqrt(level(t)))) for t in range(144)]
    found = alarms([float(x) for x in xs])
    assert [(t, a.direction) for t, a in found] == [(61, 1), (101, -1)]


def test_golden_downward_alarms() -> None:
    found = alarms(seasonal_counts(0, 240, 120, factor=0.75))
    assert [(t, a.direction) for t, a in found] == [(120, -1), (122, -1)]


# -- behaviour --------------------------------------------------------------------------------


def test_quiet_during_warm_up() -> None:
    det = CUSUM()
    xs = seasonal_counts(1, 30)
    for t, x in enumerate(xs[:24]):
        assert not det.ready
        a, alarm = det.learn(x * (5 if t == 20 else 1))  # even a wild value is not scored
        assert (a.score, a.direction, alarm) == (0.0, 0, False)
    assert det.ready
    assert det.assess(xs[24]).direction != 0


def test_assess_scores_the_observation_itself() -> None:
    det = CUSUM()
    for x in seasonal_counts(2, 60):
        det.learn(x)
    expected = det.assess(0.0).baseline
    # An observation at the expected value does not alarm; one far above jumps past h at once.
    assert det.score(expected) < det.params.threshold
    assert det.alarm(expected * 1.5)
    assert det.assess(expected * 1.5).direction == 1
    assert det.assess(expected / 1.5).direction == -1


@pytest.mark.parametrize("seed", range(20))
def test_a_persistent_shift_gives_one_alarm_then_becomes_normal(seed: int) -> None:
    det = CUSUM()
    xs = seasonal_counts(seed, 240, 120)
    found = alarms(xs, det)
    assert indices(found)[:1] in ([120], [121])
    assert 1 <= len(found) <= 2
    # Adopted: the baseline is now the new level (35 % up), not the old one.
    shifted = seasonal_counts(seed, 241, 120)[240]
    assert det.assess(shifted).baseline == pytest.approx(shifted, rel=0.1)


@pytest.mark.parametrize("seed", range(5))
def test_a_downward_shift_alarms_with_direction_minus_one(seed: int) -> None:
    found = alarms(seasonal_counts(300 + seed, 240, 120, factor=0.75))
    assert found and found[0][0] in (120, 121)
    assert all(a.direction == -1 for _, a in found)
    t, first = found[0]
    assert first.baseline > seasonal_counts(300 + seed, 240, 120, factor=0.75)[t]


@pytest.mark.parametrize("seed", range(10))
def test_a_slow_trend_of_one_percent_a_year_gives_no_alarm(seed: int) -> None:
    assert alarms(trending_counts(seed, 240, 0.01)) == []


def test_a_three_percent_trend_is_reported_only_now_and_then_and_upward() -> None:
    # There is no trend term: 3 %/year is 0.9 noise sd a year here, the level lags it and the lag
    # is now and then reported (0.7 alarms per 20-year series in 100 seeds). Never downward.
    found = [alarms(trending_counts(seed, 240, 0.03)) for seed in range(20)]
    assert sum(len(f) for f in found) <= 20
    assert all(a.direction == 1 for f in found for _, a in f)


@pytest.mark.parametrize("seed", range(10))
def test_small_counts_with_poisson_noise_give_no_alarm(seed: int) -> None:
    assert alarms(poisson_counts(seed, 240, 20)) == []


@pytest.mark.parametrize("seed", range(5))
def test_a_ten_percent_shift_in_a_large_region_alarms_at_once(seed: int) -> None:
    found = alarms(poisson_counts(seed, 240, 20_000, 120, 1.10))
    assert indices(found) == [120]
    assert found[0][1].direction == 1


def test_counting_noise_keeps_a_low_small_count_from_looking_extreme() -> None:
    xs = poisson_counts(3, 60, 20)
    with_noise, without = CUSUM(), CUSUM(CUSUMParams(count_noise=False))
    for x in xs:
        with_noise.learn(x)
        without.learn(x)
    low = with_noise.assess(0.0).baseline * 0.3  # 6 where 20 are expected
    assert with_noise.score(low) < without.score(low)
    assert with_noise.score(low) < with_noise.params.threshold


@pytest.mark.parametrize("split", [10, 24, 60, 120, 121, 125, 200])
def test_restore_mid_stream_continues_identically(split: int) -> None:
    xs = seasonal_counts(11, 240, 120)
    original = CUSUM()
    for x in xs[:split]:
        original.learn(x)
    restored = CUSUM.from_snapshot(json_roundtrip(original.snapshot()))
    assert restored.snapshot() == original.snapshot()
    assert [restored.learn(x) for x in xs[split:]] == [original.learn(x) for x in xs[split:]]


def test_restore_in_the_middle_of_a_run_and_of_settling() -> None:
    xs = seasonal_counts(12, 240, 120)
    splits: dict[str, int] = {}
    det = CUSUM()
    for t, x in enumerate(xs):
        det.learn(x)
        state = det.snapshot()["state"]
        assert isinstance(state, dict)
        for kind in ("frozen", "settling"):
            if state[kind] and kind not in splits:
                splits[kind] = t + 1
    assert set(splits) == {"frozen", "settling"}
    for split in splits.values():
        original = CUSUM()
        for x in xs[:split]:
            original.learn(x)
        restored = CUSUM.from_snapshot(json_roundtrip(original.snapshot()))
        assert [restored.learn(x) for x in xs[split:]] == [original.learn(x) for x in xs[split:]]


def test_snapshot_rejects_a_state_of_the_wrong_shape() -> None:
    det = CUSUM()
    for x in seasonal_counts(1, 40):
        det.learn(x)
    snap = json_roundtrip(det.snapshot())
    state = snap["state"]
    assert isinstance(state, dict)
    model = state["model"]
    assert isinstance(model, dict)
    model["offsets"] = [0.0, 1.0]
    with pytest.raises(ValueError, match="season"):
        CUSUM.from_snapshot(snap)


def test_params_reject_a_warm_up_shorter_than_two_seasons() -> None:
    with pytest.raises(ValidationError, match="two seasons"):
        CUSUMParams(season=12, warmup=23)
    assert CUSUMParams(season=4, warmup=8).warmup == 8


# -- the shared deseasonaliser ----------------------------------------------------------------


def test_deseasonaliser_recovers_level_and_offsets_and_round_trips() -> None:
    d = Deseasonaliser(season=4, warmup=12, log=False, alpha_level=0.5, alpha_season=0.5)
    pattern = [5.0, -5.0, 2.0, -2.0]
    for t in range(12):
        warm = d.update(100.0 + 10.0 * (t // 4) + pattern[t % 4])
    assert d.ready and len(warm) == 12
    # cycle means 100, 110, 120: the level is the last one, the offsets the pattern
    assert d.level == pytest.approx(120.0)
    assert d.offsets == pytest.approx(pattern)
    assert d.expected() == pytest.approx(125.0)
    copy = Deseasonaliser(season=4, warmup=12, log=False, alpha_level=0.5, alpha_season=0.5)
    copy.load_state(json_roundtrip(d.state()))
    d.update(131.0, freeze_level=True)
    copy.update(131.0, freeze_level=True)
    assert copy.state() == d.state()
    assert d.level == pytest.approx(120.0)  # frozen
    assert d.offsets[0] == pytest.approx(5.0 + 0.5 * (131.0 - 120.0 - 5.0))


def test_deseasonaliser_catch_up_equals_learning_in_real_time() -> None:
    xs = [math.log(x + 1) for x in seasonal_counts(4, 40)]
    live, late = Deseasonaliser(), Deseasonaliser()
    for u in xs[:30]:
        live.update(u)
        late.update(u)
    skipped = []
    for u in xs[30:35]:
        skipped.append(late.deseasonalise(u))
        late.update(u, freeze_level=True, freeze_season=True)
        live.update(u)
    late.catch_up(skipped)
    assert late.level == pytest.approx(live.level)
    assert late.offsets == pytest.approx(live.offsets)


def test_deseasonaliser_rejects_a_warm_up_shorter_than_two_seasons() -> None:
    with pytest.raises(ValueError, match="two seasons"):
        Deseasonaliser(season=12, warmup=20)


@pytest.mark.parametrize("protect", [True, False])
def test_protect_keeps_an_alarmed_point_out_of_the_seasonal_offsets(protect: bool) -> None:
    xs = seasonal_counts(200, 240, 120)  # alarms at 120 only

    def offsets(det: CUSUM) -> list[float]:
        state = det.snapshot()["state"]
        assert isinstance(state, dict) and isinstance(state["model"], dict)
        return state["model"]["offsets"]  # type: ignore[return-value]

    det = CUSUM(CUSUMParams(protect=protect))
    for x in xs[:120]:
        det.learn(x)
    before = offsets(det)
    assert det.learn(xs[120])[1]
    after = offsets(det)
    assert 120 % 12 == 0
    assert (after[0] == before[0]) is protect
    assert after[1:] == before[1:]  # other months untouched
