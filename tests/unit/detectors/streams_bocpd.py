"""Conformance streams for BOCPD: the seasonal count (level 2 000) with a 35 % shift at 120.

A 35 % jump is about nine noise standard deviations; the first shifted month alone makes a
change point all but certain, so the alarm comes at the shift (delay 0 in 299 of 300 seeds, 1 in
the other).
"""

from __future__ import annotations

from .streams import Streams, counts, seasonal_counts

STREAMS: Streams = Streams(
    stationary=lambda seed, n: seasonal_counts(seed, n),
    shifted=lambda seed, n, at: seasonal_counts(seed, n, at),
    within=1,
    inputs=counts,
)
