"""CUSUMBank: the two-sided Page CUSUM of :mod:`tutka.detectors.cusum` over many series at once.

Method: the reference's, branch for branch (read its module for the why): each row's count is
deseasonalised by a :class:`~tutka.detectors.bank.deseasonalise.DeseasonaliserBank`, its
standardised residual feeds two Page sums, and a row then takes one of four paths — *adopt* (a
sum reached ``threshold``: the level becomes the mean since the run began), *settling* (an
adopted level is a running mean), *frozen* (a run is under way: the model learns nothing), or
*learn* (the run ended without an alarm: replay what was skipped, then learn). Each path is a
mask over the release's rows; the replay of skipped values loops over at most
``adopt_window - 1`` steps, every row at once.

State per row: the deseasonaliser's, the noise variance and the two sums (float type of the
bank), four counters (int16), and the last ``adopt_window`` deseasonalised values (a ring
whose position follows from the observation count). With the defaults that is 248 bytes in
float64 and 136 in float32.

Example: the reference's doctest, for the reference's series and the same series halved.

>>> import math, random
>>> import numpy as np
>>> rng = random.Random(7)
>>> def level(t):
...     return 2000 * (1 + 0.15 * math.sin(2 * math.pi * t / 12)) * (1.25 if 60 <= t < 100 else 1)
>>> xs = [round(rng.gauss(level(t), 1.5 * math.sqrt(level(t)))) for t in range(144)]
>>> bank = CUSUMBank()
>>> bank.grow(2)
>>> rows = np.array([0, 1])
>>> found = []
>>> for t, x in enumerate(xs):
...     out = bank.learn(rows, np.array([x, x / 2]))
...     found += [(t, int(r), int(out.direction[r])) for r in np.flatnonzero(out.alarm)]
>>> [f for f in found if f[1] == 0]
[(61, 0, 1), (101, 0, -1)]

References: as :mod:`tutka.detectors.cusum`.
"""

from __future__ import annotations

import math
from typing import ClassVar

import numpy as np
import numpy.typing as npt

from tutka.detectors.bank.base import BankAssessment, alarms, capped, float_type, state_of
from tutka.detectors.bank.deseasonalise import DeseasonalisedBank, DeseasonaliserBank, prefixes
from tutka.detectors.bank.rows import Columns, FloatArray, IntArray
from tutka.detectors.base import JSONObject, JSONValue, floats, integer, number, params_json
from tutka.detectors.cusum import CUSUM, CUSUMParams

#: The float state per row, in the column ``sums``: the noise variance and the two Page sums.
SUMS = ("var", "pos", "neg")
VAR, POS, NEG = range(3)
#: The counters per row, in the column ``counts`` (int16: none exceeds ``adopt_window``).
COUNTS = ("pos_run", "neg_run", "frozen", "settling")
POS_RUN, NEG_RUN, FROZEN, SETTLING = range(4)


class CUSUMBank(DeseasonalisedBank):
    """Two-sided Page CUSUM on deseasonalised residuals, for many series (see the module).

    Args:
        params: the reference's hyperparameters (one set for every row).
        dtype: the stored float type, float64 (the reference to rounding) or float32.
    """

    name: ClassVar[str] = CUSUM.name

    def __init__(
        self, params: CUSUMParams | None = None, dtype: npt.DTypeLike = np.float64
    ) -> None:
        p = params if params is not None else CUSUMParams()
        self.params = p
        self.dtype = float_type(dtype)
        self.model = DeseasonaliserBank(
            p.season, p.warmup, p.offset, p.log, p.alpha_level, p.alpha_season, self.dtype
        )
        # Columns read and written together are stored together: one gather and one scatter.
        self.columns = Columns()
        self.columns.add("sums", self.dtype, 0.0, (len(SUMS),))
        self.columns.add("counts", np.int16, 0, (len(COUNTS),))
        self.columns.add("recent", self.dtype, 0.0, (p.adopt_window,))

    # -- the detector ----------------------------------------------------------------------------
    def learn(
        self, rows: IntArray, x: FloatArray, threshold: FloatArray | None = None
    ) -> BankAssessment:
        """Assess then learn ``x[i]`` for ``rows[i]``, as the reference's ``learn`` (see Bank)."""
        x = np.asarray(x, dtype=np.float64)
        n_obs = len(rows)
        score = np.zeros(n_obs)
        baseline = x.copy()
        direction = np.zeros(n_obs, dtype=np.int8)
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
        p = self.params
        done = self.model.warm_up(rows, u).done
        if done.any():
            # The warm-up residuals miss the error of the fitted offsets and level (reference).
            scale = self.model.columns["scale"][rows[done]].astype(np.float64)
            widen = 1.0 + p.season / p.warmup + 1.0 / p.season
            self.columns["sums"][rows[done], VAR] = scale**2 * widen

    def _step(
        self, rows: IntArray, u: FloatArray
    ) -> tuple[FloatArray, FloatArray, npt.NDArray[np.int8]]:
        """Assess and learn ready rows; returns (score, baseline, direction)."""
        p, model, cols = self.params, self.model, self.columns
        positions = model.positions(rows)
        offsets = model.seasonal(rows, positions)
        expected = model.level(rows) + offsets
        sums = cols["sums"][rows].astype(np.float64)
        var = sums[:, VAR]
        noise = np.maximum(var, model.count_variance(expected, u)) if p.count_noise else var
        sigma = np.sqrt(np.maximum(noise, p.min_scale * p.min_scale))
        s = u - offsets
        z = (u - expected) / sigma
        pos = np.maximum(0.0, sums[:, POS] + z - p.drift)
        neg = np.maximum(0.0, sums[:, NEG] - z - p.drift)
        up = (pos > neg) | ((pos == neg) & (z >= 0))
        direction = np.where(up, 1, -1).astype(np.int8)
        score = capped(np.maximum(pos, neg))
        baseline = model.inverse(expected)
        self._learn(rows, u, s, expected, var, pos, neg)
        return score, baseline, direction

    def _learn(
        self,
        rows: IntArray,
        u: FloatArray,
        s: FloatArray,
        expected: FloatArray,
        var: FloatArray,
        pos: FloatArray,
        neg: FloatArray,
    ) -> None:
        """The reference's ``update`` for ready rows: one of four paths per row."""
        p, cols = self.params, self.columns
        window = p.adopt_window
        newest = self.model.columns["n"][rows].astype(np.int64) - p.warmup
        cols["recent"][rows, newest % window] = s
        counts = cols["counts"][rows].astype(np.int64)
        pos_run = np.where(pos > 0, counts[:, POS_RUN] + 1, 0)
        neg_run = np.where(neg > 0, counts[:, NEG_RUN] + 1, 0)
        frozen, settling = counts[:, FROZEN], counts[:, SETTLING]
        adopt = np.maximum(pos, neg) >= p.threshold
        settle = ~adopt & (settling > 0)
        freeze = ~adopt & ~settle & ((pos > 0) | (neg > 0)) & (frozen < window - 1)
        catch = ~adopt & ~settle & ~freeze
        residual = u - expected
        # learn: replay the skipped values, then learn this one's residual (as when settling)
        replay = catch & (frozen > 0)
        if replay.any():
            var[replay] = self._catch_up(rows[replay], newest[replay], frozen[replay], var[replay])
            frozen = np.where(replay, 0, frozen)
        var = np.where(catch | settle, var + p.alpha_scale * (residual * residual - var), var)
        # settling: a running mean of the new regime
        settling = np.where(settle, settling + 1, settling)
        gain = np.where(settle, 1.0 / np.maximum(settling, 1), np.nan)
        settling = np.where(settle & (settling >= window), 0, settling)
        frozen = np.where(freeze, frozen + 1, frozen)
        # adopt: the level becomes the mean since the run began, and the sums start again
        if adopt.any():
            runs = np.where(pos >= neg, pos_run, neg_run)
            settling[adopt] = self._adopt(rows[adopt], newest[adopt], runs[adopt])
            pos = np.where(adopt, 0.0, pos)
            neg = np.where(adopt, 0.0, neg)
            pos_run = np.where(adopt, 0, pos_run)
            neg_run = np.where(adopt, 0, neg_run)
            frozen = np.where(adopt, 0, frozen)
        self.model.update(
            rows,
            u,
            freeze_level=adopt | freeze,
            freeze_season=(adopt & p.protect) | freeze,
            gain=gain,
        )
        cols["sums"][rows] = np.column_stack((var, pos, neg))
        cols["counts"][rows] = np.column_stack((pos_run, neg_run, frozen, settling))

    def _recent(self, rows: IntArray, newest: IntArray, ages: IntArray) -> FloatArray:
        """The deseasonalised value ``ages[i, j]`` observations before row ``i``'s newest."""
        slots = (newest[:, None] - ages) % self.params.adopt_window
        values: FloatArray = self.columns["recent"][rows[:, None], slots].astype(np.float64)
        return values

    def _catch_up(
        self, rows: IntArray, newest: IntArray, frozen: IntArray, var: FloatArray
    ) -> FloatArray:
        """Replay the ``frozen`` skipped values into the noise and the model; returns the noise."""
        order = np.argsort(-frozen, kind="stable")
        rows, newest, frozen, var = rows[order], newest[order], frozen[order], var[order]
        steps = prefixes(frozen)
        # column j: the j-th skipped value, oldest first (ages frozen, frozen - 1, ..., 1)
        ages = frozen[:, None] - np.arange(len(steps))[None, :]
        skipped = self._recent(rows, newest, np.maximum(ages, 0))
        level = self.model.level(rows)  # frozen since the run began
        alpha = self.params.alpha_scale
        for j, k in enumerate(steps):
            r = skipped[:k, j] - level[:k]
            var[:k] += alpha * (r * r - var[:k])
        self.model.catch_up(rows, skipped, frozen)
        out = np.empty_like(var)
        out[order] = var
        return out

    def _adopt(self, rows: IntArray, newest: IntArray, runs: IntArray) -> IntArray:
        """Reset the level to the mean since each run began; returns the new settling counts."""
        window = self.params.adopt_window
        kept = np.minimum(newest + 1, window)
        counts = np.minimum(runs, kept)
        values = self._recent(rows, newest, np.arange(int(counts.max()))[None, :])
        # Adoptions are rare (one per shift): an exact sum per row, as the reference's fsum.
        levels = np.array([
            math.fsum(values[i, : counts[i]][::-1]) / counts[i] for i in range(len(rows))
        ])  # fmt: skip
        self.model.reset_level(rows, levels)
        settling: IntArray = np.where(counts < window, counts, 0)
        return settling

    # -- snapshots (the reference's JSON) --------------------------------------------------------
    def export(self, row: int) -> JSONObject:
        """Row ``row`` as the reference's snapshot: ``CUSUM.from_snapshot`` reads it."""
        cols, window = self.columns, self.params.adopt_window
        seen = int(self.model.columns["n"][row]) - self.params.warmup
        kept = max(min(seen, window), 0)
        recent: list[JSONValue] = [
            float(cols["recent"][row, (seen - 1 - a) % window]) for a in reversed(range(kept))
        ]
        return {
            "v": CUSUM.STATE_VERSION,
            "detector": self.name,
            "params": params_json(self.params),
            "state": {
                "model": self.model.export(row),
                **{name: float(cols["sums"][row, i]) for i, name in enumerate(SUMS)},
                **{name: int(cols["counts"][row, i]) for i, name in enumerate(COUNTS)},
                "recent": recent,
            },
        }

    def load(self, row: int, snapshot: JSONObject) -> None:
        """Set row ``row`` from a reference snapshot (``ValueError`` for another detector)."""
        state = state_of(snapshot, self.name, CUSUM.STATE_VERSION)
        model = state["model"]
        if not isinstance(model, dict):
            raise ValueError("cusum state: model must be an object")
        self.reset(row)
        self.model.load(row, model)
        cols, window = self.columns, self.params.adopt_window
        cols["sums"][row] = [number(state[name]) for name in SUMS]
        cols["counts"][row] = [integer(state[name]) for name in COUNTS]
        recent = floats(state["recent"])
        seen = int(self.model.columns["n"][row]) - self.params.warmup
        for a, value in enumerate(reversed(recent[-window:])):
            cols["recent"][row, (seen - 1 - a) % window] = value
