"""``decode``: every bad input becomes a dead letter with a precise, structured reason."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from tutka.models.deadletter import (
    EPOCH,
    DeadLetter,
    ErrorDetail,
    Origin,
    dead_letter,
    decode,
    validate,
)
from tutka.models.events import LayoffNoticeFiled, UnemploymentReported, VacanciesReported
from tutka.models.personal_data import REDACTION

from .factories import (
    FILE_ORIGIN,
    KAFKA_ORIGIN,
    OFFICIAL_HETU,
    RECEIVED_AT,
    notice,
    unemployment,
    vacancies,
)


def dead(raw: bytes | str, origin: Origin = KAFKA_ORIGIN) -> DeadLetter:
    result = decode(raw, origin, RECEIVED_AT)
    assert isinstance(result, DeadLetter), result
    # Every dead letter must survive being produced to the dead-letter topic.
    assert DeadLetter.model_validate_json(result.model_dump_json()) == result
    return result


def encode(payload: Any) -> bytes:
    return json.dumps(payload).encode()


# ---------------------------------------------------------------------------------------------
# Valid input


@pytest.mark.parametrize(
    ("payload", "model"),
    [
        (notice(), LayoffNoticeFiled),
        (unemployment(), UnemploymentReported),
        (vacancies(), VacanciesReported),
    ],
)
def test_valid_payloads_decode_to_events(payload: dict[str, Any], model: type) -> None:
    for raw in (encode(payload), json.dumps(payload)):
        event = decode(raw, KAFKA_ORIGIN, RECEIVED_AT)
        assert type(event) is model
        assert decode(event.model_dump_json(), KAFKA_ORIGIN, RECEIVED_AT) == event


# ---------------------------------------------------------------------------------------------
# Decode failures


def test_bytes_that_are_not_utf8_keep_the_raw_payload_as_base64() -> None:
    raw = b'{"type": "vacancies", "employer": "\xe4\xe4ni"}'  # Latin-1, not UTF-8
    letter = dead(raw)
    assert (letter.reason, letter.error_type) == ("decode", "not_utf8")
    assert letter.raw_encoding == "base64"
    assert base64.b64decode(letter.raw) == raw
    assert letter.summary.startswith("payload is not UTF-8: ")
    assert "0xe4" in letter.summary
    assert letter.errors == (ErrorDetail(loc="", type="not_utf8", msg=letter.summary),)
    assert not letter.redacted


@pytest.mark.parametrize(
    "raw",
    [
        b'{"type": "vacancies"',
        b"",
        b"   ",
        b"{'type': 'vacancies'}",
        b"{}{}",
        b"nope",
        b"\xef\xbb\xbf{}",
    ],
)
def test_invalid_json(raw: bytes) -> None:
    letter = dead(raw)
    assert (letter.reason, letter.error_type) == ("decode", "json_invalid")
    assert letter.raw == raw.decode("utf-8")
    assert letter.raw_encoding == "utf-8"
    assert letter.summary.startswith("payload is not JSON: ")
    assert [(e.loc, e.type) for e in letter.errors] == [("", "json_invalid")]


def test_nesting_too_deep_for_the_json_parser() -> None:
    letter = dead(b"[" * 100_000 + b"]" * 100_000)
    assert (letter.reason, letter.error_type) == ("decode", "json_invalid")


def test_nesting_too_deep_for_validation() -> None:
    # Parses as JSON, but walking it for personal data can exhaust the stack (it does on 3.11);
    # either way it is a validation dead letter, never a RecursionError.
    raw = '{"type": "layoff_notice", "employer": ' + "[" * 900 + "]" * 900 + "}"
    letter = dead(raw)
    assert letter.reason == "validation"
    if letter.error_type == "too_deep":
        assert letter.summary == "payload is nested too deeply"
    else:
        assert ("layoff_notice.employer", "string_type") in {(e.loc, e.type) for e in letter.errors}


def test_integer_with_too_many_digits_is_a_dead_letter() -> None:
    # json.loads raises a plain ValueError (not JSONDecodeError) for integers over Python's
    # 4300-digit limit; decode must still return a dead letter rather than raise.
    letter = dead(b'{"type": "unemployment", "value": ' + b"9" * 5000 + b"}")
    assert letter.reason == "decode"


@pytest.mark.parametrize(
    ("raw", "kind"),
    [
        (b"[1, 2]", "list"),
        (b"42", "int"),
        (b"4.2", "float"),
        (b'"text"', "str"),
        (b"null", "NoneType"),
        (b"true", "bool"),
    ],
)
def test_json_that_is_not_an_object(raw: bytes, kind: str) -> None:
    letter = dead(raw)
    assert (letter.reason, letter.error_type) == ("validation", "not_an_object")
    assert letter.summary == f"payload must be a JSON object, got {kind}"
    assert letter.raw == raw.decode()


# ---------------------------------------------------------------------------------------------
# Validation failures


def test_missing_discriminator() -> None:
    letter = dead(b'{"area": "MK19"}')
    assert (letter.reason, letter.error_type) == ("validation", "union_tag_not_found")
    assert letter.summary == "Unable to extract tag using discriminator 'type'"


@pytest.mark.parametrize("tag", ["layoff", "dead_letter", "", 1, None])
def test_unknown_discriminator(tag: object) -> None:
    letter = dead(encode({"type": tag, "area": "MK19"}))
    assert (letter.reason, letter.error_type) == ("validation", "union_tag_invalid")
    assert "'layoff_notice', 'unemployment', 'vacancies'" in letter.summary


def test_missing_fields_are_all_listed() -> None:
    letter = dead(b'{"type": "unemployment", "area": "MK19"}')
    assert (letter.reason, letter.error_type) == ("validation", "missing")
    assert [(e.loc, e.type, e.msg) for e in letter.errors] == [
        ("unemployment.period", "missing", "Field required"),
        ("unemployment.value", "missing", "Field required"),
        ("unemployment.published", "missing", "Field required"),
        ("unemployment.measure", "missing", "Field required"),
    ]
    assert letter.summary == "; ".join(f"{e.loc}: Field required" for e in letter.errors)


def test_summary_is_limited_to_five_errors_but_errors_are_all_kept() -> None:
    letter = dead(b'{"type": "layoff_notice"}')
    assert len(letter.errors) == 9
    assert letter.summary.count("Field required") == 5


@pytest.mark.parametrize(
    ("payload", "error_type", "loc", "msg"),
    [
        (
            unemployment(colour="red"),
            "extra_forbidden",
            "unemployment.colour",
            "Extra inputs are not permitted",
        ),
        (
            unemployment(value=-1),
            "greater_than_equal",
            "unemployment.value",
            "Input should be greater than or equal to 0",
        ),
        (
            notice(persons=0),
            "greater_than_equal",
            "layoff_notice.persons",
            "Input should be greater than or equal to 1",
        ),
        (
            notice(persons=-3),
            "greater_than_equal",
            "layoff_notice.persons",
            "Input should be greater than or equal to 1",
        ),
        (
            notice(announced="2023-02-30"),
            "date_from_datetime_parsing",
            "layoff_notice.announced",
            "Input should be a valid date or datetime, day value is outside expected range",
        ),
        (
            unemployment(period="2023-10", published="2023-10-15"),
            "value_error",
            "unemployment",
            "period 2023-10 ends after its published date 2023-10-15",
        ),
        (
            notice(business_id="0112038-8"),
            "value_error",
            "layoff_notice.business_id",
            "business id (Y-tunnus) '0112038-8' has a wrong check digit",
        ),
        (
            notice(municipality="MK19"),
            "value_error",
            "layoff_notice.municipality",
            "municipality code must look like KU###, got 'MK19'",
        ),
        (
            notice(effective_from="2023-11-01", effective_to="2023-10-01"),
            "value_error",
            "layoff_notice",
            "effective_to 2023-10-01 is before effective_from 2023-11-01",
        ),
        (
            vacancies(period="2023-13"),
            "value_error",
            "vacancies.period",
            "period '2023-13' has month 13, expected 01-12",
        ),
    ],
)
def test_validation_failures_are_explained(
    payload: dict[str, Any], error_type: str, loc: str, msg: str
) -> None:
    letter = dead(encode(payload), FILE_ORIGIN)
    assert (letter.reason, letter.error_type) == ("validation", error_type)
    assert letter.errors == (ErrorDetail(loc=loc, type=error_type, msg=msg),)
    assert letter.summary == f"{loc}: {msg}"
    assert letter.raw == json.dumps(payload)
    assert not letter.redacted


@pytest.mark.parametrize("token", [b"NaN", b"Infinity", b"-Infinity"])
def test_non_finite_tokens(token: bytes) -> None:
    raw = json.dumps(vacancies(value=0)).encode().replace(b'"value": 0', b'"value": ' + token)
    assert token in raw
    letter = dead(raw)
    assert letter.error_type == "finite_number"
    assert letter.summary == "vacancies.value: Input should be a finite number"


# ---------------------------------------------------------------------------------------------
# Origin, time and structure


def test_kafka_origin_and_time_are_kept() -> None:
    letter = dead(b"{", KAFKA_ORIGIN)
    assert letter.origin == KAFKA_ORIGIN
    assert (
        letter.origin.topic,
        letter.origin.partition,
        letter.origin.offset,
        letter.origin.key,
    ) == (
        "tutka.notices.v1",
        3,
        1042,
        "n-2023-0001",
    )
    assert letter.received_at == RECEIVED_AT


def test_file_origin_is_kept() -> None:
    letter = dead(b"{", FILE_ORIGIN)
    assert (letter.origin.source, letter.origin.file, letter.origin.line) == (
        "file",
        "notices-2023.jsonl",
        17,
    )
    assert letter.origin.topic is None


def test_dead_letter_is_frozen_and_versioned() -> None:
    letter = dead(b"{")
    assert (letter.schema_version, letter.type) == (1, "dead_letter")
    with pytest.raises(ValueError):
        letter.reason = "processing"  # type: ignore[misc]


def test_dead_letter_helper_for_later_stages() -> None:
    letter = dead_letter(
        encode(notice()),
        FILE_ORIGIN,
        EPOCH,
        "processing",
        "unknown_area",
        "KU240 is not in the hierarchy",
    )
    assert (letter.reason, letter.error_type, letter.summary) == (
        "processing",
        "unknown_area",
        "KU240 is not in the hierarchy",
    )
    assert letter.errors == (
        ErrorDetail(loc="", type="unknown_area", msg="KU240 is not in the hierarchy"),
    )
    assert letter.received_at == EPOCH


def test_validate_accepts_an_already_parsed_row() -> None:
    row = unemployment()
    assert isinstance(validate(row, "csv line", FILE_ORIGIN, RECEIVED_AT), UnemploymentReported)
    letter = validate([row], "csv line", FILE_ORIGIN, RECEIVED_AT)
    assert isinstance(letter, DeadLetter)
    assert (letter.error_type, letter.raw) == ("not_an_object", "csv line")


# ---------------------------------------------------------------------------------------------
# Personal data is kept out of dead letters


def assert_no_code(letter: DeadLetter, code: str = OFFICIAL_HETU) -> None:
    dumped = letter.model_dump_json()
    assert code not in dumped
    assert code not in letter.summary
    assert all(code not in e.loc and code not in e.msg for e in letter.errors)


@pytest.mark.parametrize(
    "payload",
    [
        notice(employer=f"Tmi Matti Meikäläinen {OFFICIAL_HETU}"),
        notice(notice_id=OFFICIAL_HETU),
        notice(occupations=["2221", OFFICIAL_HETU]),
        unemployment(source=OFFICIAL_HETU),
        vacancies(occupation=OFFICIAL_HETU),
    ],
)
def test_payload_with_a_personal_code_is_kept_redacted(payload: dict[str, Any]) -> None:
    letter = dead(encode(payload))
    assert (letter.reason, letter.error_type) == ("validation", "personal_data")
    assert letter.redacted
    assert REDACTION in letter.raw
    assert letter.raw == json.dumps(payload).replace(OFFICIAL_HETU, REDACTION)
    assert "contains a Finnish personal identity code" in letter.summary
    assert_no_code(letter)


def test_personal_code_in_an_invalid_json_payload_is_redacted() -> None:
    letter = dead(f'{{"employer": "{OFFICIAL_HETU}"'.encode())
    assert (letter.error_type, letter.redacted) == ("json_invalid", True)
    assert letter.raw == f'{{"employer": "{REDACTION}"'
    assert_no_code(letter)


def test_personal_code_in_a_non_object_is_redacted() -> None:
    letter = dead(encode([OFFICIAL_HETU]))
    assert (letter.error_type, letter.redacted) == ("not_an_object", True)
    assert_no_code(letter)


def test_personal_code_as_the_type_tag_is_not_echoed() -> None:
    letter = dead(encode(unemployment(type=OFFICIAL_HETU)))
    assert letter.redacted
    assert_no_code(letter)


def test_personal_code_as_a_field_name_is_not_echoed() -> None:
    payload = unemployment()
    payload[OFFICIAL_HETU] = "x"
    letter = dead(encode(payload))
    assert letter.redacted
    assert_no_code(letter)


def test_personal_code_in_a_non_utf8_payload_is_not_kept() -> None:
    raw = b'{"employer": "\xe4 ' + OFFICIAL_HETU.encode() + b'"}'
    letter = dead(raw)
    # The bytes are not kept: only their reading, redacted (the bad byte a replacement mark).
    assert letter.raw_encoding == "utf-8"
    assert letter.redacted
    assert letter.raw == '{"employer": "\ufffd ' + REDACTION + '"}'


@pytest.mark.parametrize(
    "value",
    [
        "131052\\u002d308T",  # the hyphen written as a JSON escape
        "Sähkö\\u00e4" + OFFICIAL_HETU,  # the escape ends in a hex digit right before the code
        "Matti\\t" + OFFICIAL_HETU,  # the escape ends in a letter right before the code
    ],
)
def test_personal_code_written_with_json_escapes_is_redacted(value: str) -> None:
    raw = '{"type": "layoff_notice", "employer": "' + value + '"}'
    parsed = json.loads(raw)["employer"]
    assert OFFICIAL_HETU in parsed
    letter = dead(raw)
    assert letter.error_type == "personal_data"
    assert OFFICIAL_HETU not in json.dumps(json.loads(letter.raw), ensure_ascii=False)
    assert letter.redacted


def test_dead_letter_for_text_with_lone_surrogates_can_be_produced() -> None:
    # A str payload (e.g. a file line read with errors="surrogateescape") must still give a
    # dead letter that serialises; otherwise producing it to the dead-letter topic crashes.
    letter = decode('{"type": "\udcff"}', FILE_ORIGIN, RECEIVED_AT)
    assert isinstance(letter, DeadLetter)
    letter.model_dump_json()
