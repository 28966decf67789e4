"""Which synthetic markets may be looked at when: the seeds of the random scenario.

The rule: tune detectors, thresholds and the catalogue on ``DEVELOPMENT_SEEDS`` only — look at
their alerts, misses and false alarms as often as you like. Run ``EVALUATION_SEEDS`` once, with
the configuration frozen, and report that figure; a result that was tuned on them, or chosen
among several runs on them, is no longer an evaluation. Both sets are generated with
``tutka simulate DIR --seed N --scenario random`` (default 8-12 events each).

>>> set(DEVELOPMENT_SEEDS) & set(EVALUATION_SEEDS)
set()
>>> seed_set("development")[:3]
(1, 2, 3)
"""

from __future__ import annotations

from typing import Final, Literal

SeedSetName = Literal["development", "evaluation"]

#: Tune on these.
DEVELOPMENT_SEEDS: Final = tuple(range(1, 21))
#: Report these, once.
EVALUATION_SEEDS: Final = tuple(range(1001, 1021))


def seed_set(name: SeedSetName) -> tuple[int, ...]:
    """The seeds of a named set; ``ValueError`` for any other name."""
    if name == "development":
        return DEVELOPMENT_SEEDS
    if name == "evaluation":
        return EVALUATION_SEEDS
    raise ValueError(f"seed set must be 'development' or 'evaluation', got {name!r}")
