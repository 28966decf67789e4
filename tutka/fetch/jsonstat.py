"""JSON-stat 2.0 datasets (what a PxWeb query answers) into cells: pure, no HTTP.

A dataset is a cube: ``id`` names its dimensions in order, ``size`` their lengths, each
dimension's ``category.index`` the order of its codes, and ``value`` the cells in row-major order
(the last dimension varies fastest), as an array or, sparsely, as an object keyed by position.
A missing or ``null`` value is a suppressed or unavailable cell (its ``status`` says which).

This is all of JSON-stat a fetcher needs, in some sixty lines; a general decoder such as
``pyjstat`` would bring pandas for it (README, "Live sources").

>>> ds = decode({"version": "2.0", "class": "dataset", "id": ["a", "t"], "size": [2, 2],
...     "dimension": {"a": {"category": {"index": ["x", "y"]}},
...                   "t": {"category": {"index": {"2023M01": 0, "2023M02": 1}}}},
...     "value": [1, 2, None, 4], "updated": "2023-03-20T06:00:00Z"})
>>> list(ds.cells())[:3]
[(('x', '2023M01'), 1.0), (('x', '2023M02'), 2.0), (('y', '2023M01'), None)]
>>> ds.updated
'2023-03-20T06:00:00Z'
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any


class JsonStatError(ValueError):
    """A response that is not a JSON-stat 2.0 dataset we can read."""


@dataclass(frozen=True, slots=True)
class Dataset:
    """A decoded cube: dimension ids, each dimension's codes in order, and the values."""

    ids: tuple[str, ...]
    codes: tuple[tuple[str, ...], ...]
    values: tuple[float | None, ...]
    updated: str | None

    def cells(self) -> Iterator[tuple[tuple[str, ...], float | None]]:
        """Every cell as (its code in each dimension, in ``ids`` order; value), in cube order.

        Row-major order is exactly the order of :func:`itertools.product` over the codes.
        """
        return zip(itertools.product(*self.codes), self.values, strict=True)


def decode(data: Any) -> Dataset:
    """The dataset in ``data`` (parsed JSON); :class:`JsonStatError` says what is wrong."""
    if not isinstance(data, Mapping):
        raise JsonStatError(f"expected a JSON-stat object, got {type(data).__name__}")
    if data.get("class", "dataset") != "dataset":
        raise JsonStatError(f"expected a JSON-stat dataset, got class {data.get('class')!r}")
    ids, size, dimensions = data.get("id"), data.get("size"), data.get("dimension")
    if not isinstance(ids, list) or not isinstance(size, list) or len(ids) != len(size):
        raise JsonStatError("a JSON-stat 2.0 dataset needs 'id' and 'size' of equal length")
    if not isinstance(dimensions, Mapping):
        raise JsonStatError("a JSON-stat 2.0 dataset needs 'dimension'")
    codes = tuple(_codes(dimensions, str(d), int(n)) for d, n in zip(ids, size, strict=True))
    total = math.prod(len(c) for c in codes)
    values = _values(data.get("value"), total)
    updated = data.get("updated")
    return Dataset(
        tuple(str(i) for i in ids), codes, values, updated if isinstance(updated, str) else None
    )


def _codes(dimensions: Mapping[str, Any], dim: str, size: int) -> tuple[str, ...]:
    dimension = dimensions.get(dim)
    category = dimension.get("category") if isinstance(dimension, Mapping) else None
    if not isinstance(category, Mapping):
        raise JsonStatError(f"dimension {dim!r} has no category")
    index = category.get("index")
    if index is None and isinstance(category.get("label"), Mapping) and size == 1:
        index = list(category["label"])  # a single-category dimension may omit its index
    if isinstance(index, list):
        ordered = [str(code) for code in index]
    elif isinstance(index, Mapping):
        ordered = [str(code) for code, _ in sorted(index.items(), key=lambda item: int(item[1]))]
    else:
        raise JsonStatError(f"dimension {dim!r} has no category index")
    if len(ordered) != size:
        raise JsonStatError(f"dimension {dim!r} has {len(ordered)} categories, size says {size}")
    return tuple(ordered)


def _values(raw: Any, total: int) -> tuple[float | None, ...]:
    if isinstance(raw, list):
        if len(raw) != total:
            raise JsonStatError(f"expected {total} values, got {len(raw)}")
        return tuple(_number(v) for v in raw)
    if isinstance(raw, Mapping):
        values: list[float | None] = [None] * total
        for key, v in raw.items():
            position = int(key)
            if not 0 <= position < total:
                raise JsonStatError(f"value position {position} outside the cube of {total}")
            values[position] = _number(v)
        return tuple(values)
    raise JsonStatError("a JSON-stat 2.0 dataset needs 'value' (an array or an object)")


def _number(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise JsonStatError(f"a value must be a number or null, got {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise JsonStatError(f"a value must be finite, got {value!r}")
    return number
