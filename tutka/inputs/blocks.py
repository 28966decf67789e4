"""A batch of a long table as the columnar reading makes it: its ordinary figures as columns.

Nearly every row of a long table (Statistics Finland's 12ti: 3.7 million) is a figure of a series
already seen: the series' template with a month, a value and the month's publication day. A
:class:`PendingBlock` holds those rows of one batch as arrays, never as Python objects, so that
the external sort can turn a whole batch into its rows with a few numpy operations. The other
rows of the batch (a series' first figure, a dead letter, an odd cell: ``others``) are records,
made the row-by-row way. Every item knows its line (its row's number in the file), so the
file's order can always be told: :meth:`PendingBlock.items` gives them back in that order, one
by one, for whoever reads a table row by row.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

import numpy as np
import numpy.typing as npt

from tutka.inputs.decoding import Figure, Pending
from tutka.inputs.records import Record
from tutka.models.deadletter import DeadLetter

#: Builds a :class:`Pending` from a full tuple, without the named tuple's ``__new__``.
_new = tuple.__new__


@dataclass(frozen=True, slots=True)
class PendingBlock:
    """One batch's figures of the fast path (as columns) and its other records.

    Fast row ``i`` is ``figure_from(templates[template[i]], {"period": months[month[i]],
    "value": values[i], "published": days[month[i]]})``, read from line ``lines[i]`` as
    ``raws[i]``; ``others`` holds every other record (events and dead letters). Both are in
    file order, and lines grow with the file (a block's and the next's too).
    """

    templates: list[Figure]
    template: npt.NDArray[np.intp]
    months: list[str]
    #: Each month's publication day (None for a month no fast row has).
    days: list[date | None]
    month: npt.NDArray[np.intp]
    values: npt.NDArray[np.float64]
    lines: npt.NDArray[np.int64]
    raws: list[str]
    others: list[Record]

    def __len__(self) -> int:
        return len(self.lines) + len(self.others)

    def pending(self, index: int) -> Pending:
        """Fast row ``index`` as a :class:`Pending` figure."""
        month = int(self.month[index])
        day = self.days[month]
        assert day is not None  # (a fast row's month has its day)
        return _new(
            Pending,
            (
                self.templates[int(self.template[index])],
                self.months[month],
                float(self.values[index]),
                day,
                self.raws[index],
                int(self.lines[index]),
            ),
        )

    def items(self, build: bool, file: str = "") -> Iterator[Record | Pending]:
        """Every item in file order: fast rows as records of ``file`` (``build``) or pending."""
        others = iter(self.others)
        other = next(others, None)
        templates, months, days = self.templates, self.months, self.days
        for template, month, value, raw, line in zip(
            self.template.tolist(),
            self.month.tolist(),
            self.values.tolist(),
            self.raws,
            self.lines.tolist(),
            strict=True,
        ):
            while other is not None and other.line < line:
                yield other
                other = next(others, None)
            pending = _new(
                Pending, (templates[template], months[month], value, days[month], raw, line)
            )
            yield Record(pending.build(), raw, file, line) if build else pending
        while other is not None:
            yield other
            other = next(others, None)

    def without_dead_letters(self) -> PendingBlock:
        """The block without its dead letters."""
        kept = [r for r in self.others if not isinstance(r.item, DeadLetter)]
        return self if len(kept) == len(self.others) else replace(self, others=kept)

    def split(self, count: int) -> tuple[PendingBlock, PendingBlock]:
        """The first ``count`` items (in file order) and the rest, as two blocks."""
        if not 0 < count < len(self):
            raise ValueError(f"a block of {len(self)} items cannot be split after {count}")
        lines = np.sort(np.concatenate((self.lines, [r.line for r in self.others])))
        cut = int(lines[count])  # the first line of the rest
        fast = int(np.searchsorted(self.lines, cut))
        other = sum(1 for r in self.others if r.line < cut)
        head = self._part(slice(0, fast), self.others[:other])
        return head, self._part(slice(fast, None), self.others[other:])

    def _part(self, rows: slice, others: list[Record]) -> PendingBlock:
        return replace(
            self,
            template=self.template[rows],
            month=self.month[rows],
            values=self.values[rows],
            lines=self.lines[rows],
            raws=self.raws[rows],
            others=others,
        )


def distinct(values: npt.NDArray[np.integer[Any]]) -> npt.NDArray[np.integer[Any]]:
    """The distinct values, sorted: :func:`numpy.unique` by sorting. (numpy 2.4's ``unique``
    finds them with a hash table, a hundred times slower on millions of 64-bit keys.)

    >>> distinct(np.array([3, 1, 3, 2, 1])).tolist(), distinct(np.array([7])).tolist()
    ([1, 2, 3], [7])
    """
    ordered = np.sort(values)
    if len(ordered) < 2:
        return ordered
    return ordered[np.concatenate(([True], ordered[1:] != ordered[:-1]))]
