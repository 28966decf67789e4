"""BOCPDBank: Bayesian online change-point detection (:mod:`tutka.detectors.bocpd`) for many series.

Method: the reference's (read its module for the why): each row's count is deseasonalised and
standardised by its warm-up level and scale, and the run-length posterior is updated exactly
under a Normal-Gamma prior with a constant hazard, run lengths capped at ``max_run``. The
reference works over run lengths one observation at a time; the bank works over a
(series x run lengths) matrix a release at a time. The predictive means, spreads and weights
that the reference keeps are derived from the posterior and the sums when a release comes, so
a row stores only what the reference serialises.

State per row: the deseasonaliser's, the warm-up level and scale (float64), the predictive
means of the last ``window - 1`` observations, and three run-length arrays (posterior, sums of
values and of squares), ``max_run + 1`` each: 1 040 bytes in float64 and 536 in float32 with the
defaults.

Example: the reference's doctest, for that series and the same series at a tenth.

>>> import math, random
>>> import numpy as np
>>> rng = random.Random(7)
>>> def level(t):
...     return 2000 * (1 + 0.15 * math.sin(2 * math.pi * t / 12)) * (1.25 if 60 <= t < 100 else 1)
>>> xs = [round(rng.gauss(level(t), 1.5 * math.sqrt(level(t)))) for t in range(144)]
>>> bank = BOCPDBank()
>>> bank.grow(2)
>>> rows = np.array([0, 1])
>>> found = []
>>> for t, x in enumerate(xs):
...     out = bank.learn(rows, np.array([x, x / 10]))
...     found += [(t, int(out.direction[0])) for _ in range(int(out.alarm[0]))]
>>> found
[(60, 1), (61, 1), (62, 1), (101, -1), (102, -1)]

References: as :mod:`tutka.detectors.bocpd`.
"""

from __future__ import annotations

import math
from typing import ClassVar, NamedTuple

import numpy as np
import numpy.typing as npt

from tutka.detectors.bank.base import BankAssessment, alarms, capped, float_type, state_of
from tutka.detectors.bank.deseasonalise import DeseasonalisedBank, DeseasonaliserBank
from tutka.detectors.bank.rows import BoolArray, Columns, FloatArray, IntArray
from tutka.detectors.base import JSONObject, JSONValue, floats, number, params_json
from tutka.detectors.bocpd import BOCPD, BOCPDParams, _tables

#: Rows assessed together at most (see :meth:`BOCPDBank.learn`).
CHUNK = 1024


class Derived(NamedTuple):
    """Per row and run length: predictive means, spreads and weights; per row: the mean."""

    means: FloatArray
    spreads: FloatArray
    weights: FloatArray
    mean: FloatArray


class BOCPDBank(DeseasonalisedBank):
    """Bayesian online change-point detection on deseasonalised counts, for many series.

    Args:
        params: the reference's hyperparameters (one set for every row).
        dtype: the stored float type of the run-length arrays and the recent predictive means,
            float64 (the reference to rounding) or float32.
    """

    name: ClassVar[str] = BOCPD.name

    def __init__(
        self, params: BOCPDParams | None = None, dtype: npt.DTypeLike = np.float64
    ) -> None:
        p = params if params is not None else BOCPDParams()
        self.params = p
        self.dtype = float_type(dtype)
        self.model = DeseasonaliserBank(
            p.season, p.warmup, p.offset, p.log, 0.0, p.alpha_season, self.dtype
        )
        self.hazard = 1.0 / p.expected_run
        tables = _tables(p)
        self.gain = np.array(tables.gain)
        self.exponents = np.array(tables.exponents)
        self.const = np.array(tables.const)
        self.kappas = np.array(tables.kappas)
        self.inv_kappas = np.array(tables.inv_kappas)
        self.inv_runs = np.array(tables.inv_runs)
        size = p.max_run + 1
        self.columns = Columns()
        self.columns.add("ref", np.float64, 0.0)
        self.columns.add("scale", np.float64, 1.0)
        self.columns.add("probs", self.dtype, 0.0, (size,))
        self.columns.add("sum1", self.dtype, 0.0, (size,))
        self.columns.add("sum2", self.dtype, 0.0, (size,))
        self.columns.add("before", self.dtype, 0.0, (max(p.window - 1, 1),))

    # -- the detector ----------------------------------------------------------------------------
    def learn(
        self, rows: IntArray, x: FloatArray, threshold: FloatArray | None = None
    ) -> BankAssessment:
        """Assess then learn ``x[i]`` for ``rows[i]``, as the reference's ``learn`` (see Bank).

        A wide release is taken ``CHUNK`` rows at a time: the run-length matrices of a chunk
        stay in the cache (twice the speed at 10 000 series; the rows are independent).
        """
        x = np.asarray(x, dtype=np.float64)
        if len(rows) <= CHUNK:
            return self._learn(rows, x, threshold)
        parts = [
            self._learn(
                rows[i : i + CHUNK],
                x[i : i + CHUNK],
                None if threshold is None else np.asarray(threshold)[i : i + CHUNK],
            )
            for i in range(0, len(rows), CHUNK)
        ]
        return BankAssessment(*(np.concatenate(field) for field in zip(*parts, strict=True)))

    def _learn(self, rows: IntArray, x: FloatArray, threshold: FloatArray | None) -> BankAssessment:
        count = len(rows)
        score = np.zeros(count)
        baseline = x.copy()
        direction = np.zeros(count, dtype=np.int8)
        ready = self.model.ready(rows)
        u = self.model.transform(x)
        if not ready.all():
            self._warm_up(rows[~ready], u[~ready])
        if ready.any():
            s, b, d = self._step(rows[ready], u[ready])
            score[ready], baseline[ready], direction[ready] = s, b, d
        own = self.params.threshold
        limit = None if threshold is None else np.asarray(threshold, dtype=np.float64)
        return BankAssessment(score, baseline, direction, ready, alarms(ready, score, own, limit))

    def _warm_up(self, rows: IntArray, u: FloatArray) -> None:
        """Buffer the warm-up; seed the posterior of rows that complete it (the reference's)."""
        p, model, cols = self.params, self.model, self.columns
        done, warm = model.warm_up(rows, u)
        if not done.any():
            return
        rows = rows[done]
        level = model.level(rows)
        fitted = model.columns["scale"][rows].astype(np.float64)
        floor = np.sqrt(model.count_variance(level, level)) if p.count_noise else 0.0
        scale = np.maximum(np.maximum(fitted, floor), p.min_scale)
        n = min(warm.shape[1], p.max_run)
        centre = np.array([math.fsum(row) for row in warm[:, -n:].tolist()]) / n
        mean = (centre - level) / scale
        var = (fitted / scale) ** 2 * (1.0 + p.season / p.warmup)
        runs = np.minimum(np.arange(p.max_run + 1), n)[None, :]
        sum1 = runs * mean[:, None]
        sum2 = runs * (mean * mean + var)[:, None]
        probs = np.zeros((len(rows), p.max_run + 1))
        probs[:, 0] = self.hazard
        probs[:, n] = 1.0 - self.hazard
        cols["ref"][rows] = level
        cols["scale"][rows] = scale
        cols["probs"][rows] = probs
        cols["sum1"][rows] = sum1
        cols["sum2"][rows] = sum2

    def _derive(self, probs: FloatArray, sum1: FloatArray, sum2: FloatArray) -> Derived:
        """The reference's ``_derive``, for every row at once."""
        p = self.params
        rest = 1.0 - probs[:, 0]
        centre = (probs * sum1 * self.inv_runs).sum(axis=1)
        centre = np.where(rest > 0, centre / np.where(rest > 0, rest, 1.0), 0.0)
        k0, b0 = p.prior_kappa, p.prior_beta
        k0c, k0cc = k0 * centre, k0 * centre * centre
        means = (k0c[:, None] + sum1) * self.inv_kappas
        rates = b0 + 0.5 * (sum2 + k0cc[:, None] - self.kappas * means * means)
        rates = np.maximum(b0, rates)  # never below the prior's; rounding can take it there
        return Derived(
            means,
            self.gain / rates,
            probs * self.const / np.sqrt(rates),
            (probs * means).sum(axis=1),
        )

    def _step(
        self, rows: IntArray, u: FloatArray
    ) -> tuple[FloatArray, FloatArray, npt.NDArray[np.int8]]:
        """Assess and learn ready rows; returns (score, baseline, direction)."""
        p, model, cols = self.params, self.model, self.columns
        probs = cols["probs"][rows].astype(np.float64)
        sum1 = cols["sum1"][rows].astype(np.float64)
        sum2 = cols["sum2"][rows].astype(np.float64)
        ref = cols["ref"][rows].astype(np.float64)
        scale = cols["scale"][rows].astype(np.float64)
        derived = self._derive(probs, sum1, sum2)
        mean = derived.mean
        seasonal = model.seasonal_now(rows)
        expected = seasonal + ref + scale * mean
        deviation = u - expected
        if p.count_noise:
            nominal = np.maximum(scale, np.sqrt(model.count_variance(expected, expected)))
            actual = np.maximum(scale, np.sqrt(model.count_variance(expected, u)))
            deviation = np.where(deviation < 0, deviation * (nominal / actual), deviation)
        v = mean + deviation / scale
        d = v[:, None] - derived.means
        joint = derived.weights * (1.0 + d * d * derived.spreads) ** self.exponents
        total = joint.sum(axis=1)
        odd = ~(total > 0) | np.isinf(total)
        window = joint[:, : p.window].sum(axis=1)
        score = capped(np.where(odd, 1.0, window / np.where(odd, 1.0, total)))
        # what was expected before the window began (the oldest recent predictive mean)
        n = model.columns["n"][rows].astype(np.int64) - p.warmup  # observations since warm-up
        before = mean.copy()
        if p.window > 1:
            width = p.window - 1
            kept = np.minimum(n, width)
            oldest = cols["before"][rows, (n - kept) % width].astype(np.float64)
            before = np.where(kept > 0, oldest, mean)
        baseline = seasonal + ref + scale * before
        direction = np.where(u >= baseline, 1, -1).astype(np.int8)
        alarm = score >= p.threshold
        self._fold(rows, u, v, joint, total, odd, mean, n, alarm)
        return score, model.inverse(baseline), direction

    def _fold(
        self,
        rows: IntArray,
        u: FloatArray,
        v: FloatArray,
        joint: FloatArray,
        total: FloatArray,
        odd: BoolArray,
        mean: FloatArray,
        n: IntArray,
        alarm: BoolArray,
    ) -> None:
        """The reference's ``_fold``: the posterior grows one step; the offsets learn."""
        p, cols = self.params, self.columns
        if odd.any():
            joint = joint.copy()
            joint[odd] = 0.0
            joint[odd, 0] = 1.0
            total = np.where(odd, 1.0, total)
        grown = joint * ((1.0 - self.hazard) / total)[:, None]
        probs = np.empty_like(grown)
        probs[:, 0] = self.hazard
        probs[:, 1:] = grown[:, :-1]
        probs[:, -1] += grown[:, -1]  # the last bin keeps the mass of longer runs
        vv = v * v
        sum1 = cols["sum1"][rows].astype(np.float64)
        sum2 = cols["sum2"][rows].astype(np.float64)
        sum1[:, 1:] = sum1[:, :-1] + v[:, None]
        sum1[:, 0] = 0.0
        sum2[:, 1:] = sum2[:, :-1] + vv[:, None]
        sum2[:, 0] = 0.0
        cols["probs"][rows] = probs
        cols["sum1"][rows] = sum1
        cols["sum2"][rows] = sum2
        if p.window > 1:
            cols["before"][rows, n % (p.window - 1)] = mean
        model = self.model
        ref = cols["ref"][rows].astype(np.float64)
        model.reset_level(rows, ref + cols["scale"][rows].astype(np.float64) * mean)
        model.update(
            rows, u, freeze_level=np.ones(len(rows), dtype=bool), freeze_season=alarm & p.protect
        )

    # -- snapshots (the reference's JSON) --------------------------------------------------------
    def export(self, row: int) -> JSONObject:
        """Row ``row`` as the reference's snapshot: ``BOCPD.from_snapshot`` reads it."""
        p, cols = self.params, self.columns
        n = int(self.model.columns["n"][row]) - p.warmup
        width = p.window - 1
        kept = max(min(n, width), 0)
        before: list[JSONValue] = [
            float(cols["before"][row, (n - kept + i) % width]) for i in range(kept)
        ]
        return {
            "v": BOCPD.STATE_VERSION,
            "detector": self.name,
            "params": params_json(p),
            "state": {
                "model": self.model.export(row),
                "ref": float(cols["ref"][row]),
                "scale": float(cols["scale"][row]),
                "before": before,
                "probs": _json(cols["probs"][row]),
                "sum1": _json(cols["sum1"][row]),
                "sum2": _json(cols["sum2"][row]),
            },
        }

    def load(self, row: int, snapshot: JSONObject) -> None:
        """Set row ``row`` from a reference snapshot (``ValueError`` for another detector)."""
        p, cols = self.params, self.columns
        state = state_of(snapshot, self.name, BOCPD.STATE_VERSION)
        model = state["model"]
        if not isinstance(model, dict):
            raise ValueError("bocpd state: model must be an object")
        size = p.max_run + 1
        probs, sum1, sum2 = floats(state["probs"]), floats(state["sum1"]), floats(state["sum2"])
        if not len(probs) == len(sum1) == len(sum2) == size:
            raise ValueError(f"bocpd state: run-length arrays must have {size} entries")
        self.reset(row)
        self.model.load(row, model)
        cols["ref"][row] = number(state["ref"])
        cols["scale"][row] = number(state["scale"])
        cols["probs"][row], cols["sum1"][row], cols["sum2"][row] = probs, sum1, sum2
        before = floats(state["before"])
        n = int(self.model.columns["n"][row]) - p.warmup
        for age, value in enumerate(reversed(before)):
            cols["before"][row, (n - 1 - age) % max(p.window - 1, 1)] = value


def _json(values: npt.NDArray[np.generic]) -> list[JSONValue]:
    return [float(v) for v in values]
