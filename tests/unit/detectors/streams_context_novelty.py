"""Conformance streams for context novelty: an hourly daily cycle (machine telemetry style).

Busy from 07 to 17, idle otherwise; both levels sit well inside one bin for every context's bin
count and the noise is bounded (±1 % of the range), so after the first days every context is
familiar and a long stationary run never alarms. The shifted stream lifts the
whole cycle by 40 % of its range at hour 600: the first shifted peak breaks the range seen so far.
"""

from __future__ import annotations

import random

from hypothesis import strategies as st

from tutka.detectors.context_novelty import Reading

from .streams import Streams

DAY = (10,) * 7 + (90,) * 10 + (10,) * 7


def daily(seed: int, n: int, at: int | None = None) -> list[Reading]:
    rng = random.Random(seed)
    out = []
    for t in range(n):
        level = DAY[t % 24] + rng.uniform(-1.0, 1.0)
        if at is not None and t >= at:
            level += 40.0
        out.append(Reading(level, t % 24))
    return out


STREAMS: Streams = Streams(
    stationary=lambda seed, n: daily(seed, n),
    shifted=lambda seed, n, at: daily(seed, n, at),
    within=6,
    inputs=st.builds(
        Reading,
        st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False),
        st.integers(min_value=0, max_value=23),
    ),
    length=960,
    shift_at=600,
    restore_examples=10,
)
