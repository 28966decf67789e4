"""RelativeShiftBank: :mod:`tutka.detectors.relative_shift` over many series at once.

Method: the reference's, step for step (read its module for the why). Each row follows the log
share ``y = log(count + offset) − log(reference)``, removes its calendar month's median seasonal
deviation, and compares the mean of the last ``k`` deseasonalised values with the median of the
``baseline`` before them for every ``k`` from ``shortest_window`` to ``longest_window``, in units
of the row's noise (the MAD of its last ``scale_months`` differences); a window counts only when
its change is material (``min_change`` of the share and ``min_persons`` people).

Columnar form. An observation is a pair, as the reference's ``RelativePoint``: ``x`` is an
``(n, 2)`` array of (count, reference) per row (``np.array(points)`` of ``RelativePoint`` s is
one). Every piece of state is a ring of fixed width whose empty places are NaN, so a window's
values are a gather by the row's observation count and their medians one sort along the rows
(NaN sorts last; the middle is picked by each row's count of values, the mean of the middle two
for an even count, as ``statistics.median``). The rings: the last 13 log shares, ``season`` ×
``seasonal_years`` deviations (a count per calendar month says where the next one goes), the
last ``baseline + longest_window`` deseasonalised values and ``longest_window + 1`` counts, and
the last ``scale_months`` differences. The noise is cached per row and marked stale (NaN) when a
difference is added, as the reference's; a settled row's MAD takes the median of distances from
its sorted differences without sorting the distances (:func:`absolute_deviation_median`).
The windows ``k`` are a loop over at most 24 lengths, every row at once.

State per row with the defaults: 2 072 bytes in float64; 1 208 in float32, which stores the
seasonal deviations and the differences (small numbers about zero, the bulk) in float32 but
keeps the log shares and deseasonalised values (about −5, whose float32 resolution of 5e-7 is a
tenth of a per cent of a large area's noise and would move a z near the threshold), the counts
and the noise in float64.

Example: the reference's doctest, for that area and a second one ten times smaller.

>>> import math, random
>>> import numpy as np
>>> rng = random.Random(11)
>>> bank = RelativeShiftBank()
>>> bank.grow(2)
>>> rows = np.array([0, 1])
>>> alarms = []
>>> for t in range(96):
...     country = 150_000 * (1 + 0.25 * math.sin(2 * math.pi * t / 70))
...     season = 1 + 0.12 * math.cos(2 * math.pi * t / 12)
...     share = 2_000 / 150_000 * (1.2 if t >= 60 else 1.0)
...     count = round(country * share * season * math.exp(rng.gauss(0, 0.02)))
...     out = bank.learn(rows, np.array([[count, country], [count // 10, country]]))
...     alarms += [(t, int(r), int(out.direction[r])) for r in np.flatnonzero(out.alarm)]
>>> [a for a in alarms if a[1] == 0][0]
(62, 0, 1)
>>> all(t >= 60 for t, _, _ in alarms)
True

References: as :mod:`tutka.detectors.relative_shift`.
"""

from __future__ import annotations

import math
from typing import ClassVar

import numpy as np
import numpy.typing as npt

from tutka.detectors.bank.base import BankAssessment, alarms, capped, float_type, state_of
from tutka.detectors.bank.rows import BoolArray, Column, ColumnBank, Columns, FloatArray, IntArray
from tutka.detectors.bank.seasonal_baseline import medians
from tutka.detectors.base import JSONObject, JSONValue, integer, params_json
from tutka.detectors.relative_shift import (
    CENTRED,
    MAD_TO_SIGMA,
    MEDIAN_VARIANCE,
    RelativeShift,
    RelativeShiftParams,
    read_floats,
)

#: The place of the centre of the 13-month window, counted back from its newest month.
HALF: int = CENTRED // 2


class RelativeShiftBank(ColumnBank):
    """Moving-window test for a lasting change of a log share, for many series (see the module).

    Args:
        params: the reference's hyperparameters (one set for every row).
        dtype: the float type of the stored deviations and differences, float64 (the reference
            to rounding) or float32.
    """

    name: ClassVar[str] = RelativeShift.name

    def __init__(
        self, params: RelativeShiftParams | None = None, dtype: npt.DTypeLike = np.float64
    ) -> None:
        p = params if params is not None else RelativeShiftParams()
        self.params = p
        self.dtype = float_type(dtype)
        self.width = p.baseline + p.longest_window  # the deseasonalised values kept
        self.kept_counts = p.longest_window + 1
        self.columns = Columns()
        self.columns.add("seen", np.int32, 0)
        self.columns.add("y", np.float64, np.nan, (CENTRED,))
        self.columns.add("s", np.float64, np.nan, (self.width,))
        self.columns.add("counts", np.float64, np.nan, (self.kept_counts,))
        self.columns.add("deviations", self.dtype, np.nan, (p.season, p.seasonal_years))
        self.columns.add("deviation_count", np.int16, 0, (p.season,))
        self.columns.add("diffs", self.dtype, np.nan, (p.scale_months,))
        self.columns.add("diff_count", np.int32, 0)
        self.columns.add("sigma", np.float64, np.nan)  # NaN: stale, recomputed when needed

    # (rows: grow, reset and bytes_per_row come from ColumnBank)

    # -- the detector ----------------------------------------------------------------------------
    def update(self, rows: IntArray, x: FloatArray) -> None:
        """Learn ``x`` without assessing it."""
        self.learn(rows, x)

    def learn(
        self, rows: IntArray, x: FloatArray, threshold: FloatArray | None = None
    ) -> BankAssessment:
        """Assess then learn ``x[i] = (count, reference)`` for ``rows[i]`` (see Bank).

        As the reference's ``learn``: quiet (score 0 at the count) without a positive reference,
        before the calendar month has a seasonal factor or the noise a scale, or when no window
        is material.
        """
        p, cols = self.params, self.columns
        points = np.asarray(x, dtype=np.float64)
        if points.size == 0:
            points = points.reshape(0, 2)
        if points.ndim != 2 or points.shape[1] != 2 or len(points) != len(rows):
            raise ValueError(
                f"relative_shift takes a (count, reference) pair per row: shape ({len(rows)}, 2),"
                f" not {points.shape}"
            )
        value, reference = points[:, 0], points[:, 1]
        count = len(rows)
        seen = cols["seen"][rows].astype(np.int64)
        absent = (reference <= 0) | (value < 0)  # the reference's _log_share is None
        with np.errstate(invalid="ignore", divide="ignore"):
            y = np.where(absent, np.nan, np.log(value + p.offset) - np.log(reference))
        phase = seen % p.season
        kept = np.minimum(cols["deviation_count"][rows, phase].astype(np.int64), p.seasonal_years)
        has_factor = kept >= p.min_seasonal_years
        factor = np.full(count, np.nan)
        if has_factor.any():
            at = rows[has_factor]
            factor[has_factor] = counted_medians(
                cols["deviations"][at, phase[has_factor]].astype(np.float64, copy=False),
                kept[has_factor],
            )
        s = y - factor  # NaN without a factor or a log share
        ready = self._diff_kept(rows) >= p.min_differences

        score = np.zeros(count)
        baseline = value.copy()
        direction = np.zeros(count, dtype=np.int8)
        judged = ~absent & has_factor & ready
        sigma = np.full(count, np.nan)
        if judged.any():
            sigma = self._sigma(rows, judged)
            judged &= sigma > 0  # False for NaN as well
        if judged.any():
            found, z, change = self._best_window(
                rows[judged], seen[judged], s[judged], sigma[judged]
            )
            if found.any():
                at = np.flatnonzero(judged)[found]
                z, change = z[found], change[found]
                score[at] = capped(np.abs(z))
                offset = p.offset
                baseline[at] = np.maximum((value[at] + offset) * np.exp(-change) - offset, 0.0)
                direction[at] = np.where(z > 0, 1, -1)
        self._update(rows, seen, value, y, s)
        limit = None if threshold is None else np.asarray(threshold, dtype=np.float64)
        return BankAssessment(
            score, baseline, direction, ready, alarms(ready, score, p.threshold, limit)
        )

    def _diff_kept(self, rows: IntArray) -> IntArray:
        kept: IntArray = np.minimum(
            self.columns["diff_count"][rows].astype(np.int64), self.params.scale_months
        )
        return kept

    def _sigma(self, rows: IntArray, judged: BoolArray) -> FloatArray:
        """σ of one month per row (``judged`` rows; NaN elsewhere), recomputing the stale ones."""
        cols = self.columns
        sigma: FloatArray = cols["sigma"][rows].astype(np.float64)
        stale = judged & np.isnan(sigma)
        if stale.any():
            at = rows[stale]
            ordered = np.sort(cols["diffs"][at], axis=1).astype(np.float64, copy=False)
            kept = self._diff_kept(at)
            centre = middle_of_sorted(ordered, kept)
            mad = absolute_deviation_median(ordered, kept, centre)
            fresh = MAD_TO_SIGMA * mad / math.sqrt(2)
            sigma[stale] = fresh
            cols["sigma"][at] = fresh
        return sigma

    def _best_window(
        self, rows: IntArray, seen: IntArray, s: FloatArray, sigma: FloatArray
    ) -> tuple[BoolArray, FloatArray, FloatArray]:
        """Per row: whether a material window exists, and the best one's z and change.

        The best is the first ``k`` with the largest ``|z|`` (a later one must exceed it).
        """
        p, cols = self.params, self.columns
        width, b = self.width, p.baseline
        # The kept deseasonalised values oldest first, then this one: the reference's ``values``.
        slots = (seen[:, None] - width + np.arange(width)[None, :]) % width
        values = np.empty((len(rows), width + 1))
        values[:, :width] = np.take_along_axis(cols["s"][rows], slots, axis=1)
        values[:, width] = s
        finite = ~np.isnan(values)
        # How many known values lie before each place, to count a window's by a subtraction.
        known = np.zeros((len(rows), width + 2), dtype=np.int64)
        np.cumsum(finite, axis=1, out=known[:, 1:])
        zeros = np.where(finite, values, 0.0)
        counts = cols["counts"][rows]
        found = np.zeros(len(rows), dtype=bool)
        best_z = np.zeros(len(rows))
        best_change = np.zeros(len(rows))
        least_base = (b + 1) // 2
        for k in range(p.shortest_window, p.longest_window + 1):
            end = width + 1 - k
            recent = known[:, width + 1] - known[:, end]
            in_base = known[:, end] - known[:, end - b]
            usable = (recent > 0) & (seen >= k) & (in_base >= least_base)
            if not usable.any():
                continue
            with np.errstate(invalid="ignore", divide="ignore"):
                mean = zeros[:, end:].sum(axis=1) / recent
            change = mean - counted_medians(values[:, end - b : end], in_base)
            before = np.take_along_axis(counts, ((seen - k) % self.kept_counts)[:, None], 1)[:, 0]
            relative = np.abs(np.expm1(change))
            material = ~((relative < p.min_change) | (before * relative < p.min_persons))
            with np.errstate(invalid="ignore", divide="ignore"):
                z = change / (sigma * math.sqrt(1 / k + MEDIAN_VARIANCE / b))
            better = usable & material & (~found | (np.abs(z) > np.abs(best_z)))
            best_z = np.where(better, z, best_z)
            best_change = np.where(better, change, best_change)
            found |= better
        return found, best_z, best_change

    def _update(
        self, rows: IntArray, seen: IntArray, value: FloatArray, y: FloatArray, s: FloatArray
    ) -> None:
        """Fold the release in, as the reference's ``update``.

        The difference (when this value and the last are known), the deseasonalised value, the
        count, the log share, and the seasonal deviation of the month six back once its centred
        window is complete.
        """
        p, cols = self.params, self.columns
        width = self.width
        previous = cols["s"][rows, (seen - 1) % width].astype(np.float64)  # NaN at first
        differs = ~np.isnan(previous) & ~np.isnan(s) & (seen > 0)
        if differs.any():
            at = rows[differs]
            n = cols["diff_count"][at].astype(np.int64)
            cols["diffs"][at, n % p.scale_months] = s[differs] - previous[differs]
            cols["diff_count"][at] = _wrapped(n + 1, p.scale_months)
            cols["sigma"][at] = np.nan
        cols["s"][rows, seen % width] = s
        cols["counts"][rows, seen % self.kept_counts] = value
        cols["y"][rows, seen % CENTRED] = y
        full = seen + 1 >= CENTRED
        if full.any():
            at, now = rows[full], seen[full]
            window = cols["y"][at].astype(np.float64)
            centre = window[np.arange(len(at)), (now - HALF) % CENTRED]
            learns = ~np.isnan(centre)
            if learns.any():
                at, now = at[learns], now[learns]
                deviation = centre[learns] - medians(window[learns])
                centre_phase = (now - HALF) % p.season
                n = cols["deviation_count"][at, centre_phase].astype(np.int64)
                cols["deviations"][at, centre_phase, n % p.seasonal_years] = deviation
                cols["deviation_count"][at, centre_phase] = _wrapped(n + 1, p.seasonal_years)
        cols["seen"][rows] = seen + 1

    # -- snapshots (the reference's JSON) --------------------------------------------------------
    def export(self, row: int) -> JSONObject:
        """Row ``row`` as the reference's snapshot: ``RelativeShift.from_snapshot`` reads it."""
        p, cols = self.params, self.columns
        seen = int(cols["seen"][row])
        deviations: list[JSONValue] = [
            _ring(cols["deviations"][row, phase], int(cols["deviation_count"][row, phase]))
            for phase in range(p.season)
        ]
        return {
            "v": RelativeShift.STATE_VERSION,
            "detector": self.name,
            "params": params_json(p),
            "state": {
                "seen": seen,
                "y": _ring(cols["y"][row], seen),
                "deviations": deviations,
                "s": _ring(cols["s"][row], seen),
                "counts": _ring(cols["counts"][row], seen),
                "diffs": _ring(cols["diffs"][row], int(cols["diff_count"][row])),
            },
        }

    def load(self, row: int, snapshot: JSONObject) -> None:
        """Set row ``row`` from a reference snapshot (``ValueError`` for another detector).

        The rings' places follow from the observation count, so the log shares, deseasonalised
        values and counts must be as many as the reference keeps after ``seen`` observations.
        """
        p, cols = self.params, self.columns
        state = state_of(snapshot, self.name, RelativeShift.STATE_VERSION)
        seen = integer(state["seen"])
        deviations = state["deviations"]
        if not isinstance(deviations, list) or len(deviations) != p.season:
            raise ValueError(f"relative_shift state needs {p.season} seasonal deviation lists")
        self.reset(row)
        cols["seen"][row] = seen
        _load_ring(cols["y"], row, read_floats(state["y"]), seen, exact=True)
        _load_ring(cols["s"], row, read_floats(state["s"]), seen, exact=True)
        _load_ring(cols["counts"], row, read_floats(state["counts"]), seen, exact=True)
        diffs = read_floats(state["diffs"])
        _load_ring(cols["diffs"], row, diffs, len(diffs), exact=False)
        cols["diff_count"][row] = len(diffs)
        for phase, kept in enumerate(deviations):
            found = read_floats(kept)
            if len(found) > p.seasonal_years:
                raise ValueError("relative_shift state does not match its parameters")
            cols["deviations"][row, phase, : len(found)] = found
            cols["deviation_count"][row, phase] = len(found)


def counted_medians(values: FloatArray, counts: IntArray) -> FloatArray:
    """The median of each row's ``counts[i]`` non-NaN values (NaN for a row without any).

    :func:`~tutka.detectors.bank.seasonal_baseline.medians` for rows whose count of values is
    known: a sort (NaN last), then the middle one or the mean of the middle two, as
    ``statistics.median``.

    >>> counted_medians(np.array([[3.0, 1.0, np.nan], [4.0, 1.0, 2.0]]), np.array([2, 3])).tolist()
    [2.0, 2.0]
    """
    return middle_of_sorted(np.sort(values, axis=1), counts)


def middle_of_sorted(ordered: FloatArray, counts: IntArray) -> FloatArray:
    """:func:`counted_medians` of rows already sorted (their ``counts[i]`` values first)."""
    lo = (np.maximum(counts - 1, 0) // 2)[:, None]
    hi = np.minimum(counts // 2, ordered.shape[1] - 1)[:, None]
    middle = 0.5 * (
        np.take_along_axis(ordered, lo, axis=1)[:, 0]
        + np.take_along_axis(ordered, hi, axis=1)[:, 0]
    )
    out: FloatArray = np.where(counts > 0, middle, np.nan)
    return out


def absolute_deviation_median(
    ordered: FloatArray, counts: IntArray, centre: FloatArray
) -> FloatArray:
    """The median of ``|v − centre|`` over each sorted row's ``counts[i]`` values.

    When every row holds as many values (settled rows), without a second sort: the ``m + 1``
    values nearest the centre are a run of the sorted row, and the farthest of a run is one of
    its two ends, so the ``m``-th smallest distance (from 0) is the least, over the runs
    ``ordered[i … i + m]``, of the larger distance of the two ends. Each is a distance
    ``|v − centre|`` of the row: the result is exactly :func:`counted_medians` of them, which
    rows of different counts take.

    >>> row = np.array([[1.0, 2.0, 4.0, 7.0, 11.0, np.nan]])
    >>> absolute_deviation_median(row, np.array([5]), np.array([4.0])).tolist()
    [3.0]
    >>> counted_medians(np.abs(row - 4.0), np.array([5])).tolist()
    [3.0]
    """
    distance = np.abs(ordered - centre[:, None])
    if len(counts) and (counts == counts[0]).all() and counts[0] > 0:
        # Every row as full (the usual case once the rows are settled): the runs by slicing.
        n = int(counts[0])
        picked = [
            np.minimum.reduce(np.maximum(distance[:, : n - m], distance[:, m:n]), axis=1)
            for m in ((n - 1) // 2, n // 2)
        ]
        full: FloatArray = 0.5 * (picked[0] + picked[1])
        return full
    return counted_medians(distance, counts)


def _wrapped(count: IntArray, width: int) -> IntArray:
    """A ring's append count kept below ``2 * width``: the same place, the same fullness."""
    out: IntArray = np.where(count >= 2 * width, count - width, count)
    return out


def _ring(ring: npt.NDArray[np.generic], count: int) -> list[JSONValue]:
    """A ring's values, oldest first, after ``count`` appends; NaN as null (JSON has no NaN)."""
    width = len(ring)
    kept = min(count, width)
    out: list[JSONValue] = []
    for i in range(kept):
        v = float(ring[(count - kept + i) % width])
        out.append(None if math.isnan(v) else v)
    return out


def _load_ring(column: Column, row: int, values: list[float], count: int, exact: bool) -> None:
    """Put ``values`` (oldest first) in ``row``'s ring as they stand after ``count`` appends."""
    width = column.shape[1]
    if len(values) > width or (exact and len(values) != min(count, width)):
        raise ValueError("relative_shift state does not match its parameters")
    for age, v in enumerate(reversed(values)):
        column[row, (count - 1 - age) % width] = v
