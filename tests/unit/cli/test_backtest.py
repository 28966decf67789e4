"""``tutka backtest`` end to end: a small synthetic market, its injected events, the scorecard."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from tutka.cli import cli

HEADER = "event_id,regions,reference_month,polarity,confidence,what\n"
SUMMARY_KEYS = {
    "pairs",
    "detected",
    "detected_direct",
    "recall",
    "recall_direct",
    "events",
    "events_detected",
    "event_recall",
    "median_delay_months",
    "event_median_delay_months",
    "alarms",
    "false_alarms",
}


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sim")
    result = CliRunner().invoke(
        cli, ["simulate", str(out), "--seed", "2", "--start", "2015-01", "--end", "2023-06"]
    )
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def run(simulated: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Result, Path]:
    output_dir = tmp_path_factory.mktemp("out")
    result = CliRunner(env={"TUTKA_OUTPUT_DIR": str(output_dir)}).invoke(
        cli,
        [
            "backtest",
            str(simulated),
            "--events",
            str(simulated / "truth.csv"),
            "--shock",
            "2020-03:2021-06",
            "--yoy-threshold",
            "1.5",
        ],
    )
    return result, output_dir / "backtest" / "scorecard.json"


@pytest.fixture(scope="module")
def card(run: tuple[Result, Path]) -> dict[str, Any]:
    result, path = run
    assert result.exit_code == 0, result.output
    return json.loads(path.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def truth(simulated: Path) -> list[dict[str, str]]:
    with (simulated / "truth.csv").open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.slow
def test_the_scorecard_has_the_documented_keys(card: dict[str, Any]) -> None:
    assert set(card) == {
        "inputs",
        "events_file",
        "baselines",
        "replay",
        "seconds",
        "format",
        "rules",
        "data",
        "sources",
        "summary",
        "events",
    }
    assert card["sources"] == ["detectors", "yoy_rule"]
    for source in card["sources"]:
        summary = card["summary"][source]
        assert set(summary) == SUMMARY_KEYS
        for polarity in ("negative", "positive"):
            assert set(summary["false_alarms"][polarity]) == {
                "episodes",
                "area_years",
                "per_100_area_years",
                "by_level",
            }
    assert card["replay"]["observations_per_second"] > 0
    assert card["replay"]["peak_rss_mb"] > 0
    assert (card["data"]["first_period"], card["data"]["last_period"]) == ("2015-01", "2023-06")


@pytest.mark.slow
def test_the_options_reach_the_scorecard(card: dict[str, Any]) -> None:
    assert card["rules"]["shocks"] == [{"start": "2020-03", "end": "2021-06"}]
    assert card["baselines"] == {"yoy_rule": {"threshold_pp": 1.5}}
    assert (card["rules"]["before"], card["rules"]["after"]) == (3, 12)


@pytest.mark.slow
def test_every_labelled_event_and_region_is_scored(card: dict[str, Any], simulated: Path) -> None:
    expected = [(row["event_id"], row["regions"].split(";")) for row in truth(simulated)]
    assert expected, "the synthetic market should inject events in this window"
    assert [(e["event_id"], [r["region"] for r in e["regions"]]) for e in card["events"]] == (
        expected
    )
    pairs = sum(len(regions) for _, regions in expected)
    assert card["summary"]["detectors"]["pairs"]["all"] == pairs


@pytest.mark.slow
def test_the_detectors_find_the_injected_events(card: dict[str, Any]) -> None:
    detectors = card["summary"]["detectors"]
    assert detectors["event_recall"]["all"] >= 0.75
    assert detectors["recall"]["all"] >= 0.5
    delays = [
        r["detections"]["detectors"]["covered_delay"]
        for e in card["events"]
        for r in e["regions"]
        if r["detections"]["detectors"]["covered_delay"] is not None
    ]
    assert delays and all(-3 <= d <= 12 for d in delays)


@pytest.mark.slow
def test_the_table_shows_detectors_beside_the_baseline(run: tuple[Result, Path]) -> None:
    result, path = run
    for text in ("detectors", "YoY rule (±1.5 pp)", "recall, negative", "false alarms / 100"):
        assert text in result.output
    assert "observations/s" in result.output and "peak memory" in result.output
    assert str(path) in result.output.replace("\n", "")


@pytest.fixture
def unread(tmp_path: Path) -> Path:
    """An empty data folder: enough for what is refused before the replay reads anything."""
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "truth.csv").write_text(HEADER, encoding="utf-8")
    return folder


def test_a_bad_events_file_is_a_clear_error(unread: Path, tmp_path: Path) -> None:
    events = tmp_path / "events.csv"
    events.write_text(HEADER + "kemi,KU240,2022-9,negative,high,closure\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["backtest", str(unread), "--events", str(events)])
    assert result.exit_code == 2
    assert "--events" in result.output
    assert "line 2, field reference_month" in result.output
    assert "YYYY-MM" in result.output


def test_an_unknown_area_in_the_events_file_is_named(unread: Path, tmp_path: Path) -> None:
    events = tmp_path / "events.csv"
    events.write_text(HEADER + "x,KU999,2022-09,negative,high,\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["backtest", str(unread), "--events", str(events)])
    assert result.exit_code == 2
    assert "KU999 not in the area hierarchy" in result.output


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        (["--shock", "2020-03"], "2008-10:2010-06"),
        (["--shock", "2021-06:2020-03"], "before it starts"),
        (["--shock", "2020-03:2021-06", "--no-shocks"], "exclude each other"),
        (["--yoy-threshold", "0"], "--yoy-threshold"),
    ],
)
def test_bad_options_are_refused_before_the_replay(
    unread: Path, options: list[str], fragment: str
) -> None:
    result = CliRunner().invoke(
        cli, ["backtest", str(unread), "--events", str(unread / "truth.csv"), *options]
    )
    assert result.exit_code == 2
    assert fragment in result.output
