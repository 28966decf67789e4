"""Query planning: every cell asked for exactly once, never more than the cell limit at once."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from tutka.fetch.plan import cells, periods_to_ask, split


@given(
    st.integers(1, 30),
    st.lists(st.integers(1, 12), min_size=0, max_size=3),
    st.integers(1, 500),
)
def test_split_covers_the_selection_exactly_and_stays_under_the_limit(
    months: int, others: list[int], limit: int
) -> None:
    selection = {"t": [f"m{i}" for i in range(months)]}
    for v, n in enumerate(others):
        selection[f"v{v}"] = [f"v{v}c{i}" for i in range(n)]
    parts = split(selection, limit, first="t")
    assert all(cells(p) <= limit for p in parts)
    asked = [cell for p in parts for cell in itertools.product(*p.values())]
    assert sorted(asked) == sorted(itertools.product(*selection.values()))


def test_months_are_split_first_so_a_query_holds_whole_months() -> None:
    selection = {"area": ["a", "b", "c"], "t": [f"m{i}" for i in range(10)], "x": ["1", "2"]}
    parts = split(selection, limit=24, first="t")
    assert [p["t"] for p in parts] == [[f"m{i}" for i in range(4)],
                                        [f"m{i}" for i in range(4, 8)], ["m8", "m9"]]  # fmt: skip
    assert all(p["area"] == ["a", "b", "c"] for p in parts)


def test_an_empty_selection_needs_no_query() -> None:
    assert split({"t": [], "a": ["x"]}, 10, "t") == []


def test_a_first_run_asks_for_everything_later_runs_for_the_lookback_and_the_new() -> None:
    months = [f"2023-{m:02d}" for m in range(1, 11)]
    assert periods_to_ask(months, set(), None, 3) == months
    seen = set(months[:8])
    assert periods_to_ask(months, seen, "2023-08", 3) == months[5:]
    assert periods_to_ask(months, seen, "2023-08", 0) == months[8:]
    # A month the table gained in the past (a gap filled) is asked for too.
    assert periods_to_ask(months, seen - {"2023-02"}, "2023-08", 0) == ["2023-02", *months[8:]]
