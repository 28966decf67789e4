"""What the stages know besides the state: the configuration, and look-ups that follow from it.

An :class:`EngineContext` never changes what it answers: the hierarchy, the catalogue and the
names are fixed, and the memoised look-ups (validated detector parameters, pristine detectors,
reference areas, the areas of a level) depend on them alone. It is rebuilt, never checkpointed.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache, partial
from typing import NamedTuple, TypeAlias

from tutka.config.catalogue import Catalogue
from tutka.detectors.base import DetectorParams
from tutka.detectors.registry import AnyDetector, build, params_for
from tutka.models.alerts import Localized
from tutka.models.areas import COUNTRY, Hierarchy
from tutka.models.codes import AreaLevel, area_level
from tutka.streams.alerting import AlertContext
from tutka.streams.calibration import group_of
from tutka.streams.series import Pristine
from tutka.streams.signals import SeriesKey

#: The open vacancies, unemployed and tightness series a figure's series pairs into (empty: none).
TightnessPair: TypeAlias = tuple[SeriesKey, SeriesKey, SeriesKey] | tuple[()]


class SeriesPlan(NamedTuple):
    """What judging a series needs that its key and rule fix, worked out once per series.

    (Every series is judged at every release: its pristine detectors, reference areas, country
    series and calibration groups would otherwise be looked up again each time.)
    """

    #: The series rule's name ("" for none).
    rule: str
    #: The detectors every series of the rule at the series' level starts with.
    pristine: Pristine
    #: The areas the divergence detector compares the series with (:meth:`reference_areas`).
    areas: tuple[str, ...]
    #: The country's series the series is relative to (None: judged on its own, scale 1).
    country: SeriesKey | None
    #: Whether the series is a count the rest of the country is the country's minus (not a
    #: derived ratio).
    additive: bool
    #: The calibration group of each calibrated detector, in the catalogue's order.
    groups: Mapping[str, str]
    #: The series' name, as calibration tracks are kept under.
    name: str


class EngineContext:
    """The hierarchy, the catalogue and the alerting context, with memoised look-ups."""

    __slots__ = (
        "_group_maps",
        "_levels",
        "_params",
        "_plans",
        "_pristine",
        "_references",
        "alerts",
        "catalogue",
        "hierarchy",
        "tightness_pairs",
    )

    def __init__(
        self,
        hierarchy: Hierarchy,
        catalogue: Catalogue,
        sector_names: Mapping[str, Localized] | None = None,
    ) -> None:
        self.hierarchy = hierarchy
        self.catalogue = catalogue
        self.alerts = AlertContext(
            hierarchy=hierarchy,
            sector_names=dict(sector_names or {}),
            severity=catalogue.severity,
            rules=catalogue.alerting,
        )
        # Validated once per rule and shared by every series' detectors (they never change).
        self._params: dict[tuple[str, AreaLevel], dict[str, DetectorParams]] = {}
        self._pristine: dict[tuple[str, AreaLevel], Pristine] = {}
        self._levels: dict[AreaLevel, tuple[str, ...]] = {}
        self._references: dict[str, tuple[str, ...]] = {}
        self._plans: dict[SeriesKey, SeriesPlan] = {}
        self._group_maps: dict[tuple[str, AreaLevel, bool], Mapping[str, str]] = {}
        #: The tightness pair of each series figures came for, as the detection stage worked
        #: it out (it fills this memo: read for every figure, it is a plain dict).
        self.tightness_pairs: dict[SeriesKey, TightnessPair] = {}

    def plan(self, key: SeriesKey, rule_name: str) -> SeriesPlan:
        """What judging the series ``key`` of rule ``rule_name`` needs (remembered per series)."""
        plan = self._plans.get(key)
        if plan is None or plan.rule != rule_name:
            plan = self._plans[key] = self._plan(key, rule_name)
        return plan

    def _plan(self, key: SeriesKey, rule_name: str) -> SeriesPlan:
        rule = self.catalogue.rule(rule_name) if rule_name else None
        area = key.area
        relative = area != COUNTRY and rule is not None and rule.relative_to_country
        breakdown = key.sector is not None or key.occupation is not None
        level = level_of(area)
        return SeriesPlan(
            rule=rule_name,
            pristine=self.pristine(rule_name, area),
            areas=self.reference_areas(area),
            country=key.with_area(COUNTRY) if relative else None,
            additive=rule is not None and rule.derived is None,
            groups=self._groups(rule_name, level, breakdown),
            name=str(key),
        )

    def pristine(self, rule_name: str, area: str) -> Pristine:
        """The detectors every series of ``rule_name`` at ``area``'s level starts with.

        Shared by every such series until one learns (copy on write).
        """
        key = (rule_name, level_of(area))
        pristine = self._pristine.get(key)
        if pristine is None:
            pristine = Pristine(partial(_detectors, self.params(*key)))
            self._pristine[key] = pristine
        return pristine

    def _groups(self, rule_name: str, level: AreaLevel, breakdown: bool) -> Mapping[str, str]:
        """The calibration group of each calibrated detector, for a rule, level and kind.

        One mapping (read, never changed) shared by all such series: they are many, the
        combinations few.
        """
        key = (rule_name, level, breakdown)
        groups = self._group_maps.get(key)
        if groups is None:
            groups = self._group_maps[key] = {
                d: group_of(d, rule_name, level, breakdown)
                for d in self.catalogue.calibration.detectors
            }
        return groups

    def params(self, rule_name: str, level: AreaLevel) -> dict[str, DetectorParams]:
        """The validated hyperparameters of the detectors ``rule_name`` runs at ``level``."""
        cache = self._params
        key = (rule_name, level)
        if key not in cache:
            rule = self.catalogue.rule(rule_name) if rule_name else None
            cache[key] = {
                d: params_for(d, self.catalogue.detector_params(rule_name, d))
                for d in (rule.detectors_at(level) if rule else ())
            }
        return cache[key]

    def areas_of_level(self, level: AreaLevel) -> tuple[str, ...]:
        """Every area of ``level`` in the hierarchy."""
        if level not in self._levels:
            self._levels[level] = self.hierarchy.of_level(level)
        return self._levels[level]

    def reference_areas(self, area: str) -> tuple[str, ...]:
        """The areas ``area`` is compared with: its parent (if it has siblings) and the country."""
        cache = self._references
        if area not in cache:
            ancestors = self.hierarchy.ancestors(area)
            # An ancestor that is the same territory (its only sub-area) is no reference.
            parent = next(
                (a for a in ancestors if a != COUNTRY and len(self.hierarchy.children(a)) > 1), None
            )
            refs = [a for a in (parent, COUNTRY) if a is not None and a in ancestors]
            cache[area] = tuple(dict.fromkeys(refs))
        return cache[area]

    def notice_area(self, municipality: str) -> str:
        """The area a municipality's notices are tallied in (the catalogue's notice level)."""
        level = self.catalogue.notices.level
        if level == "KU":
            return municipality
        return next(a for a in self.hierarchy.ancestors(municipality) if area_level(a) == level)


def _detectors(params: Mapping[str, DetectorParams]) -> dict[str, AnyDetector]:
    return {name: build(name, p) for name, p in params.items()}


@lru_cache(maxsize=1 << 12)
def level_of(area: str) -> AreaLevel:
    """:func:`area_level`, remembered: it is asked for every series judged, and the codes are few.

    (An unknown code raises and is not remembered.)
    """
    return area_level(area)
