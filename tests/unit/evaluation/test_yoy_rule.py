"""The year-on-year baseline on tiny hand-made tables (labour force 1000, so 10 persons = 1 pp)."""

from __future__ import annotations

from datetime import date

import pytest

from tutka.evaluation.backtest import Alarm
from tutka.evaluation.yoy_rule import UnemploymentRates, yoy_alarms
from tutka.models.alerts import Polarity
from tutka.models.codes import period_index as m
from tutka.models.codes import period_str
from tutka.models.events import UnemploymentReported, VacanciesReported

NEG, POS = Polarity.NEGATIVE, Polarity.POSITIVE
UNEMPLOYED, LABOUR_FORCE = "unemployed_jobseekers", "labour_force"


def published(period: str, late: int = 0) -> date:
    index = m(period) + 1 + late
    return date(index // 12, index % 12 + 1, 25)


def fig(
    area: str,
    period: str,
    value: float,
    measure: str = UNEMPLOYED,
    revision: int = 0,
    late: int = 0,
    sector: str | None = None,
) -> UnemploymentReported:
    return UnemploymentReported(
        area=area,
        period=period,
        measure=measure,  # type: ignore[arg-type]
        value=value,
        revision=revision,
        published=published(period, late),
        sector=sector,
    )


def months(start: str, n: int) -> list[str]:
    return [period_str(m(start) + i) for i in range(n)]


def table(series: dict[str, list[float]], start: str = "2020-01") -> list[UnemploymentReported]:
    """Unemployed per area from ``start``, monthly, with a labour force of 1000 in January only."""
    figures = []
    for area, values in series.items():
        figures.append(fig(area, start, 1000.0, LABOUR_FORCE))
        figures += [
            fig(area, p, v) for p, v in zip(months(start, len(values)), values, strict=True)
        ]
    return figures


def found(alarms: list[Alarm]) -> list[tuple[str, str, str, str]]:
    return [(a.area, a.polarity.value, period_str(a.first), period_str(a.last)) for a in alarms]


def test_rates_carry_the_labour_force_forward_and_need_one() -> None:
    rates = UnemploymentRates.of(
        [
            fig("KU240", "2020-01", 50.0),
            fig("KU240", "2020-02", 1000.0, LABOUR_FORCE),
            fig("KU240", "2020-03", 60.0),
            fig("KU240", "2020-04", 70.0),
        ]
    )
    assert rates.rate("KU240", m("2020-01")) is None  # no labour force yet
    assert rates.rate("KU240", m("2020-03")) == (6.0, m("2020-04"))
    assert rates.rate("KU240", m("2020-04")) == (7.0, m("2020-05"))
    assert rates.areas == ("KU240",)
    assert rates.periods() == ("2020-01", "2020-04")


def test_first_releases_are_used_whatever_order_they_arrive_in() -> None:
    rates = UnemploymentRates.of(
        [
            fig("KU240", "2020-01", 1000.0, LABOUR_FORCE),
            fig("KU240", "2020-01", 80.0, revision=1, late=2),
            fig("KU240", "2020-01", 50.0),
            fig("KU240", "2020-01", 90.0, revision=2, late=3),
        ]
    )
    assert rates.rate("KU240", m("2020-01")) == (5.0, m("2020-02"))


def test_only_whole_area_unemployed_and_labour_force_count() -> None:
    rates = UnemploymentRates.of(
        [
            fig("KU240", "2020-01", 1000.0, LABOUR_FORCE),
            fig("KU240", "2020-01", 50.0, sector="C"),
            fig("KU240", "2020-01", 30.0, "under_25"),
            VacanciesReported(
                area="KU240",
                period="2020-01",
                measure="open_at_month_end",  # type: ignore[arg-type]
                value=5.0,
                published=published("2020-01"),
            ),
            "not an event",
        ]
    )
    assert rates.areas == () and rates.periods() is None
    assert yoy_alarms(rates) == []


def test_an_area_alarms_when_its_change_exceeds_the_countrys_by_more_than_the_threshold() -> None:
    year = [50.0] * 12
    rates = UnemploymentRates.of(
        table(
            {
                "SSS": [*year, 50.0, 50.0, 50.0, 50.0],
                # +2 pp in January and February of 2021, back to normal in March.
                "KU240": [*year, 70.0, 70.0, 50.0, 50.0],
                # -1.5 pp in January; exactly +1.0 pp in February (not above); +1.1 in March.
                "KU851": [*year, 35.0, 60.0, 61.0, 50.0],
            }
        )
    )
    assert found(yoy_alarms(rates, threshold=1.0)) == [
        ("KU240", "negative", "2021-02", "2021-03"),
        ("KU851", "negative", "2021-04", "2021-04"),
        ("KU851", "positive", "2021-02", "2021-02"),
    ]
    assert found(yoy_alarms(rates, threshold=2.5)) == []


def test_a_change_shared_with_the_country_alarms_only_the_country() -> None:
    year = [50.0] * 12
    rates = UnemploymentRates.of(
        table({"SSS": [*year, 65.0], "KU240": [*year, 65.0], "KU851": [*year, 66.0]})
    )
    assert found(yoy_alarms(rates, threshold=1.0)) == [("SSS", "negative", "2021-02", "2021-02")]


def test_the_rule_needs_a_year_of_history_and_the_countrys_figures() -> None:
    short = UnemploymentRates.of(table({"SSS": [50.0] * 12, "KU240": [50.0] * 11 + [90.0]}))
    assert yoy_alarms(short) == []
    no_country = UnemploymentRates.of(table({"KU240": [50.0] * 12 + [90.0]}))
    assert yoy_alarms(no_country) == []


def test_an_alarm_is_available_when_its_figure_was_published() -> None:
    figures = table({"SSS": [50.0] * 13, "KU240": [50.0] * 12})
    figures.append(fig("KU240", "2021-01", 90.0, late=2))  # published in April
    [alarm] = yoy_alarms(UnemploymentRates.of(figures))
    assert (alarm.area, alarm.polarity, alarm.first) == ("KU240", NEG, m("2021-04"))


@pytest.mark.parametrize("threshold", [0.0, -1.0, float("nan"), float("inf")])
def test_the_threshold_must_be_a_positive_number(threshold: float) -> None:
    with pytest.raises(ValueError, match="positive number"):
        yoy_alarms(UnemploymentRates(), threshold)
