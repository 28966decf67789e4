"""The command line end to end on small data (no broker, no shared data)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.unit.streams.market import START, figures
from tutka.cli import cli
from tutka.models.codes import period_index

REQUIRED = {"region", "period", "polarity", "severity", "kind", "id"}
#: Lapland's Kemi-Tornio and Tunturi-Lappi: enough of Finland for the demo's downturn and the
#: Kemi mill closure, small enough for the fast loop.
LAPPI = """code,name_fi,name_sv,name_en,parent
SSS,Koko maa,Hela landet,Whole country,
ELY15,Lapin ELY-keskus,NTM-centralen i Lappland,Lapland ELY Centre,SSS
MK19,Lappi,Lappland,Lapland,ELY15
SK192,Kemi-Tornio,Kemi-Torneå,Kemi-Tornio,MK19
SK196,Tunturi-Lappi,Fjäll-Lappland,Tunturi-Lappi,MK19
KU240,Kemi,Kemi,Kemi,SK192
KU851,Tornio,Torneå,Tornio,SK192
KU976,Ylitornio,Övertorneå,Ylitornio,SK196
"""


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sim")
    result = CliRunner().invoke(
        cli, ["simulate", str(out), "--start", "2015-01", "--end", "2023-06"]
    )
    assert result.exit_code == 0, result.output
    return out


def test_help_lists_every_command_and_option() -> None:
    runner = CliRunner()
    top = runner.invoke(cli, ["--help"])
    assert top.exit_code == 0
    for command in ("demo", "replay", "simulate"):
        assert command in top.output
        sub = runner.invoke(cli, [command, "--help"])
        assert sub.exit_code == 0 and "Usage:" in sub.output
    replay_help = runner.invoke(cli, ["replay", "--help"]).output
    for option in ("--out", "--latest", "--dead-letters", "--quiet"):
        assert option in replay_help


@pytest.mark.slow
def test_simulate_writes_data_and_ground_truth(simulated: Path) -> None:
    names = sorted(p.name for p in simulated.iterdir())
    assert names == [
        "manifest.json",
        "notices.jsonl",
        "truth.csv",
        "unemployment.jsonl",
        "vacancies.jsonl",
    ]
    assert "kemi-mill-closure-2022-09" in (simulated / "truth.csv").read_text(encoding="utf-8")


@pytest.mark.slow
def test_replay_writes_alerts_and_a_summary(simulated: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"type": "unemployment", "area": "KU999"}\nnot json\n', encoding="utf-8")
    out, dead = tmp_path / "alerts.jsonl", tmp_path / "dead.jsonl"
    result = CliRunner().invoke(
        cli,
        ["replay", str(simulated), str(bad), "--out", str(out), "--dead-letters", str(dead), "-q"],
    )
    assert result.exit_code == 0, result.output
    alerts = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert alerts and all(set(a) >= REQUIRED for a in alerts)
    assert {a["kind"] for a in alerts} >= {"layoff_notices", "unemployment"}
    letters = [json.loads(line) for line in dead.read_text(encoding="utf-8").splitlines()]
    assert [(d["reason"], d["origin"]["line"]) for d in letters] == [
        ("validation", 1),
        ("decode", 2),
    ]
    assert "2 dead letters" in result.output and "alerts" in result.output


@pytest.mark.slow
def test_replay_latest_writes_one_line_per_alert(simulated: Path, tmp_path: Path) -> None:
    everything, latest = tmp_path / "all.jsonl", tmp_path / "latest.jsonl"
    runner = CliRunner()
    runner.invoke(cli, ["replay", str(simulated), "--out", str(everything), "-q"])
    runner.invoke(cli, ["replay", str(simulated), "--out", str(latest), "--latest", "-q"])
    ids = [json.loads(line)["id"] for line in latest.read_text(encoding="utf-8").splitlines()]
    versions = [
        json.loads(line)["id"] for line in everything.read_text(encoding="utf-8").splitlines()
    ]
    assert len(ids) == len(set(ids)) == len(set(versions)) < len(versions)


def test_a_replay_of_a_small_market_writes_its_alert_and_dead_letter(tmp_path: Path) -> None:
    jump = lambda area, t: 1.4 if area == "KU240" and t >= 72 else 1.0  # noqa: E731
    market = tmp_path / "market.jsonl"
    lines = [event.model_dump_json() for event in figures(unemployment=jump)]
    market.write_text("\n".join([*lines, "not json"]) + "\n", encoding="utf-8")
    out, dead = tmp_path / "alerts.jsonl", tmp_path / "dead.jsonl"
    result = CliRunner().invoke(
        cli, ["replay", str(market), "--out", str(out), "--dead-letters", str(dead), "--latest"]
    )
    assert result.exit_code == 0, result.output
    alerts = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [(a["region"], a["kind"], a["polarity"]) for a in alerts] == [
        ("KU240", "unemployment", "negative")
    ]
    assert START + 72 <= period_index(alerts[0]["opened_period"]) <= START + 74
    assert set(alerts[0]) >= REQUIRED
    letters = [json.loads(line) for line in dead.read_text(encoding="utf-8").splitlines()]
    assert [(d["reason"], d["origin"]["line"]) for d in letters] == [("decode", len(lines) + 1)]
    assert "2,112 events" in " ".join(result.output.split())


def test_the_demo_on_a_small_hierarchy_finds_its_events_and_draws_the_evidence(
    tmp_path: Path,
) -> None:
    areas = tmp_path / "lappi.csv"
    areas.write_text(LAPPI, encoding="utf-8")
    out = tmp_path / "demo"
    result = CliRunner().invoke(
        cli,
        [
            "--areas",
            str(areas),
            "demo",
            "--out",
            str(out),
            "--start",
            "2016-01",
            "--end",
            "2023-06",
        ],
        terminal_width=160,
    )
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    found = {t["event_id"]: (t["found"], t["delay_months"]) for t in summary["truth"]}
    assert found == {"downturn-2020-03": (True, 0), "kemi-mill-closure-2022-09": (True, 0)}
    charts = list(out.glob("evidence-*.png"))
    assert len(charts) == 1 and charts[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert summary["dead_letters"] == 0 and "Outputs" in result.output


def test_unreadable_input_fails_with_a_clear_message(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["replay", str(tmp_path / "nope.csv")])
    assert result.exit_code != 0
    assert "no such file" in result.output
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("a,b\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["replay", str(wrong)])
    assert result.exit_code != 0 and "month, area, measure and value" in result.output


def test_bad_configuration_fails_at_start_up(tmp_path: Path) -> None:
    catalogue = tmp_path / "bad.toml"
    catalogue.write_text(
        '[alerting]\nresolve_after = 0\n[[series]]\nname="x"\nmeasures=[]\n', encoding="utf-8"
    )
    result = CliRunner().invoke(cli, ["--catalogue", str(catalogue), "replay", str(tmp_path)])
    assert result.exit_code != 0 and "not a valid detector catalogue" in result.output


@pytest.mark.slow
def test_demo_finds_the_injected_changes_and_draws_the_evidence(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli,
        ["demo", "--out", str(tmp_path), "--start", "2015-01", "--end", "2023-06"],
        terminal_width=160,
    )
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    found = {t["event_id"]: t for t in summary["truth"]}
    assert (
        found["kemi-mill-closure-2022-09"]["found"] and found["rauma-layoff-wave-2019-02"]["found"]
    )
    alerts = [json.loads(line) for line in (tmp_path / "alerts.jsonl").read_text().splitlines()]
    national = {
        (a["kind"], a["opened_period"])
        for a in alerts
        if a["region"] == "SSS"
        and a["polarity"] == "negative"
        and "2020-03" <= a["opened_period"] <= "2020-04"
    }
    assert ("unemployment", "2020-04") in national or ("unemployment", "2020-03") in national
    assert found["kemi-mill-closure-2022-09"]["delay_months"] <= 1
    charts = list(tmp_path.glob("evidence-*.png"))
    assert len(charts) == 1 and charts[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "Outputs" in result.output and str(tmp_path) in result.output
    assert summary["dead_letters"] == 0


def test_replay_ends_with_the_open_alerts_explained_in_the_language_asked(tmp_path: Path) -> None:
    # A lasting jump: the alert stays open as the new normal, and the replay says so at the end.
    jump = lambda area, t: 1.4 if area == "KU240" and t >= 72 else 1.0  # noqa: E731
    market = tmp_path / "market.jsonl"
    market.write_text(
        "\n".join(event.model_dump_json() for event in figures(unemployment=jump)) + "\n",
        encoding="utf-8",
    )
    # CliRunner is not a terminal: rich assumes 80 columns, as when piped to `cat`.
    result = CliRunner().invoke(cli, ["replay", str(market), "--lang", "fi"])
    assert result.exit_code == 0, result.output
    text = result.output
    assert "Avoimet hälytykset, suurimmat ensin (1)" in text
    flat = " ".join(text.split())
    assert "Heikentävä muutos: Työttömien työnhakijoiden määrä alueella" in flat
    assert "Hälytykset lajin, suunnan ja vakavuuden mukaan" in text
    assert "…" not in text and all(len(line) <= 80 for line in text.splitlines())
