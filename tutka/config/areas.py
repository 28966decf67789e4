"""Load the area hierarchy: the shipped classification, or a Statistics Finland correspondence file.

Two formats are accepted and validated (every parent listed, levels nested, no duplicates):

* ours, ``code,name_fi,name_sv,name_en,parent`` with prefixed codes (``tutka/config/areas.csv``);
* Statistics Finland's municipality correspondence as packaged by geofi (``regions_2024.csv``, or
  ``regions_by_year_*.csv`` with a ``year`` column: the latest year is used unless one is given),
  with unprefixed codes. Region and ELY names then come from the shipped file.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

from tutka.models.areas import Area, Hierarchy

SHIPPED = "areas.csv"
#: The synthetic world of ``tutka demo`` and ``tutka simulate``: every ELY area and region, and a
#: subset of sub-regions and municipalities (a small, fast market).
DEMO = "demo_areas.csv"
_OURS = {"code", "name_fi", "name_sv", "name_en", "parent"}
_STATFIN = {
    "municipality_code",
    "municipality_name_fi",
    "subregion_code",
    "region_code",
    "ely_code",
}


def _rows(text: str) -> list[dict[str, str]]:
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    return list(csv.DictReader(lines))


def shipped_areas(name: str = SHIPPED) -> list[Area]:
    """The areas of a shipped hierarchy file, as listed there.

    Args:
        name: The file under ``tutka/config``: ``areas.csv`` (the full municipal
            classification, the default) or ``demo_areas.csv`` (the demo's small world).
    """
    text = resources.files("tutka.config").joinpath(name).read_text(encoding="utf-8")
    return list(_ours(_rows(text), name))


def demo_hierarchy() -> Hierarchy:
    """The demo's synthetic world (a subset of the classification's municipalities)."""
    return Hierarchy(shipped_areas(DEMO))


def load_hierarchy(path: Path | None = None, year: int | None = None) -> Hierarchy:
    """The shipped hierarchy, or the one in ``path`` (either format). Raises ``ValueError``."""
    if path is None:
        return Hierarchy(shipped_areas())
    try:
        rows = _rows(path.read_text(encoding="utf-8-sig"))
    except OSError as exc:
        raise ValueError(f"cannot read area file {path}: {exc.strerror}") from exc
    if not rows:
        raise ValueError(f"area file {path} has no rows")
    columns = set(rows[0])
    if columns >= _OURS:
        return Hierarchy(_ours(rows, str(path)))
    if columns >= _STATFIN:
        return Hierarchy(_statfin(rows, year, str(path)))
    raise ValueError(
        f"area file {path} has columns {sorted(columns)}; expected {sorted(_OURS)} "
        f"or Statistics Finland's {sorted(_STATFIN)}"
    )


def _ours(rows: list[dict[str, str]], where: str) -> Iterator[Area]:
    for i, row in enumerate(rows, start=2):
        try:
            yield Area(
                code=row["code"].strip(),
                name_fi=row["name_fi"].strip(),
                name_sv=(row["name_sv"] or row["name_fi"]).strip(),
                name_en=(row["name_en"] or row["name_fi"]).strip(),
                parent=row["parent"].strip() or None,
            )
        except (KeyError, AttributeError) as exc:
            raise ValueError(f"{where} row {i} is incomplete: {exc}") from exc


def _statfin(rows: list[dict[str, str]], year: int | None, where: str) -> list[Area]:
    if "year" in rows[0]:
        years = sorted({int(r["year"]) for r in rows})
        chosen = year if year is not None else years[-1]
        if chosen not in years:
            raise ValueError(f"{where} has years {years}, not {chosen}")
        rows = [r for r in rows if int(r["year"]) == chosen]
    top = {a.code: a for a in shipped_areas() if a.code[:2] in ("SS", "EL", "MK")}
    areas: dict[str, Area] = dict(top)
    for row in rows:
        ely, region = f"ELY{row['ely_code']}", f"MK{row['region_code']}"
        sub, muni = f"SK{row['subregion_code']}", f"KU{row['municipality_code']}"
        if ely not in areas:
            areas[ely] = Area(ely, row.get("ely_name", ely), row.get("ely_name", ely), ely, "SSS")
        if region not in areas:
            name = row.get("region_name", region)
            areas[region] = Area(region, name, name, name, ely)
        elif areas[region].parent != ely:
            raise ValueError(f"{where}: region {region} lies in {ely} and {areas[region].parent}")
        if sub not in areas:
            name = row.get("subregion_name", sub)
            areas[sub] = Area(sub, name, name, name, region)
        fi = row["municipality_name_fi"]
        areas[muni] = Area(muni, fi, row.get("municipality_name_sv") or fi, fi, sub)
    return list(areas.values())
