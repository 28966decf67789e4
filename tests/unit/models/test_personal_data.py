"""Detection and redaction of Finnish personal identity codes (tutka/models/personal_data.py)."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tutka.models.personal_data import (
    REDACTION,
    contains_personal_code,
    find_personal_codes,
    redact_personal_codes,
)

from .factories import HETU_CHECK_CHARS, OFFICIAL_HETU, hetu, hetus

#: Examples published by DVV for the century signs introduced in 2023 (Y, X, W, V, U for the
#: 1900s; B, C, D, E, F for the 2000s), plus the long-standing A and '-' forms.
DVV_EXAMPLES = [
    "010594Y9021",
    "020594X903P",
    "030594W903B",
    "040594V9030",
    "050594U903M",
    "010516B903X",
    "020516C903K",
    "030516D9037",
    "010501E9032",
    "020503F9037",
    "020504A902E",
    OFFICIAL_HETU,
]


def test_official_example_is_found_and_redacted() -> None:
    assert find_personal_codes(OFFICIAL_HETU) == [OFFICIAL_HETU]
    assert contains_personal_code(OFFICIAL_HETU)
    assert redact_personal_codes(OFFICIAL_HETU) == REDACTION


@pytest.mark.parametrize("code", DVV_EXAMPLES)
def test_every_century_sign_is_recognised(code: str) -> None:
    assert find_personal_codes(f"henkilö {code}.") == [code]
    assert redact_personal_codes(f"henkilö {code}.") == f"henkilö {REDACTION}."


def test_nineteenth_century_plus_sign() -> None:
    code = hetu(date(1875, 3, 14), 123)
    assert code[6] == "+"
    assert find_personal_codes(code) == [code]


def test_helper_agrees_with_the_official_example() -> None:
    # Guards the test helper that the property tests below rely on.
    assert hetu(date(1952, 10, 13), 308) == OFFICIAL_HETU


@pytest.mark.parametrize(
    "text",
    [
        f"contact {OFFICIAL_HETU} about it",
        f"({OFFICIAL_HETU})",
        f"id:{OFFICIAL_HETU}",
        f"{OFFICIAL_HETU},{OFFICIAL_HETU}",
        f"line one\n{OFFICIAL_HETU}\tline two",
        f"ääkkönen {OFFICIAL_HETU} öljy",
    ],
)
def test_codes_embedded_in_text_are_found_and_only_they_are_replaced(text: str) -> None:
    count = text.count(OFFICIAL_HETU)
    assert find_personal_codes(text) == [OFFICIAL_HETU] * count
    redacted = redact_personal_codes(text)
    assert OFFICIAL_HETU not in redacted
    assert redacted == text.replace(OFFICIAL_HETU, REDACTION)


@pytest.mark.parametrize(
    "text",
    [
        "131052-308A",  # wrong check character
        "131052-308U",
        "131052-309T",  # individual number changed, check character not
        "131052Z308T",  # Z is no century sign
        "131052-308",  # no check character
        "31052-308T",
        "0112038-9",  # a business id
        "2023-10-25",
        "+358 40 123 4567",
        "1310523308T",
        "",
    ],
)
def test_non_codes_are_not_flagged(text: str) -> None:
    assert find_personal_codes(text) == []
    assert not contains_personal_code(text)
    assert redact_personal_codes(text) == text


def _with_formula_check(ddmmyy: str, sign: str, individual: str) -> str:
    """Right check character by the formula, whatever the date: isolates the date test."""
    return f"{ddmmyy}{sign}{individual}{HETU_CHECK_CHARS[int(ddmmyy + individual) % 31]}"


@pytest.mark.parametrize(
    ("ddmmyy", "sign"),
    [
        ("310252", "-"),  # 31 February
        ("300252", "A"),
        ("290201", "A"),  # 2001 is no leap year
        ("290200", "-"),  # 1900 is no leap year
        ("320152", "-"),
        ("001052", "-"),
        ("131352", "-"),
        ("130052", "-"),
    ],
)
def test_impossible_dates_are_not_flagged(ddmmyy: str, sign: str) -> None:
    text = _with_formula_check(ddmmyy, sign, "308")
    assert find_personal_codes(text) == []
    assert redact_personal_codes(text) == text


def test_leap_day_of_a_leap_year_is_flagged() -> None:
    for code in (
        _with_formula_check("290200", "A", "123"),
        _with_formula_check("290296", "-", "123"),
    ):
        assert find_personal_codes(code) == [code]


separators = st.sampled_from([" ", "\n", ", ", ":", "(", ")", "/", '"', "'", ";", "é", "–"])
surrounding = st.text(st.characters(categories=["L", "N", "P", "Zs"]), max_size=30)


@pytest.mark.slow
@given(hetus, surrounding, separators, separators, surrounding)
@settings(max_examples=500)
def test_generated_codes_are_always_found_and_removed(
    code: str, before: str, left: str, right: str, after: str
) -> None:
    text = f"{before}{left}{code}{right}{after}"
    assert code in find_personal_codes(text)
    assert contains_personal_code(text)
    redacted = redact_personal_codes(text)
    assert code not in redacted
    assert f"{left}{REDACTION}{right}" in redacted
    assert not contains_personal_code(redacted)


@given(hetus, st.sampled_from(HETU_CHECK_CHARS))
@settings(max_examples=300)
def test_any_other_check_character_is_not_flagged(code: str, check: str) -> None:
    altered = code[:-1] + check
    assert find_personal_codes(altered) == ([altered] if check == code[-1] else [])
