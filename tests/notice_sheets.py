"""Spreadsheets of layoff notices as ELY centres keep them, some rows wrong on purpose."""

from __future__ import annotations

import csv
import io
import random
from datetime import date, datetime
from pathlib import Path
from typing import Any

from openpyxl import Workbook

from tutka.models.codes import business_id_check_digit

HEADER = ["Ilmoitusnumero", "Työnantaja", "Y-tunnus", "Kunta", "Toimiala", "Laji",
          "Henkilömäärä", "Ilmoituspäivä", "Alkamispäivä", "Päättymispäivä", "Ammatit",
          "Käsittelijän huomio"]  # fmt: skip
KINDS = ["irtisanominen", "lomautus", "osa-aikainen lomautus", "toiminnan lopettaminen"]


def business_id(rng: random.Random) -> str:
    while True:
        digits = f"{rng.randrange(10**6, 10**7):07d}"
        check = business_id_check_digit(digits)
        if check is not None:
            return f"{digits}-{check}"


def good(i: int, rng: random.Random) -> list[Any]:
    announced = date(2024, rng.randint(1, 12), rng.randint(1, 28))
    start = date(2025, rng.randint(1, 12), 1)
    kind = KINDS[i % 4]
    return [
        f"ELY15-2024-{i:04d}",
        f"Yritys {i} Oy",
        business_id(rng),
        rng.choice([240, "KU698", "851", 91.0]),  # codes as staff type them, numbers too
        rng.choice(["17110", "C", 47]),
        kind,
        rng.randint(1, 400),
        datetime(announced.year, announced.month, announced.day),  # a date cell
        start.strftime("%-d.%-m.%Y"),  # a Finnish date as text
        None if kind != "lomautus" else f"{start.year + 1}-01-31",
        rng.choice([None, "7212", "7212; 8211"]),
        rng.choice([None, "soitettu", ""]),
    ]


#: Ten ways a row goes wrong, with the column and the English reason the report must give.
BAD: list[tuple[int, Any, str]] = [
    (6, None, "persons: is missing"),
    (6, -3, "persons: is too small"),
    (6, "kolmekymmentä", "persons: is not a whole number"),
    (2, "0112038-8", "business id: is not a valid business id"),
    (3, "KU999", "municipality: KU999 is not in the area classification"),
    (3, "Kemi", "municipality: is not a municipality code"),
    (5, "potkut", "kind: is unknown"),
    (7, "31.2.2024", "announced: is not a date"),
    (1, "Ville 131052-308T", "Contains a personal identity code"),
    (9, "2020-01-01", "Effective to is before effective from"),
]


def workbook(path: Path, rows: int = 1000, bad_every: int = 10) -> dict[int, str]:
    """A sheet of ``rows`` notices, every ``bad_every``-th wrong; the bad lines and reasons."""
    rng = random.Random(17)
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(HEADER)
    expected: dict[int, str] = {}
    for i in range(rows):
        row = good(i, rng)
        if i % bad_every == bad_every - 1:
            column, value, reason = BAD[(i // bad_every) % len(BAD)]
            row[column] = value
            expected[i + 2] = reason
        sheet.append(row)
    book.save(path)
    return expected


def workbook_bytes(path: Path, rows: int = 1000) -> tuple[bytes, dict[int, str]]:
    """:func:`workbook`'s file as bytes (an upload), and the bad lines with their reasons."""
    expected = workbook(path, rows)
    return path.read_bytes(), expected


def csv_bytes(rows: list[list[Any]], header: list[str] = HEADER) -> bytes:
    """Rows as a semicolon-separated CSV (as Excel writes it on a Finnish desktop)."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def good_row(i: int, municipality: str | int, seed: int = 5) -> list[Any]:
    """A valid row (text cells only) for ``municipality``."""
    rng = random.Random(seed * 100_003 + i)
    row = good(i, rng)
    row[3] = municipality
    row[7] = row[7].strftime("%-d.%-m.%Y")
    return ["" if c is None else c for c in row]
