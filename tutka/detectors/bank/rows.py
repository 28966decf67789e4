"""Rows of a detector bank: which series holds which row, and the state columns over rows.

A bank keeps one detector's state for many series as a structure of arrays: each piece of state
is a numpy column with one row per series (a scalar, or a fixed-size ring per series). Series
come and go as areas and occupations appear: :class:`Rows` gives each series key a row, reuses
the rows of removed series, and doubles the columns when they are full. :class:`Columns` holds
the arrays of one bank, their initial values and their byte count per row.

>>> rows: Rows[str] = Rows()
>>> rows.add("KU091"), rows.add("KU049"), rows.add("KU091")
(0, 1, 0)
>>> rows.remove("KU091")
0
>>> rows.add("SSS"), len(rows), rows.capacity
(0, 2, 8)
"""

from __future__ import annotations

import heapq
from collections.abc import Hashable, Iterable, Iterator
from typing import Generic, TypeAlias, TypeVar

import numpy as np
import numpy.typing as npt

K = TypeVar("K", bound=Hashable)

#: Row numbers and per-row integers.
IntArray: TypeAlias = npt.NDArray[np.int64]
#: Observations and scores: always computed in float64, whatever a bank stores.
FloatArray: TypeAlias = npt.NDArray[np.float64]
BoolArray: TypeAlias = npt.NDArray[np.bool_]
#: A stored column: float64 or float32 state, small integers, flags.
Column: TypeAlias = npt.NDArray[np.generic]

#: The columns' first capacity; they double when full.
FIRST_CAPACITY = 8


class Rows(Generic[K]):
    """Series keys to row numbers, reusing the rows of removed series (lowest first)."""

    __slots__ = ("_free", "_rows", "capacity")

    def __init__(self) -> None:
        self._rows: dict[K, int] = {}
        self._free: list[int] = []
        self.capacity = FIRST_CAPACITY

    def __len__(self) -> int:
        return len(self._rows)

    def __contains__(self, key: object) -> bool:
        return key in self._rows

    def __iter__(self) -> Iterator[K]:
        return iter(self._rows)

    def row(self, key: K) -> int:
        """The row of ``key``; ``KeyError`` when the bank does not hold it."""
        return self._rows[key]

    def rows(self, keys: Iterable[K]) -> IntArray:
        """The rows of ``keys``, in their order."""
        found = self._rows
        return np.fromiter((found[k] for k in keys), dtype=np.int64)

    def add(self, key: K) -> int:
        """The row of ``key``, a new one (or a freed one) if the bank did not hold it yet."""
        row = self._rows.get(key)
        if row is not None:
            return row
        # The lowest freed row first, so the columns stay as dense as they can.
        row = heapq.heappop(self._free) if self._free else len(self._rows)
        self._rows[key] = row
        while row >= self.capacity:
            self.capacity *= 2
        return row

    def remove(self, key: K) -> int:
        """Forget ``key``; returns its row, which a later series may reuse."""
        row = self._rows.pop(key)
        heapq.heappush(self._free, row)
        return row


class Columns:
    """Named state columns with one row per series, each with its initial value.

    Args:
        capacity: rows to allocate at first.
    """

    __slots__ = ("_fill", "arrays", "capacity")

    def __init__(self, capacity: int = FIRST_CAPACITY) -> None:
        self.capacity = capacity
        self.arrays: dict[str, Column] = {}
        self._fill: dict[str, float | int | bool] = {}

    def add(
        self, name: str, dtype: npt.DTypeLike, fill: float | bool, shape: tuple[int, ...] = ()
    ) -> Column:
        """A new column of ``dtype`` rows of ``shape``, every row at ``fill``; returns it."""
        array = np.full((self.capacity, *shape), fill, dtype=dtype)
        self.arrays[name] = array
        self._fill[name] = fill
        return array

    def grow(self, capacity: int) -> None:
        """Make room for ``capacity`` rows (the new rows at their initial values)."""
        if capacity <= self.capacity:
            return
        for name, old in self.arrays.items():
            new = np.full((capacity, *old.shape[1:]), self._fill[name], dtype=old.dtype)
            new[: self.capacity] = old
            self.arrays[name] = new
        self.capacity = capacity

    def reset(self, row: int) -> None:
        """Put ``row`` back to its initial values (a new series in a reused row)."""
        for name, array in self.arrays.items():
            array[row] = self._fill[name]

    def bytes_per_row(self) -> int:
        """Bytes of state one series holds in these columns."""
        return sum(
            a.itemsize * int(np.prod(a.shape[1:], dtype=np.int64)) for a in self.arrays.values()
        )

    def __getitem__(self, name: str) -> Column:
        return self.arrays[name]


class ColumnBank:
    """A bank whose whole state is its :class:`Columns`: rows grow, restart and are sized there."""

    columns: Columns

    def grow(self, capacity: int) -> None:
        """Make room for ``capacity`` rows."""
        self.columns.grow(capacity)

    def reset(self, row: int) -> None:
        """Start ``row`` afresh."""
        self.columns.reset(row)

    def bytes_per_row(self) -> int:
        """Bytes of state one series holds."""
        return self.columns.bytes_per_row()
