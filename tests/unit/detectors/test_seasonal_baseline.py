"""Seasonal baseline: golden alarms, count-awareness, drift, adoption."""

from __future__ import annotations

import math
import random

from tutka.detectors.seasonal_baseline import SeasonalBaseline, SeasonalBaselineParams

from .streams import seasonal_counts


def alarms(det: SeasonalBaseline, xs: list[float]) -> list[int]:
    return [t for t, x in enumerate(xs) if det.learn(x)[1]]


def test_golden_alarm_indices_on_a_seeded_series() -> None:
    assert alarms(SeasonalBaseline(), seasonal_counts(200, 240, at=120)) == [120, 121, 122, 123]
    assert alarms(SeasonalBaseline(), seasonal_counts(200, 240, at=120, factor=0.7)) == [
        120,
        121,
        122,
        123,
    ]


def test_a_persistent_shift_is_adopted_and_not_reported_twice() -> None:
    for years in (1, 2, 3):
        det = SeasonalBaseline(SeasonalBaselineParams(years=years))
        found = alarms(det, seasonal_counts(7, 240, at=120))
        assert found and found[0] >= 120
        # adopted after four alarms: no alarms a year later when the old level leaves the window
        assert [t for t in found if t > 124] == [], years


def test_small_counts_need_a_bigger_change_than_large_ones() -> None:
    det_small, det_large = SeasonalBaseline(), SeasonalBaseline()
    small = seasonal_counts(3, 120, level=20)
    large = seasonal_counts(3, 120, level=20_000)
    for x in small:
        det_small.update(x)
    for x in large:
        det_large.update(x)
    # The same +40 % on top of what each expects: decisive for 20 000 people, noise for 20.
    small_x = det_small.assess(small[-12]).baseline * 1.4
    large_x = det_large.assess(large[-12]).baseline * 1.4
    assert det_large.score(large_x) > 10 > det_small.score(small_x)
    assert not det_small.alarm(small_x) and det_large.alarm(large_x)


def test_a_steady_trend_is_not_an_anomaly() -> None:
    rng = random.Random(5)
    xs = [
        rng.gauss(5000 * 1.04 ** (t / 12) * (1 + 0.1 * math.sin(t / 1.9)), 60) for t in range(240)
    ]
    assert alarms(SeasonalBaseline(), xs) == []


def test_baseline_is_in_the_series_units_and_direction_follows_the_change() -> None:
    det = SeasonalBaseline()
    xs = seasonal_counts(11, 60)
    for x in xs:
        det.update(x)
    up, down = det.assess(xs[-12] * 1.5), det.assess(xs[-12] * 0.5)
    assert up.direction == 1 and down.direction == -1
    assert abs(up.baseline - xs[-12]) / xs[-12] < 0.1
