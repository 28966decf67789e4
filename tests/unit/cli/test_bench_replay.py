"""``tutka bench replay``: the synthetic market it writes, and its figures (printed, not judged)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from tutka.bench import write_areas
from tutka.cli import cli
from tutka.config.areas import load_hierarchy
from tutka.replay import InputStream
from tutka.synthetic import plan, synthetic_hierarchy


def test_the_market_areas_file_is_the_synthetic_hierarchy(tmp_path: Path) -> None:
    hierarchy = synthetic_hierarchy(120)
    write_areas(hierarchy, tmp_path / "areas.csv")
    again = load_hierarchy(tmp_path / "areas.csv")  # validated: every parent exists
    assert again.areas == hierarchy.areas
    assert len(again.of_level("KU")) == 120


@pytest.mark.slow
def test_a_small_market_is_written_and_replayed(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli,
        ["bench", "replay", "--municipalities", "45", "--occupations", "2", "--months", "14",
         "--workdir", str(tmp_path)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    hierarchy = load_hierarchy(tmp_path / "areas.csv")
    assert len(hierarchy.of_level("KU")) == 45
    figures = [r.item for r in InputStream([tmp_path / "market"]) if r.item.type != "layoff_notice"]
    series = {(f.area, f.measure, f.sector, f.occupation) for f in figures}  # type: ignore[union-attr]
    market = plan(7, "2023-11", "2024-12", hierarchy, 2)
    assert len(series) == market.series > 45 * 2 * 2
    assert {f.period for f in figures} == {f"2023-{m}" for m in ("11", "12")} | {
        f"2024-{m:02d}" for m in range(1, 13)
    }
    printed = re.search(r"observations\s*│\s*([\d,]+)", result.output)
    assert printed is not None and int(printed.group(1).replace(",", "")) == len(figures)
    assert re.search(r"series\s*│\s*" + f"{len(series):,}", result.output)
    assert "observations/s" in result.output and "peak RSS" in result.output
