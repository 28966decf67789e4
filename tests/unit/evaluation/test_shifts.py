"""The lasting-shift yardstick: found, delays, covered, false-alarm episodes and their span."""

from __future__ import annotations

import numpy as np
import pytest

from tutka.evaluation.shifts import ShiftRules, label_shifts, score_shifts
from tutka.models.alerts import Polarity
from tutka.models.codes import period_index

FIRST = period_index("2010-01")
LAST = FIRST + 95
NEG, POS = Polarity.NEGATIVE, Polarity.POSITIVE


def figures(levels: dict[str, list[tuple[int, float]]]) -> dict[str, dict[int, float]]:
    out = {}
    for seed, (area, steps) in enumerate(sorted(levels.items())):
        rng = np.random.default_rng(seed)
        level = np.empty(96)
        for start, value in steps:
            level[start:] = value
        noisy = np.round(level * np.exp(rng.normal(0, 0.01, 96)))
        out[area] = {FIRST + i: float(v) for i, v in enumerate(noisy)}
    return out


COUNTRY = {FIRST + i: 100_000.0 for i in range(96)}
DATA = figures({"KU001": [(0, 1000.0), (40, 1300.0)], "KU002": [(0, 800.0)]})


def test_labels_come_from_the_data_with_their_areas() -> None:
    shifts = label_shifts(DATA, COUNTRY)
    assert [(s.area, s.month - FIRST, s.polarity, s.large) for s in shifts] == [
        ("KU001", 39, NEG, True)
    ]


def test_found_delay_and_window_edges() -> None:
    shifts = label_shifts(DATA, COUNTRY)
    m = shifts[0].month
    card = score_shifts(
        shifts,
        {
            "early": {("KU001", NEG): {m - 3}},
            "late": {("KU001", NEG): {m + 6}},
            "too_late": {("KU001", NEG): {m + 7}},
            "wrong_way": {("KU001", POS): {m}},
        },
        ["KU001", "KU002"],
        FIRST,
        LAST,
    )
    found = {name: s.found.all for name, s in card.sources.items()}
    assert found == {"early": 1, "late": 1, "too_late": 0, "wrong_way": 0}
    assert card.sources["early"].median_delay.all == -3
    assert card.sources["late"].median_delay_large.all == 6


def test_false_alarm_episodes_and_their_span() -> None:
    shifts = label_shifts(DATA, COUNTRY)
    m = shifts[0].month
    alarms = {
        ("KU002", NEG): {FIRST + 30, FIRST + 32, FIRST + 40},  # two episodes (gap of 7)
        ("KU001", NEG): {m + 12},  # excused: within 12 months after the shift
        ("KU001", POS): {m + 12},  # the other polarity is not excused
        ("KU002", POS): {FIRST + 10, LAST - 5},  # outside the scored span
    }
    card = score_shifts(shifts, {"d": alarms}, ["KU001", "KU002"], FIRST, LAST)
    score = card.sources["d"]
    assert score.false_alarm_episodes == 3
    # Scored span: two years in from each end, 48 months, for two municipalities: 8 area-years.
    assert card.area_years == 8.0
    assert score.false_alarms_per_100_area_years == pytest.approx(37.5)
    assert (card.scored_from, card.scored_to) == ("2012-01", "2015-12")


def test_excluded_periods_leave_the_span() -> None:
    shifts = label_shifts(DATA, COUNTRY)
    rules = ShiftRules.model_validate({"excluded": [{"start": "2013-01", "end": "2013-12"}]})
    card = score_shifts(
        shifts, {"d": {("KU002", NEG): {period_index("2013-05")}}}, ["KU002"], FIRST, LAST, rules
    )
    assert card.sources["d"].false_alarm_episodes == 0
    assert card.area_years == 3.0


def test_covered_counts_broader_alerts_beside_the_headline() -> None:
    shifts = label_shifts(DATA, COUNTRY)
    m = shifts[0].month
    card = score_shifts(
        shifts,
        {"d": {}},
        ["KU001"],
        FIRST,
        LAST,
        covered={"d": {("KU001", NEG): {m + 1}}},
    )
    assert card.sources["d"].found.all == 0
    assert card.sources["d"].found_covered == 1
    assert card.sources["d"].recall_large_covered == 1.0
