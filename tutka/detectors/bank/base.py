"""What every detector bank shares: the assessment of a release, rows for series, dtypes.

A bank is a detector for many series at once. It holds one detector's state as columns over
series (:mod:`tutka.detectors.bank.rows`) and assesses a whole release with vector operations:
:meth:`Bank.learn` takes the rows of the series that have a value this release and the values,
and returns what the reference detector's ``learn`` would have returned for each, as arrays
(:class:`BankAssessment`). The per-observation detectors stay the reference; the conformance
test (``tests/unit/detectors/bank/test_bank_conformance.py``) holds each bank to its reference.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Generic, NamedTuple, Protocol, TypeVar

import numpy as np
import numpy.typing as npt

from tutka.detectors.bank.rows import BoolArray, FloatArray, IntArray, Rows
from tutka.detectors.base import MAX_SCORE, JSONObject

K = TypeVar("K", bound=Hashable)

#: The float types a bank may store its state in: float64 reproduces the reference to rounding;
#: float32 halves the state at a small, stated cost in precision (README, "Detector banks").
FLOAT_TYPES = (np.dtype(np.float64), np.dtype(np.float32))


class BankAssessment(NamedTuple):
    """Per row of a release: the reference's ``Assessment`` fields, readiness and the alarm."""

    score: FloatArray
    baseline: FloatArray
    direction: npt.NDArray[np.int8]
    ready: BoolArray
    alarm: BoolArray


class Bank(Protocol):
    """A detector over many series: rows in, arrays out (see the module)."""

    def learn(
        self, rows: IntArray, x: FloatArray, threshold: FloatArray | None = None
    ) -> BankAssessment:
        """Assess then learn ``x[i]`` for ``rows[i]`` (each row at most once).

        ``threshold`` (per row) decides the alarms instead of the detector's own threshold, as
        a calibrated one does in the engine; the detector's own still drives its adaptation.
        """

    def update(self, rows: IntArray, x: FloatArray) -> None:
        """Learn ``x`` without assessing it (interpolated values bridging a gap)."""

    def bytes_per_row(self) -> int:
        """Bytes of state one settled series holds."""

    def export(self, row: int) -> JSONObject:
        """Row ``row`` as the reference detector's snapshot."""

    def load(self, row: int, snapshot: JSONObject) -> None:
        """Set row ``row`` from a reference detector's snapshot."""


def float_type(dtype: npt.DTypeLike) -> np.dtype[np.floating[npt.NBitBase]]:
    """``dtype`` as a numpy float type a bank can store; ``ValueError`` for any other."""
    found = np.dtype(dtype)
    if found not in FLOAT_TYPES:
        raise ValueError(f"a bank stores float64 or float32, not {found}")
    return found  # type: ignore[return-value]


def capped(scores: FloatArray) -> FloatArray:
    """The reference's ``capped`` on arrays: NaN and negatives to 0, at most ``MAX_SCORE``."""
    out = np.where(np.isnan(scores) | (scores < 0), 0.0, scores)
    return np.minimum(out, MAX_SCORE)


def alarms(
    ready: BoolArray, score: FloatArray, own: float, threshold: FloatArray | None
) -> BoolArray:
    """Ready and the score at the threshold (the calibrated one when given, else ``own``)."""
    limit = own if threshold is None else threshold
    out: BoolArray = ready & (score >= limit)
    return out


class Keyed(Generic[K]):
    """Series keys to rows for a bank: add a series as it appears, remove it when it goes."""

    def __init__(self, bank: Resizable) -> None:
        self.bank = bank
        self.rows: Rows[K] = Rows()

    def add(self, key: K) -> int:
        """The row of ``key``, started afresh if the bank did not hold it."""
        if key in self.rows:
            return self.rows.row(key)
        row = self.rows.add(key)
        self.bank.grow(self.rows.capacity)
        self.bank.reset(row)
        return row

    def remove(self, key: K) -> None:
        """Forget ``key``; its row is reset when a new series takes it."""
        self.rows.remove(key)


class Resizable(Protocol):
    """A bank's row management."""

    def grow(self, capacity: int) -> None:
        """Make room for ``capacity`` rows."""

    def reset(self, row: int) -> None:
        """Start ``row`` afresh."""


def state_of(snapshot: JSONObject, name: str, version: int) -> JSONObject:
    """The ``state`` of a snapshot of detector ``name``; ``ValueError`` for any other."""
    if snapshot.get("detector") != name or snapshot.get("v") != version:
        raise ValueError(
            f"not a {name} snapshot of version {version}: "
            f"{snapshot.get('detector')!r} v{snapshot.get('v')!r}"
        )
    state = snapshot["state"]
    if not isinstance(state, dict):
        raise ValueError(f"{name} snapshot state must be an object")
    return state
