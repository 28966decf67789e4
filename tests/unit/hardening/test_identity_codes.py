"""Issue #14, item 1: personal identity codes in dead letters, alerts' inputs and case notes.

Each test is named after the failure it guards against.
"""

from __future__ import annotations

import base64
import json

import pytest
from pydantic import ValidationError

from tutka.models.casework import CASE_ACTION
from tutka.models.deadletter import EPOCH as RECEIVED_AT
from tutka.models.deadletter import DeadLetter, Origin, decode
from tutka.models.events import LayoffNoticeFiled

from .spellings import CODE, JSON_ESCAPED, LOOK_ALIKES, leaks

ORIGIN = Origin(source="file", file="x.jsonl", line=1)
NOTICE = {
    "type": "layoff_notice",
    "notice_id": "n-1",
    "employer": "Oy Ab",
    "business_id": "0112038-9",
    "municipality": "KU240",
    "sector": "17",
    "kind": "dismissal",
    "persons": 12,
    "announced": "2023-10-02",
    "effective_from": "2023-11-01",
    "source": "te",
}


def dead(raw: bytes | str) -> DeadLetter:
    letter = decode(raw, ORIGIN, RECEIVED_AT)
    assert isinstance(letter, DeadLetter)
    return letter


def kept(letter: DeadLetter) -> str:
    """Everything a dead letter would show anyone, as one text."""
    raw = letter.raw
    if letter.raw_encoding == "base64":
        raw = base64.b64decode(raw).decode("utf-8", errors="replace")
    return raw + letter.model_dump_json()


@pytest.mark.parametrize("spelling", JSON_ESCAPED.values(), ids=JSON_ESCAPED.keys())
def test_escaped_code_in_invalid_json_dead_letter_is_redacted(spelling: str) -> None:
    letter = dead('{"employer": "' + spelling + '", ')  # not JSON: cannot be parsed to check
    assert letter.error_type == "json_invalid"
    assert letter.redacted
    assert not leaks(kept(letter))


@pytest.mark.parametrize("spelling", JSON_ESCAPED.values(), ids=JSON_ESCAPED.keys())
def test_escaped_code_in_non_utf8_dead_letter_is_redacted(spelling: str) -> None:
    letter = dead(b'{"employer": "\xff ' + spelling.encode() + b'"}')
    assert letter.error_type == "not_utf8"
    assert letter.redacted
    assert not leaks(kept(letter))


@pytest.mark.parametrize("spelling", JSON_ESCAPED.values(), ids=JSON_ESCAPED.keys())
def test_escaped_code_in_deeply_nested_dead_letter_is_redacted(spelling: str) -> None:
    raw = '{"a": ' * 1500 + '"' + spelling + '"' + "}" * 1500  # within the raw cap
    letter = dead(raw)
    assert letter.redacted
    assert not leaks(kept(letter))


@pytest.mark.parametrize("spelling", LOOK_ALIKES.values(), ids=LOOK_ALIKES.keys())
def test_look_alike_code_does_not_pass_validation(spelling: str) -> None:
    payload = {**NOTICE, "employer": f"Oy {spelling} Ab"}
    result = decode(json.dumps(payload, ensure_ascii=False), ORIGIN, RECEIVED_AT)
    assert not isinstance(result, LayoffNoticeFiled)
    assert result.error_type == "personal_data"
    assert not leaks(kept(result))


@pytest.mark.parametrize("spelling", LOOK_ALIKES.values(), ids=LOOK_ALIKES.keys())
def test_look_alike_code_in_a_dead_letter_is_redacted(spelling: str) -> None:
    letter = dead('{"employer": "' + spelling + '"')
    assert not leaks(kept(letter))


@pytest.mark.parametrize(
    "action",
    [
        {"type": "note", "text": f"soitettu, hetu {CODE}"},
        {"type": "note", "text": f"hetu {LOOK_ALIKES['en_dash']}"},
        {"type": "note", "text": f"hetu {LOOK_ALIKES['zero_width_space']}"},
        {"type": "assigned", "assignee": CODE},
        {"type": "action_linked", "title": f"tapaaminen {CODE}"},
    ],
)
def test_case_note_with_a_code_is_refused(action: dict[str, str]) -> None:
    with pytest.raises(ValidationError) as caught:
        CASE_ACTION.validate_python(action)
    assert not leaks(str(caught.value))


def test_case_note_without_a_code_is_accepted() -> None:
    note = CASE_ACTION.validate_python({"type": "note", "text": "Y-tunnus 0112038-9, soitettu"})
    assert note.type == "note"


def test_code_followed_by_a_tab_and_digits_is_still_found() -> None:
    # Found by the file fuzz: removing the tab as invisible joined the code to the next number,
    # and a code within a longer number is no code. A separator stays a separator.
    letter = dead("2023-9,KU240,TYOVOIMATK,131052\u2212308T\t2023-09,KU999")
    assert letter.redacted
    assert not leaks(kept(letter))


@pytest.mark.parametrize(
    "raw",
    [
        "\u00bc\uff11\uff13\uff11\uff10\uff15\uff12-\uff13\uff10\uff18T",  # NFKC makes ¼ "1⁄4"
        '{"\\u131052\u2013308Tda": 1',  # \u1310 an escape to a parser, text to a reader
    ],
    ids=["fraction_before_full_width_code", "escape_swallowing_digits"],
)
def test_code_hidden_by_one_reading_is_found_by_another(raw: str) -> None:
    # Found by the file fuzz: one reading form (NFKC, or JSON escapes read) hid the code that
    # another shows; every form a reader may see is checked.
    letter = dead(raw)
    assert letter.redacted
    assert not leaks(kept(letter))
