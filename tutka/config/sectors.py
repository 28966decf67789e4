"""TOL 2008 section names in Finnish, Swedish and English (``tutka/config/sectors_tol2008.csv``)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from importlib import resources

from tutka.models.alerts import Localized
from tutka.models.codes import TOL_SECTIONS, TOL_UNKNOWN


@dataclass(frozen=True, slots=True)
class SectorName:
    """A TOL 2008 section's name in Finnish, Swedish and English."""

    fi: str
    sv: str
    en: str


@cache
def sector_names() -> dict[str, SectorName]:
    """Every TOL 2008 section (and the unknown one) by code; ``ValueError`` if one is missing."""
    text = (
        resources.files("tutka.config").joinpath("sectors_tol2008.csv").read_text(encoding="utf-8")
    )
    rows = csv.DictReader(line for line in text.splitlines() if not line.startswith("#"))
    names = {r["section"]: SectorName(r["name_fi"], r["name_sv"], r["name_en"]) for r in rows}
    missing = (set(TOL_SECTIONS) | {TOL_UNKNOWN}) - set(names)
    if missing:
        raise ValueError(f"sectors_tol2008.csv lacks sections {sorted(missing)}")
    return names


def localized_sector_names() -> dict[str, Localized]:
    """The section names as the alerting stage takes them."""
    return {code: Localized(fi=n.fi, sv=n.sv, en=n.en) for code, n in sector_names().items()}
