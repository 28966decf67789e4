"""Seasonal baseline: deviation from the same month in earlier years, count-aware.

This is the analysts' year-on-year practice made robust. The baseline for month *t* is the median
of the same calendar month in up to ``years`` earlier years. The deviation is the log ratio
``r = log((y + c) / (b + c))``, judged against

* the typical year-on-year drift and its spread (median and MAD of earlier ratios), so a steady
  trend is not an anomaly, and
* Poisson counting noise ``1/(y + c) + 1/(k (b + c))``, so that twenty job-seekers more in a
  small municipality is not the same news as twenty thousand in a region.

The score is the robust z-value ``|r - drift| / sqrt(spread² + counting noise)``.

Persistent shifts become the new normal: after ``adopt_after`` consecutive alarms in the same
direction the stored history is rescaled by the shift (and, with ``protect``, alarmed points never
widen the spread).

Example: a seasonal monthly count of about 1 000 that jumps by 30 % at month 60.

>>> import math, random
>>> rng = random.Random(7)
>>> def level(t): return 1000 * (1 + 0.2 * math.sin(2 * math.pi * t / 12)) * (1.3 if t >= 60 else 1)
>>> xs = [rng.gauss(level(t), 15) for t in range(84)]
>>> det = SeasonalBaseline()
>>> [t for t, x in enumerate(xs) if det.learn(x)[1]]
[60, 61, 62, 63]

References: Statistics Finland's year-on-year comparisons of the employment service statistics;
Hampel (1974) for the MAD scale.
"""

from __future__ import annotations

import math
from collections import deque
from typing import ClassVar

from pydantic import Field

from tutka.detectors.base import (
    Assessment,
    BaseDetector,
    DetectorParams,
    JSONObject,
    capped,
    floats,
    integer,
)
from tutka.detectors.robust import RobustRatioParams, mad_sigma, median


class SeasonalBaselineParams(RobustRatioParams):
    """Hyperparameters of :class:`SeasonalBaseline`: robust-ratio ones, threshold, years."""

    threshold: float = Field(default=4.0, gt=0)
    years: int = Field(default=3, ge=1, le=10, description="earlier cycles in the baseline")


class SeasonalBaseline(BaseDetector[float, SeasonalBaselineParams]):
    """Deviation from the same month in earlier years, count-aware (see the module)."""

    name: ClassVar[str] = "seasonal_baseline"
    Params: ClassVar[type[DetectorParams]] = SeasonalBaselineParams

    def __init__(self, params: SeasonalBaselineParams | None = None) -> None:
        super().__init__(params)
        p = self.params
        self._values: deque[float] = deque(maxlen=p.season * p.years)
        self._ratios: deque[float] = deque(maxlen=p.spread_window)
        self._run: deque[float] = deque(maxlen=p.adopt_after)
        self._run_direction = 0
        self._n = 0

    @property
    def ready(self) -> bool:
        """Whether enough year-on-year ratios are known to judge a deviation (``min_ratios``)."""
        return len(self._ratios) >= self.params.min_ratios

    def _same_month(self) -> list[float]:
        season, values = self.params.season, self._values
        return [values[-k] for k in range(season, len(values) + 1, season)]

    def _drift_and_spread(self) -> tuple[float, float]:
        if len(self._ratios) < self.params.min_ratios:
            return 0.0, 0.0
        drift = median(self._ratios)
        return drift, mad_sigma(self._ratios, drift)

    def _deviation(self, x: float) -> tuple[float, float, float, float] | None:
        """(deviation from drift, its standard error, expected value, drift); None: no history."""
        earlier = self._same_month()
        if not earlier:
            return None
        c = self.params.offset
        base = median(earlier)
        ratio = math.log((max(x, 0.0) + c) / (base + c))
        drift, spread = self._drift_and_spread()
        noise = 1.0 / (max(x, 0.0) + c) + 1.0 / (len(earlier) * (base + c))
        scale = math.sqrt(max(spread * spread + noise, self.params.min_scale**2))
        expected = (base + c) * math.exp(drift) - c
        return ratio - drift, scale, expected, drift

    def assess(self, x: float) -> Assessment:
        """The robust z of ``x`` against the same month in earlier years; does not change state."""
        return self._assessment(x, self._deviation(x))

    def _assessment(self, x: float, found: tuple[float, float, float, float] | None) -> Assessment:
        if found is None:
            return Assessment.quiet(x)
        deviation, scale, expected, _ = found
        if not self.ready:
            return Assessment.quiet(expected)
        return Assessment(capped(abs(deviation) / scale), expected, 1 if deviation > 0 else -1)

    def update(self, x: float) -> None:
        """Learn ``x``: its ratio to the same month in earlier years, and the value itself."""
        self._fold(x, self._deviation(x))

    def learn(self, x: float) -> tuple[Assessment, bool]:
        """Assess then update, comparing with the history once (the same result as both)."""
        # assess + update, comparing with the history once
        found = self._deviation(x)
        assessment = self._assessment(x, found)
        alarm = self.is_alarm(assessment)
        self._fold(x, found)
        return assessment, alarm

    def _fold(self, x: float, found: tuple[float, float, float, float] | None) -> None:
        if found is not None:
            deviation, scale, _, drift = found
            direction = 1 if deviation > 0 else -1
            alarmed = self.ready and abs(deviation) / scale >= self.params.threshold
            if alarmed:
                self._track_run(deviation, direction)
            else:
                self._run.clear()
                self._run_direction = 0
            if not (alarmed and self.params.protect):
                # the drift the deviation was measured from (the ratios have not changed since)
                self._ratios.append(deviation + drift)
        self._values.append(max(x, 0.0))
        self._n += 1

    def _track_run(self, deviation: float, direction: int) -> None:
        if direction != self._run_direction:
            self._run.clear()
            self._run_direction = direction
        self._run.append(deviation)
        if len(self._run) >= self.params.adopt_after:
            self._adopt(median(self._run))

    def _adopt(self, shift: float) -> None:
        # The change has persisted: rescale the history so the new level becomes the baseline.
        # The run's earlier points (the newest stored values) are already at the new level; the
        # current point is appended after this, unscaled.
        c = self.params.offset
        factor = math.exp(shift)
        values = list(self._values)
        cut = len(values) - (len(self._run) - 1)
        rescaled = [max((v + c) * factor - c, 0.0) for v in values[:cut]] + values[cut:]
        self._values = deque(rescaled, maxlen=self._values.maxlen)
        self._run.clear()
        self._run_direction = 0

    def _state(self) -> JSONObject:
        return {
            "values": list(self._values),
            "ratios": list(self._ratios),
            "run": list(self._run),
            "run_direction": self._run_direction,
            "n": self._n,
        }

    def _load_state(self, state: JSONObject) -> None:
        self._values.extend(floats(state["values"]))
        self._ratios.extend(floats(state["ratios"]))
        self._run.extend(floats(state["run"]))
        self._run_direction = integer(state["run_direction"])
        self._n = integer(state["n"])
