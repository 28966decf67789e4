"""``tutka report``: the situation report as a PDF from files, without a server."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from click.testing import CliRunner
from pypdf import PdfReader

from tests.unit.streams.market import figures
from tutka.cli import cli
from tutka.room.briefing import text


@pytest.fixture(scope="module")
def market(tmp_path_factory: pytest.TempPathFactory) -> Path:
    jump = lambda area, t: 1.4 if area == "KU240" and t >= 72 else 1.0  # noqa: E731
    path = tmp_path_factory.mktemp("report") / "market.jsonl"
    lines = [event.model_dump_json() for event in figures(unemployment=jump)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_the_report_is_written_in_the_language_asked(market: Path, tmp_path: Path) -> None:
    out = tmp_path / "lagesbild.pdf"
    result = CliRunner().invoke(
        cli, ["report", "--replay", str(market), "--lang", "sv", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    reader = PdfReader(io.BytesIO(out.read_bytes()))
    words = " ".join(" ".join(p.extract_text() or "" for p in reader.pages).split())
    assert len(reader.pages) == 3  # the title page, the table, the one alert's page
    assert text("title", "sv") in words and "Läget: " in words
    assert "1. Antalet arbetslösa arbetssökande · Kemi (KU240)" in words
    assert "Källa: Statistikcentralen" in words


def test_a_filter_outside_the_alerts_leaves_an_empty_report(market: Path, tmp_path: Path) -> None:
    out = tmp_path / "empty.pdf"
    result = CliRunner().invoke(
        cli, ["report", "--replay", str(market), "--area", "ELY01", "--lang", "en", "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    words = " ".join((PdfReader(out).pages[1].extract_text() or "").split())
    assert "No alerts in this view." in words


def test_exactly_one_source(market: Path) -> None:
    result = CliRunner().invoke(cli, ["report", "--demo", "--replay", str(market)])
    assert result.exit_code == 2 and "exactly one source" in result.output
    result = CliRunner().invoke(cli, ["report", "--replay", str(market), "--area", "XX1"])
    assert result.exit_code == 2
