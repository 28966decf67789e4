"""Conformance streams for CUSUM: the seasonal count (level 2 000) with a 35 % shift at 120.

A 35 % jump is about nine noise standard deviations (log(1.35) / 0.034): the first shifted month
scores about 8 against a decision interval of 7, so the alarm comes at the shift or one month
later (delays 0 and 1 in 163 and 137 of 300 seeds).
"""

from __future__ import annotations

from .streams import Streams, counts, seasonal_counts

STREAMS: Streams = Streams(
    stationary=lambda seed, n: seasonal_counts(seed, n),
    shifted=lambda seed, n, at: seasonal_counts(seed, n, at),
    within=1,
    inputs=counts,
)
