"""The diff: new months are new figures, changed cells revisions, the same values nothing."""

from __future__ import annotations

from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from tutka.fetch.diff import Differ, TableState, cell_key, published_on
from tutka.models.events import VacanciesReported

U = cell_key("SSS", "unemployed_jobseekers")
V = cell_key("MK19", "open_at_month_end")
OCC = cell_key("MK19", "unemployed_jobseekers", occupation="2221")
DAY = date(2023, 12, 20)


def run(state: TableState, months: dict[str, dict[str, float]], day: date = DAY, lookback: int = 3
        ) -> tuple[list, TableState]:  # fmt: skip
    differ = Differ(state, day, lookback)
    out = [f for period, cells in months.items() for f in differ.period(period, cells)]
    return out, differ.finish()


def fresh() -> TableState:
    return TableState(table="12r5", source="statfin-12r5")


def test_a_new_month_is_new_figures_published_as_the_csv_reader_would() -> None:
    out, state = run(fresh(), {"2023-10": {U: 10.0, V: 3.0, OCC: 1.0}})
    assert [(f.area, f.measure.value, f.revision, f.published) for f in out] == [
        ("SSS", "unemployed_jobseekers", 0, date(2023, 11, 25)),
        ("MK19", "open_at_month_end", 0, date(2023, 11, 25)),
        ("MK19", "unemployed_jobseekers", 0, date(2023, 11, 25)),
    ]
    assert isinstance(out[1], VacanciesReported) and out[2].occupation == "2221"
    assert all(f.source == "statfin-12r5" and f.previous_value is None for f in out)
    assert state.latest == "2023-10" and set(state.periods) == {"2023-10"}


def test_the_same_values_again_are_nothing() -> None:
    _, state = run(fresh(), {"2023-10": {U: 10.0, V: 3.0}})
    out, again = run(state, {"2023-10": {V: 3.0, U: 10.0}})
    assert out == [] and again == state


def test_a_changed_value_is_one_revision_keeping_the_old_value() -> None:
    _, state = run(fresh(), {"2023-09": {U: 9.0, V: 2.0}, "2023-10": {U: 10.0, V: 3.0}})
    out, state = run(state, {"2023-09": {U: 9.5, V: 2.0}, "2023-10": {U: 10.0, V: 3.0}})
    assert [(f.period, f.value, f.revision, f.previous_value, f.published) for f in out] == [
        ("2023-09", 9.5, 1, 9.0, DAY)
    ]
    # Revised again: revision 2, replacing the first revision's value.
    out, state = run(state, {"2023-09": {U: 9.7, V: 2.0}}, day=date(2024, 1, 3))
    assert [(f.value, f.revision, f.previous_value) for f in out] == [(9.7, 2, 9.5)]
    # And the other cell of that month, changed later, starts from the month's revisions.
    out, _ = run(state, {"2023-09": {U: 9.7, V: 2.5}}, day=date(2024, 1, 4))
    assert [(f.measure.value, f.revision) for f in out] == [("open_at_month_end", 1)]


def test_a_revision_is_never_published_before_the_figure_it_revises() -> None:
    _, state = run(fresh(), {"2023-10": {U: 10.0}}, day=date(2023, 11, 20))
    out, _ = run(state, {"2023-10": {U: 11.0}}, day=date(2023, 11, 21))
    assert out[0].published == published_on("2023-10") == date(2023, 11, 25)


def test_a_cell_new_in_a_known_month_is_a_late_first_figure() -> None:
    _, state = run(fresh(), {"2023-10": {U: 10.0}})
    differ = Differ(state, DAY, 3)
    out = differ.period("2023-10", {U: 10.0, V: 4.0})
    assert [(f.area, f.revision, f.published) for f in out] == [("MK19", 0, DAY)]
    assert differ.counts["late"] == 1


def test_a_vanished_cell_is_kept_and_its_return_compared_with_it() -> None:
    _, state = run(fresh(), {"2023-10": {U: 10.0, V: 4.0}})
    out, state = run(state, {"2023-10": {U: 10.0}})
    assert out == []
    out, _ = run(state, {"2023-10": {U: 10.0, V: 4.0}})
    assert out == []


def test_values_are_kept_for_the_lookback_only_and_digests_for_ever() -> None:
    months = {f"2023-{m:02d}": {U: float(m)} for m in range(1, 11)}
    _, state = run(fresh(), months, lookback=3)
    assert sorted(state.cells) == ["2023-08", "2023-09", "2023-10"]
    assert len(state.periods) == 10
    # A month beyond the kept values that changed: sent again one revision up (no old value).
    out, _ = run(state, {"2023-02": {U: 20.0}})
    assert [(f.value, f.revision, f.previous_value) for f in out] == [(20.0, 1, None)]


@given(st.lists(st.floats(0, 1e6, allow_nan=False), min_size=1, max_size=6))
def test_the_state_survives_json(values: list[float]) -> None:
    months = {f"2023-{i + 1:02d}": {U: v, V: v / 2} for i, v in enumerate(values)}
    _, state = run(fresh(), months)
    assert TableState.model_validate_json(state.model_dump_json()) == state
