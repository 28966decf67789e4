"""The pure computation behind the room's context panel."""

from __future__ import annotations

from tests.unit.room.conftest import sample_alerts
from tutka.room.area_context import SPARK_MONTHS, area_context


def monthly(start_year: int, values: list[float]) -> dict[str, float]:
    return {f"{start_year + i // 12}-{i % 12 + 1:02d}": v for i, v in enumerate(values)}


def test_the_latest_month_against_a_year_and_a_month_earlier() -> None:
    values = monthly(2020, [float(100 + i) for i in range(40)])  # 2020-01 .. 2023-04
    context = area_context(values, {"2023-04": 1390.0, "2023-03": 1.0}, [])
    assert context.period == "2023-04" and context.level == 139.0
    assert context.rate == 0.1
    assert context.year_ago == 127.0 and context.year_change == 12.0
    assert context.year_change_pct == 12.0 / 127.0
    assert context.previous_period == "2023-03"
    assert (context.previous, context.month_change) == (138.0, 1.0)
    assert len(context.sparkline) == SPARK_MONTHS
    assert context.sparkline[0] == ("2021-05", 116.0)
    assert context.sparkline[-1] == ("2023-04", 139.0)


def test_what_the_data_does_not_tell_stays_none() -> None:
    # No labour force for the latest month, no year-ago month, a gap before the latest.
    context = area_context({"2023-01": 50.0, "2023-03": 60.0}, {"2023-01": 500.0}, [])
    assert context.level == 60.0 and context.rate is None
    assert context.year_ago is None and context.year_change is None
    assert context.previous is None and context.month_change is None
    assert context.previous_period is None
    empty = area_context({}, {}, [])
    assert empty.period is None and empty.sparkline == [] and empty.opened == []


def test_alerts_of_the_latest_release_are_opened_or_updated() -> None:
    alerts = sample_alerts()
    opened = alerts.kemi  # opened in its own period
    later = opened.model_copy(update={"period": "2023-11"})
    old = opened.model_copy(update={"id": "al-00000000000000ff", "period": "2023-10"})
    context = area_context({"2023-10": 1.0, "2023-11": 2.0}, {}, [later, old])
    assert context.opened == [] and context.updated == [later.id]
    context = area_context({"2023-10": 1.0}, {}, [opened])
    assert context.opened == [opened.id] and context.updated == []
