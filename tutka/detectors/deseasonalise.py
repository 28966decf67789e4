"""Online seasonal adjustment of a monthly count: the shared front end of CUSUM and BOCPD.

Not a detector. :class:`Deseasonaliser` turns a count ``y`` into a transformed value
``u = log(y + c)`` (or ``u = y`` without logs) and splits it into a level and a per-position
seasonal offset, where the position of observation *t* is ``t mod season``:

* Warm-up: the first ``warmup`` (>= 2 seasons) transformed values are buffered. When the buffer is
  full, the last whole cycles are decomposed classically: a mean per cycle, seasonal offsets as the
  average deviation of each position from its cycle's mean (they sum to zero), the level as the
  mean of the last cycle, and the residual scale from what is left (with ``(cycles - 1) x
  (season - 1)`` degrees of freedom, so it is unbiased for white noise).
* Tracking: afterwards the level and the offsets follow exponentially weighted moving averages
  (additive Holt-Winters without a trend term, so a steady trend leaves the level lagging by
  ``slope x (1 - alpha_level) / alpha_level``). A detector can freeze the level and the season
  while it suspects a shift (so the shift is not learnt away) and later replay the skipped
  observations with :meth:`~Deseasonaliser.catch_up` if it was noise after all, override the
  level's gain for one step, or reset the level outright when it adopts a shift as the new normal.
* Counting noise: :meth:`~Deseasonaliser.count_variance` gives the Poisson variance of a
  transformed count, for detectors that floor their noise by it.

The state is bounded: ``season`` offsets, a level, a scale, a counter and, during warm-up only,
at most ``warmup`` buffered values. Everything is pure Python (``math``), a few operations per
observation.

Example: a four-month season on a level of 100, then one observation 2 above expectation.

>>> d = Deseasonaliser(season=4, warmup=8, log=False, alpha_level=0.5, alpha_season=0.0)
>>> for t in range(8):
...     _ = d.update(100.0 + [10.0, 0.0, -10.0, 0.0][t % 4])
>>> d.ready, d.level, d.offsets, d.scale
(True, 100.0, [10.0, 0.0, -10.0, 0.0], 0.0)
>>> d.expected(), d.deseasonalise(112.0)
(110.0, 102.0)
>>> d.update(112.0)
[]
>>> d.level  # half-way there (alpha_level = 0.5)
101.0

References: Holt (1957) and Winters (1960) for the exponentially weighted level and seasonal
components; Hyndman & Athanasopoulos, *Forecasting: Principles and Practice*, ch. 3 and 8.
"""

from __future__ import annotations

import math
from typing import Self

from pydantic import Field, model_validator

from tutka.detectors.base import DetectorParams, JSONObject, floats, integer, number

#: exp() of anything larger overflows a float; real transformed values never get near it.
_MAX_EXP = 700.0


def check_warmup(season: int, warmup: int) -> None:
    """Reject a warm-up shorter than two seasons (one cycle cannot separate level from season)."""
    if warmup < 2 * season:
        raise ValueError(f"warmup ({warmup}) must cover at least two seasons (2 x {season})")


class Deseasonaliser:
    """Level + seasonal offsets of a transformed monthly count, learnt online.

    Args:
        season: observations per seasonal cycle (12 for monthly data).
        warmup: observations buffered before the first decomposition; at least ``2 * season``.
        offset: added to counts before taking logs, so zeros are fine.
        log: work on ``log(y + offset)`` (relative changes) rather than on ``y``.
        alpha_level: EWMA weight of a new deseasonalised value in the level.
        alpha_season: EWMA weight of a new value's deviation from the level in its offset.
    """

    __slots__ = (
        "_warm",
        "alpha_level",
        "alpha_season",
        "level",
        "log",
        "n",
        "offset",
        "offsets",
        "scale",
        "season",
        "warmup",
    )

    def __init__(
        self,
        season: int = 12,
        warmup: int = 24,
        offset: float = 1.0,
        log: bool = True,
        alpha_level: float = 0.1,
        alpha_season: float = 0.1,
    ) -> None:
        check_warmup(season, warmup)
        self.season = season
        self.warmup = warmup
        self.offset = offset
        self.log = log
        self.alpha_level = alpha_level
        self.alpha_season = alpha_season
        self.n = 0
        self.level = 0.0
        self.scale = 0.0
        self.offsets = [0.0] * season
        self._warm: list[float] = []

    # -- units -------------------------------------------------------------------------------
    def transform(self, y: float) -> float:
        """The modelled value of a count: ``log(max(y, 0) + offset)``, or ``y`` without logs."""
        if self.log:
            return math.log(max(y, 0.0) + self.offset)
        return y

    def inverse(self, u: float) -> float:
        """Back to the count's own units (``exp(u) - offset`` with logs)."""
        if self.log:
            return math.exp(min(u, _MAX_EXP)) - self.offset
        return u

    def count_variance(self, expected: float, u: float) -> float:
        """Poisson counting noise of an observation ``u`` that was expected to be ``expected``.

        In logs the variance of ``log(y + c)`` is about ``1/(y + c)``; it is taken at the smaller
        of the two counts, because the log stretches the lower tail (6 where 20 were expected is
        not a six-sigma event). Without logs it is the larger count plus the offset.
        """
        if self.log:
            return math.exp(min(-min(expected, u), _MAX_EXP))
        return max(expected, u, 0.0) + self.offset

    # -- the model ---------------------------------------------------------------------------
    @property
    def ready(self) -> bool:
        """Whether ``warmup`` values have been buffered and decomposed."""
        return self.n >= self.warmup

    def seasonal(self) -> float:
        """The seasonal offset at the next observation's position."""
        return self.offsets[self.n % self.season]

    def expected(self) -> float:
        """The expected transformed value of the next observation: level + seasonal offset."""
        return self.level + self.offsets[self.n % self.season]

    def deseasonalise(self, u: float) -> float:
        """The next observation's transformed value with its seasonal offset removed."""
        return u - self.offsets[self.n % self.season]

    def reset_level(self, level: float) -> None:
        """Replace the level (a detector adopting a shift as the new normal)."""
        self.level = level

    def catch_up(self, values: list[float]) -> None:
        """Replay the last ``len(values)`` observations, skipped while frozen, in order.

        ``values`` are their deseasonalised values. The model must have been frozen (level and
        season) for exactly those observations, so their offsets have not changed since.
        """
        start = self.n - len(values)
        for j, s in enumerate(values):
            pos = (start + j) % self.season
            self.level += self.alpha_level * (s - self.level)
            # s + offset is the observation's transformed value u
            self.offsets[pos] += self.alpha_season * (s - self.level)

    def update(
        self,
        u: float,
        *,
        freeze_level: bool = False,
        freeze_season: bool = False,
        gain: float | None = None,
    ) -> list[float]:
        """Fold the transformed value ``u`` of the next observation into the model.

        Args:
            u: the observation's transformed value (see :meth:`transform`).
            freeze_level: leave the level as it is.
            freeze_season: leave this position's offset as it is.
            gain: weight of ``u`` in the level this once, instead of ``alpha_level``.

        Returns:
            The deseasonalised warm-up values on the observation that completes the warm-up (so
            a detector can seed its own state from them); otherwise an empty list.
        """
        if self.n < self.warmup:
            self._warm.append(u)
            self.n += 1
            return self._initialise() if self.n == self.warmup else []
        pos = self.n % self.season
        if not freeze_level:
            alpha = self.alpha_level if gain is None else gain
            self.level += alpha * (u - self.offsets[pos] - self.level)
        if not freeze_season:
            self.offsets[pos] += self.alpha_season * (u - self.level - self.offsets[pos])
        self.n += 1
        return []

    def _initialise(self) -> list[float]:
        season, warm = self.season, self._warm
        cycles = len(warm) // season
        start = len(warm) - cycles * season
        means = [
            math.fsum(warm[start + i * season : start + (i + 1) * season]) / season
            for i in range(cycles)
        ]

        def deviation(t: int) -> float:
            return warm[t] - means[(t - start) // season]

        # Offsets are indexed by absolute position; warm[t] sits at position t mod season.
        sums = [0.0] * season
        for t in range(start, len(warm)):
            sums[t % season] += deviation(t)
        self.offsets = [total / cycles for total in sums]
        self.level = means[-1]
        squares = math.fsum(
            (deviation(t) - self.offsets[t % season]) ** 2 for t in range(start, len(warm))
        )
        self.scale = math.sqrt(squares / ((cycles - 1) * (season - 1)))
        deseasonalised = [u - self.offsets[t % season] for t, u in enumerate(warm)]
        self._warm = []
        return deseasonalised

    # -- snapshots ---------------------------------------------------------------------------
    def state(self) -> JSONObject:
        """The model as JSON (part of a detector's snapshot)."""
        return {
            "n": self.n,
            "level": self.level,
            "scale": self.scale,
            "offsets": list(self.offsets),
            "warm": list(self._warm),
        }

    def load_state(self, state: JSONObject) -> None:
        """Reload :meth:`state`; ``ValueError`` when it does not fit this season and warm-up."""
        offsets = floats(state["offsets"])
        warm = floats(state["warm"])
        if len(offsets) != self.season or len(warm) > self.warmup:
            raise ValueError("deseasonaliser state does not match its season and warm-up")
        self.n = integer(state["n"])
        self.level = number(state["level"])
        self.scale = number(state["scale"])
        self.offsets = offsets
        self._warm = warm


class DeseasonalisedParams(DetectorParams):
    """Hyperparameters of detectors that watch a deseasonalised (log) monthly series."""

    season: int = Field(default=12, ge=2, le=400, description="observations per seasonal cycle")
    warmup: int = Field(
        default=24, ge=4, le=4000, description="observations before scoring; >= 2 seasons"
    )
    offset: float = Field(default=1.0, gt=0, description="added to counts before taking logs")
    log: bool = Field(default=True, description="model log(y + offset) (relative changes)")
    alpha_season: float = Field(
        default=0.1, ge=0, le=1, description="EWMA weight of the seasonal offsets"
    )

    @model_validator(mode="after")
    def _warmup_covers_two_seasons(self) -> Self:
        check_warmup(self.season, self.warmup)
        return self
