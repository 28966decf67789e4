"""Footprint share and lag estimated on US WARN + LAUS: the README's headline figures.

``scripts/us_footprint_fit.py`` (``tutka notices calibrate`` on the same data): dismissals are
estimable and their footprint shows up with a share above 1 (WARN covers only large layoffs:
the rest of the loss comes with them) four months after the notices take effect; closures are
too few and too unevenly labelled across states to tell from no effect; temporary and part-time
layoffs are not estimable.
"""

from __future__ import annotations

import tomllib

import pytest

from tests.shared_data import SHARED_US, US_MARKS, script
from tutka.config.catalogue import FootprintRules, load_catalogue
from tutka.models.events import NoticeKind
from tutka.streams.footprint_fit import Fit, snippet

pytestmark = US_MARKS


@pytest.fixture(scope="module")
def fit() -> Fit:
    module = script("us_footprint_fit")
    out: Fit = module.run(SHARED_US)
    return out


def test_the_dismissal_footprint_share_and_lag(fit: Fit) -> None:
    dismissal = next(k for k in fit.kinds if k.kind is NoticeKind.DISMISSAL)
    assert dismissal.notices == 14_053 and dismissal.areas == 31
    assert dismissal.share == pytest.approx(3.96, abs=0.01)
    assert dismissal.share_low is not None and dismissal.share_high is not None
    assert 1.0 < dismissal.share_low < 2.0 and 6.0 < dismissal.share_high < 8.0
    assert (dismissal.lag, dismissal.lag_low, dismissal.lag_high) == (4, 3, 6)
    assert (fit.cells, fit.areas) == (2046, 25)


def test_which_kinds_can_be_estimated(fit: Fit) -> None:
    by_kind = {k.kind: k for k in fit.kinds}
    closure = by_kind[NoticeKind.CLOSURE]
    assert closure.estimable and closure.share_low is not None and closure.share_low < 0
    assert by_kind[NoticeKind.TEMPORARY_LAYOFF].not_estimable == (
        "24 notices in 1 areas; needs 50 in 5"
    )
    assert not by_kind[NoticeKind.PART_TIME_LAYOFF].estimable
    rules = load_catalogue().footprint
    text = snippet(fit, rules)
    again = FootprintRules.model_validate(tomllib.loads(text)["footprint"])
    # Only the dismissal's lag and share would change; closures keep the defaults.
    assert again.kinds[NoticeKind.CLOSURE] == rules.kinds[NoticeKind.CLOSURE]
    assert again.kinds[NoticeKind.DISMISSAL].lag == 4
