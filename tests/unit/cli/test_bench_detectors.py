"""``tutka bench detectors``: every row in one table (figures printed, not judged)."""

from __future__ import annotations

import re

import numpy as np
import pytest
from click.testing import CliRunner

from tutka.bench_detectors import RIVER_ABSENT, demo_matrix, demo_pairs, river_installed
from tutka.cli import cli


def test_the_demo_matrix_is_widened_by_scaled_copies() -> None:
    matrix, demo = demo_matrix(7, 3, "2024-01", "2024-12")
    assert matrix.shape == (12, 3 * demo)
    assert np.array_equal(matrix[:, demo : 2 * demo], np.round(matrix[:, :demo] * (1 + 1 / 3)))


def test_the_demo_pairs_hold_the_areas_with_the_countrys_figure() -> None:
    matrix, _ = demo_matrix(7, 1, "2024-01", "2024-12")
    pairs = demo_pairs(7, 2, "2024-01", "2024-12")
    areas = pairs.shape[1] // 2
    assert pairs.shape == (12, 2 * areas, 2) and areas == matrix.shape[1] - 10  # 10 country series
    assert np.array_equal(pairs[:, areas:, 0], np.round(pairs[:, :areas, 0] * 1.5))
    assert np.array_equal(pairs[:, areas:, 1], pairs[:, :areas, 1])
    # every reference is one of the country's series, and larger than the area's count
    assert (pairs[:, :areas, 1] >= pairs[:, :areas, 0]).all()
    assert {tuple(c) for c in pairs[:, :areas, 1].T} <= {tuple(c) for c in matrix.T}


@pytest.mark.slow
def test_reference_banks_and_river_side_by_side() -> None:
    result = CliRunner().invoke(
        cli, ["bench", "detectors", "--start", "2021-01", "--end", "2024-12", "--repeat", "1"]
    )
    assert result.exit_code == 0, result.output
    rows = {
        m.group(1).strip(): [int(v.replace(",", "")) for v in m.groups()[1:]]
        for m in re.finditer(
            r"│ ([\w ]+?)\s*│\s*([\d,]+) │\s*([\d,]+) │\s*([\d,]+) │\s*([\d,]+) │", result.output
        )
    }
    for name in ("cusum", "seasonal_baseline", "relative_shift"):
        reference = rows[f"{name} reference"]
        # the banks raise the reference's alarms, and hold less per series
        assert rows[f"{name} bank f64"][2] == rows[f"{name} bank f32"][2] == reference[2] > 0
        assert rows[f"{name} bank f32"][3] < rows[f"{name} bank f64"][3] < reference[3]
    assert ("river PageHinkley" in rows and "river ADWIN" in rows) == river_installed()
    assert (
        " ".join(RIVER_ABSENT.split()[:4]) in " ".join(result.output.split())
    ) != river_installed()


@pytest.mark.slow
def test_without_river_the_bench_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("tutka.bench_detectors.river_installed", lambda: False)
    result = CliRunner().invoke(
        cli, ["bench", "detectors", "--start", "2024-01", "--end", "2024-06", "--repeat", "1"]
    )
    assert result.exit_code == 0, result.output
    assert "river is not installed" in result.output and "muutostutka[bench]" in result.output
    assert "cusum bank f32" in result.output and "river PageHinkley" not in result.output


@pytest.mark.slow
def test_one_detectors_rows_alone() -> None:
    result = CliRunner().invoke(
        cli,
        ["bench", "detectors", "--start", "2024-01", "--end", "2024-06", "--repeat", "1",
         "--detector", "relative_shift"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "relative_shift bank f32" in result.output and "cusum" not in result.output
    assert (
        "river PageHinkley" not in result.output and "river is not installed" not in result.output
    )
