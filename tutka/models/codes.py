"""Statistics Finland codes, periods and Finnish identifiers, validated at the boundary.

Everything here is pure and raises ``ValueError`` with a precise message, so pydantic can turn
the failure into a structured validation error (and the event into a dead letter).

>>> area_level("KU240")
'KU'
>>> period_index("2023-10") - period_index("2022-10")
12
>>> period_str(period_index("2009-12") + 1)
'2010-01'
>>> business_id_is_valid("0112038-9"), business_id_is_valid("0112038-8")
(True, False)
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Final, Literal

from pydantic import AfterValidator

AreaLevel = Literal["SSS", "ELY", "MK", "SK", "KU"]

#: Hierarchy order, broadest first. Municipalities nest in sub-regions, sub-regions in regions,
#: regions in ELY areas (each region lies wholly in one ELY area) and everything in the country.
AREA_LEVELS: Final[tuple[AreaLevel, ...]] = ("SSS", "ELY", "MK", "SK", "KU")

_AREA_PATTERNS: Final[dict[AreaLevel, re.Pattern[str]]] = {
    "SSS": re.compile(r"SSS"),
    "ELY": re.compile(r"ELY(0[1-9]|1[0-9])"),
    "MK": re.compile(r"MK(0[1-9]|1[0-9]|2[01])"),
    "SK": re.compile(r"SK[0-9]{3}"),
    "KU": re.compile(r"KU[0-9]{3}"),
}

MIN_YEAR: Final = 1990
MAX_YEAR: Final = 2100


def area_level(code: str) -> AreaLevel:
    """Return the hierarchy level of a Statistics Finland area code, or raise ``ValueError``."""
    for level, pattern in _AREA_PATTERNS.items():
        if pattern.fullmatch(code):
            return level
    raise ValueError(
        f"area code {code!r} is not one of KU### (municipality), SK### (sub-region), "
        "MK01-MK21 (region), ELY01-ELY19 (ELY area) or SSS (country)"
    )


def _check_area(code: str) -> str:
    area_level(code)
    return code


def _check_municipality(code: str) -> str:
    if area_level(code) != "KU":
        raise ValueError(f"municipality code must look like KU###, got {code!r}")
    return code


AreaCode = Annotated[str, AfterValidator(_check_area)]
MunicipalityCode = Annotated[str, AfterValidator(_check_municipality)]

# ---------------------------------------------------------------------------------------------
# Periods: months as "YYYY-MM" at the boundary, as an integer month index inside the core.

_PERIOD = re.compile(r"([0-9]{4})-([0-9]{2})")


def period_index(period: str) -> int:
    """Months since year 0: consecutive months differ by one, whatever the year boundary."""
    match = _PERIOD.fullmatch(period)
    if match is None:
        raise ValueError(f"period must be YYYY-MM, got {period!r}")
    year, month = int(match.group(1)), int(match.group(2))
    if not 1 <= month <= 12:
        raise ValueError(f"period {period!r} has month {month:02d}, expected 01-12")
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise ValueError(f"period {period!r} is outside {MIN_YEAR}-{MAX_YEAR}")
    return year * 12 + month - 1


def period_str(index: int) -> str:
    """Inverse of :func:`period_index`."""
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def period_of(day: date) -> str:
    """The ``YYYY-MM`` period a calendar day falls in."""
    return f"{day.year:04d}-{day.month:02d}"


def period_start(period: str) -> date:
    """The first day of the month ``period`` (``YYYY-MM``)."""
    index = period_index(period)
    return date(index // 12, index % 12 + 1, 1)


def period_after(period: str) -> date:
    """First day of the month after ``period``: the earliest day a month-end figure can exist."""
    index = period_index(period) + 1
    return date(index // 12, index % 12 + 1, 1)


def _check_period(period: str) -> str:
    period_index(period)
    return period


Period = Annotated[str, AfterValidator(_check_period)]


def check_plausible_date(day: date) -> date:
    """Return ``day`` if its year is within the years the data can have; ``ValueError`` if not."""
    if not MIN_YEAR <= day.year <= MAX_YEAR:
        raise ValueError(f"date {day.isoformat()} is outside {MIN_YEAR}-{MAX_YEAR}")
    return day


PlausibleDate = Annotated[date, AfterValidator(check_plausible_date)]

# ---------------------------------------------------------------------------------------------
# Finnish business id (Y-tunnus): seven digits, a hyphen and a modulus-11 check digit.

_BUSINESS_ID = re.compile(r"([0-9]{7})-([0-9])")
_BUSINESS_ID_WEIGHTS: Final = (7, 9, 10, 5, 8, 4, 2)


def business_id_check_digit(digits: str) -> int | None:
    """Check digit for seven digits, or ``None`` when no valid id has them (remainder 1)."""
    remainder = sum(int(d) * w for d, w in zip(digits, _BUSINESS_ID_WEIGHTS, strict=True)) % 11
    if remainder == 0:
        return 0
    if remainder == 1:
        return None
    return 11 - remainder


def business_id_is_valid(value: str) -> bool:
    """Whether ``value`` is a Y-tunnus (``1234567-8``) whose check digit is right."""
    match = _BUSINESS_ID.fullmatch(value)
    if match is None:
        return False
    return business_id_check_digit(match.group(1)) == int(match.group(2))


def _check_business_id(value: str) -> str:
    if _BUSINESS_ID.fullmatch(value) is None:
        raise ValueError(f"business id (Y-tunnus) must look like 1234567-8, got {value!r}")
    if not business_id_is_valid(value):
        raise ValueError(f"business id (Y-tunnus) {value!r} has a wrong check digit")
    return value


BusinessId = Annotated[str, AfterValidator(_check_business_id)]

# ---------------------------------------------------------------------------------------------
# Classifications: TOL 2008 (= NACE Rev. 2) industries and ISCO-08 occupations.

#: TOL 2008 sections and the two-digit divisions that belong to each.
TOL_SECTIONS: Final[dict[str, tuple[int, int]]] = {
    "A": (1, 3), "B": (5, 9), "C": (10, 33), "D": (35, 35), "E": (36, 39), "F": (41, 43),
    "G": (45, 47), "H": (49, 53), "I": (55, 56), "J": (58, 63), "K": (64, 66), "L": (68, 68),
    "M": (69, 75), "N": (77, 82), "O": (84, 84), "P": (85, 85), "Q": (86, 88), "R": (90, 93),
    "S": (94, 96), "T": (97, 98), "U": (99, 99),
}  # fmt: skip
#: Statistics Finland's section for an unknown industry.
TOL_UNKNOWN: Final = "X"

_TOL = re.compile(r"[A-UX]|[0-9]{2}([0-9]{1,3})?")
# ISCO-08 codes have 1-4 digits; Statistics Finland adds X### groups for unknown occupations.
_ISCO = re.compile(r"[0-9]{1,4}|X[0-9]{3}")


def tol_section(code: str) -> str:
    """The TOL 2008 section letter of a section letter or a 2-5 digit code, or ``ValueError``."""
    if _TOL.fullmatch(code) is None:
        raise ValueError(
            f"sector must be a TOL 2008 section letter A-U (X = unknown) or a 2-5 digit code, "
            f"got {code!r}"
        )
    if code.isalpha():
        return code
    division = int(code[:2])
    for section, (low, high) in TOL_SECTIONS.items():
        if low <= division <= high:
            return section
    raise ValueError(f"TOL 2008 has no division {code[:2]} (code {code!r})")


def _check_tol(code: str) -> str:
    tol_section(code)
    return code


def _check_isco(code: str) -> str:
    if _ISCO.fullmatch(code) is None:
        raise ValueError(
            f"occupation must be an ISCO-08 code of 1-4 digits (or X### for unknown), got {code!r}"
        )
    return code


TolCode = Annotated[str, AfterValidator(_check_tol)]
IscoCode = Annotated[str, AfterValidator(_check_isco)]
