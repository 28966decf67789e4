"""``tutka replay --lang``: every line the replay prints is in the language asked.

The summary, the unknown-area and calibration lines, the tables and what was written where
come out in Finnish or Swedish without an English-only line among them; English is the default
and keeps its wording.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.unit.streams.market import figures
from tutka.cli import cli
from tutka.cli.replay import _print_summary
from tutka.replay import ReplayResult
from tutka.streams.calibration import GroupCalibration

#: Fragments of the English-only lines (as they were before ``--lang`` covered them).
ENGLISH = (
    "Read ", "records:", " events (", "dead letters", "blank lines skipped", "suppressed cells",
    "observations/s", "peak memory", "alerts (", "versions)", "Calibrated thresholds",
    "false alarms per", "area-years", "area codes outside", "They are dead letters",
    "correspondence", "Alerts written to", "Dead letters written to", "Dead letters by reason",
    "Alerts by kind", "Open alerts", "unemployment ", "vacancies ", "history ",
    " persons", "confidence", "opened ",
)  # fmt: skip


@pytest.fixture(scope="module")
def market(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A lasting jump in one municipality, a blank line and a record for an unknown area."""
    jump = lambda area, t: 1.4 if area == "KU240" and t >= 72 else 1.0  # noqa: E731
    lines = [event.model_dump_json() for event in figures(unemployment=jump)]
    stray = {**json.loads(lines[0]), "area": "KU998"}
    path = tmp_path_factory.mktemp("lang") / "market.jsonl"
    path.write_text("\n".join(lines) + "\n\n" + json.dumps(stray) + "\n", encoding="utf-8")
    return path


def run(market: Path, lang: str) -> str:
    out = market.parent / f"alerts-{lang}.jsonl"
    dead = market.parent / f"dead-{lang}.jsonl"
    result = CliRunner().invoke(
        cli,
        ["replay", str(market), "--lang", lang, "--out", str(out), "--dead-letters", str(dead)],
    )
    assert result.exit_code == 0, result.output
    return " ".join(result.output.split())


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("sv", ("Läste 2 113 poster: 2 112 händelser", "1 tomma rader överhoppade",
                "områdeskoder som saknas i områdeshierarkin", "Larmen skrevs till",
                "Avvisade rader skrevs till", "Antalet arbetslösa arbetssökande")),
        ("fi", ("Luettiin 2 113 tietuetta: 2 112 tapahtumaa", "1 tyhjää riviä ohitettu",
                "joita aluehierarkiassa", "Hälytykset kirjoitettu tiedostoon",
                "Hylätyt rivit kirjoitettu tiedostoon")),
    ],
)  # fmt: skip
def test_every_printed_line_is_in_the_language_asked(
    market: Path, lang: str, expected: tuple[str, ...]
) -> None:
    text = run(market, lang)
    for phrase in expected:
        assert phrase in text, (phrase, text)
    english = [fragment for fragment in ENGLISH if fragment in text]
    assert not english, (english, text)


def test_english_stays_the_default_wording(market: Path) -> None:
    text = run(market, "en")
    assert "Read 2,113 records: 2,112 events (unemployment 1,056, vacancies 1,056)" in text
    assert "1 records name 1 area codes outside the area hierarchy" in text
    assert "Alerts written to" in text and "Dead letters written to" in text


def calibrated(result: ReplayResult) -> ReplayResult:
    """``result`` as if the engine had calibrated one level and its breakdowns."""
    found = GroupCalibration(
        threshold=6.5, grid=(5.0, 6.5), alarm_episodes=(4, 2), basis_area_years=400.0,
        false_alarms_per_100_area_years=1.25, area_years=1234.0, calibrated_period=100,
    )  # fmt: skip
    results = result.engine.calibration.results
    results["seasonal:level_shift:KU"] = found
    results["seasonal:level_shift:MK:sector"] = found
    return result


def test_the_calibration_line_is_in_the_language_asked(
    market: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tutka.cli.context import Context
    from tutka.replay import replay

    context = Context(None, None)
    result = calibrated(
        replay([market], context.hierarchy, context.catalogue, context.sectors, None)
    )
    lines = {lang: result.calibration_line(lang) for lang in ("fi", "sv", "en")}
    budget = context.catalogue.calibration.budget_for
    assert lines["en"] == (
        f"Calibrated thresholds (seasonal, false alarms per 100 area-years): level_shift KU 6.5 "
        f"(budget {budget('KU'):g}, history 1.25 over 1,234 area-years); level_shift MK "
        f"breakdowns 6.5 (budget {budget('MK'):g}, history 1.25 over 1,234 area-years)."
    )
    assert lines["sv"] is not None and lines["sv"].startswith("Kalibrerade tröskelvärden")
    assert "6,5" in lines["sv"] and "1 234 områdesår" in lines["sv"]
    assert "uppdelningar" in lines["sv"]
    assert lines["fi"] is not None and lines["fi"].startswith("Kalibroidut kynnysarvot")
    assert "1 234 aluevuotta" in lines["fi"] and "erittelyt" in lines["fi"]
    _print_summary(result, quiet=True, lang="sv")
    printed = " ".join(capsys.readouterr().out.split())
    assert "Kalibrerade tröskelvärden" in printed
    assert not [fragment for fragment in ENGLISH if fragment in printed], printed
