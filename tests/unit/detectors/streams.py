"""Seeded input streams for the conformance suite, one entry per registered detector.

Each entry says how to build a long stationary stream (no alarm allowed), a stream with an
injected change at a known index (an alarm must come within ``within`` steps), and a hypothesis
strategy of arbitrary valid inputs (scores must stay finite and non-negative).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st


@dataclass(frozen=True)
class Streams:
    stationary: Callable[[int, int], list[Any]]
    shifted: Callable[[int, int, int], list[Any]]
    within: int
    inputs: st.SearchStrategy[Any]
    length: int = 240
    shift_at: int = 120
    #: Hypothesis examples for the snapshot/restore property (each replays a whole stream).
    restore_examples: int = 25


def seasonal_counts(
    seed: int, n: int, at: int | None = None, factor: float = 1.35, level: float = 2000.0
) -> list[float]:
    """A monthly count with a seasonal cycle, Poisson-like noise and an optional level shift."""
    rng = random.Random(seed)
    out = []
    for t in range(n):
        mean = level * (1 + 0.15 * math.sin(2 * math.pi * t / 12))
        if at is not None and t >= at:
            mean *= factor
        out.append(max(0.0, round(rng.gauss(mean, math.sqrt(mean) * 1.5))))
    return out


counts = st.floats(min_value=0, max_value=1e7, allow_nan=False, allow_infinity=False)

SEASONAL_BASELINE = Streams(
    stationary=lambda seed, n: seasonal_counts(seed, n),
    shifted=lambda seed, n, at: seasonal_counts(seed, n, at),
    within=2,
    inputs=counts,
)


def _all() -> dict[str, Streams]:
    # Each detector's streams live beside its tests (streams_<name>.py); gather them here.
    from . import (
        streams_bocpd,
        streams_context_novelty,
        streams_cusum,
        streams_divergence,
        streams_isolation_forest,
        streams_notice_burst,
        streams_relative_shift,
    )

    return {
        "seasonal_baseline": SEASONAL_BASELINE,
        "cusum": streams_cusum.STREAMS,
        "bocpd": streams_bocpd.STREAMS,
        "notice_burst": streams_notice_burst.STREAMS,
        "divergence": streams_divergence.STREAMS,
        "isolation_forest": streams_isolation_forest.STREAMS,
        "context_novelty": streams_context_novelty.STREAMS,
        "relative_shift": streams_relative_shift.STREAMS,
    }


STREAMS: dict[str, Streams] = _all()
