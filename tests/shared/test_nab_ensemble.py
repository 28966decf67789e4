"""`tutka nab`: our detector on the whole NAB corpus, printed beside the published scoreboard."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.shared_data import SHARED_NAB
from tutka.cli import cli

pytestmark = [
    pytest.mark.shared_data,
    pytest.mark.slow,
    pytest.mark.skipif(not SHARED_NAB.exists(), reason=f"shared NAB data {SHARED_NAB} is absent"),
]

TARGET_STANDARD = 65.0  # the bar for the standard profile


def test_tutka_nab_reaches_the_target_and_prints_the_board(tmp_path: Path) -> None:
    out = tmp_path / "nab.json"
    result = CliRunner().invoke(cli, ["nab", str(SHARED_NAB), "--json", str(out)])
    assert result.exit_code == 0, result.output
    for entry in ("ARTime", "Numenta HTM", "windowedGaussian", "Muutostutka"):
        assert entry in result.output
    report = json.loads(out.read_text())
    profiles = report["profiles"]
    assert profiles["standard"]["normalised"] >= TARGET_STANDARD
    # The three profiles are consistent with their costs: missing costs double under low-FN.
    assert profiles["reward_low_FP_rate"]["normalised"] < profiles["standard"]["normalised"]
    assert len(profiles["standard"]["files"]) == 58
    assert report["rows"] == 365_558
