"""``tutka bench replay``: the synthetic market it writes, and its figures (printed, not judged)."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner

from config.areas import load_hierarchy, shipped_areas
from tutka.bench import expected_series, market_areas, write_areas
from tutka.cli import cli
from tutka.replay import InputStream


def test_the_market_adds_synthetic_municipalities_to_the_shipped_areas(tmp_path: Path) -> None:
    shipped = shipped_areas()
    areas = market_areas(120)
    codes = [a.code for a in areas]
    assert len(codes) == len(set(codes)) and codes[: len(shipped)] == [a.code for a in shipped]
    write_areas(areas, tmp_path / "areas.csv")
    hierarchy = load_hierarchy(tmp_path / "areas.csv")  # validated: every parent exists
    assert len(hierarchy.of_level("KU")) == 120
    assert len(hierarchy.of_level("SK")) == len(load_hierarchy().of_level("SK"))


def test_a_small_market_has_the_series_it_promises_and_is_replayed(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli,
        ["bench", "replay", "--municipalities", "45", "--occupations", "2", "--months", "14",
         "--workdir", str(tmp_path)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    hierarchy = load_hierarchy(tmp_path / "areas.csv")
    windows = sorted((tmp_path / "market").iterdir())
    assert [w.name for w in windows] == ["2023-11_2024-10", "2024-11_2024-12"]
    stream = InputStream(windows)
    figures = [r.item for r in stream if r.item.type != "layoff_notice"]
    series = {(f.area, f.measure, f.sector, f.occupation) for f in figures}  # type: ignore[union-attr]
    assert len(series) == expected_series(hierarchy, 2) > 45 * 2 * 2
    assert {f.period for f in figures} >= {"2023-11", "2024-10", "2024-11", "2024-12"}
    printed = re.search(r"observations\s*│\s*([\d,]+)", result.output)
    assert printed is not None and int(printed.group(1).replace(",", "")) == len(figures)
    assert "observations/s" in result.output and "peak RSS" in result.output
