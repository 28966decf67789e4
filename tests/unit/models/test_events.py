"""Event models: valid payloads are accepted and frozen; bad input fails with a precise reason."""

from __future__ import annotations

import math
from datetime import date
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from tutka.models.deadletter import DeadLetter, decode
from tutka.models.events import (
    Event,
    LayoffNoticeFiled,
    NoticeKind,
    UnemploymentMeasure,
    UnemploymentReported,
    VacanciesReported,
    VacancyMeasure,
)

from .factories import (
    FILE_ORIGIN,
    OFFICIAL_HETU,
    RECEIVED_AT,
    notice,
    unemployment,
    vacancies,
)

EVENT = TypeAdapter(Event)
MODELS = {
    "layoff_notice": (LayoffNoticeFiled, notice),
    "unemployment": (UnemploymentReported, unemployment),
    "vacancies": (VacanciesReported, vacancies),
}


def errors_of(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """Structured errors from validating ``payload`` as its own model (no union prefix)."""
    model, _ = MODELS[payload["type"]]
    with pytest.raises(ValidationError) as info:
        model.model_validate(payload)
    return info.value.errors()  # type: ignore[return-value]


def only_error(payload: dict[str, Any]) -> dict[str, Any]:
    errors = errors_of(payload)
    assert len(errors) == 1, errors
    return errors[0]


# ---------------------------------------------------------------------------------------------
# Valid payloads


def test_valid_layoff_notice() -> None:
    event = EVENT.validate_python(notice())
    assert isinstance(event, LayoffNoticeFiled)
    assert event.notice_id == "n-2023-0001"
    assert event.kind is NoticeKind.DISMISSAL
    assert event.persons == 120
    assert event.announced == date(2023, 10, 2)
    assert event.effective_to == date(2024, 1, 31)
    assert event.occupations == ("8171", "7233")
    assert event.period == "2023-10"
    assert event.available_on == date(2023, 10, 2)
    assert event.schema_version == 1


def test_layoff_notice_defaults() -> None:
    payload = notice()
    for optional in ("effective_to", "occupations", "source", "revision"):
        del payload[optional]
    event = LayoffNoticeFiled.model_validate(payload)
    assert (event.effective_to, event.occupations, event.source, event.revision) == (
        None,
        (),
        "unknown",
        0,
    )


def test_valid_unemployment_figure() -> None:
    event = EVENT.validate_python(unemployment())
    assert isinstance(event, UnemploymentReported)
    assert event.measure is UnemploymentMeasure.UNEMPLOYED_JOBSEEKERS
    assert event.value == 11000.0
    assert event.available_on == date(2023, 10, 25)


def test_valid_vacancies_figure() -> None:
    event = EVENT.validate_python(vacancies())
    assert isinstance(event, VacanciesReported)
    assert event.measure is VacancyMeasure.OPEN_AT_MONTH_END
    assert event.occupation == "2221"
    assert event.area == "ELY15"


def test_figure_published_on_the_first_day_after_its_month_is_valid() -> None:
    event = UnemploymentReported.model_validate(
        unemployment(period="2023-12", published="2024-01-01")
    )
    assert (event.period, event.published) == ("2023-12", date(2024, 1, 1))


@pytest.mark.parametrize(
    ("kind", "field", "value"),
    [
        ("layoff_notice", "persons", 1),
        ("layoff_notice", "employer", "Other Oy"),
        ("unemployment", "value", 0.0),
        ("vacancies", "period", "2023-08"),
    ],
)
def test_events_are_frozen(kind: str, field: str, value: object) -> None:
    model, build = MODELS[kind]
    event = model.model_validate(build())
    before = event.model_dump()
    with pytest.raises(ValidationError) as info:
        setattr(event, field, value)
    assert info.value.errors()[0]["type"] == "frozen_instance"
    assert event.model_dump() == before


# ---------------------------------------------------------------------------------------------
# Rejections, one thing wrong at a time


@pytest.mark.parametrize("kind", sorted(MODELS))
def test_unknown_field(kind: str) -> None:
    _, build = MODELS[kind]
    error = only_error(build(colour="red"))
    assert (error["type"], error["loc"]) == ("extra_forbidden", ("colour",))


@pytest.mark.parametrize("kind", ["unemployment", "vacancies"])
@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_non_finite_values(kind: str, value: float) -> None:
    _, build = MODELS[kind]
    error = only_error(build(value=value))
    assert (error["type"], error["loc"]) == ("finite_number", ("value",))


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_json_tokens_become_dead_letters(token: str) -> None:
    raw = (
        '{"type": "unemployment", "area": "MK19", "period": "2023-09", '
        f'"measure": "unemployed_jobseekers", "value": {token}, "published": "2023-10-25"}}'
    )
    result = decode(raw.encode(), FILE_ORIGIN, RECEIVED_AT)
    assert isinstance(result, DeadLetter)
    assert (result.reason, result.error_type) == ("validation", "finite_number")
    assert [(e.loc, e.type) for e in result.errors] == [("unemployment.value", "finite_number")]


def test_non_finite_persons_is_rejected() -> None:
    result = decode(
        b'{"type": "layoff_notice", "notice_id": "n-1", "employer": "Acme Oy", '
        b'"business_id": "0112038-9", "municipality": "KU091", "sector": "C", '
        b'"kind": "dismissal", "persons": Infinity, "announced": "2023-10-02", '
        b'"effective_from": "2023-11-01"}',
        FILE_ORIGIN,
        RECEIVED_AT,
    )
    assert isinstance(result, DeadLetter)
    assert [e.loc for e in result.errors] == ["layoff_notice.persons"]


@pytest.mark.parametrize(
    ("kind", "field", "value", "error_type"),
    [
        ("unemployment", "value", -1, "greater_than_equal"),
        ("vacancies", "value", -0.5, "greater_than_equal"),
        ("unemployment", "value", 1e9 + 1, "less_than_equal"),
        ("unemployment", "revision", -1, "greater_than_equal"),
        ("layoff_notice", "persons", -5, "greater_than_equal"),
        ("layoff_notice", "persons", 0, "greater_than_equal"),
        ("layoff_notice", "persons", 100_001, "less_than_equal"),
        ("layoff_notice", "persons", 2.5, "int_type"),  # strict: no silent float-to-int
        ("layoff_notice", "revision", -1, "greater_than_equal"),
    ],
)
def test_out_of_range_numbers(kind: str, field: str, value: float, error_type: str) -> None:
    _, build = MODELS[kind]
    error = only_error(build(**{field: value}))
    assert (error["type"], error["loc"]) == (error_type, (field,))


@pytest.mark.parametrize(
    ("kind", "field"),
    [
        ("layoff_notice", "announced"),
        ("layoff_notice", "effective_from"),
        ("unemployment", "published"),
    ],
)
def test_impossible_date(kind: str, field: str) -> None:
    _, build = MODELS[kind]
    error = only_error(build(**{field: "2023-02-30"}))
    assert error["loc"] == (field,)
    assert error["type"] == "date_from_datetime_parsing"
    assert "day value is outside expected range" in error["msg"]


def test_implausible_year() -> None:
    error = only_error(notice(announced="1970-01-01"))
    assert error["loc"] == ("announced",)
    assert error["msg"] == "Value error, date 1970-01-01 is outside 1990-2100"


@pytest.mark.parametrize(
    ("period", "published"),
    [("2023-10", "2023-10-15"), ("2023-10", "2023-10-31"), ("2023-10", "2023-09-30")],
)
def test_figure_published_before_its_period_ended(period: str, published: str) -> None:
    error = only_error(unemployment(period=period, published=published))
    assert error["type"] == "value_error"
    assert error["loc"] == ()
    assert error["msg"] == f"Value error, period {period} ends after its published date {published}"


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("0112038-8", "has a wrong check digit"),
        ("0000006-0", "has a wrong check digit"),
        ("112038-9", "must look like 1234567-8"),
    ],
)
def test_bad_business_id(value: str, fragment: str) -> None:
    error = only_error(notice(business_id=value))
    assert error["loc"] == ("business_id",)
    assert fragment in error["msg"]


@pytest.mark.parametrize("code", ["MK19", "SK192", "ELY15", "SSS"])
def test_notice_municipality_must_be_a_municipality(code: str) -> None:
    error = only_error(notice(municipality=code))
    assert error["loc"] == ("municipality",)
    assert error["msg"] == f"Value error, municipality code must look like KU###, got {code!r}"


def test_effective_to_before_effective_from() -> None:
    error = only_error(notice(effective_from="2023-11-01", effective_to="2023-10-31"))
    assert error["loc"] == ()
    assert (
        error["msg"] == "Value error, effective_to 2023-10-31 is before effective_from 2023-11-01"
    )


def test_effective_to_on_effective_from_is_valid() -> None:
    event = LayoffNoticeFiled.model_validate(notice(effective_to="2023-11-01"))
    assert event.effective_to == event.effective_from


@pytest.mark.parametrize(
    ("field", "value", "fragment"),
    [
        ("sector", "04", "TOL 2008 has no division 04"),
        ("occupations", ["12345"], "ISCO-08"),
        ("kind", "fired", "Input should be"),
        ("notice_id", "-leading-hyphen", "String should match pattern"),
        ("employer", "   ", "String should have at least 1 character"),
        ("employer", "Acme\x00Oy", "String should match pattern"),
        ("employer", "x" * 201, "String should have at most 200 characters"),
        ("schema_version", 2, "Input should be 1"),
    ],
)
def test_other_notice_fields(field: str, value: object, fragment: str) -> None:
    errors = errors_of(notice(**{field: value}))
    assert [e["loc"][0] for e in errors] == [field]
    assert fragment in errors[0]["msg"]


def test_area_of_a_figure_is_checked() -> None:
    error = only_error(unemployment(area="MK22"))
    assert error["loc"] == ("area",)
    assert "MK01-MK21 (region)" in error["msg"]


def test_figure_measure_must_match_its_type() -> None:
    error = only_error(vacancies(measure="unemployed_jobseekers"))
    assert (error["type"], error["loc"]) == ("enum", ("measure",))


# ---------------------------------------------------------------------------------------------
# Personal data


@pytest.mark.parametrize(
    ("kind", "field", "value", "path"),
    [
        ("layoff_notice", "employer", f"Tmi {OFFICIAL_HETU}", "employer"),
        ("layoff_notice", "employer", OFFICIAL_HETU, "employer"),
        ("layoff_notice", "source", f"email:{OFFICIAL_HETU}", "source"),
        ("layoff_notice", "notice_id", OFFICIAL_HETU, "notice_id"),
        ("layoff_notice", "occupations", ["2221", OFFICIAL_HETU], "occupations[1]"),
        ("layoff_notice", "business_id", OFFICIAL_HETU, "business_id"),
        ("unemployment", "source", OFFICIAL_HETU, "source"),
        ("vacancies", "occupation", OFFICIAL_HETU, "occupation"),
        ("vacancies", "area", OFFICIAL_HETU, "area"),
    ],
)
def test_personal_identity_code_in_any_string_field(
    kind: str, field: str, value: object, path: str
) -> None:
    _, build = MODELS[kind]
    error = only_error(build(**{field: value}))
    assert error["type"] == "personal_data"
    assert error["loc"] == ()
    assert error["msg"] == (
        f"field {path} contains a Finnish personal identity code (henkilötunnus); "
        "events must not carry personal data"
    )
    assert OFFICIAL_HETU not in str(error["ctx"])
    # Only the raw input (which dead letters leave out and redact) may hold the code.
    assert OFFICIAL_HETU not in str({k: v for k, v in error.items() if k != "input"})


def test_personal_identity_code_through_the_union_is_not_echoed() -> None:
    with pytest.raises(ValidationError) as info:
        EVENT.validate_python(notice(employer=f"Tmi Matti {OFFICIAL_HETU}"))
    errors = info.value.errors(include_input=False)
    assert [e["type"] for e in errors] == ["personal_data"]
    assert OFFICIAL_HETU not in info.value.json(include_input=False)


def test_a_wrong_check_character_is_not_personal_data() -> None:
    # 131052-308A is not a valid code: the notice is accepted, not dead-lettered.
    event = LayoffNoticeFiled.model_validate(notice(employer="Order 131052-308A"))
    assert event.employer == "Order 131052-308A"


def test_fullwidth_period_is_not_a_second_spelling_of_a_month() -> None:
    # The idempotency key is (series, period, revision): '２０２３-０９' must not pass as 2023-09.
    errors = errors_of(unemployment(period="\uff12\uff10\uff12\uff13-\uff10\uff19"))
    assert errors[0]["loc"] == ("period",)


def test_a_revision_may_keep_what_it_replaced_and_others_serialise_as_before() -> None:
    from tutka.inputs.decoding import Decoder
    from tutka.models.deadletter import EPOCH

    base = {
        "type": "unemployment",
        "area": "SSS",
        "period": "2023-09",
        "measure": "unemployed_jobseekers",
        "value": 5.0,
        "published": "2023-10-25",
    }
    plain = UnemploymentReported.model_validate(base)
    assert "previous_value" not in plain.model_dump_json()
    revised = UnemploymentReported.model_validate({**base, "revision": 1, "previous_value": 4.0})
    assert UnemploymentReported.model_validate_json(revised.model_dump_json()) == revised
    with pytest.raises(ValidationError, match="previous_value belongs to a revision"):
        UnemploymentReported.model_validate({**base, "previous_value": 4.0})
    # The fast decoder takes a revision with its old value through full validation.
    decoder = Decoder()
    line = revised.model_dump_json()
    assert decoder.line(plain.model_dump_json(), "f", 1, EPOCH) == plain
    assert decoder.line(line, "f", 2, EPOCH) == revised
    bad = line.replace('"revision":1', '"revision":0')
    assert decoder.line(bad, "f", 3, EPOCH).error_type == "value_error"  # type: ignore[union-attr]
