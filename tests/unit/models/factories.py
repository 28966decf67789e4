"""Valid payloads, personal identity codes and hypothesis strategies shared by the model tests.

The payload builders return plain dicts (what arrives from Kafka after ``json.loads``); tests
mutate them to make exactly one thing wrong. The henkilötunnus helper is written from the DVV
specification, independently of ``tutka.models.personal_data``, so that it can catch a bug there.
"""

from __future__ import annotations

import string
from datetime import UTC, date, datetime
from typing import Any

from hypothesis import strategies as st

from tutka.models.deadletter import Origin
from tutka.models.events import NoticeKind, UnemploymentMeasure, VacancyMeasure
from tutka.models.personal_data import contains_personal_code

KAFKA_ORIGIN = Origin(
    source="kafka", topic="tutka.notices.v1", partition=3, offset=1042, key="n-2023-0001"
)
FILE_ORIGIN = Origin(source="file", file="notices-2023.jsonl", line=17)
RECEIVED_AT = datetime(2023, 11, 2, 8, 30, tzinfo=UTC)

#: The example code in the DVV (Digital and Population Data Services Agency) documentation.
OFFICIAL_HETU = "131052-308T"
HETU_CHECK_CHARS = "0123456789ABCDEFHJKLMNPRSTUVWXY"
CENTURY_SIGNS: dict[int, str] = {1800: "+", 1900: "-UVWXY", 2000: "ABCDEF"}


def hetu(born: date, individual: int, sign: str | None = None) -> str:
    """A personal identity code with a correct check character (DDMMYY, sign, ZZZ, check)."""
    century = born.year // 100 * 100
    signs = CENTURY_SIGNS[century]
    sign = signs[0] if sign is None else sign
    assert sign in signs, f"{sign!r} is not a century sign for {century}"
    ddmmyy = born.strftime("%d%m") + f"{born.year % 100:02d}"
    check = HETU_CHECK_CHARS[int(f"{ddmmyy}{individual:03d}") % 31]
    return f"{ddmmyy}{sign}{individual:03d}{check}"


def notice(**overrides: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "type": "layoff_notice",
        "notice_id": "n-2023-0001",
        "employer": "Kemin Sellu Oy",
        "business_id": "0112038-9",
        "municipality": "KU240",
        "sector": "17",
        "kind": "dismissal",
        "persons": 120,
        "announced": "2023-10-02",
        "effective_from": "2023-11-01",
        "effective_to": "2024-01-31",
        "occupations": ["8171", "7233"],
        "source": "te-palvelut",
        "revision": 0,
    }
    payload.update(overrides)
    return payload


def unemployment(**overrides: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "type": "unemployment",
        "area": "MK19",
        "period": "2023-09",
        "measure": "unemployed_jobseekers",
        "value": 11000,
        "published": "2023-10-25",
        "sector": None,
        "occupation": None,
        "revision": 0,
        "source": "tyonv_12r5",
    }
    payload.update(overrides)
    return payload


def vacancies(**overrides: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "type": "vacancies",
        "area": "ELY15",
        "period": "2023-09",
        "measure": "open_at_month_end",
        "value": 2450,
        "published": "2023-10-25",
        "occupation": "2221",
        "source": "tyonv_12ti",
    }
    payload.update(overrides)
    return payload


PAYLOADS = {"layoff_notice": notice, "unemployment": unemployment, "vacancies": vacancies}

#: Fields each payload type must have (no default in the model).
REQUIRED = {
    "layoff_notice": {
        "notice_id",
        "employer",
        "business_id",
        "municipality",
        "sector",
        "kind",
        "persons",
        "announced",
        "effective_from",
    },
    "unemployment": {"area", "period", "measure", "value", "published"},
    "vacancies": {"area", "period", "measure", "value", "published"},
}
NUMERIC = {
    "layoff_notice": ("persons", "revision"),
    "unemployment": ("value", "revision"),
    "vacancies": ("value", "revision"),
}

# ---------------------------------------------------------------------------------------------
# Strategies

_VALID_DIVISIONS = [
    d
    for low, high in [
        (1, 3), (5, 9), (10, 33), (35, 39), (41, 43), (45, 47), (49, 53), (55, 56), (58, 63),
        (64, 66), (68, 68), (69, 75), (77, 82), (84, 88), (90, 93), (94, 99),
    ]
    for d in range(low, high + 1)
]  # fmt: skip
ASCII_DIGITS = st.sampled_from(string.digits)


def digits(n: int) -> st.SearchStrategy[str]:
    return st.text(ASCII_DIGITS, min_size=n, max_size=n)


def business_id_check(seven: str) -> int | None:
    remainder = sum(int(d) * w for d, w in zip(seven, (7, 9, 10, 5, 8, 4, 2), strict=True)) % 11
    return {0: 0, 1: None}.get(remainder, 11 - remainder)


business_ids = (
    digits(7)
    .filter(lambda s: business_id_check(s) is not None)
    .map(lambda s: f"{s}-{business_id_check(s)}")
)
tol_codes = st.one_of(
    st.sampled_from("ABCDEFGHIJKLMNOPQRSTUX"),
    st.builds(
        lambda d, rest: f"{d:02d}{rest}",
        st.sampled_from(_VALID_DIVISIONS),
        st.text(ASCII_DIGITS, max_size=3),
    ),
)
isco_codes = st.one_of(
    st.text(ASCII_DIGITS, min_size=1, max_size=4), digits(3).map(lambda s: f"X{s}")
)
municipality_codes = digits(3).map(lambda s: f"KU{s}")
area_codes = st.one_of(
    st.just("SSS"),
    st.integers(1, 19).map(lambda i: f"ELY{i:02d}"),
    st.integers(1, 21).map(lambda i: f"MK{i:02d}"),
    digits(3).map(lambda s: f"SK{s}"),
    municipality_codes,
)
plausible_dates = st.dates(date(1990, 1, 1), date(2100, 12, 31))
identifiers = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}", fullmatch=True)
_TEXT_CHARS = st.characters(categories=["L", "N", "P", "S", "Zs"])
texts = (
    st.text(_TEXT_CHARS, min_size=1, max_size=200)
    .map(str.strip)
    .filter(lambda s: 0 < len(s) <= 200)
)
hetus = st.dates(date(1800, 1, 1), date(2099, 12, 31)).flatmap(
    lambda born: st.builds(
        hetu,
        st.just(born),
        st.integers(0, 999),
        st.sampled_from(CENTURY_SIGNS[born.year // 100 * 100]),
    )
)


def _no_hetu(value: str) -> bool:
    return not contains_personal_code(value)


@st.composite
def notice_payloads(draw: st.DrawFn) -> dict[str, Any]:
    effective_from = draw(plausible_dates)
    effective_to = draw(st.none() | st.dates(effective_from, date(2100, 12, 31)))
    payload = notice(
        notice_id=draw(identifiers.filter(_no_hetu)),
        employer=draw(texts.filter(_no_hetu)),
        business_id=draw(business_ids),
        municipality=draw(municipality_codes),
        sector=draw(tol_codes),
        kind=draw(st.sampled_from([k.value for k in NoticeKind])),
        persons=draw(st.integers(1, 100_000)),
        announced=draw(plausible_dates).isoformat(),
        effective_from=effective_from.isoformat(),
        effective_to=None if effective_to is None else effective_to.isoformat(),
        occupations=draw(st.lists(isco_codes, max_size=5)),
        source=draw(identifiers.filter(_no_hetu)),
        revision=draw(st.integers(0, 10**9)),
    )
    return payload


@st.composite
def figure_payloads(draw: st.DrawFn, kind: str | None = None) -> dict[str, Any]:
    kind = kind or draw(st.sampled_from(["unemployment", "vacancies"]))
    year, month = draw(st.integers(1990, 2099)), draw(st.integers(1, 12))
    first_after = date(year + month // 12, month % 12 + 1, 1)
    measures = UnemploymentMeasure if kind == "unemployment" else VacancyMeasure
    return PAYLOADS[kind](
        area=draw(area_codes),
        period=f"{year:04d}-{month:02d}",
        measure=draw(st.sampled_from([m.value for m in measures])),
        value=draw(st.floats(0, 1e9, allow_nan=False, allow_infinity=False)),
        published=draw(st.dates(first_after, date(2100, 12, 31))).isoformat(),
        sector=draw(st.none() | tol_codes),
        occupation=draw(st.none() | isco_codes),
        revision=draw(st.integers(0, 10**9)),
        source=draw(identifiers.filter(_no_hetu)),
    )


valid_payloads = st.one_of(notice_payloads(), figure_payloads())

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=10,
)
