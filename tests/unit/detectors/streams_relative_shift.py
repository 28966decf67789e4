"""Conformance streams for RelativeShift: an area's share of a cyclical country figure.

The country swings ±25 % over a six-year cycle that the share cancels; the area's count carries
its own seasonal pattern and 2 % noise. The shifted stream raises the area's share by 30 % at
month 120 (about 15 noise standard deviations): the three-month window sees it by month 122.
"""

from __future__ import annotations

import math
import random

from hypothesis import strategies as st

from tutka.detectors.relative_shift import RelativePoint

from .streams import Streams


def share_stream(
    seed: int, n: int, at: int | None = None, factor: float = 1.3
) -> list[RelativePoint]:
    rng = random.Random(seed)
    out = []
    for t in range(n):
        country = 150_000 * (1 + 0.25 * math.sin(2 * math.pi * t / 72))
        share = 2_000 / 150_000 * (factor if at is not None and t >= at else 1.0)
        season = 1 + 0.12 * math.cos(2 * math.pi * t / 12)
        count = round(country * share * season * math.exp(rng.gauss(0, 0.02)))
        out.append(RelativePoint(float(count), country))
    return out


STREAMS: Streams = Streams(
    stationary=lambda seed, n: share_stream(seed, n),
    shifted=lambda seed, n, at: share_stream(seed, n, at),
    within=3,
    inputs=st.builds(
        RelativePoint,
        st.floats(min_value=0, max_value=1e7, allow_nan=False, allow_infinity=False),
        st.floats(min_value=0, max_value=1e8, allow_nan=False, allow_infinity=False),
    ),
)
