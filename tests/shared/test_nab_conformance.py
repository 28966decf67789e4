"""Our NAB scorer against NAB's published results (the scorer was written without NAB's code).

Feeding the published per-row anomaly scores of two detectors through ``tutka.evaluation.nab`` must
give their published per-file scores and normalised totals, for all three application profiles.
"""

from __future__ import annotations

import pytest

from tests.shared_data import SHARED_NAB
from tutka.evaluation.nab import PROFILES
from tutka.nab import (
    NabCorpus,
    ProfileResult,
    evaluate,
    published_board,
    published_file_scores,
    published_scores,
)

pytestmark = [
    pytest.mark.shared_data,
    pytest.mark.skipif(not SHARED_NAB.exists(), reason=f"shared NAB data {SHARED_NAB} is absent"),
]

TOLERANCE = 0.5  # points, as the issue allows; we in fact agree to ~1e-11
DETECTORS = ("numenta", "windowedGaussian")


@pytest.fixture(scope="module")
def corpus() -> NabCorpus:
    return NabCorpus.load(SHARED_NAB)


@pytest.fixture(scope="module", params=DETECTORS)
def scored(
    request: pytest.FixtureRequest, corpus: NabCorpus
) -> tuple[str, dict[str, ProfileResult]]:
    detector: str = request.param
    scores = {f.name: published_scores(SHARED_NAB, detector, f.name) for f in corpus.files}
    return detector, evaluate(corpus, scores)


def test_the_corpus_is_nab_v1_1(corpus: NabCorpus) -> None:
    assert len(corpus.files) == 58
    assert corpus.windows == 116
    assert sum(f.layout.rows for f in corpus.files) == 365_558


@pytest.mark.slow
@pytest.mark.parametrize("profile", list(PROFILES))
def test_per_file_scores_match_the_published_ones(
    scored: tuple[str, dict[str, ProfileResult]], profile: str
) -> None:
    detector, results = scored
    published = published_file_scores(SHARED_NAB, detector, profile)
    ours = results[profile].files
    assert set(ours) == set(published)
    differences = {name: abs(ours[name].score - published[name]) for name in published}
    worst = max(differences, key=differences.__getitem__)
    assert differences[worst] <= TOLERANCE, (worst, ours[worst].score, published[worst])


@pytest.mark.slow
@pytest.mark.parametrize("profile", list(PROFILES))
def test_normalised_totals_match_the_scoreboard(
    scored: tuple[str, dict[str, ProfileResult]], profile: str
) -> None:
    detector, results = scored
    board = published_board(SHARED_NAB)
    assert results[profile].normalised == pytest.approx(board[detector][profile], abs=TOLERANCE)


@pytest.mark.slow
def test_the_global_optimum_is_never_below_nabs_climb(corpus: NabCorpus) -> None:
    scores = {f.name: published_scores(SHARED_NAB, "numenta", f.name) for f in corpus.files}
    climbed = evaluate(corpus, scores, optimiser="nab")
    best = evaluate(corpus, scores, optimiser="global")
    for profile in PROFILES:
        assert best[profile].raw >= climbed[profile].raw - 1e-9
    # NAB's climb stops on a local optimum for this profile; the exact sweep finds better.
    assert best["reward_low_FP_rate"].raw > climbed["reward_low_FP_rate"].raw + 0.1
