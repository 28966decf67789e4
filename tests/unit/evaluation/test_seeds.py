"""The seed sets: disjoint, fixed, and asked for by name only."""

from __future__ import annotations

import pytest

from tutka.evaluation.seeds import DEVELOPMENT_SEEDS, EVALUATION_SEEDS, seed_set


def test_the_sets_are_fixed_disjoint_and_found_by_name() -> None:
    assert seed_set("development") == DEVELOPMENT_SEEDS == tuple(range(1, 21))
    assert seed_set("evaluation") == EVALUATION_SEEDS == tuple(range(1001, 1021))
    assert not set(DEVELOPMENT_SEEDS) & set(EVALUATION_SEEDS)


def test_any_other_name_is_refused() -> None:
    with pytest.raises(ValueError, match="'development' or 'evaluation', got 'test'"):
        seed_set("test")  # type: ignore[arg-type]
