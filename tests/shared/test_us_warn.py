"""The US real-data check: WARN notices + LAUS state unemployment through the same engine.

Holds the README's headline numbers (``scripts/us_warn_check.py``): at the 2001 and 2008
onsets the notice-led alert comes before the figure-led one in most states with notices, and
the share of noticed permanent losses that shows up in unemployment, with its interval.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.shared_data import SHARED_US, US_MARKS, script

pytestmark = US_MARKS


@pytest.fixture(scope="module")
def result() -> dict[str, Any]:
    module = script("us_warn_check")
    out: dict[str, Any] = module.run(SHARED_US)
    return out


def test_notices_lead_the_figures_in_most_states(result: dict[str, Any]) -> None:
    summary = result["summary"]
    assert result["notices"] == 19_211
    assert summary["2001"] == {
        "states": 8, "compared": 8, "notices_earlier": 7, "same_month": 0,
        "figures_earlier": 1, "median_lead": 6.0,
    }  # fmt: skip
    assert summary["2008"] == {
        "states": 15, "compared": 15, "notices_earlier": 11, "same_month": 1,
        "figures_earlier": 3, "median_lead": 5,
    }  # fmt: skip


def test_the_share_of_noticed_persons_that_shows_up(result: dict[str, Any]) -> None:
    share = result["share"]
    assert share["share"] == pytest.approx(1.855, abs=0.001)
    assert (share["low"], share["high"]) == (
        pytest.approx(1.312, abs=0.001),
        pytest.approx(2.385, abs=0.001),
    )
    assert (share["states"], share["state_years"]) == (27, 201)
