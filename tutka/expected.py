"""What analysts compare a month with: the same month in earlier years."""

from __future__ import annotations

from collections.abc import Mapping

from tutka.detectors.robust import median


def expected_line(values: Mapping[int, float], years: int = 3) -> dict[int, float]:
    """The same month in earlier years (median of up to three): the analysts' comparison.

    >>> expected_line({0: 10.0, 12: 20.0, 24: 40.0, 36: 35.0})
    {12: 10.0, 24: 15.0, 36: 20.0}
    """
    expected: dict[int, float] = {}
    for period in sorted(values):
        earlier = [
            values[period - 12 * k] for k in range(1, years + 1) if period - 12 * k in values
        ]
        if earlier:
            expected[period] = median(earlier)
    return expected
