"""ISCO-08 occupation titles for alerts (``tutka/config/isco08.csv``, attributed there).

The unit group (4 digits) is named in English, from the ILO's ISCO-08 structure; its major group
(the first digit) in Finnish, Swedish and English, from Statistics Finland's Classification of
Occupations 2010. An unknown code is named by its code alone.

>>> occupation_title("7212").en
'Welders and flamecutters'
>>> occupation_title("7212").fi
'Rakennus-, korjaus- ja valmistustyöntekijät: Welders and flamecutters'
>>> occupation_title("X999").sv
'Okänd yrkesgrupp'
>>> occupation_title("1234") is None
True
"""

from __future__ import annotations

import csv
from functools import cache
from importlib import resources

from tutka.models.alerts import Localized

_UNKNOWN = Localized(fi="Tuntematon ammattiryhmä", sv="Okänd yrkesgrupp", en="Occupation not known")


@cache
def _table() -> dict[str, tuple[str, str, str]]:
    text = resources.files("tutka.config").joinpath("isco08.csv").read_text(encoding="utf-8")
    rows = csv.DictReader(line for line in text.splitlines() if not line.startswith("#"))
    return {r["code"]: (r["name_fi"], r["name_sv"], r["name_en"]) for r in rows}


@cache
def occupation_title(code: str) -> Localized | None:
    """The occupation's title in three languages; None for a code the table does not hold."""
    if code.startswith("X"):
        return _UNKNOWN
    table = _table()
    unit, major = table.get(code), table.get(code[:1])
    if unit is None or major is None or len(code) != 4:
        return None
    title = unit[2]
    return Localized(fi=f"{major[0]}: {title}", sv=f"{major[1]}: {title}", en=title)


def unit_groups() -> frozenset[str]:
    """The 4-digit unit groups the table names."""
    return frozenset(code for code in _table() if len(code) == 4)
