"""``tutka backtest`` on Statistics Finland's table 12r5 against hand-labelled Finnish closures.

``events_12r5.csv`` beside this file lists closures announced in 2007-2021 whose dates and sizes
are on public record (company press releases and news reports, cited in each row's ``what``), on
the regions where the plants were. Only a few events are labelled, so on this table the
false-alarm rates are upper bounds: real unlabelled changes (the 2016-2019 recovery, say) count
against both sources alike.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tests.shared_data import SHARED_FI
from tutka.cli import cli
from tutka.config.areas import load_hierarchy
from tutka.evaluation.backtest import parse_events

TABLE = SHARED_FI / "tyonv_12r5_regions.csv"
EVENTS = Path(__file__).with_name("events_12r5.csv")

skip_without_table = pytest.mark.skipif(
    not TABLE.exists(), reason=f"shared data file {TABLE} is absent"
)


def test_the_labelled_events_are_valid_closures_on_regions() -> None:
    events = parse_events(EVENTS.read_text(encoding="utf-8"), load_hierarchy().areas)
    assert len(events) >= 5
    assert all(e.polarity.value == "negative" for e in events)
    assert all(code.startswith("MK") for e in events for code in e.regions)


@pytest.fixture(scope="module")
def card(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("backtest") / "scorecard.json"
    result = CliRunner().invoke(
        cli, ["backtest", str(TABLE), "--events", str(EVENTS), "--json", str(out), "-q"]
    )
    assert result.exit_code == 0, result.output
    return json.loads(out.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


@pytest.mark.slow
@pytest.mark.shared_data
@skip_without_table
def test_every_labelled_region_is_observed_and_scored(card: dict[str, Any]) -> None:
    labelled = parse_events(EVENTS.read_text(encoding="utf-8"))
    assert [e["event_id"] for e in card["events"]] == [e.event_id for e in labelled]
    rows = [r for e in card["events"] for r in e["regions"]]
    assert len(rows) == sum(len(e.regions) for e in labelled)
    assert all(r["observed"] for r in rows)
    assert (card["data"]["first_period"], card["data"]["last_period"]) == ("2006-01", "2023-10")
    assert card["data"]["areas_by_level"] == {"SSS": 1, "ELY": 16, "MK": 19}


@pytest.mark.slow
@pytest.mark.shared_data
@skip_without_table
def test_the_detectors_raise_fewer_false_alarms_than_the_year_on_year_rule(
    card: dict[str, Any],
) -> None:
    for polarity in ("negative", "positive"):
        detectors = card["summary"]["detectors"]["false_alarms"][polarity]
        baseline = card["summary"]["yoy_rule"]["false_alarms"][polarity]
        assert detectors["area_years"] == baseline["area_years"] > 0
        assert detectors["per_100_area_years"] < baseline["per_100_area_years"]
