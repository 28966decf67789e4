"""Build the shipped area hierarchy (tutka/config/areas.csv) from Statistics Finland's data.

    python scripts/build_areas.py ../shared/data/fi/regions_2024.csv > tutka/config/areas.csv

Input: the municipality correspondence as packaged by geofi (municipality, sub-region, region and
ELY codes with Finnish and Swedish municipality names; CC BY 4.0, Lähde: Tilastokeskus). The
country, ELY areas and regions keep the names of the current shipped file (fi/sv/en). A
sub-region's Swedish name is the current file's where it has one; otherwise it is derived from
the Swedish names of municipalities its Finnish name is made of ("Kemi-Tornio" → "Kemi-Torneå"),
else the Finnish name. English names of municipalities and sub-regions are the Finnish ones.
"""

from __future__ import annotations

import csv
import io
import sys
from pathlib import Path

HEADER = """\
# The Finnish area hierarchy shipped with Muutostutka: the country, ELY areas, regions, sub-regions
# and every municipality of the 2024 classification. Built by scripts/build_areas.py from
# Statistics Finland's municipality correspondence (regions_2024.csv).
# Source: Statistics Finland classifications, CC BY 4.0 (Lähde: Tilastokeskus).
# A sub-region's Swedish and English names fall back to the Finnish one where no other is known.
"""


def _read(path: Path) -> list[dict[str, str]]:
    text = path.read_text(encoding="utf-8-sig")
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    return list(csv.DictReader(lines))


def build(statfin: Path, current: Path) -> str:
    rows = _read(statfin)
    known = {r["code"]: r for r in _read(current)}
    sv_of_municipality = {r["municipality_name_fi"]: r["municipality_name_sv"] for r in rows}
    out = io.StringIO()
    out.write(HEADER)
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["code", "name_fi", "name_sv", "name_en", "parent"])
    upper = [code for code in known if code == "SSS" or code.startswith(("ELY", "MK"))]
    for code in upper:
        r = known[code]
        writer.writerow([code, r["name_fi"], r["name_sv"], r["name_en"], r["parent"]])
    subregions: dict[str, tuple[str, str]] = {}
    for r in rows:
        subregions.setdefault(
            "SK" + r["subregion_code"], (r["subregion_name"], "MK" + r["region_code"])
        )
    for code in sorted(subregions):
        name_fi, parent = subregions[code]
        if code in known:
            name_sv, name_en = known[code]["name_sv"], known[code]["name_en"]
        else:
            parts = name_fi.split("-")
            name_sv = "-".join(sv_of_municipality.get(p, p) for p in parts)
            name_en = name_fi
        writer.writerow([code, name_fi, name_sv, name_en, parent])
    for r in sorted(rows, key=lambda r: r["municipality_code"]):
        name_fi = r["municipality_name_fi"]
        writer.writerow(
            [
                "KU" + r["municipality_code"],
                name_fi,
                r["municipality_name_sv"] or name_fi,
                name_fi,
                "SK" + r["subregion_code"],
            ]
        )
    return out.getvalue()


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: build_areas.py REGIONS_CSV CURRENT_AREAS_CSV > areas.csv")
    sys.stdout.write(build(Path(sys.argv[1]), Path(sys.argv[2])))
