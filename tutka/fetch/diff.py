"""What is new in a table since the last run: new figures, revisions, or nothing. Pure.

A table's :class:`TableState` holds, per month ever seen, a digest of its values and the highest
revision in it, and — for the months a run looks back over — the values and revisions
themselves. :class:`Differ` compares each fetched month with it:

* a month never seen: every cell is a new figure (revision 0), published on the 25th of the
  following month — the rule the CSV reader uses, so a fetched history replays exactly like the
  downloaded file;
* a month whose digest is unchanged: nothing at all;
* a month whose digest changed: each changed cell is a revision (its revision + 1, the value it
  replaces in ``previous_value``) and each cell not seen before a late first figure, published on
  the day the change was seen; unchanged cells produce nothing.

>>> from datetime import date
>>> differ = Differ(TableState(table="t", source="statfin-t"), date(2023, 12, 20), lookback=6)
>>> key = cell_key("SSS", "unemployed_jobseekers")
>>> [(e.period, e.value, e.revision) for e in differ.period("2023-10", {key: 5.0})]
[('2023-10', 5.0, 0)]
>>> state = differ.finish()
>>> again = Differ(state, date(2023, 12, 28), lookback=6)
>>> again.period("2023-10", {key: 5.0})
[]
>>> [(e.value, e.revision, e.previous_value, str(e.published))
...  for e in again.period("2023-10", {key: 6.0})]
[(6.0, 1, 5.0, '2023-12-28')]
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Mapping
from datetime import date
from typing import Annotated, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from tutka.models.codes import Period, period_after, period_index
from tutka.models.events import (
    UnemploymentMeasure,
    UnemploymentReported,
    VacanciesReported,
)

Figure = UnemploymentReported | VacanciesReported
FIGURE: Final[TypeAdapter[Figure]] = TypeAdapter(Annotated[Figure, Field(discriminator="type")])
UNEMPLOYMENT: Final = frozenset(m.value for m in UnemploymentMeasure)
#: The day of the following month a figure is taken as published (as the CSV reader does).
PUBLICATION_DAY: Final = 25
SEPARATOR: Final = "|"


def cell_key(
    area: str, measure: str, occupation: str | None = None, sector: str | None = None
) -> str:
    """A cell's identity in our terms (not the table's codes, which may change)."""
    return SEPARATOR.join((area, measure, occupation or "", sector or ""))


def published_on(period: str) -> date:
    """The 25th of the month after ``period``.

    >>> published_on("2023-12")
    datetime.date(2024, 1, 25)
    """
    following = period_after(period)
    return following.replace(day=PUBLICATION_DAY)


def digest(cells: Mapping[str, float]) -> str:
    """A digest of one month's cells, independent of their order."""
    text = "\n".join(f"{key}={cells[key]!r}" for key in sorted(cells))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class PeriodMark(_Frozen):
    """What is remembered of every month ever seen: its digest and highest revision."""

    digest: str
    revision: Annotated[int, Field(ge=0)] = 0


class Revised(_Frozen):
    """A cell whose revision or publication day is not its month's first."""

    revision: Annotated[int, Field(ge=0)]
    published: date


class PeriodCells(_Frozen):
    """A month's values, aligned with :attr:`TableState.keys` (None: no value)."""

    values: tuple[float | None, ...]
    revised: dict[str, Revised] = Field(default_factory=dict)


class TableState(_Frozen):
    """One table's fetch state: small, versioned JSON (STYLE.md §2)."""

    v: Literal[1] = 1
    table: str
    source: str
    layout: str | None = None
    latest: Period | None = None
    periods: dict[str, PeriodMark] = Field(default_factory=dict)
    keys: tuple[str, ...] = ()
    cells: dict[str, PeriodCells] = Field(default_factory=dict)
    #: Batches delivered so far (numbers the output files of the embedded default).
    batches: Annotated[int, Field(ge=0)] = 0


class Differ:
    """Diffs fetched months against a state, one complete month at a time.

    The input state is never changed: :meth:`finish` returns the state after every month given.
    ``observed`` is the day changes were seen (a revision's publication day).
    """

    def __init__(self, state: TableState, observed: date, lookback: int) -> None:
        self.base = state
        self.observed = observed
        self.lookback = lookback
        self.counts: Counter[str] = Counter()
        self._marks = dict(state.periods)
        self._keys = list(state.keys)
        self._index = {key: i for i, key in enumerate(self._keys)}
        self._cells: dict[str, tuple[dict[str, float], dict[str, Revised]]] = {}
        self._latest = state.latest

    def _stored(self, period: str) -> tuple[dict[str, float], dict[str, Revised]] | None:
        if period in self._cells:
            return self._cells[period]
        kept = self.base.cells.get(period)
        if kept is None:
            return None
        keys = self.base.keys
        values = {keys[i]: v for i, v in enumerate(kept.values) if v is not None}
        return values, dict(kept.revised)

    def period(self, period: str, cells: Mapping[str, float]) -> list[Figure]:
        """The figures that ``cells`` (every value of ``period`` fetched) add downstream."""
        mark = self._marks.get(period)
        new_digest = digest(cells)
        if mark is not None and mark.digest == new_digest:
            self.counts["unchanged_periods"] += 1
            self._keep(period, cells)
            return []
        stored = self._stored(period) if mark is not None else None
        base_day = published_on(period)
        out: list[Figure] = []
        values: dict[str, float] = {}
        revised: dict[str, Revised] = {}
        top = mark.revision if mark is not None else 0
        if mark is None:
            self.counts["new_periods"] += 1
            for key, value in cells.items():
                out.append(_figure(key, period, value, base_day, 0, None, self.base.source))
                values[key] = value
            self.counts["new"] += len(cells)
        else:
            self.counts["changed_periods"] += 1
            old_values, old_revised = stored if stored is not None else ({}, {})
            revised = dict(old_revised)
            day = max(self.observed, base_day)
            for key, value in cells.items():
                old = old_values.get(key)
                if old == value:
                    values[key] = value
                    continue
                if old is None and stored is not None:
                    # A cell the month did not have: its first figure, late.
                    out.append(_figure(key, period, value, day, 0, None, self.base.source))
                    revised[key] = Revised(revision=0, published=day)
                    self.counts["late"] += 1
                else:
                    # Changed; or the month's values were no longer kept (it is older than the
                    # look-back), so every cell is sent again one revision up.
                    before = old_revised.get(key)
                    revision = (before.revision if before is not None else 0) + 1
                    if stored is None:
                        revision = top + 1
                    when = max(day, before.published if before is not None else base_day)
                    out.append(_figure(key, period, value, when, revision, old, self.base.source))
                    revised[key] = Revised(revision=revision, published=when)
                    self.counts["revised"] += 1
                values[key] = value
            # A cell that disappeared (suppressed since) cannot be withdrawn downstream: its last
            # figure stands, and is kept here so that a reappearance is compared with it.
            for key, old in old_values.items():
                if key not in cells:
                    values[key] = old
                    self.counts["vanished"] += 1
        highest = max([top, *(r.revision for r in revised.values())])
        self._marks[period] = PeriodMark(digest=new_digest, revision=highest)
        self._cells[period] = (values, revised)
        if self._latest is None or period_index(period) > period_index(self._latest):
            self._latest = period
        return out

    def _keep(self, period: str, cells: Mapping[str, float]) -> None:
        """An unchanged month fetched again: keep its values if the state had dropped them."""
        if period not in self._cells and period not in self.base.cells:
            self._cells[period] = (dict(cells), {})

    def finish(self) -> TableState:
        """The state after every month given (values kept for the look-back window only)."""
        cells: dict[str, PeriodCells] = {}
        floor = period_index(self._latest) - self.lookback + 1 if self._latest else 0
        for period in sorted({*self.base.cells, *self._cells}):
            if period_index(period) < floor:
                continue
            if period in self._cells:
                values, revised = self._cells[period]
                for key in values:
                    if key not in self._index:
                        self._index[key] = len(self._keys)
                        self._keys.append(key)
                aligned: list[float | None] = [None] * len(self._keys)
                for key, value in values.items():
                    aligned[self._index[key]] = value
                cells[period] = PeriodCells(values=tuple(aligned), revised=revised)
            else:
                cells[period] = self.base.cells[period]
        width = len(self._keys)
        cells = {p: c.model_copy(update={"values": c.values + (None,) * (width - len(c.values))})
                 for p, c in cells.items()}  # fmt: skip
        return self.base.model_copy(
            update={
                "latest": self._latest,
                "periods": dict(sorted(self._marks.items())),
                "keys": tuple(self._keys),
                "cells": cells,
            }
        )


def _figure(
    key: str,
    period: str,
    value: float,
    published: date,
    revision: int,
    previous: float | None,
    source: str,
) -> Figure:
    area, measure, occupation, sector = key.split(SEPARATOR)
    payload: dict[str, object] = {
        "type": "unemployment" if measure in UNEMPLOYMENT else "vacancies",
        "measure": measure,
        "area": area,
        "period": period,
        "value": value,
        "published": published,
        "revision": revision,
        "source": source,
        "occupation": occupation or None,
        "sector": sector or None,
        "previous_value": previous if revision > 0 else None,
    }
    return FIGURE.validate_python(payload)
