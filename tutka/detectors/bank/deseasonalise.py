"""Online seasonal adjustment of many monthly counts at once: the columnar Deseasonaliser.

Not a detector: the front end of :class:`~tutka.detectors.bank.cusum.CUSUMBank`, as
:class:`~tutka.detectors.deseasonalise.Deseasonaliser` is of the per-series CUSUM and BOCPD.
The arithmetic is the reference's, operation for operation, on the rows of a release at once:
a level and ``season`` offsets per row, learnt by EWMA after a warm-up that decomposes the
first ``warmup`` values classically.

State per row: the count of observations ``n`` (int32), the level (float64 always: it carries
the magnitude, and at log(100 000) = 11.5 float32 resolves only 1e-6, a fifth of the smallest
noise scale's per mille, which moved a CUSUM score by 0.01), and the scale and ``season``
offsets (small numbers about zero) in the bank's float type. The warm-up values are kept in
a pool of their own (float64),
a slot per series still warming up, returned when the warm-up ends: a bank of settled series
holds no warm-up buffers.

Example: the reference's doctest, for two series at once (the second twice the first).

>>> import numpy as np
>>> d = DeseasonaliserBank(season=4, warmup=8, log=False, alpha_level=0.5, alpha_season=0.0)
>>> d.grow(2)
>>> rows = np.array([0, 1])
>>> for t in range(8):
...     done = d.warm_up(rows, np.array([1.0, 2.0]) * (100.0 + [10.0, 0.0, -10.0, 0.0][t % 4]))
>>> done.done.tolist(), d.columns["level"].tolist()[:2], d.columns["offsets"][1].tolist()
([True, True], [100.0, 200.0], [20.0, 0.0, -20.0, 0.0])
>>> d.expected(rows).tolist()
[110.0, 220.0]
>>> d.update(rows, np.array([112.0, 224.0]))
>>> d.columns["level"].tolist()[:2]
[101.0, 202.0]
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from tutka.detectors.bank.base import BankAssessment
from tutka.detectors.bank.rows import BoolArray, Columns, FloatArray, IntArray
from tutka.detectors.base import JSONObject, JSONValue, floats, integer, number
from tutka.detectors.deseasonalise import check_warmup

#: exp() of anything larger overflows a float (as in the reference).
_MAX_EXP = 700.0


class WarmUp(NamedTuple):
    """Which rows an observation completed the warm-up of, and their deseasonalised values."""

    done: BoolArray
    deseasonalised: FloatArray


class DeseasonaliserBank:
    """Level + seasonal offsets of many transformed monthly counts (see the module).

    Args:
        season: observations per seasonal cycle.
        warmup: observations buffered before the first decomposition; at least ``2 * season``.
        offset: added to counts before taking logs.
        log: work on ``log(y + offset)`` rather than on ``y``.
        alpha_level: EWMA weight of a new deseasonalised value in the level.
        alpha_season: EWMA weight of a new value's deviation from the level in its offset.
        dtype: the float type of the stored scale and offsets (float64 or float32).
    """

    def __init__(
        self,
        season: int = 12,
        warmup: int = 24,
        offset: float = 1.0,
        log: bool = True,
        alpha_level: float = 0.1,
        alpha_season: float = 0.1,
        dtype: npt.DTypeLike = np.float64,
    ) -> None:
        check_warmup(season, warmup)
        self.season = season
        self.warmup = warmup
        self.offset = offset
        self.log = log
        self.alpha_level = alpha_level
        self.alpha_season = alpha_season
        self.columns = Columns()
        self.columns.add("n", np.int32, 0)
        self.columns.add("level", np.float64, 0.0)
        self.columns.add("scale", dtype, 0.0)
        self.columns.add("offsets", dtype, 0.0, (season,))
        self.columns.add("warm_slot", np.int32, -1)
        self.pool = self._empty_pool()
        self._free_slots: list[int] = []

    # -- rows ------------------------------------------------------------------------------------
    def grow(self, capacity: int) -> None:
        """Make room for ``capacity`` rows."""
        self.columns.grow(capacity)

    def reset(self, row: int) -> None:
        """Start ``row`` afresh (returning its warm-up slot, if it held one)."""
        slot = int(self.columns["warm_slot"][row])
        if slot >= 0:
            self._release([slot])
        self.columns.reset(row)

    def bytes_per_row(self) -> int:
        """Bytes of state a settled series holds (warm-up buffers are pooled, not counted)."""
        return self.columns.bytes_per_row()

    # -- units -----------------------------------------------------------------------------------
    def transform(self, y: FloatArray) -> FloatArray:
        """``log(max(y, 0) + offset)``, or ``y`` without logs."""
        if self.log:
            return np.log(np.maximum(y, 0.0) + self.offset)
        return y.astype(np.float64, copy=True)

    def inverse(self, u: FloatArray) -> FloatArray:
        """Back to counts: ``exp(u) - offset`` with logs."""
        if self.log:
            return np.exp(np.minimum(u, _MAX_EXP)) - self.offset
        return u

    def count_variance(self, expected: FloatArray, u: FloatArray) -> FloatArray:
        """Poisson counting noise of ``u`` expected at ``expected`` (see the reference)."""
        if self.log:
            return np.exp(np.minimum(-np.minimum(expected, u), _MAX_EXP))
        return np.maximum(np.maximum(expected, u), 0.0) + self.offset

    # -- the model -------------------------------------------------------------------------------
    def ready(self, rows: IntArray) -> BoolArray:
        """Whether each row has finished its warm-up."""
        ready: BoolArray = self.columns["n"][rows].astype(np.int64) >= self.warmup
        return ready

    def positions(self, rows: IntArray) -> IntArray:
        """The seasonal position of each row's next observation."""
        n: IntArray = self.columns["n"][rows].astype(np.int64)
        return n % self.season

    def seasonal_now(self, rows: IntArray) -> FloatArray:
        """Each row's offset at the position of its next observation."""
        return self.seasonal(rows, self.positions(rows))

    def level(self, rows: IntArray) -> FloatArray:
        """The rows' levels, as float64."""
        return self.columns["level"][rows].astype(np.float64)

    def seasonal(self, rows: IntArray, positions: IntArray) -> FloatArray:
        """The rows' offsets at ``positions``, as float64."""
        return self.columns["offsets"][rows, positions].astype(np.float64)

    def expected(self, rows: IntArray) -> FloatArray:
        """The transformed value each row expects next: level + that position's offset."""
        return self.level(rows) + self.seasonal(rows, self.positions(rows))

    def reset_level(self, rows: IntArray, levels: FloatArray) -> None:
        """Replace the rows' levels."""
        self.columns["level"][rows] = levels

    def update(
        self,
        rows: IntArray,
        u: FloatArray,
        *,
        freeze_level: BoolArray | None = None,
        freeze_season: BoolArray | None = None,
        gain: FloatArray | None = None,
    ) -> None:
        """Fold ``u`` into ready rows (each row at most once), as the reference's ``update``.

        ``freeze_level`` / ``freeze_season`` say per row what to leave; ``gain`` is the level's
        weight per row (NaN: ``alpha_level``).
        """
        cols = self.columns
        positions = self.positions(rows)
        level = self.level(rows)
        offsets = self.seasonal(rows, positions)
        alpha = np.full(len(rows), self.alpha_level)
        if gain is not None:
            alpha = np.where(np.isnan(gain), alpha, gain)
        moved = level + alpha * (u - offsets - level)
        if freeze_level is not None:
            moved = np.where(freeze_level, level, moved)
        learnt = offsets + self.alpha_season * (u - moved - offsets)
        if freeze_season is not None:
            learnt = np.where(freeze_season, offsets, learnt)
        cols["level"][rows] = moved
        cols["offsets"][rows, positions] = learnt
        cols["n"][rows] = cols["n"][rows].astype(np.int64) + 1

    def catch_up(self, rows: IntArray, values: FloatArray, counts: IntArray) -> None:
        """Replay the last ``counts[i]`` observations of each row, skipped while frozen.

        ``values[i, :counts[i]]`` are row ``i``'s deseasonalised values, oldest first. The rows
        are taken longest replay first, so that step ``j`` works on a prefix of them.
        """
        order = np.argsort(-counts, kind="stable")
        rows, values, counts = rows[order], values[order], counts[order]
        cols = self.columns
        level = self.level(rows)
        offsets = cols["offsets"][rows].astype(np.float64)
        start = cols["n"][rows].astype(np.int64) - counts
        at = np.arange(len(rows))
        for j, k in enumerate(prefixes(counts)):
            s = values[:k, j]
            moved = level[:k] + self.alpha_level * (s - level[:k])
            level[:k] = moved
            positions = (start[:k] + j) % self.season
            offsets[at[:k], positions] += self.alpha_season * (s - moved)
        cols["level"][rows] = level
        cols["offsets"][rows] = offsets

    def warm_up(self, rows: IntArray, u: FloatArray) -> WarmUp:
        """Buffer ``u`` for rows still warming up; decompose the rows whose warm-up it completes.

        Returns, per row, whether this observation completed its warm-up, and the deseasonalised
        warm-up values of the rows it completed (the reference's ``update`` returns them).
        """
        cols = self.columns
        slots = cols["warm_slot"][rows].astype(np.int64)
        new = slots < 0
        if new.any():
            slots[new] = self._take_slots(int(new.sum()))
            cols["warm_slot"][rows[new]] = slots[new]
        n = cols["n"][rows].astype(np.int64)
        self.pool["values"][slots, n] = u
        cols["n"][rows] = n + 1
        done: BoolArray = n + 1 == self.warmup
        if not done.any():
            return WarmUp(done, np.empty((0, self.warmup)))
        return WarmUp(done, self._initialise(rows[done], slots[done]))

    def _take_slots(self, count: int) -> IntArray:
        taken = [self._free_slots.pop() for _ in range(min(count, len(self._free_slots)))]
        fresh = count - len(taken)
        if fresh:
            first = self.pool.capacity
            self.pool.grow(max(2 * first, first + fresh, 8))
            self._free_slots.extend(range(self.pool.capacity - 1, first + fresh - 1, -1))
            taken.extend(range(first, first + fresh))
        return np.array(taken, dtype=np.int64)

    def _initialise(self, rows: IntArray, slots: IntArray) -> FloatArray:
        """The classical decomposition of the last whole cycles of each row's warm-up.

        Returns the rows' warm-up values with their seasonal offsets removed.
        """
        season, warm = self.season, self.pool["values"][slots]
        cycles = self.warmup // season
        start = self.warmup - cycles * season
        cycled = warm[:, start:].reshape(len(rows), cycles, season)
        means = cycled.sum(axis=2) / season
        deviations = cycled - means[:, :, None]
        by_column = deviations.sum(axis=1) / cycles  # column j is position (start + j) % season
        offsets = np.roll(by_column, start % season, axis=1)
        squares = ((deviations - by_column[:, None, :]) ** 2).sum(axis=(1, 2))
        cols = self.columns
        cols["offsets"][rows] = offsets
        cols["level"][rows] = means[:, -1]
        cols["scale"][rows] = np.sqrt(squares / ((cycles - 1) * (season - 1)))
        cols["warm_slot"][rows] = -1
        self._release(slots.tolist())
        deseasonalised: FloatArray = warm - offsets[:, np.arange(self.warmup) % season]
        return deseasonalised

    def _release(self, slots: list[int]) -> None:
        self._free_slots.extend(slots)
        if len(self._free_slots) == self.pool.capacity:
            # Every series has warmed up: give the buffers back until a new series comes.
            self.pool = self._empty_pool()
            self._free_slots = []

    def _empty_pool(self) -> Columns:
        pool = Columns(0)
        pool.add("values", np.float64, 0.0, (self.warmup,))
        return pool

    # -- snapshots (the reference's JSON) --------------------------------------------------------
    def export(self, row: int) -> JSONObject:
        """Row ``row`` as the reference ``Deseasonaliser.state()``."""
        cols = self.columns
        n = int(cols["n"][row])
        slot = int(cols["warm_slot"][row])
        warm: list[JSONValue] = (
            [float(v) for v in self.pool["values"][slot, :n]] if slot >= 0 and n else []
        )
        return {
            "n": n,
            "level": float(cols["level"][row]),
            "scale": float(cols["scale"][row]),
            "offsets": _json_floats(cols["offsets"][row]),
            "warm": warm if n < self.warmup else [],
        }

    def load(self, row: int, state: JSONObject) -> None:
        """Set row ``row`` from a reference ``Deseasonaliser.state()``."""
        offsets, warm = floats(state["offsets"]), floats(state["warm"])
        if len(offsets) != self.season or len(warm) > self.warmup:
            raise ValueError("deseasonaliser state does not match its season and warm-up")
        self.reset(row)
        cols = self.columns
        cols["n"][row] = integer(state["n"])
        cols["level"][row] = number(state["level"])
        cols["scale"][row] = number(state["scale"])
        cols["offsets"][row] = offsets
        if warm:
            slot = int(self._take_slots(1)[0])
            cols["warm_slot"][row] = slot
            self.pool["values"][slot, : len(warm)] = warm


def _json_floats(values: npt.NDArray[np.generic]) -> list[JSONValue]:
    """A row of a column as a JSON list of floats."""
    return [float(v) for v in values]


def prefixes(counts: IntArray) -> list[int]:
    """For counts in descending order: how many exceed 0, 1, 2, … up to the largest.

    >>> prefixes(np.array([3, 1, 1, 0]))
    [3, 1, 1]
    """
    largest = int(counts.max(initial=0))
    found: list[int] = np.searchsorted(-counts, -np.arange(largest), side="left").tolist()
    return found


class DeseasonalisedBank:
    """The rows of a bank that deseasonalises first (CUSUM, BOCPD): the model's and its own."""

    model: DeseasonaliserBank
    columns: Columns

    def grow(self, capacity: int) -> None:
        """Make room for ``capacity`` rows."""
        self.model.grow(capacity)
        self.columns.grow(capacity)

    def reset(self, row: int) -> None:
        """Start ``row`` afresh."""
        self.model.reset(row)
        self.columns.reset(row)

    def bytes_per_row(self) -> int:
        """Bytes of state one settled series holds."""
        return self.model.bytes_per_row() + self.columns.bytes_per_row()

    def update(self, rows: IntArray, x: FloatArray) -> None:
        """Learn ``x`` without assessing it."""
        self.learn(rows, x)

    def learn(
        self, rows: IntArray, x: FloatArray, threshold: FloatArray | None = None
    ) -> BankAssessment:
        """Assess then learn ``x[i]`` for ``rows[i]`` (each bank's own arithmetic)."""
        raise NotImplementedError
