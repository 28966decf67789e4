"""Replaying Statistics Finland's table 12r5 (regions, ELY areas, country, 2006-01…2023-10).

The file is shared data, read by path; these tests skip only when it is absent (say so), and
check that the alerts are sane: in normal years few alerts that no lasting shift explains (the
hindsight labels of ``tutka backtest --shifts``), and the 2008–09 and 2020 nationwide shocks
reported once as national rather than as dozens of local alerts.
"""

from __future__ import annotations

import itertools
from collections import defaultdict

import pytest

from tests.shared_data import SHARED_FI
from tutka.config.areas import load_hierarchy
from tutka.config.catalogue import load_catalogue
from tutka.evaluation.shifts import Shift, label_shifts
from tutka.inputs import read_records
from tutka.models.alerts import Alert, AlertKind, Polarity
from tutka.models.codes import period_index
from tutka.models.events import UnemploymentReported
from tutka.replay import ReplayResult, replay

TABLE = SHARED_FI / "tyonv_12r5_regions.csv"

pytestmark = [
    pytest.mark.shared_data,
    pytest.mark.slow,
    pytest.mark.skipif(not TABLE.exists(), reason=f"shared data file {TABLE} is absent"),
]


@pytest.fixture(scope="module")
def result() -> ReplayResult:
    return replay([TABLE], load_hierarchy(), load_catalogue())


@pytest.fixture(scope="module")
def alerts(result: ReplayResult) -> list[Alert]:
    return list(result.latest().values())


def opened(
    alerts: list[Alert], start: str, end: str, kind: AlertKind = AlertKind.UNEMPLOYMENT
) -> list[Alert]:
    return [a for a in alerts if a.kind is kind and start <= a.opened_period <= end]


def test_the_whole_table_is_read_without_dead_letters(result: ReplayResult) -> None:
    assert result.dead_letters == []
    assert result.engine.stats.events["unemployment"] == 15_408
    assert result.engine.stats.events["vacancies"] == 7_704
    areas = {k.area for k in result.engine.series}
    assert len(areas) == 36 and "SSS" in areas


@pytest.fixture(scope="module")
def lasting() -> list[Shift]:
    """The regional lasting shifts of the table, labelled with hindsight from the whole table."""
    figures, country = _whole_table()
    return label_shifts(figures, country)


def _whole_table() -> tuple[dict[str, dict[int, float]], dict[int, float]]:
    figures: dict[str, dict[int, float]] = defaultdict(dict)
    for record in read_records(TABLE):
        event = record.item
        if (
            isinstance(event, UnemploymentReported)
            and event.measure.value == "unemployed_jobseekers"
        ):
            figures[event.area][period_index(event.period)] = event.value
    country = figures.pop("SSS")
    return dict(figures), country


@pytest.mark.parametrize("year", ["2016", "2017", "2018", "2019"])
def test_few_unexplained_alerts_in_normal_years(
    alerts: list[Alert], lasting: list[Shift], year: str
) -> None:
    """Regional shares did move in these years (2017 most); alerts not about such a move are few."""
    # Policy triggers (Sahm's rule on the regions) watch a criterion; they detect no shift.
    local = [
        a
        for a in alerts
        if a.area != "SSS"
        and a.opened_period.startswith(year)
        and a.kind is not AlertKind.POLICY_TRIGGER
    ]
    unexplained = [
        (a.area, a.kind.value, a.opened_period)
        for a in local
        if not any(
            s.area == a.area
            and s.polarity is a.polarity
            and s.month - 6 <= period_index(a.opened_period) + 1 <= s.month + 12
            for s in lasting
        )
    ]
    assert len(unexplained) <= 2, unexplained


@pytest.mark.parametrize(
    ("start", "end", "window_end"),
    [("2008-09", "2009-06", "2009-12"), ("2020-03", "2020-05", "2020-12")],
)
def test_a_nationwide_shock_is_reported_once_as_national(
    alerts: list[Alert], start: str, end: str, window_end: str
) -> None:
    national = [a for a in opened(alerts, start, end) if a.area == "SSS"]
    assert [a.polarity for a in national] == [Polarity.NEGATIVE]
    local = [a for a in opened(alerts, start, window_end) if a.area != "SSS"]
    negative = [a for a in local if a.polarity is Polarity.NEGATIVE]
    # Only areas hit clearly harder than the country report on their own: far fewer than 35.
    assert len(negative) <= 8, [(a.area, a.opened_period) for a in negative]
    # A local alert in a shock is about the area's share of the country (it was hit harder).
    assert all(
        any(e.detector in ("divergence", "relative_shift") for e in a.evidence)
        or a.opened_period < national[0].opened_period
        for a in negative
    )


def test_being_hit_less_than_the_country_is_not_positive_change(alerts: list[Alert]) -> None:
    during_2020 = opened(alerts, "2020-03", "2020-09")
    assert [a.area for a in during_2020 if a.polarity is Polarity.POSITIVE] == []


def test_every_alert_explains_itself_in_three_languages(alerts: list[Alert]) -> None:
    for alert in alerts:
        assert alert.explanation.fi and alert.explanation.sv and alert.explanation.en
        assert alert.area in alert.explanation.en


def test_the_covid_national_alert_stays_open_through_2020_and_says_it_recovered(
    result: ReplayResult,
) -> None:
    versions = [
        a
        for a in result.alerts
        if a.area == "SSS" and a.kind is AlertKind.UNEMPLOYMENT and a.opened_period[:4] == "2020"
    ]
    assert versions, "no national COVID-19 unemployment alert"
    covid = versions[-1]
    assert covid.polarity is Polarity.NEGATIVE and covid.severity.value == "critical"
    assert covid.resolved_period is None or covid.resolved_period >= "2021-01"
    assert covid.resolution in (None, "recovered", "settled")
    assert any("new normal" in h.note for h in covid.history)


def test_the_front_page_lists_negative_changes_above_positive_ones_of_the_same_level(
    alerts: list[Alert],
) -> None:
    from tutka.streams.picture import ordered

    shown = ordered(a for a in alerts if a.status.value != "resolved")
    for first, second in itertools.pairwise(shown):
        if first.severity.rank == second.severity.rank:
            assert not (
                first.polarity is Polarity.POSITIVE and second.polarity is Polarity.NEGATIVE
            )
    # Severity never says "critical" of good news.
    assert all(
        a.severity.value not in ("critical", "warning")
        for a in alerts
        if a.polarity is Polarity.POSITIVE
    )
