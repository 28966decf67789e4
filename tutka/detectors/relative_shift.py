"""RelativeShift: a lasting change of an area's share of the country's figure, caught early.

Method. Each observation is a pair: the area's count and a reference count (the country's).
The detector follows ``y = log(count + 1) − log(reference)``, so the business cycle that moves
every area falls out, and removes the area's own seasonal pattern with past data only: for each
calendar month, the median over earlier years (at most ``seasonal_years``) of ``y`` minus its
centred 13-month median, each known six months after its centre. What is left, ``s``, moves when
the area's share moves.

The test compares the mean of the last ``k`` values of ``s`` with the median of the
``baseline`` months before them, for every window length ``k`` from ``shortest_window`` to
``longest_window`` (a sudden shift shows in three months, a closure that lays people off over
half a year in six), in units of the area's own noise::

    z_k = (mean(s[t−k+1 … t]) − median(s[t−k−11 … t−k])) / (σ · √(1/k + π/24))

where ``σ = 1.4826 · MAD / √2`` of the last ``scale_months`` month-to-month differences of ``s``
(robust: a past shift is one outlier among a hundred differences, not a doubled noise) and
``π/24`` is the variance of a median of twelve values. A window counts only when the change is
material: at least ``min_change`` of the share and ``min_persons`` people (the count before the
window times the relative change), so that a wobble of twelve people in a small municipality
never looks large however quiet its history. The score is the largest ``|z_k|`` among material
windows; the direction its sign. A shift becomes the new normal by itself: once the baseline
window has moved past it (twelve months), the area is judged against its new level.

The threshold is a prior. In the pipeline the engine calibrates it to a false-alarm budget from
the history (``tutka.streams.calibration``), so the catalogue holds the budget, not the number.

Parameters: see :class:`RelativeShiftParams`. Chosen on the development set of 259 Finnish
municipalities (``tutka backtest --shifts``; the README's ablation table).

Example: an area with about 2 000 unemployed in a country of 150 000, seasonal, whose share
rises 20 % from month 60 (a plant closes) while the country's own figure swings with the cycle.
The detector fires within three months of the shift and is quiet before it:

>>> import math, random
>>> rng = random.Random(11)
>>> det = RelativeShift()
>>> alarms = []
>>> for t in range(96):
...     country = 150_000 * (1 + 0.25 * math.sin(2 * math.pi * t / 70))
...     season = 1 + 0.12 * math.cos(2 * math.pi * t / 12)
...     share = 2_000 / 150_000 * (1.2 if t >= 60 else 1.0)
...     count = round(country * share * season * math.exp(rng.gauss(0, 0.02)))
...     assessment, alarm = det.learn(RelativePoint(count, country))
...     if alarm:
...         alarms.append((t, assessment.direction))
>>> alarms[0]
(62, 1)
>>> all(t >= 60 for t, _ in alarms)
True

References: the two-sample comparison of adjacent windows is the classic moving-window test for a
change in level (E. Brodsky & B. Darkhovsky, *Nonparametric Methods in Change-Point Problems*,
Kluwer 1993); robust scale by the median absolute deviation (F. R. Hampel, 1974,
*JASA* 69(346)); seasonal factors by centred moving medians as in classical decomposition.
"""

from __future__ import annotations

import math
import statistics
from collections import deque
from collections.abc import Collection, Iterable
from typing import ClassVar, Final, NamedTuple

from pydantic import Field, model_validator

from tutka.detectors.base import (
    Assessment,
    BaseDetector,
    DetectorParams,
    JSONObject,
    JSONValue,
    capped,
    integer,
)

#: The centred median that yields a seasonal deviation spans this many months (±6).
CENTRED: Final = 13
#: Variance of the median of twelve normal values, in units of one value's variance (≈ π/2n).
MEDIAN_VARIANCE: Final = math.pi / 2
MAD_TO_SIGMA: Final = 1.4826
#: ``expm1`` of more overflows a float.
_LARGEST_EXPONENT: Final = 700.0


class RelativePoint(NamedTuple):
    """An area's count and its reference (the country's count) in the same month."""

    value: float
    reference: float


class RelativeShiftParams(DetectorParams):
    """Hyperparameters of :class:`RelativeShift`: windows, seasonal memory, noise, materiality.

    ``threshold`` is only the prior: in the pipeline the engine replaces it with the one the
    false-alarm budget calls for (``tutka.streams.calibration``) once there is history enough.
    """

    threshold: float = Field(
        default=7.0,
        gt=0,
        description="prior decision threshold on |z|; the engine calibrates it to a budget",
    )
    shortest_window: int = Field(default=3, ge=1, le=12, description="shortest window k")
    longest_window: int = Field(default=6, ge=1, le=24, description="longest window k")
    baseline: int = Field(default=12, ge=3, le=36, description="months in the baseline median")
    season: int = Field(default=12, ge=1, le=52, description="observations per seasonal cycle")
    seasonal_years: int = Field(
        default=8, ge=1, le=30, description="most past years in a calendar month's factor"
    )
    min_seasonal_years: int = Field(
        default=1, ge=1, le=10, description="years a calendar month's factor needs first"
    )
    scale_months: int = Field(
        default=120, ge=12, le=600, description="month-to-month differences kept for the noise"
    )
    min_differences: int = Field(
        default=12, ge=3, le=600, description="differences needed before judging"
    )
    min_persons: float = Field(
        default=75.0, ge=0, description="smallest change worth an alarm, in people"
    )
    min_change: float = Field(
        default=0.05, ge=0, le=10, description="smallest relative change of the share"
    )
    offset: float = Field(default=1.0, gt=0, description="added to counts before logs")

    @model_validator(mode="after")
    def _windows(self) -> RelativeShiftParams:
        if self.longest_window < self.shortest_window:
            raise ValueError("longest_window must be >= shortest_window")
        if self.min_differences > self.scale_months:
            raise ValueError("min_differences must be <= scale_months")
        return self


class Window(NamedTuple):
    """The best material window: its z and the log change of the share it measured."""

    z: float
    change: float


class RelativeShift(BaseDetector[RelativePoint, RelativeShiftParams]):
    """Moving-window test for a lasting change of a deseasonalised log share (see the module).

    Its state is bounded: the last 13 log shares, at most ``seasonal_years`` deviations per
    calendar month, ``baseline + longest_window`` deseasonalised values, ``longest_window + 1``
    counts and ``scale_months`` differences.
    """

    name: ClassVar[str] = "relative_shift"
    Params: ClassVar[type[DetectorParams]] = RelativeShiftParams
    STATE_VERSION: ClassVar[int] = 1

    def __init__(self, params: RelativeShiftParams | None = None) -> None:
        super().__init__(params)
        p = self.params
        self._seen = 0
        self._y: deque[float] = deque(maxlen=CENTRED)
        self._deviations: list[deque[float]] = [
            deque(maxlen=p.seasonal_years) for _ in range(p.season)
        ]
        self._s: deque[float] = deque(maxlen=p.baseline + p.longest_window)
        self._counts: deque[float] = deque(maxlen=p.longest_window + 1)
        self._diffs: deque[float] = deque(maxlen=p.scale_months)
        self._sigma: float | None = None  # cached: recomputed when the differences change
        #: Each calendar month's deviations as its last snapshot listed them (None: changed
        #: since). A month's list changes once a year, and a snapshot is taken every few
        #: months: snapshots share the unchanged lists (a snapshot is never changed once taken).
        self._listed: list[JSONValue] = [None] * p.season

    # -- the protocol ----------------------------------------------------------------------------

    @property
    def ready(self) -> bool:
        """Whether ``min_differences`` month-to-month differences give the noise its scale."""
        return len(self._diffs) >= self.params.min_differences

    def assess(self, x: RelativePoint) -> Assessment:
        """The largest ``|z|`` over material windows ending at ``x``; no state changes.

        Quiet (score 0) until the calendar month has a seasonal factor and the noise a scale,
        when the reference is missing, or when no window's change is material. The expected
        value is this month's count had the share not moved by the best window's change.
        """
        y = self._log_share(x)
        return self._assessment(x, y, self._seasonal_factor(self._seen % self.params.season))

    def _assessment(self, x: RelativePoint, y: float | None, factor: float | None) -> Assessment:
        """:meth:`assess`, given ``x``'s log share and its calendar month's seasonal factor."""
        if y is None or factor is None:
            return Assessment.quiet(x.value)
        s = y - factor
        best = self._best_window(s) if self.ready else None
        if best is None:
            return Assessment.quiet(x.value)
        return Assessment(
            capped(abs(best.z)), self._expected(x, best.change), 1 if best.z > 0 else -1
        )

    def learn(self, x: RelativePoint) -> tuple[Assessment, bool]:
        """Assess then update, finding the log share and seasonal factor once (as both)."""
        y = self._log_share(x)
        factor = self._seasonal_factor(self._seen % self.params.season)
        assessment = self._assessment(x, y, factor)
        alarm = self.is_alarm(assessment)
        self._fold(x, y, factor)
        return assessment, alarm

    def update(self, x: RelativePoint) -> None:
        """Fold ``x`` in: its deseasonalised value and difference, and a seasonal deviation.

        The deviation learnt is that of the month six months back, whose centred 13-month
        median ``x`` completes; nothing is learnt from the future.
        """
        y = self._log_share(x)
        self._fold(x, y, self._seasonal_factor(self._seen % self.params.season))

    def _fold(self, x: RelativePoint, y: float | None, factor: float | None) -> None:
        """:meth:`update`, given ``x``'s log share and its calendar month's seasonal factor."""
        p = self.params
        s = y - factor if y is not None and factor is not None else math.nan
        if self._s and not math.isnan(self._s[-1]) and not math.isnan(s):
            self._diffs.append(s - self._s[-1])
            self._sigma = None
        self._s.append(s)
        self._counts.append(x.value)
        self._y.append(math.nan if y is None else y)
        if len(self._y) == CENTRED:
            # The centred median of the value six months back is now known.
            centre = self._y[CENTRED // 2]
            window = [v for v in self._y if not math.isnan(v)]
            if not math.isnan(centre) and window:
                centre_phase = (self._seen - CENTRED // 2) % p.season
                self._deviations[centre_phase].append(centre - statistics.median(window))
                self._listed[centre_phase] = None
        self._seen += 1

    # -- pieces ----------------------------------------------------------------------------------

    def _log_share(self, x: RelativePoint) -> float | None:
        """``log(count + offset) − log(reference)``; None without a positive reference."""
        if x.reference <= 0 or x.value < 0:
            return None
        return math.log(x.value + self.params.offset) - math.log(x.reference)

    def _seasonal_factor(self, phase: int) -> float | None:
        """The calendar month's median deviation; None before ``min_seasonal_years`` of them."""
        deviations = self._deviations[phase]
        if len(deviations) < self.params.min_seasonal_years:
            return None
        return statistics.median(deviations)

    def _noise(self) -> float | None:
        """σ of one month from the MAD of the kept differences (cached); None while too few."""
        if len(self._diffs) < self.params.min_differences:
            return None
        if self._sigma is None:
            diffs = list(self._diffs)
            centre = statistics.median(diffs)
            mad = statistics.median(abs(d - centre) for d in diffs)
            self._sigma = MAD_TO_SIGMA * mad / math.sqrt(2)
        return self._sigma

    def _best_window(self, s: float) -> Window | None:
        """The material window (length ``k``) with the largest ``|z|`` if ``s`` were added.

        None also when the noise has no positive scale. The scale is computed only once a
        window is material, and the windows only when one can be (:meth:`_none_material`):
        most series of a large market are small, and their windows never are.
        """
        p = self.params
        values = [*self._s, s]  # the oldest first; the last is now
        counts = list(self._counts)
        if self._none_material(values, counts):
            return None
        sigma: float | None = None
        best: Window | None = None
        for k in range(p.shortest_window, p.longest_window + 1):
            recent = _finite(values[-k:])
            base_values = _finite(values[-k - p.baseline : -k])
            if not recent or len(base_values) < (p.baseline + 1) // 2 or len(counts) < k:
                continue
            base = statistics.median(base_values)
            change = statistics.fmean(recent) - base
            before = counts[-k]  # the count just before the window
            relative = abs(math.expm1(change))
            if relative < p.min_change or before * relative < p.min_persons:
                continue
            if sigma is None:
                sigma = self._noise()
                if sigma is None or sigma <= 0:
                    return None
            z = change / (sigma * math.sqrt(1 / k + MEDIAN_VARIANCE / p.baseline))
            if best is None or abs(z) > abs(best.z):
                best = Window(z, change)
        return best

    def _none_material(self, values: list[float], counts: list[float]) -> bool:
        """Whether no window can be material, by a bound that skips the medians and means.

        Every window's change is a mean minus a median of the last ``longest_window +
        baseline`` values, so its size is at most their range; its relative change at most
        ``expm1`` of that, for a rise or a fall. (The bound is widened by far more than the
        rounding of the exact computation, so it never rules out a window that computation
        would find material.) With a NaN among the values (months before a seasonal factor)
        the exact computation decides.
        """
        p = self.params
        span = values[-(p.longest_window + p.baseline) :]
        if not counts or math.isnan(sum(span)):
            return False
        widest = (max(span) - min(span)) * (1 + 1e-9) + 1e-9
        most = math.expm1(min(widest, _LARGEST_EXPONENT))  # (never larger than a float holds)
        before = max(counts[-p.longest_window :])
        return most < p.min_change or before * most < p.min_persons

    def _expected(self, x: RelativePoint, change: float) -> float:
        """This month's count had the share not moved by the window's change.

        The window's change, not this one month's: the evidence then says "rose" exactly when
        the share rose, by the window's robust amount, however noisy the latest month.
        """
        offset = self.params.offset
        return max((x.value + offset) * math.exp(-change) - offset, 0.0)

    # -- state -----------------------------------------------------------------------------------

    def _state(self) -> JSONObject:
        return {
            "seen": self._seen,
            "y": _json_floats(self._y),
            # Never NaN: a deviation is a finite value minus a median of finite ones, a
            # difference one of two finite values (copied without the check: every snapshot).
            "deviations": self._deviation_lists(),
            "s": _json_floats(self._s),
            "counts": _json_floats(self._counts),
            "diffs": list(self._diffs),
        }

    def _deviation_lists(self) -> list[JSONValue]:
        """The calendar months' deviations as lists, unchanged ones those of the last snapshot."""
        listed = self._listed
        for phase, deviations in enumerate(self._deviations):
            if listed[phase] is None:
                listed[phase] = list(deviations)
        return list(listed)

    def _load_state(self, state: JSONObject) -> None:
        p = self.params
        self._seen = integer(state["seen"])
        self._y = deque(read_floats(state["y"]), maxlen=CENTRED)
        deviations = state["deviations"]
        if not isinstance(deviations, list) or len(deviations) != p.season:
            raise ValueError(f"relative_shift state needs {p.season} seasonal deviation lists")
        self._deviations = [deque(read_floats(d), maxlen=p.seasonal_years) for d in deviations]
        self._listed = [None] * p.season
        self._s = deque(read_floats(state["s"]), maxlen=p.baseline + p.longest_window)
        self._counts = deque(read_floats(state["counts"]), maxlen=p.longest_window + 1)
        self._diffs = deque(read_floats(state["diffs"]), maxlen=p.scale_months)
        self._sigma = None


def _finite(values: Iterable[float]) -> list[float]:
    """The values that are not NaN (months before a seasonal factor existed)."""
    return [v for v in values if not math.isnan(v)]


def _json_floats(values: Collection[float]) -> list[JSONValue]:
    """NaN (a month without a seasonal factor yet) as null: JSON has no NaN.

    Most lists hold no NaN, and the sum tells (it is NaN when a value is, or when infinities
    cancel): those are copied whole, without a Python step per value (snapshots for revisions
    are taken of every series every few releases).
    """
    total = sum(values)
    if total == total:
        return list(values)
    return [None if math.isnan(v) else v for v in values]


def read_floats(value: JSONValue) -> list[float]:
    """A state list back as floats, null as NaN; ``ValueError`` on anything else."""
    if not isinstance(value, list):
        raise ValueError(f"expected a list of numbers, got {type(value).__name__}")
    out: list[float] = []
    for item in value:
        if item is None:
            out.append(math.nan)
        elif isinstance(item, int | float) and not isinstance(item, bool):
            out.append(float(item))
        else:
            raise ValueError(f"expected a number or null, got {item!r}")
    return out
