"""The Finnish area hierarchy: municipality → sub-region → region → ELY area → country.

>>> h = Hierarchy([
...     Area("SSS", "Koko maa", "Hela landet", "Finland", None),
...     Area("ELY15", "Lappi", "Lappland", "Lapland", "SSS"),
...     Area("MK19", "Lappi", "Lappland", "Lapland", "ELY15"),
...     Area("SK192", "Kemi-Tornio", "Kemi-Torneå", "Kemi-Tornio", "MK19"),
...     Area("KU240", "Kemi", "Kemi", "Kemi", "SK192"),
... ])
>>> h.ancestors("KU240")
('SK192', 'MK19', 'ELY15', 'SSS')
>>> h.contains("ELY15", "KU240"), h.contains("KU240", "ELY15")
(True, False)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final

from tutka.models.codes import AREA_LEVELS, AreaLevel, area_level

COUNTRY: Final = "SSS"
_LEVEL_DEPTH: Final[dict[AreaLevel, int]] = {level: i for i, level in enumerate(AREA_LEVELS)}


@dataclass(frozen=True, slots=True)
class Area:
    """One area of the hierarchy: its code, its names in three languages and its parent."""

    code: str
    name_fi: str
    name_sv: str
    name_en: str
    parent: str | None

    @property
    def level(self) -> AreaLevel:
        """The level the code belongs to (``SSS``, ``ELY``, ``MK``, ``SK`` or ``KU``)."""
        return area_level(self.code)


def level_depth(code: str) -> int:
    """0 for the country, 4 for a municipality: sorts areas broadest first."""
    return _LEVEL_DEPTH[area_level(code)]


@dataclass(frozen=True)
class Hierarchy:
    """A validated, immutable area tree rooted at the country ``SSS``."""

    areas: dict[str, Area]
    _children: dict[str, tuple[str, ...]] = field(repr=False)
    _ancestors: dict[str, tuple[str, ...]] = field(repr=False)

    def __init__(self, areas: Iterable[Area]) -> None:
        by_code: dict[str, Area] = {}
        for area in areas:
            if area.code in by_code:
                raise ValueError(f"area {area.code} is listed twice")
            by_code[area.code] = area
        _validate(by_code)
        children: dict[str, list[str]] = {code: [] for code in by_code}
        for area in by_code.values():
            if area.parent is not None:
                children[area.parent].append(area.code)
        object.__setattr__(self, "areas", by_code)
        object.__setattr__(self, "_children", {k: tuple(sorted(v)) for k, v in children.items()})
        object.__setattr__(self, "_ancestors", {code: _chain(by_code, code) for code in by_code})

    def __contains__(self, code: object) -> bool:
        return code in self.areas

    def __len__(self) -> int:
        return len(self.areas)

    def get(self, code: str) -> Area | None:
        """The area with ``code``, or ``None`` when the hierarchy does not have it."""
        return self.areas.get(code)

    def parent(self, code: str) -> str | None:
        """The code of the area directly above ``code`` (``None`` for the country)."""
        return self.areas[code].parent

    def ancestors(self, code: str) -> tuple[str, ...]:
        """Parents from the nearest up to the country; empty for the country itself."""
        return self._ancestors[code]

    def children(self, code: str) -> tuple[str, ...]:
        """The codes directly under ``code``, sorted."""
        return self._children[code]

    def contains(self, ancestor: str, code: str) -> bool:
        """True when ``code`` is ``ancestor`` or lies anywhere under it."""
        return code == ancestor or ancestor in self._ancestors.get(code, ())

    def ely_of(self, code: str) -> str | None:
        """The ELY area ``code`` is, or lies in; ``None`` for the country."""
        if area_level(code) == "ELY":
            return code
        return next((a for a in self.ancestors(code) if a.startswith("ELY")), None)

    def of_level(self, level: AreaLevel) -> tuple[str, ...]:
        """Every code of one level, sorted."""
        return tuple(sorted(c for c in self.areas if area_level(c) == level))


def _validate(areas: dict[str, Area]) -> None:
    if COUNTRY not in areas:
        raise ValueError("the area hierarchy has no country (SSS)")
    for area in areas.values():
        level = area_level(area.code)
        if area.code == COUNTRY:
            if area.parent is not None:
                raise ValueError("the country SSS cannot have a parent")
            continue
        if area.parent is None:
            raise ValueError(f"area {area.code} has no parent")
        if area.parent not in areas:
            raise ValueError(f"area {area.code} has parent {area.parent}, which is not listed")
        if _LEVEL_DEPTH[area_level(area.parent)] >= _LEVEL_DEPTH[level]:
            raise ValueError(
                f"area {area.code} ({level}) cannot lie under {area.parent}: "
                "a parent must be of a broader level"
            )
        if not area.name_fi:
            raise ValueError(f"area {area.code} has no Finnish name")


def _chain(areas: dict[str, Area], code: str) -> tuple[str, ...]:
    chain: list[str] = []
    parent = areas[code].parent
    while parent is not None:
        chain.append(parent)
        parent = areas[parent].parent
    return tuple(chain)
