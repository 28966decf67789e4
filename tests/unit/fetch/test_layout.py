"""A table's layout against its configuration: found by code or label, or a clear refusal."""

from __future__ import annotations

from typing import Any

import pytest

from tutka.config.sources import TableSpec, load_tables
from tutka.fetch.layout import LayoutError, resolve

R5 = load_tables()["12r5"]
KNOWN = {"SSS", "ELY15", "MK19", "MK01"}.__contains__


def meta(**changes: Any) -> dict[str, Any]:
    variables = {
        "Alue": {"code": "Alue", "text": "Alue", "values": ["SSS", "ELY15", "MK19", "MK01"]},
        "Tiedot": {"code": "Tiedot", "text": "Tiedot",
                   "values": ["TYOTTOMATLOPUSSA", "TYOVOIMATK", "AVPAIKATLOPUSSA"]},
        "Kuukausi": {"code": "Kuukausi", "text": "Kuukausi", "values": ["2023M09", "2023M10"],
                     "time": True},
    }  # fmt: skip
    for name, change in changes.items():
        if change is None:
            del variables[name]
        else:
            variables[name] = {**variables[name], **change}
    return {"title": "12r5", "variables": list(variables.values())}


def test_the_configured_layout_resolves_to_codes_to_ask_for() -> None:
    layout = resolve("12r5", R5, meta(), KNOWN)
    assert layout.selection(["2023-10"]) == {
        "Alue": ["SSS", "ELY15", "MK19", "MK01"],
        "Tiedot": ["TYOTTOMATLOPUSSA", "TYOVOIMATK", "AVPAIKATLOPUSSA"],
        "Kuukausi": ["2023M10"],
    }
    assert layout.fingerprint == resolve("12r5", R5, meta(), KNOWN).fingerprint


def test_a_variable_with_a_new_code_is_still_found_by_its_label() -> None:
    # Statistics Finland's June 2026 change gave variables codes beside their names.
    layout = resolve("12r5", R5, meta(Alue={"code": "alue", "text": "Alue"}), KNOWN)
    assert layout.area == "alue"


def test_the_time_variable_is_found_by_its_flag_when_renamed() -> None:
    layout = resolve("12r5", R5, meta(Kuukausi={"code": "timeperiod_m", "text": "Month"}), KNOWN)
    assert layout.time == "timeperiod_m" and layout.periods == ("2023-09", "2023-10")


def test_a_renamed_variable_stops_the_fetch_and_says_what_to_change() -> None:
    with pytest.raises(LayoutError) as caught:
        resolve("12r5", R5, meta(Alue={"code": "Alueet", "text": "Alueet"}), KNOWN)
    message = str(caught.value)
    assert "no variable 'Alue' (the area)" in message
    assert "'Alueet'" in message and 'set area = "…"' in message and "[tables.12r5]" in message


def test_an_area_the_hierarchy_does_not_know_is_named_with_what_to_do() -> None:
    areas = {"values": ["SSS", "ELY15", "MK19", "MK01", "KU999"]}
    with pytest.raises(LayoutError) as caught:
        resolve("12r5", R5, meta(Alue=areas), KNOWN)
    assert "KU999" in str(caught.value) and "--areas FILE" in str(caught.value)


def test_areas_of_another_kind_are_left_out_not_fatal() -> None:
    layout = resolve("12r5", R5, meta(Alue={"values": ["SSS", "MK19", "TA17"]}), KNOWN)
    assert list(layout.areas) == ["SSS", "MK19"] and layout.skipped_areas == ("TA17",)


def test_a_measure_code_with_a_new_prefix_is_matched_and_a_missing_one_refused() -> None:
    prefixed = {"values": ["tyonv_TYOTTOMATLOPUSSA", "tyonv_TYOVOIMATK", "AVPAIKATLOPUSSA"]}
    layout = resolve("12r5", R5, meta(Tiedot=prefixed), KNOWN)
    assert layout.measures["tyonv_TYOTTOMATLOPUSSA"].value == "unemployed_jobseekers"
    with pytest.raises(LayoutError, match="no value 'TYOVOIMATK'"):
        resolve("12r5", R5, meta(Tiedot={"values": ["TYOTTOMATLOPUSSA", "AVPAIKATLOPUSSA"]}),
                KNOWN)  # fmt: skip


def test_an_extra_variable_must_be_fixed_unless_the_table_can_leave_it_out() -> None:
    extra = {"code": "Sukupuoli", "text": "Sukupuoli", "values": ["SSS", "1", "2"]}
    base = meta()
    with pytest.raises(LayoutError, match=r"fixed = \{ \"Sukupuoli\" = \"…\" \}"):
        resolve("12r5", R5, {**base, "variables": [*base["variables"], extra]}, KNOWN)
    eliminable = {**extra, "elimination": True}
    resolve("12r5", R5, {**base, "variables": [*base["variables"], eliminable]}, KNOWN)
    fixed = R5.model_copy(update={"fixed": {"Sukupuoli": "SSS"}})
    layout = resolve("12r5", fixed, {**base, "variables": [*base["variables"], extra]}, KNOWN)
    assert layout.selection([])["Sukupuoli"] == ["SSS"]


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(LayoutError) as caught:
        resolve("12r5", R5, meta(Alue=None, Tiedot=None), KNOWN)
    assert str(caught.value).count("\n  - ") == 2


def test_a_table_spec_with_one_variable_in_two_roles_is_refused() -> None:
    with pytest.raises(ValueError, match="used twice: Alue"):
        TableSpec.model_validate({**R5.model_dump(), "measure": "Alue"})


def test_a_bad_tables_file_names_the_problem(tmp_path: Any) -> None:
    path = tmp_path / "t.toml"
    path.write_text('[tables.x]\npath = "a.px"\nsource = "s"\ntime = "T"\narea = "A"\n')
    with pytest.raises(ValueError) as caught:
        load_tables(path)
    assert "tables.x.measure" in str(caught.value) and "tables.x.measures" in str(caught.value)
