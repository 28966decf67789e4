"""JSON-stat 2.0 decoding: dense and sparse values, index forms, and precise errors."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tutka.fetch.jsonstat import JsonStatError, decode


def cube(sizes: list[int], values: Any) -> dict[str, Any]:
    ids = [f"d{i}" for i in range(len(sizes))]
    return {
        "version": "2.0",
        "class": "dataset",
        "id": ids,
        "size": sizes,
        "dimension": {
            d: {"category": {"index": {f"{d}c{j}": j for j in range(n)}}}
            for d, n in zip(ids, sizes, strict=True)
        },
        "value": values,
    }


@given(st.lists(st.integers(1, 4), min_size=1, max_size=4))
def test_cells_come_in_row_major_order_with_their_codes(sizes: list[int]) -> None:
    total = 1
    for n in sizes:
        total *= n
    data = decode(cube(sizes, list(range(total))))
    cells = list(data.cells())
    assert [v for _, v in cells] == [float(i) for i in range(total)]
    expected = itertools.product(*[[f"d{i}c{j}" for j in range(n)] for i, n in enumerate(sizes)])
    assert [codes for codes, _ in cells] == list(expected)


def test_sparse_values_and_list_indexes_and_nulls() -> None:
    data = cube([2, 2], {"0": 5, "3": 7.5})
    data["dimension"]["d0"]["category"]["index"] = ["a", "b"]
    ds = decode(data)
    assert [v for _, v in ds.cells()] == [5.0, None, None, 7.5]
    assert next(iter(ds.cells()))[0] == ("a", "d1c0")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"class": "collection"}, "expected a JSON-stat dataset"),
        ({"size": [2]}, "equal length"),
        ({"value": [1, 2, 3]}, "expected 4 values"),
        ({"value": [1, "x", 3, 4]}, "must be a number"),
        ({"value": {"9": 1}}, "outside the cube"),
        ({"value": None}, "needs 'value'"),
    ],
)
def test_malformed_datasets_say_what_is_wrong(change: dict[str, Any], message: str) -> None:
    data = cube([2, 2], [1, 2, 3, 4])
    data.update(change)
    with pytest.raises(JsonStatError, match=message):
        decode(data)


def test_a_dimension_whose_size_disagrees_with_its_categories_is_refused() -> None:
    data = cube([2, 2], [1, 2, 3, 4])
    data["dimension"]["d1"]["category"]["index"] = {"x": 0}
    with pytest.raises(JsonStatError, match="has 1 categories, size says 2"):
        decode(data)
