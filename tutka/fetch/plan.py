"""What to ask a table for: which months, in queries below the service's cell limit. Pure.

>>> periods_to_ask(["2023-07", "2023-08", "2023-09", "2023-10"], {"2023-07", "2023-08"},
...                "2023-08", lookback=1)
['2023-08', '2023-09', '2023-10']
>>> [len(q["t"]) for q in split({"t": list("abcdefg"), "a": ["x", "y"]}, limit=6, first="t")]
[3, 3, 1]
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence

from tutka.models.codes import period_index

Selection = dict[str, list[str]]


def periods_to_ask(
    available: Sequence[str], seen: Collection[str], latest: str | None, lookback: int
) -> list[str]:
    """The months a run asks for: everything never seen, and the last ``lookback`` months up to
    the newest seen (where revisions happen). Without a past run: everything."""
    if latest is None:
        return list(available)
    floor = period_index(latest) - lookback + 1
    return [p for p in available if p not in seen or period_index(p) >= floor]


def cells(selection: Mapping[str, Sequence[str]]) -> int:
    return math.prod(len(values) for values in selection.values())


def split(selection: Selection, limit: int, first: str) -> list[Selection]:
    """Sub-selections of at most ``limit`` cells that together cover ``selection`` exactly.

    The variable ``first`` (the months) is split first, then the others, largest first, so a
    query holds as many whole months as fit. An empty selection needs no query at all.
    """
    if limit < 1:
        raise ValueError(f"a cell limit must be at least 1, got {limit}")
    if cells(selection) == 0:
        return []
    others = sorted((v for v in selection if v != first), key=lambda v: -len(selection[v]))
    return _split(selection, [first, *others] if first in selection else others, limit)


def _split(selection: Selection, order: list[str], limit: int) -> list[Selection]:
    total = cells(selection)
    if total <= limit:
        return [selection]
    for variable in order:
        values = selection[variable]
        if len(values) < 2:
            continue
        rest = total // len(values)
        if rest <= limit:
            per = limit // rest
            return [
                {**selection, variable: values[i : i + per]} for i in range(0, len(values), per)
            ]
        return [
            part
            for value in values
            for part in _split({**selection, variable: [value]}, order, limit)
        ]
    raise AssertionError("unreachable: a single cell is within any limit")  # pragma: no cover
