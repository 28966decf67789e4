"""Small robust statistics shared by several detectors (pure Python: the series are short).

>>> median([3.0, 1.0, 2.0]), median([4.0, 1.0, 3.0, 2.0])
(2.0, 2.5)
>>> round(mad_sigma([1.0, 2.0, 3.0, 4.0, 100.0]), 3)
1.483
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from pydantic import Field

from tutka.detectors.base import DetectorParams

#: Scales the median absolute deviation to a standard deviation under normality.
MAD_TO_SIGMA = 1.4826


def median(values: Sequence[float]) -> float:
    """The median of ``values`` (``ValueError`` for none)."""
    if not values:
        raise ValueError("median of no values")
    ordered = sorted(values)
    mid = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[mid]
    return 0.5 * (ordered[mid - 1] + ordered[mid])


def mad_sigma(values: Sequence[float], center: float | None = None) -> float:
    """Robust standard deviation: 1.4826 x the median absolute deviation."""
    if not values:
        return 0.0
    c = median(values) if center is None else center
    return MAD_TO_SIGMA * median([abs(v - c) for v in values])


def normal_sf_log10(z: float) -> float:
    """-log10 of the upper normal tail probability P(Z >= z), finite for large z."""
    if z < 30:
        return -math.log10(max(0.5 * math.erfc(z / math.sqrt(2.0)), 1e-300))
    # Asymptotic tail: phi(z) / z, in logs so it never underflows.
    return (z * z / 2 + math.log(z * math.sqrt(2 * math.pi))) / math.log(10)


class RobustRatioParams(DetectorParams):
    """Hyperparameters of detectors that judge log ratios against their own robust history."""

    season: int = Field(default=12, ge=2, le=400, description="observations per seasonal cycle")
    offset: float = Field(default=1.0, gt=0, description="added to counts before taking logs")
    spread_window: int = Field(default=36, ge=6, le=240, description="earlier ratios kept")
    min_ratios: int = Field(default=6, ge=2, description="ratios needed before scoring")
    min_scale: float = Field(default=0.01, gt=0, description="floor on the log-ratio scale")
    protect: bool = Field(default=True, description="alarmed points do not widen the spread")
    adopt_after: int = Field(default=4, ge=1, description="alarms in a row before adopting")
