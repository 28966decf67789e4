"""Conformance streams for isolation_forest: four standardised features, one vector a month.

The shift is +10 standard deviations in two of the four features. Smaller shifts are not reliably
flagged by an isolation forest learning one vector a month: its score saturates beyond the
training range, so the first shifted vector scores like an ordinary extreme one, and the break
shows only in the next vectors, once the forest has been refit with the first (see the module
docstring). With +6 the score one step after the break has a median of about 0.70, right at the
threshold; with +10 the largest score in the first four shifted steps stayed above 0.71 in 100
seeded runs, while 200 stationary runs of 240 months never exceeded 0.69.
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from .streams import Streams

DIM = 4
SHIFT = 10.0
SHIFTED_FEATURES = 2


def feature_vectors(
    seed: int, n: int, at: int | None = None, shift: float = SHIFT
) -> list[tuple[float, ...]]:
    """I.i.d. standard normal vectors; from ``at`` on the first two features are ``shift`` up."""
    matrix = np.random.default_rng(seed).standard_normal((n, DIM))
    if at is not None:
        matrix[at:, :SHIFTED_FEATURES] += shift
    return [tuple(float(v) for v in row) for row in matrix]


vectors = st.tuples(
    *[st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)] * DIM
)

STREAMS = Streams(
    stationary=lambda seed, n: feature_vectors(seed, n),
    shifted=lambda seed, n, at: feature_vectors(seed, n, at),
    within=3,
    inputs=vectors,
    # Each example refits forests (~50 ms a fit): a few examples cover the refit phases.
    restore_examples=5,
)
