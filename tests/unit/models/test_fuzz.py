"""Fuzzing ``decode``: thousands of bad payloads, not one exception.

Every input comes back either as an event that is genuinely valid (it re-validates and survives
``decode(model_dump_json())`` unchanged) or as a dead letter that explains itself and can be
produced. Example counts are set per test; ``FUZZ_EXAMPLES`` is their total.
"""

from __future__ import annotations

import base64
import json
import math
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tutka.models.deadletter import DeadLetter, decode
from tutka.models.events import LayoffNoticeFiled, UnemploymentReported, VacanciesReported
from tutka.models.personal_data import contains_personal_code

from .factories import (
    KAFKA_ORIGIN,
    NUMERIC,
    RECEIVED_AT,
    REQUIRED,
    figure_payloads,
    hetus,
    json_values,
    notice_payloads,
    valid_payloads,
)

EVENT_MODELS = (LayoffNoticeFiled, UnemploymentReported, VacanciesReported)
EXAMPLES = {
    "bytes": 1500,
    "text": 500,
    "json_values": 1000,
    "mutated": 1500,
    "removed": 400,
    "extra": 500,
    "non_finite_or_negative": 600,
    "personal_code": 700,
    "round_trip": 3 * 300,
}
FUZZ_EXAMPLES = sum(EXAMPLES.values())
FAST = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow]}


def outcome(
    raw: bytes | str,
) -> LayoffNoticeFiled | UnemploymentReported | VacanciesReported | DeadLetter:
    """Decode ``raw`` and check the universal contract; return the result for further checks."""
    result = decode(raw, KAFKA_ORIGIN, RECEIVED_AT)
    if isinstance(result, DeadLetter):
        assert result.summary.strip()
        assert result.error_type
        assert result.errors and all(e.type for e in result.errors)
        assert result.origin == KAFKA_ORIGIN
        assert result.received_at == RECEIVED_AT
        assert DeadLetter.model_validate_json(result.model_dump_json()) == result
        return result
    assert isinstance(result, EVENT_MODELS)
    assert type(result).model_validate(result.model_dump()) == result
    dumped = result.model_dump_json()
    assert decode(dumped, KAFKA_ORIGIN, RECEIVED_AT) == result
    assert not contains_personal_code(dumped)
    assert all(math.isfinite(v) for v in result.model_dump().values() if isinstance(v, float))
    return result


def dead(raw: bytes | str) -> DeadLetter:
    result = outcome(raw)
    assert isinstance(result, DeadLetter), f"accepted: {result!r}"
    return result


@pytest.mark.slow
@given(st.binary(max_size=300))
@settings(max_examples=EXAMPLES["bytes"], **FAST)
def test_arbitrary_bytes(raw: bytes) -> None:
    result = outcome(raw)
    if isinstance(result, DeadLetter) and not result.redacted:
        kept = (
            base64.b64decode(result.raw) if result.raw_encoding == "base64" else result.raw.encode()
        )
        assert kept == raw


@pytest.mark.slow
@given(st.text(max_size=300))
@settings(max_examples=EXAMPLES["text"], **FAST)
def test_arbitrary_text(raw: str) -> None:
    outcome(raw)


@pytest.mark.slow
@given(json_values)
@settings(max_examples=EXAMPLES["json_values"], **FAST)
def test_arbitrary_json_values(value: Any) -> None:
    result = dead(json.dumps(value))
    if not isinstance(value, dict):
        assert result.error_type == "not_an_object"


@pytest.mark.slow
@given(valid_payloads, st.data())
@settings(max_examples=EXAMPLES["mutated"], **FAST)
def test_one_field_set_to_an_arbitrary_json_value(
    payload: dict[str, Any], data: st.DataObject
) -> None:
    field = data.draw(st.sampled_from(sorted(payload)), label="field")
    payload[field] = data.draw(json_values, label="value")
    outcome(json.dumps(payload))


@pytest.mark.slow
@given(valid_payloads, st.data())
@settings(max_examples=EXAMPLES["removed"], **FAST)
def test_one_field_removed(payload: dict[str, Any], data: st.DataObject) -> None:
    field = data.draw(st.sampled_from(sorted(payload)), label="field")
    kind = payload["type"]
    del payload[field]
    result = outcome(json.dumps(payload))
    if field == "type":
        assert isinstance(result, DeadLetter) and result.error_type == "union_tag_not_found"
    elif field in REQUIRED[kind]:
        assert isinstance(result, DeadLetter)
        assert (result.error_type, result.errors[0].loc) == ("missing", f"{kind}.{field}")
    else:
        assert not isinstance(result, DeadLetter), result.summary


@pytest.mark.slow
@given(valid_payloads, st.text(min_size=1, max_size=20), json_values)
@settings(max_examples=EXAMPLES["extra"], **FAST)
def test_one_extra_field(payload: dict[str, Any], name: str, value: Any) -> None:
    kind = payload["type"]
    model = {m.model_fields["type"].default: m for m in EVENT_MODELS}[kind]
    assume(name not in model.model_fields)
    payload[name] = value
    result = dead(json.dumps(payload))
    assert [(e.loc, e.type) for e in result.errors] == [(f"{kind}.{name}", "extra_forbidden")]


@pytest.mark.slow
@given(
    valid_payloads,
    st.data(),
    st.sampled_from(["NaN", "Infinity", "-Infinity", "negative"]),
    st.floats(min_value=1e-9, max_value=1e12) | st.integers(1, 10**12),
)
@settings(max_examples=EXAMPLES["non_finite_or_negative"], **FAST)
def test_numeric_field_non_finite_or_negative(
    payload: dict[str, Any], data: st.DataObject, how: str, size: float
) -> None:
    kind = payload["type"]
    field = data.draw(st.sampled_from(NUMERIC[kind]), label="field")
    placeholder = "__NUMBER__"
    payload[field] = placeholder
    number = json.dumps(-size) if how == "negative" else how
    raw = json.dumps(payload).replace(json.dumps(placeholder), number)
    result = dead(raw)
    assert result.errors[0].loc == f"{kind}.{field}"
    if how == "negative":
        # integer fields are strict: a negative float there is a type error before a range error
        assert result.error_type in ("greater_than_equal", "int_type")
    elif field == "value":
        assert result.error_type == "finite_number"


separators = st.sampled_from([" ", ":", "/", ".", ",", "(", "_", "; "])


@pytest.mark.slow
@given(
    valid_payloads,
    st.data(),
    hetus,
    st.text(max_size=15),
    separators,
    separators,
    st.text(max_size=15),
)
@settings(max_examples=EXAMPLES["personal_code"], **FAST)
def test_embedded_personal_code(
    payload: dict[str, Any],
    data: st.DataObject,
    code: str,
    before: str,
    left: str,
    right: str,
    after: str,
) -> None:
    # Any field but the discriminator (see test_deadletter for that one) gets the code, inside
    # a list for occupations.
    field = data.draw(st.sampled_from(sorted(set(payload) - {"type"})), label="field")
    text = f"{before}{left}{code}{right}{after}"
    payload[field] = [text] if field == "occupations" else text
    result = dead(json.dumps(payload))
    assert result.error_type == "personal_data"
    assert result.redacted
    dumped = result.model_dump_json()
    assert code not in dumped
    assert code not in result.summary
    assert not contains_personal_code(result.raw)


@pytest.mark.slow
@given(notice_payloads())
@settings(max_examples=EXAMPLES["round_trip"] // 3, **FAST)
def test_valid_notices_round_trip(payload: dict[str, Any]) -> None:
    event = outcome(json.dumps(payload))
    assert isinstance(event, LayoffNoticeFiled), getattr(event, "summary", event)
    assert decode(event.model_dump_json(), KAFKA_ORIGIN, RECEIVED_AT) == event
    assert event.model_dump(mode="json") == payload | {"schema_version": 1}


@pytest.mark.slow
@given(figure_payloads("unemployment"))
@settings(max_examples=EXAMPLES["round_trip"] // 3, **FAST)
def test_valid_unemployment_round_trip(payload: dict[str, Any]) -> None:
    event = outcome(json.dumps(payload))
    assert isinstance(event, UnemploymentReported), getattr(event, "summary", event)
    assert event.model_dump(mode="json") == payload | {"schema_version": 1}


@pytest.mark.slow
@given(figure_payloads("vacancies"))
@settings(max_examples=EXAMPLES["round_trip"] // 3, **FAST)
def test_valid_vacancies_round_trip(payload: dict[str, Any]) -> None:
    event = outcome(json.dumps(payload))
    assert isinstance(event, VacanciesReported), getattr(event, "summary", event)
    assert event.model_dump(mode="json") == payload | {"schema_version": 1}


def test_fuzz_budget_is_in_the_thousands() -> None:
    assert FUZZ_EXAMPLES >= 5000
