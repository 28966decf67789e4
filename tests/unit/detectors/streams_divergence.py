"""Conformance streams for divergence: an area's count against its region and the country."""

from __future__ import annotations

import math
import random

from hypothesis import strategies as st

from tutka.detectors.divergence import DivergencePoint

from .streams import Streams


def seasonal(t: int, phase: int, amplitude: float = 0.15) -> float:
    return 1 + amplitude * math.sin(2 * math.pi * (t + phase) / 12)


def divergence_points(
    seed: int,
    n: int,
    *,
    level: float = 4000.0,
    local_from: int | None = None,
    local_factor: float = 1.35,
    refs_factor: float = 1.0,
    shock: tuple[int, int, float] = (100, 115, 1.4),
) -> list[DivergencePoint]:
    """Local, parent region (10x) and country (100x) counts, each with its own seasonal phase.

    All three share a nationwide business cycle (2 % monthly noise) and a nationwide ``shock``
    (start, end, factor). From ``local_from`` on, the local level is multiplied by
    ``local_factor`` and the references by ``refs_factor``. Counts have 1.5x Poisson noise.
    """
    rng = random.Random(seed)
    start, end, factor = shock
    out = []
    for t in range(n):
        common = math.exp(rng.gauss(0.0, 0.02)) * (factor if start <= t < end else 1.0)
        changed = local_from is not None and t >= local_from
        means = (
            level * seasonal(t, 0) * common * (local_factor if changed else 1.0),
            10 * level * seasonal(t, 2) * common * (refs_factor if changed else 1.0),
            100 * level * seasonal(t, 3, 0.08) * common * (refs_factor if changed else 1.0),
        )
        local, region, country = (max(0.0, rng.gauss(m, 1.5 * math.sqrt(m))) for m in means)
        out.append(DivergencePoint(local, (region, country)))
    return out


_count = st.floats(min_value=0, max_value=1e7, allow_nan=False, allow_infinity=False)

STREAMS = Streams(
    stationary=lambda seed, n: divergence_points(seed, n),
    shifted=lambda seed, n, at: divergence_points(seed, n, local_from=at),
    within=2,
    inputs=st.builds(DivergencePoint, _count, st.tuples(_count, _count)),
)
