"""Area codes, periods, business ids and classification codes (tutka/models/codes.py)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from tutka.models.codes import (
    AreaCode,
    BusinessId,
    IscoCode,
    MunicipalityCode,
    Period,
    TolCode,
    area_level,
    business_id_check_digit,
    business_id_is_valid,
    period_after,
    period_index,
    period_of,
    period_start,
    period_str,
    tol_section,
)

from .factories import business_id_check, digits

AREA: TypeAdapter[str] = TypeAdapter(AreaCode)
MUNICIPALITY: TypeAdapter[str] = TypeAdapter(MunicipalityCode)
PERIOD: TypeAdapter[str] = TypeAdapter(Period)
BUSINESS_ID: TypeAdapter[str] = TypeAdapter(BusinessId)
TOL: TypeAdapter[str] = TypeAdapter(TolCode)
ISCO: TypeAdapter[str] = TypeAdapter(IscoCode)


def only_error(adapter: TypeAdapter[str], value: object) -> dict[str, Any]:
    with pytest.raises(ValidationError) as info:
        adapter.validate_python(value)
    errors = info.value.errors()
    assert len(errors) == 1, errors
    return dict(errors[0])


# ---------------------------------------------------------------------------------------------
# Area codes


@pytest.mark.parametrize(
    ("code", "level"),
    [
        ("SSS", "SSS"),
        ("ELY01", "ELY"),
        ("ELY15", "ELY"),
        ("ELY19", "ELY"),
        ("MK01", "MK"),
        ("MK03", "MK"),  # merged into Uusimaa in 2011, but the pattern allows 01-21
        ("MK19", "MK"),
        ("MK21", "MK"),
        ("SK000", "SK"),
        ("SK194", "SK"),
        ("KU005", "KU"),
        ("KU091", "KU"),
        ("KU999", "KU"),
    ],
)
def test_area_level_of_valid_codes(code: str, level: str) -> None:
    assert area_level(code) == level
    assert AREA.validate_python(code) == code


@pytest.mark.parametrize(
    "code",
    [
        "",
        "KU91",  # too short
        "KU0911",  # too long
        "ku091",  # lowercase
        "Ku091",
        "KU09A",
        " KU091",
        "KU091 ",
        "091",  # Statistics Finland's unprefixed form is converted by the loader, not here
        "MK00",
        "MK22",
        "MK1",
        "ELY00",
        "ELY20",
        "ELY1",
        "ely15",
        "SSX",
        "SS",
        "sss",
        "SK19",
        "SK1944",
        "XX123",
    ],
)
def test_invalid_area_codes_are_rejected_with_the_expected_forms(code: str) -> None:
    with pytest.raises(ValueError, match=r"is not one of KU### .* SSS \(country\)"):
        area_level(code)
    error = only_error(AREA, code)
    assert error["type"] == "value_error"
    assert repr(code) in error["msg"]


@pytest.mark.parametrize("code", ["MK19", "SK194", "ELY15", "SSS"])
def test_municipality_code_rejects_other_levels(code: str) -> None:
    error = only_error(MUNICIPALITY, code)
    assert error["msg"] == f"Value error, municipality code must look like KU###, got {code!r}"


def test_municipality_code_accepts_a_municipality() -> None:
    assert MUNICIPALITY.validate_python("KU091") == "KU091"


def test_municipality_code_rejects_garbage_with_the_area_message() -> None:
    assert "is not one of KU###" in only_error(MUNICIPALITY, "KU91")["msg"]


@pytest.mark.parametrize(
    "code",
    [
        "KU\u0660\u0669\u0661",  # Arabic-Indic digits
        "SK\uff11\uff19\uff14",  # fullwidth digits
        "MK\uff11\uff19",
        "ELY\u0661\u0665",
    ],
)
def test_area_codes_accept_only_ascii_digits(code: str) -> None:
    # Statistics Finland codes are ASCII; a look-alike code would miss every hierarchy lookup
    # and every key built from it. (Python's \d matches any Unicode decimal digit.)
    with pytest.raises(ValueError):
        area_level(code)


# ---------------------------------------------------------------------------------------------
# Periods


@pytest.mark.parametrize(
    ("period", "fragment"),
    [
        ("2023-13", "has month 13, expected 01-12"),
        ("2023-00", "has month 00, expected 01-12"),
        ("1899-01", "is outside 1990-2100"),
        ("1989-12", "is outside 1990-2100"),
        ("2101-01", "is outside 1990-2100"),
        ("2023-1", "period must be YYYY-MM"),
        ("23-10", "period must be YYYY-MM"),
        ("2023/10", "period must be YYYY-MM"),
        ("2023-10-01", "period must be YYYY-MM"),
        ("2023-10 ", "period must be YYYY-MM"),
        ("", "period must be YYYY-MM"),
    ],
)
def test_invalid_periods(period: str, fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        period_index(period)
    error = only_error(PERIOD, period)
    assert fragment in error["msg"]
    assert repr(period) in error["msg"]


def test_period_bounds_are_inclusive() -> None:
    assert period_index("1990-01") == 1990 * 12
    assert period_index("2100-12") == 2100 * 12 + 11


def test_period_index_is_consecutive_across_year_boundaries() -> None:
    assert period_index("2010-01") - period_index("2009-12") == 1
    assert period_index("2023-10") - period_index("2022-10") == 12
    assert period_str(period_index("2009-12") + 1) == "2010-01"


@given(st.integers(period_index("1990-01"), period_index("2100-12")))
@settings(max_examples=300)
def test_period_index_and_str_round_trip_from_index(index: int) -> None:
    text = period_str(index)
    assert len(text) == 7
    assert period_index(text) == index
    assert PERIOD.validate_python(text) == text


@given(st.integers(1990, 2100), st.integers(1, 12))
@settings(max_examples=300)
def test_period_index_and_str_round_trip_from_text(year: int, month: int) -> None:
    text = f"{year:04d}-{month:02d}"
    index = period_index(text)
    assert period_str(index) == text
    assert period_start(text) == date(year, month, 1)
    assert period_of(date(year, month, 28)) == text
    after = period_after(text)
    assert after.day == 1
    assert after.year * 12 + after.month - 1 == index + 1


@pytest.mark.parametrize(
    "period", ["\uff12\uff10\uff12\uff13-\uff11\uff10", "\u0662\u0660\u0662\u0663-10"]
)
def test_periods_accept_only_ascii_digits(period: str) -> None:
    # Otherwise '２０２３-１０' is accepted as a second spelling of 2023-10 and breaks the
    # (series, period, revision) idempotency key.
    with pytest.raises(ValueError):
        period_index(period)


# ---------------------------------------------------------------------------------------------
# Business ids (Y-tunnus)


# 0112038-9 and 2331972-7 are published ids; the other two were worked out by hand.
@pytest.mark.parametrize("value", ["0112038-9", "2331972-7", "0737546-2", "1572860-0"])
def test_known_valid_business_ids(value: str) -> None:
    assert business_id_is_valid(value)
    assert BUSINESS_ID.validate_python(value) == value


@pytest.mark.parametrize("value", ["0112038-8", "2331972-1", "0737546-3", "1572860-9"])
def test_wrong_check_digit(value: str) -> None:
    assert not business_id_is_valid(value)
    error = only_error(BUSINESS_ID, value)
    assert error["msg"] == f"Value error, business id (Y-tunnus) {value!r} has a wrong check digit"


@pytest.mark.parametrize(
    "value", ["112038-9", "01120389", "0112038-", "0112038-10", "FI01120389", "0112038 9", ""]
)
def test_malformed_business_ids(value: str) -> None:
    assert not business_id_is_valid(value)
    error = only_error(BUSINESS_ID, value)
    assert (
        error["msg"]
        == f"Value error, business id (Y-tunnus) must look like 1234567-8, got {value!r}"
    )


def test_check_digit_of_known_ids() -> None:
    assert business_id_check_digit("0112038") == 9
    assert business_id_check_digit("2331972") == 7
    assert business_id_check_digit("0737546") == 2
    assert business_id_check_digit("1572860") == 0  # weighted sum 220, remainder 0 -> 0


def test_remainder_one_ids_are_never_valid() -> None:
    # Each has weighted sum 12 (6*2, 3*4, 1*8 + 1*4): remainder 1, so no check digit works.
    for seven in ("0000006", "0000030", "0000110"):
        assert business_id_check(seven) is None, seven
        assert business_id_check_digit(seven) is None
        assert not any(business_id_is_valid(f"{seven}-{d}") for d in range(10))


@given(digits(7))
@settings(max_examples=500)
def test_exactly_the_computed_check_digit_validates(seven: str) -> None:
    expected = business_id_check(seven)
    assert business_id_check_digit(seven) == expected
    valid = [d for d in range(10) if business_id_is_valid(f"{seven}-{d}")]
    assert valid == ([] if expected is None else [expected])


def test_business_id_accepts_only_ascii_digits() -> None:
    assert not business_id_is_valid("\uff10\uff11\uff11\uff12\uff10\uff13\uff18-\uff19")


# ---------------------------------------------------------------------------------------------
# TOL 2008 industries and ISCO-08 occupations


@pytest.mark.parametrize("section", [*"ABCDEFGHIJKLMNOPQRSTU", "X"])
def test_every_tol_section_letter_is_valid(section: str) -> None:
    assert tol_section(section) == section
    assert TOL.validate_python(section) == section


@pytest.mark.parametrize(
    ("code", "section"),
    [
        ("01", "A"),
        ("03", "A"),
        ("05", "B"),
        ("10", "C"),
        ("17", "C"),
        ("171", "C"),
        ("1712", "C"),
        ("17120", "C"),
        ("33", "C"),
        ("35", "D"),
        ("36", "E"),
        ("41", "F"),
        ("47", "G"),
        ("49", "H"),
        ("56", "I"),
        ("62010", "J"),
        ("64", "K"),
        ("68", "L"),
        ("75", "M"),
        ("82", "N"),
        ("84", "O"),
        ("85", "P"),
        ("86", "Q"),
        ("93", "R"),
        ("96", "S"),
        ("97", "T"),
        ("99", "U"),
    ],
)
def test_tol_codes_map_to_their_section(code: str, section: str) -> None:
    assert tol_section(code) == section
    assert TOL.validate_python(code) == code


@pytest.mark.parametrize(
    "division", ["00", "04", "34", "40", "44", "48", "54", "57", "67", "76", "83", "89"]
)
def test_missing_tol_divisions_are_rejected(division: str) -> None:
    for code in (division, f"{division}1", f"{division}123"):
        with pytest.raises(
            ValueError, match=f"TOL 2008 has no division {division} \\(code '{code}'\\)"
        ):
            tol_section(code)


@pytest.mark.parametrize(
    "code", ["", "1", "171200", "V", "Y", "Z", "a", "c", "AB", "C1", "17.1", " 17"]
)
def test_malformed_tol_codes_are_rejected(code: str) -> None:
    error = only_error(TOL, code)
    assert (
        "sector must be a TOL 2008 section letter A-U (X = unknown) or a 2-5 digit code"
        in error["msg"]
    )
    assert repr(code) in error["msg"]


@pytest.mark.parametrize("code", ["0", "1", "21", "222", "2221", "9629", "X000", "X999"])
def test_valid_isco_codes(code: str) -> None:
    assert ISCO.validate_python(code) == code


@pytest.mark.parametrize(
    "code", ["", "12345", "X12", "X1234", "x123", "XX12", "12A", "2221 ", "SSS"]
)
def test_invalid_isco_codes(code: str) -> None:
    error = only_error(ISCO, code)
    assert error["msg"] == (
        "Value error, occupation must be an ISCO-08 code of 1-4 digits (or X### for unknown), "
        f"got {code!r}"
    )


def test_tol_codes_accept_only_ascii_digits() -> None:
    with pytest.raises(ValidationError):
        TOL.validate_python("\uff11\uff17")  # fullwidth "17"


def test_isco_codes_accept_only_ascii_digits() -> None:
    with pytest.raises(ValidationError):
        ISCO.validate_python("\uff12\uff12\uff12\uff11")  # fullwidth "2221"
