"""``tutka fetch statfin`` end to end against our PxWeb server, then ``tutka replay``.

The shared 12r5 regional file is served as Statistics Finland serves the table; fetching it and
replaying what was fetched gives the very alerts that replaying the downloaded CSV gives, byte
for byte. (About 10 s each: those tests are `slow`, left out of `make fast`.)
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.pxweb import server, shared_12r5_csv, shared_table, small_table
from tutka.cli import cli
from tutka.config.areas import load_hierarchy
from tutka.config.catalogue import load_catalogue
from tutka.dev.pxweb import PxWebServer
from tutka.models.alerts import AlertStatus
from tutka.replay import replay

CSV = shared_12r5_csv()


def fetch(url: str, out: Path, *extra: str) -> str:
    result = CliRunner().invoke(
        cli, ["fetch", "statfin", "--base-url", url, "--out", str(out), "--table", "12r5", *extra]
    )
    assert result.exit_code == 0, result.output
    return " ".join(result.output.split())  # as one line: rich wraps at the terminal's width


@pytest.fixture(scope="module")
def shared_px() -> Iterator[PxWebServer]:
    if not CSV.exists():
        pytest.skip(f"shared data file {CSV} is absent")
    px = server({"12r5": shared_table("12r5")})
    yield px
    px.stop()


@pytest.mark.slow
@pytest.mark.shared_data
def test_fetch_then_replay_gives_the_csv_alerts_byte_for_byte(
    shared_px: PxWebServer, tmp_path: Path
) -> None:
    out = tmp_path / "fetched"
    output = fetch(shared_px.url, out)
    assert "23,112 new figures" in output
    runner = CliRunner()
    for source, alerts in ((out, "fetched.jsonl"), (CSV, "csv.jsonl")):
        result = runner.invoke(cli, ["replay", str(source), "--out", str(tmp_path / alerts), "-q"])
        assert result.exit_code == 0, result.output
    fetched = (tmp_path / "fetched.jsonl").read_bytes()
    assert fetched and fetched == (tmp_path / "csv.jsonl").read_bytes()


@pytest.mark.slow
@pytest.mark.shared_data
def test_a_served_revision_is_one_revision_event_and_rejudges_its_month(
    tmp_path: Path,
) -> None:
    if not CSV.exists():
        pytest.skip(f"shared data file {CSV} is absent")
    px = server({"12r5": shared_table("12r5")})
    try:
        out = tmp_path / "fetched"
        fetch(px.url, out)
        before = replay([out], load_hierarchy(), load_catalogue())
        cell = {"Alue": "MK19", "Tiedot": "TYOTTOMATLOPUSSA", "Kuukausi": "2023-10"}
        old = px.revise("12r5", cell, 0.0)
        px.revise("12r5", cell, 3 * (old or 0.0))
        assert "1 revised" in fetch(px.url, out)
        assert "0 revised" in fetch(px.url, out)  # served again: nothing new
    finally:
        px.stop()
    revisions = [json.loads(line) for line in (out / "statfin-12r5-000002.jsonl").open()]
    assert [(r["area"], r["period"], r["revision"], r["previous_value"]) for r in revisions] == [
        ("MK19", "2023-10", 1, old)
    ]
    assert sorted(p.name for p in out.glob("*.jsonl")) == [
        "statfin-12r5-000001.jsonl", "statfin-12r5-000002.jsonl"]  # fmt: skip
    after = replay([out], load_hierarchy(), load_catalogue())
    assert after.engine.stats.figures["revised"] == 1
    new = {(a.id, a.sequence) for a in after.alerts} - {(a.id, a.sequence) for a in before.alerts}
    rejudged = [a for a in after.alerts if (a.id, a.sequence) in new]
    assert rejudged, "the revised month was not judged again"
    assert all(a.period == "2023-10" for a in rejudged)
    assert any(a.area == "MK19" and a.status is not AlertStatus.RESOLVED for a in rejudged)


def test_a_changed_layout_is_a_clear_failure_not_a_traceback(tmp_path: Path) -> None:
    px = server({"12r5": small_table()})
    try:
        px.add_area("12r5", "KU999")
        result = CliRunner().invoke(cli, ["fetch", "statfin", "--base-url", px.url,
                                          "--out", str(tmp_path), "--table", "12r5"])  # fmt: skip
    finally:
        px.stop()
    assert result.exit_code == 1
    assert "areas the area hierarchy does not know: KU999" in " ".join(result.output.split())
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_an_unknown_table_and_an_unreachable_source_are_clear(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["fetch", "statfin", "--table", "12xx", "--out", str(tmp_path)])
    assert result.exit_code != 0 and "no table 12xx" in result.output
    result = runner.invoke(cli, ["fetch", "statfin", "--base-url", "http://127.0.0.1:9/x",
                                 "--out", str(tmp_path), "--table", "12r5"],
                           env={"TUTKA_FETCH__MAX_ATTEMPTS": "1"})  # fmt: skip
    assert result.exit_code == 1 and "cannot reach" in result.output
