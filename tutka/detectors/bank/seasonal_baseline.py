"""SeasonalBaselineBank: :mod:`tutka.detectors.seasonal_baseline` over many series at once.

Method: the reference's (read its module for the why). Per row, the baseline is the median of
the same calendar month in up to ``years`` earlier years, the deviation the log ratio to it,
judged against the median and MAD of earlier ratios and Poisson counting noise; after
``adopt_after`` alarms in a row in one direction the stored history is rescaled by the shift.

Columnar form: a row's values, ratios and current run are rings of fixed width, empty places
NaN, so the medians of a whole release are one sort along the rows (NaN sorts last) and a pick
of the middle by each row's count. Where a value sits in the values ring follows from the
observation count; the ratios keep a count of their own (a protected alarm adds no ratio).

State per row with the defaults: 36 values, 36 ratios and a run of 4 in the bank's float type,
two counts (int32) and the run's direction (int8): 617 bytes in float64, 313 in float32.

Example: the reference's doctest, for that series and the same series tripled.

>>> import math, random
>>> import numpy as np
>>> rng = random.Random(7)
>>> def level(t): return 1000 * (1 + 0.2 * math.sin(2 * math.pi * t / 12)) * (1.3 if t >= 60 else 1)
>>> xs = [rng.gauss(level(t), 15) for t in range(84)]
>>> bank = SeasonalBaselineBank()
>>> bank.grow(2)
>>> rows = np.array([0, 1])
>>> found = [(t, r) for t, x in enumerate(xs)
...          for r in np.flatnonzero(bank.learn(rows, np.array([x, 3 * x])).alarm).tolist()]
>>> [t for t, r in found if r == 0]
[60, 61, 62, 63]

References: as :mod:`tutka.detectors.seasonal_baseline`.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import numpy.typing as npt

from tutka.detectors.bank.base import BankAssessment, alarms, capped, float_type, state_of
from tutka.detectors.bank.rows import BoolArray, ColumnBank, Columns, FloatArray, IntArray
from tutka.detectors.base import JSONObject, JSONValue, floats, integer, params_json
from tutka.detectors.robust import MAD_TO_SIGMA
from tutka.detectors.seasonal_baseline import SeasonalBaseline, SeasonalBaselineParams


def medians(values: FloatArray) -> FloatArray:
    """The median of each row's non-NaN values (NaN for a row without any).

    >>> medians(np.array([[3.0, 1.0, np.nan], [4.0, 1.0, 2.0]])).tolist()
    [2.0, 2.0]
    """
    ordered = np.sort(values, axis=1)
    counts = np.count_nonzero(~np.isnan(values), axis=1)
    lo = np.maximum(counts - 1, 0) // 2
    hi = counts // 2
    at = np.arange(len(values))
    middle: FloatArray = 0.5 * (ordered[at, lo] + ordered[at, np.minimum(hi, values.shape[1] - 1)])
    return np.where(counts > 0, middle, np.nan)


class SeasonalBaselineBank(ColumnBank):
    """Deviation from the same month in earlier years, count-aware, for many series.

    Args:
        params: the reference's hyperparameters (one set for every row).
        dtype: the stored float type, float64 (the reference to rounding) or float32.
    """

    name: ClassVar[str] = SeasonalBaseline.name

    def __init__(
        self, params: SeasonalBaselineParams | None = None, dtype: npt.DTypeLike = np.float64
    ) -> None:
        p = params if params is not None else SeasonalBaselineParams()
        self.params = p
        self.dtype = float_type(dtype)
        self.width = p.season * p.years
        self.columns = Columns()
        self.columns.add("values", self.dtype, np.nan, (self.width,))
        self.columns.add("ratios", self.dtype, np.nan, (p.spread_window,))
        self.columns.add("run", self.dtype, np.nan, (p.adopt_after,))
        self.columns.add("n", np.int32, 0)
        self.columns.add("ratio_count", np.int32, 0)
        self.columns.add("run_direction", np.int8, 0)

    # (rows: grow, reset and bytes_per_row come from ColumnBank)

    # -- the detector ----------------------------------------------------------------------------
    def update(self, rows: IntArray, x: FloatArray) -> None:
        """Learn ``x`` without assessing it."""
        self.learn(rows, x)

    def learn(
        self, rows: IntArray, x: FloatArray, threshold: FloatArray | None = None
    ) -> BankAssessment:
        """Assess then learn ``x[i]`` for ``rows[i]``, as the reference's ``learn`` (see Bank)."""
        p, cols = self.params, self.columns
        x = np.asarray(x, dtype=np.float64)
        count = len(rows)
        score = np.zeros(count)
        baseline = x.copy()
        direction = np.zeros(count, dtype=np.int8)
        n = cols["n"][rows].astype(np.int64)
        ready = np.minimum(cols["ratio_count"][rows], p.spread_window) >= p.min_ratios
        earlier = np.minimum(n, self.width) // p.season
        known = earlier > 0
        if known.any():
            sub = rows[known]
            deviation, scale, expected, drift = self._deviation(
                sub, x[known], n[known], earlier[known], ready[known]
            )
            judged = ready[known]
            z = np.abs(deviation) / scale
            baseline[known] = expected
            score[known] = np.where(judged, capped(z), 0.0)
            sign = np.where(deviation > 0, 1, -1).astype(np.int8)
            direction[known] = np.where(judged, sign, 0)
            self._fold(sub, n[known], deviation, drift, sign, judged & (z >= p.threshold))
        self._append_values(rows, n, np.maximum(x, 0.0))
        limit = None if threshold is None else np.asarray(threshold, dtype=np.float64)
        return BankAssessment(
            score, baseline, direction, ready, alarms(ready, score, p.threshold, limit)
        )

    def _deviation(
        self, rows: IntArray, x: FloatArray, n: IntArray, earlier: IntArray, ready: BoolArray
    ) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
        """(deviation from drift, its standard error, expected value, drift) per row."""
        p, cols = self.params, self.columns
        c = p.offset
        years = np.arange(p.years)
        slots = (n[:, None] - p.season * (years[None, :] + 1)) % self.width
        same_month = cols["values"][rows[:, None], slots].astype(np.float64)
        same_month[years[None, :] >= earlier[:, None]] = np.nan
        base = medians(same_month)
        positive = np.maximum(x, 0.0)
        ratio = np.log((positive + c) / (base + c))
        drift = np.zeros(len(rows))
        spread = np.zeros(len(rows))
        if ready.any():
            ratios = cols["ratios"][rows[ready]].astype(np.float64)
            centre = medians(ratios)
            drift[ready] = centre
            spread[ready] = MAD_TO_SIGMA * medians(np.abs(ratios - centre[:, None]))
        noise = 1.0 / (positive + c) + 1.0 / (earlier * (base + c))
        scale = np.sqrt(np.maximum(spread * spread + noise, p.min_scale**2))
        expected = (base + c) * np.exp(drift) - c
        return ratio - drift, scale, expected, drift

    def _fold(
        self,
        rows: IntArray,
        n: IntArray,
        deviation: FloatArray,
        drift: FloatArray,
        sign: npt.NDArray[np.int8],
        alarmed: BoolArray,
    ) -> None:
        """Track runs of alarms (adopting a lasting one) and learn the ratios of the rest."""
        p, cols = self.params, self.columns
        run_len = np.count_nonzero(~np.isnan(cols["run"][rows]), axis=1)
        run_direction = cols["run_direction"][rows].astype(np.int8)
        turned = alarmed & (sign != run_direction)
        run_len[turned | ~alarmed] = 0
        run_direction = np.where(alarmed, sign, 0).astype(np.int8)
        cols["run"][rows[~alarmed | turned]] = np.nan
        if alarmed.any():
            at = rows[alarmed]
            cols["run"][at, run_len[alarmed]] = deviation[alarmed]
            run_len[alarmed] += 1
            full = alarmed & (run_len >= p.adopt_after)
            if full.any():
                shift = medians(cols["run"][rows[full]].astype(np.float64))
                self._adopt(rows[full], n[full], shift)
                run_direction[full] = 0
        cols["run_direction"][rows] = run_direction
        learns = ~(alarmed & p.protect)
        if learns.any():
            at = rows[learns]
            counts = cols["ratio_count"][at].astype(np.int64)
            cols["ratios"][at, counts % p.spread_window] = deviation[learns] + drift[learns]
            cols["ratio_count"][at] = counts + 1

    def _adopt(self, rows: IntArray, n: IntArray, shift: FloatArray) -> None:
        """Rescale each row's history by its shift, all but the run's newest values."""
        p, cols = self.params, self.columns
        c = p.offset
        ages = (n[:, None] - 1 - np.arange(self.width)[None, :]) % self.width  # age of each slot
        kept = np.minimum(n, self.width)
        older = (ages < kept[:, None]) & (ages >= p.adopt_after - 1)
        values = cols["values"][rows].astype(np.float64)
        rescaled = np.maximum((values + c) * np.exp(shift)[:, None] - c, 0.0)
        cols["values"][rows] = np.where(older, rescaled, values)
        cols["run"][rows] = np.nan

    def _append_values(self, rows: IntArray, n: IntArray, values: FloatArray) -> None:
        cols = self.columns
        cols["values"][rows, n % self.width] = values
        cols["n"][rows] = n + 1

    # -- snapshots (the reference's JSON) --------------------------------------------------------
    def export(self, row: int) -> JSONObject:
        """Row ``row`` as the reference's snapshot: ``SeasonalBaseline.from_snapshot`` reads it."""
        p, cols = self.params, self.columns
        n, ratio_count = int(cols["n"][row]), int(cols["ratio_count"][row])
        values = _ring(cols["values"][row], n)
        ratios = _ring(cols["ratios"][row], ratio_count)
        run: list[JSONValue] = [float(v) for v in cols["run"][row] if not np.isnan(v)]
        return {
            "v": SeasonalBaseline.STATE_VERSION,
            "detector": self.name,
            "params": params_json(p),
            "state": {
                "values": values,
                "ratios": ratios,
                "run": run,
                "run_direction": int(cols["run_direction"][row]),
                "n": n,
            },
        }

    def load(self, row: int, snapshot: JSONObject) -> None:
        """Set row ``row`` from a reference snapshot (``ValueError`` for another detector).

        The ratios' count restarts at the number kept: only their order matters.
        """
        p, cols = self.params, self.columns
        state = state_of(snapshot, self.name, SeasonalBaseline.STATE_VERSION)
        values, ratios, run = floats(state["values"]), floats(state["ratios"]), floats(state["run"])
        n = integer(state["n"])
        if (
            len(values) != min(n, self.width)
            or len(ratios) > p.spread_window
            or len(run) > p.adopt_after
        ):
            raise ValueError("seasonal_baseline state does not match its parameters")
        self.reset(row)
        cols["n"][row] = n
        for age, value in enumerate(reversed(values)):
            cols["values"][row, (n - 1 - age) % self.width] = value
        cols["ratios"][row, : len(ratios)] = ratios
        cols["ratio_count"][row] = len(ratios)
        cols["run"][row, : len(run)] = run
        cols["run_direction"][row] = integer(state["run_direction"])


def _ring(ring: npt.NDArray[np.generic], count: int) -> list[JSONValue]:
    """A ring's values, oldest first, after ``count`` appends."""
    width = len(ring)
    kept = min(count, width)
    return [float(ring[(count - kept + i) % width]) for i in range(kept)]
