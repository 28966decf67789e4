"""``tutka bench all``: every row of issue 18's table from one run (figures printed, not judged)."""

from __future__ import annotations

import json
import multiprocessing
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from tutka.bench import write_areas, write_market
from tutka.bench_all import market_matrix, share_pairs
from tutka.bench_detectors import river_installed
from tutka.cli import cli
from tutka.replay import InputStream
from tutka.synthetic import synthetic_hierarchy

pytestmark = pytest.mark.slow


def test_the_detectors_see_every_series_of_the_market_as_first_published(tmp_path: Path) -> None:
    write_areas(synthetic_hierarchy(40), tmp_path / "areas.csv")
    market = write_market(tmp_path / "market", tmp_path / "areas.csv", 7, "2023-01", "2024-06", 2)
    matrix = market_matrix(market)
    series: dict[tuple[object, ...], dict[str, float]] = defaultdict(dict)
    for record in InputStream([market]):
        item = record.item
        if item.type != "layoff_notice" and item.revision == 0:  # type: ignore[union-attr]
            key = (item.area, item.measure, item.sector, item.occupation)  # type: ignore[union-attr]
            series[key][item.period] = item.value  # type: ignore[union-attr]
    months = sorted({p for values in series.values() for p in values})
    expected = sorted(tuple(v[m] for m in months) for v in series.values() if len(v) == len(months))
    assert matrix.shape == (18, len(expected))
    assert sorted(map(tuple, matrix.T.tolist())) == expected
    assert not np.isnan(matrix).any()


def test_one_run_gives_every_row(tmp_path: Path) -> None:
    out = tmp_path / "figures.json"
    result = CliRunner().invoke(
        cli,
        ["bench", "all", "--municipalities", "40", "--occupations", "2", "--months", "26",
         "--no-kafka", "--json", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    figures = json.loads(out.read_text())
    replay = figures["replay"]
    assert replay["observations"] > 40 * 2 * 2 * 26
    assert replay["alerts"] >= 0 and replay["peak_rss_mb"] > 0
    assert replay["state_bytes"] > 100 * replay["series"]  # a checkpoint was measured
    rows = set(figures["detectors"])
    assert {"cusum reference", "cusum bank f64", "seasonal_baseline reference",
            "relative_shift reference", "relative_shift bank f64"} <= rows  # fmt: skip
    shares = figures["detectors"]["relative_shift reference"]["observations"]
    assert 0 < shares < figures["detectors"]["cusum reference"]["observations"]
    assert ("river PageHinkley" in rows) == river_installed()
    assert "engine state per series" in result.output
    assert "kafka" not in figures and "occupation_file" not in figures


def _report_peak(queue: Any) -> None:
    from tutka.memory import peak_rss_mb

    queue.put(peak_rss_mb())


def test_a_replay_started_by_a_large_parent_reports_its_own_peak_memory() -> None:
    """``ru_maxrss`` survives ``exec``: the child would report its parent's 600 MiB."""
    held = bytearray(600 * 2**20)
    held[::4096] = b"\x01" * len(range(0, len(held), 4096))  # touched: resident
    spawn = multiprocessing.get_context("spawn")
    queue = spawn.Queue()
    child = spawn.Process(target=_report_peak, args=(queue,))
    child.start()
    peak = queue.get(timeout=120)
    child.join()
    assert 20 < peak < 400
    del held


def test_share_pairs_match_each_area_with_the_countrys_series_of_the_same_measure() -> None:
    keys = ["SSS|unemployed||", "KU091|unemployed||", "KU091|unemployed||2", "MK01|vacancies||"]
    matrix = np.arange(12.0).reshape(3, 4)
    pairs = share_pairs(matrix, keys)
    assert pairs.shape == (3, 1, 2)  # no national occupation 2, no national vacancies
    assert pairs[:, 0, 0].tolist() == matrix[:, 1].tolist()
    assert pairs[:, 0, 1].tolist() == matrix[:, 0].tolist()
