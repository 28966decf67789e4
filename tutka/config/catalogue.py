"""The detector catalogue (``tutka/config/detectors.toml``): validated at start-up, immutable after.

>>> cat = load_catalogue()
>>> cat.rule_for("unemployed_jobseekers").kind
<AlertKind.UNEMPLOYMENT: 'unemployment'>
>>> cat.detector_params("tightness", "cusum")["count_noise"]
False
"""

from __future__ import annotations

import tomllib
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from tutka.detectors.registry import DETECTORS, create
from tutka.models.alerts import AlertKind, Polarity
from tutka.models.codes import AREA_LEVELS, AreaLevel, period_index
from tutka.models.events import NoticeKind, UnemploymentMeasure, VacancyMeasure

SHIPPED = "detectors.toml"
DerivedSeries = Literal["tightness"]
#: Detector hyperparameters in the catalogue are scalars.
ParamValue = bool | int | float | str


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class AlertingRules(_Strict):
    """How signals become alerts (``[alerting]``): corroboration, repeats, resolution, recovery."""

    resolve_after: Annotated[int, Field(ge=1, le=36)] = 3
    corroborate_within: Annotated[int, Field(ge=1, le=12)] = 3
    min_detectors: Annotated[int, Field(ge=1)] = 2
    min_repeats: Annotated[int, Field(ge=1)] = 2
    strong_ratio: Annotated[float, Field(ge=1)] = 2.0
    standalone: tuple[str, ...] = ("notice_burst",)
    recovery_window: Annotated[int, Field(ge=0, le=60)] = 18
    explained_share: Annotated[float, Field(gt=0, le=1)] = 0.5
    revision_depth: Annotated[int, Field(ge=0, le=24)] = 3
    max_gap: Annotated[int, Field(ge=0, le=24)] = 3
    #: A sector or occupation series smaller than this (value and expected level) is not alerted
    #: on, nor a change in one of fewer than ``min_breakdown_excess`` people.
    #: Quiet months an alert whose level stays shifted is kept open (the new normal) before it
    #: resolves as ``settled`` by itself; None (the default): held until staff close it.
    hold_shifted: Annotated[int, Field(ge=0, le=120)] | None = None
    #: A level held as the new normal that moves again after this many quiet months is
    #: announced again (an update), as a new change would be; sooner it is the same change.
    renew_after: Annotated[int, Field(ge=1, le=120)] = 24
    min_breakdown_size: Annotated[float, Field(ge=0)] = 20.0
    min_breakdown_excess: Annotated[float, Field(ge=0)] = 10.0


class SeverityRules(_Strict):
    """How important an alert is (``[severity]``), see :mod:`tutka.streams.importance`.

    Persons affected and their share of the labour force; ratios by their relative change.
    """

    warning_detectors: Annotated[int, Field(ge=1)] = 2
    critical_detectors: Annotated[int, Field(ge=1)] = 3
    warning_change: Annotated[float, Field(gt=0)] = 0.15
    critical_change: Annotated[float, Field(gt=0)] = 0.40
    min_excess: Annotated[float, Field(ge=0)] = 50.0
    warning_persons: Annotated[int, Field(ge=1)] = 500
    critical_persons: Annotated[int, Field(ge=1)] = 5000
    warning_share: Annotated[float, Field(gt=0, le=1)] = 0.005
    critical_share: Annotated[float, Field(gt=0, le=1)] = 0.02

    @model_validator(mode="after")
    def _ordered(self) -> SeverityRules:
        if self.critical_detectors < self.warning_detectors:
            raise ValueError("critical_detectors must be >= warning_detectors")
        if self.critical_change < self.warning_change:
            raise ValueError("critical_change must be >= warning_change")
        if self.critical_persons < self.warning_persons:
            raise ValueError("critical_persons must be >= warning_persons")
        if self.critical_share < self.warning_share:
            raise ValueError("critical_share must be >= warning_share")
        return self


class NoticeRules(_Strict):
    """How layoff notices are watched (``[notices]``): area level, detector, warm-up months."""

    level: Literal["KU", "SK", "MK", "ELY"] = "SK"
    detector: str = "notice_burst"
    warmup: Annotated[int, Field(ge=0, le=36)] = 3


class OutlierRules(_Strict):
    """The pooled multivariate outlier detector (``[outlier]``) and the area levels it runs on."""

    detector: str = "isolation_forest"
    levels: tuple[AreaLevel, ...] = ("KU", "SK", "MK", "ELY")


class CalibrationRules(_Strict):
    """The false-alarm budget, and how calibrated detectors' thresholds follow from it.

    Staff set ``budget``: how many false-alarm episodes per 100 area-years they accept (per area
    level with ``budget_by_level``). The engine calibrates the thresholds of ``detectors`` from
    the history, auditing its own old alarms with hindsight (``tutka.streams.calibration``).
    """

    budget: Annotated[float, Field(gt=0, le=100)] = 2.0
    budget_by_level: dict[AreaLevel, Annotated[float, Field(gt=0, le=100)]] = Field(
        default_factory=dict
    )
    detectors: tuple[str, ...] = ("relative_shift",)
    #: Months of each series kept for the audit (counts, references, scores).
    history_months: Annotated[int, Field(ge=60, le=600)] = 120
    #: Recalibrate with the release of this calendar month (1 = January), once a year.
    month: Annotated[int, Field(ge=1, le=12)] = 1
    #: Area-years of the pooled (all levels) false-alarm curve mixed into each level's own.
    pooling_area_years: Annotated[float, Field(ge=0)] = 120.0
    #: Judged history needed before the budget replaces the detectors' prior thresholds.
    min_area_years: Annotated[float, Field(ge=1)] = 50.0
    #: Confidence that the false-alarm rate is within the budget (a short history is cautious).
    confidence: Annotated[float, Field(ge=0.5, lt=1)] = 0.8
    grid_start: Annotated[float, Field(gt=0)] = 3.0
    grid_stop: Annotated[float, Field(gt=0)] = 30.0
    grid_step: Annotated[float, Field(gt=0)] = 0.25
    #: Nationwide shocks (YYYY-MM:YYYY-MM) when every area moves at once: not audited.
    excluded: tuple[str, ...] = ("2020-03:2021-06",)

    @model_validator(mode="after")
    def _valid(self) -> CalibrationRules:
        if self.grid_stop <= self.grid_start:
            raise ValueError("grid_stop must be above grid_start")
        if (self.grid_stop - self.grid_start) / self.grid_step > 1000:
            raise ValueError("the threshold grid may have at most 1000 steps")
        for name in self.detectors:
            if name not in DETECTORS:
                raise ValueError(f"calibration names unknown detector {name!r}")
        for text in self.excluded:
            start, sep, end = text.partition(":")
            if not sep:
                raise ValueError(f"an excluded period looks like 2020-03:2021-06, got {text!r}")
            first, last = period_index(start.strip()), period_index(end.strip())
            if last < first:
                raise ValueError(f"excluded period {text!r} ends before it starts")
        return self

    def budget_for(self, level: AreaLevel) -> float:
        """The false-alarm budget of ``level`` (episodes per 100 area-years), or the default one.

        >>> CalibrationRules(budget_by_level={"KU": 1.0}).budget_for("KU")
        1.0
        >>> CalibrationRules(budget_by_level={"KU": 1.0}).budget_for("MK")
        2.0
        """
        return self.budget_by_level.get(level, self.budget)

    def grid(self) -> tuple[float, ...]:
        """The candidate thresholds, ``grid_start`` to ``grid_stop`` (inclusive) by ``grid_step``.

        >>> CalibrationRules(grid_start=3.0, grid_stop=4.0, grid_step=0.25).grid()
        (3.0, 3.25, 3.5, 3.75, 4.0)
        """
        steps = round((self.grid_stop - self.grid_start) / self.grid_step)
        return tuple(round(self.grid_start + i * self.grid_step, 6) for i in range(steps + 1))

    def excluded_months(self) -> tuple[tuple[int, int], ...]:
        """The excluded periods as inclusive (first, last) absolute month indexes.

        >>> from tutka.models.codes import period_str
        >>> [(period_str(a), period_str(b)) for a, b in CalibrationRules().excluded_months()]
        [('2020-03', '2021-06')]
        """
        spans = (text.partition(":") for text in self.excluded)
        return tuple((period_index(a.strip()), period_index(b.strip())) for a, _, b in spans)


class EgfRules(_Strict):
    """The EGF criteria, Regulation (EU) 2021/691 Art. 4(2)(a) and (b) (``[triggers.egf]``).

    Displaced workers are counted from dismissal and closure notices by the month their
    dismissal takes effect; the criterion is met when the count is *more than* the threshold.
    """

    enterprise_persons: Annotated[int, Field(ge=1)] = 200
    enterprise_months: Annotated[int, Field(ge=1, le=24)] = 4
    sector_persons: Annotated[int, Field(ge=1)] = 200
    sector_months: Annotated[int, Field(ge=1, le=24)] = 6
    #: Notice kinds that displace workers (temporary layoffs do not).
    kinds: tuple[NoticeKind, ...] = (NoticeKind.DISMISSAL, NoticeKind.CLOSURE)
    #: Regions (maakunta, MK codes) by NUTS 2 region, and the NUTS 2 regions that border.
    nuts2: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    contiguous: tuple[tuple[str, str], ...] = ()

    @model_validator(mode="after")
    def _known_regions(self) -> EgfRules:
        for a, b in self.contiguous:
            for code in (a, b):
                if code not in self.nuts2:
                    raise ValueError(f"contiguous names {code!r}, which is not in nuts2")
        regions = [r for rs in self.nuts2.values() for r in rs]
        if len(regions) != len(set(regions)):
            raise ValueError("a region may belong to one NUTS 2 region only")
        return self


class StructuralChangeRules(_Strict):
    """The sudden-structural-change watch for sub-regions (``[triggers.structural]``).

    Met when permanent job losses announced in notices over ``months`` reach ``min_persons``
    *and* ``min_share`` of the sub-region's labour force.
    """

    min_persons: Annotated[int, Field(ge=1)] = 300
    min_share: Annotated[float, Field(gt=0, lt=1)] = 0.02
    months: Annotated[int, Field(ge=1, le=36)] = 12
    kinds: tuple[NoticeKind, ...] = (NoticeKind.DISMISSAL, NoticeKind.CLOSURE)
    level: Literal["KU", "SK", "MK"] = "SK"


class SahmRules(_Strict):
    """Sahm's rule per region (``[triggers.sahm]``).

    Met when the 3-month average unemployment rate is at least ``rise_pp`` percentage points
    above its lowest 3-month average of the previous ``low_months`` months.
    """

    rise_pp: Annotated[float, Field(gt=0)] = 0.5
    average_months: Annotated[int, Field(ge=1, le=12)] = 3
    low_months: Annotated[int, Field(ge=1, le=36)] = 12
    level: Literal["SK", "MK", "ELY", "SSS"] = "MK"
    #: Years of history for the seasonal adjustment (0: the rates are seasonally adjusted).
    seasonal_years: Annotated[int, Field(ge=0, le=10)] = 5


class TriggerRules(_Strict):
    """The policy-trigger watchers (``[triggers]``); each can be turned off."""

    egf: EgfRules | None = EgfRules()
    structural: StructuralChangeRules | None = StructuralChangeRules()
    sahm: SahmRules | None = SahmRules()


class KindFootprint(_Strict):
    """How one kind of notice reaches the unemployment figures (``[footprint.kinds.<kind>]``).

    ``share`` of the notice's persons enter unemployment (or full-time layoff), spread evenly
    over ``spread`` months from ``lag`` months after the notice takes effect; each month's
    arrivals then leave the register with a half-life of ``half_life`` months (0: they stay
    until ``effective_to``, or ``duration`` months when it is not given).
    """

    share: Annotated[float, Field(ge=0, le=1)]
    lag: Annotated[int, Field(ge=0, le=24)] = 0
    spread: Annotated[int, Field(ge=1, le=24)] = 1
    half_life: Annotated[float, Field(ge=0, le=120)] = 0.0
    duration: Annotated[int, Field(ge=1, le=36)] = 3
    permanent: bool = True


def _default_kinds() -> dict[NoticeKind, KindFootprint]:
    return {
        NoticeKind.DISMISSAL: KindFootprint(share=0.6, lag=1, spread=3, half_life=9.0),
        NoticeKind.CLOSURE: KindFootprint(share=0.7, lag=1, spread=2, half_life=9.0),
        NoticeKind.TEMPORARY_LAYOFF: KindFootprint(share=0.8, duration=3, permanent=False),
        NoticeKind.PART_TIME_LAYOFF: KindFootprint(share=0.0, permanent=False),
    }


class FootprintRules(_Strict):
    """Expected inflow from notices and the verdict on it (``[footprint]``)."""

    kinds: dict[NoticeKind, KindFootprint] = Field(default_factory=_default_kinds)
    #: Months of footprint drawn and kept per notice.
    horizon: Annotated[int, Field(ge=3, le=36)] = 18
    #: The band around the expected count: observed below ``low`` x expected is "absorbed",
    #: above ``high`` x expected "exceeds", within "confirmed".
    low: Annotated[float, Field(ge=0, le=1)] = 0.5
    high: Annotated[float, Field(ge=1)] = 1.5
    #: A figure alert is linked to notices only when they imply at least this many people.
    min_expected: Annotated[float, Field(ge=0)] = 20.0
    #: Share of persons in permanent kinds above which a change is structural.
    structural_share: Annotated[float, Field(gt=0, le=1)] = 0.5


class SeriesRule(_Strict):
    """Which detectors watch a family of measures, and what a rise means."""

    name: str
    measures: tuple[UnemploymentMeasure | VacancyMeasure, ...] = ()
    derived: DerivedSeries | None = None
    kind: AlertKind
    rising_is: Polarity
    detectors: tuple[str, ...]
    #: Below the country, watch the series relative to the rest of the country, so a common
    #: (national) movement is reported once, by the country's own series.
    relative_to_country: bool = True
    params: dict[str, dict[str, ParamValue]] = Field(default_factory=dict)
    #: Where a detector watches (area levels); a detector not listed watches every level.
    levels: dict[str, tuple[AreaLevel, ...]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _measures_or_derived(self) -> SeriesRule:
        if bool(self.measures) == (self.derived is not None):
            raise ValueError(f"series {self.name!r} needs either measures or derived, not both")
        for detector in list(self.detectors) + list(self.params):
            if detector not in DETECTORS:
                raise ValueError(f"series {self.name!r} names unknown detector {detector!r}")
        for detector in self.levels:
            if detector not in self.detectors:
                raise ValueError(
                    f"series {self.name!r} sets levels for {detector!r}, which it does not use"
                )
        return self

    def detectors_at(self, level: AreaLevel) -> tuple[str, ...]:
        """The detectors watching this rule's series at ``level``."""
        return tuple(d for d in self.detectors if level in self.levels.get(d, AREA_LEVELS))

    def polarity(self, direction: int) -> Polarity:
        """The polarity of a change in ``direction`` (+1 a rise, -1 a fall) of these measures."""
        if direction >= 0:
            return self.rising_is
        return Polarity.POSITIVE if self.rising_is is Polarity.NEGATIVE else Polarity.NEGATIVE


class Catalogue(_Strict):
    """The detector catalogue: series rules, alerting and severity rules, detector parameters."""

    version: Literal[1] = 1
    alerting: AlertingRules = AlertingRules()
    severity: SeverityRules = SeverityRules()
    notices: NoticeRules = NoticeRules()
    outlier: OutlierRules = OutlierRules()
    calibration: CalibrationRules = CalibrationRules()
    triggers: TriggerRules = TriggerRules()
    footprint: FootprintRules = FootprintRules()
    series: tuple[SeriesRule, ...]
    detectors: dict[str, dict[str, ParamValue]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self) -> Catalogue:
        names = [s.name for s in self.series]
        if len(names) != len(set(names)):
            raise ValueError("series names must be unique")
        measures = [m for s in self.series for m in s.measures]
        if len(measures) != len(set(measures)):
            raise ValueError("a measure may belong to one series rule only")
        for name in [*self.detectors, self.notices.detector, self.outlier.detector]:
            if name not in DETECTORS:
                raise ValueError(f"unknown detector {name!r}; known: {sorted(DETECTORS)}")
        # Build every configured detector once, so a bad hyperparameter fails here, at start-up.
        for rule in self.series:
            for detector in rule.detectors:
                try:
                    create(detector, self.detector_params(rule.name, detector))
                except ValidationError as exc:
                    raise ValueError(f"series {rule.name!r}, detector {detector!r}: {exc}") from exc
        for detector in (self.notices.detector, self.outlier.detector):
            create(detector, self.detectors.get(detector, {}))
        return self

    @cached_property
    def _by_measure(self) -> dict[str, SeriesRule]:
        return {str(m): rule for rule in self.series for m in rule.measures}

    @cached_property
    def _by_name(self) -> dict[str, SeriesRule]:
        return {rule.name: rule for rule in self.series}

    def rule_for(self, measure: str) -> SeriesRule | None:
        """The rule watching ``measure`` (or a derived series name); None if unwatched."""
        return self._by_measure.get(measure) or next(
            (r for r in self.series if r.derived == measure), None
        )

    def rule(self, name: str) -> SeriesRule:
        """The series rule called ``name`` (``KeyError`` if there is none)."""
        return self._by_name[name]

    def detector_params(self, series: str, detector: str) -> dict[str, ParamValue]:
        """``detector``'s parameters for ``series``: the catalogue-wide ones, then the series'."""
        merged = dict(self.detectors.get(detector, {}))
        merged.update(self._by_name[series].params.get(detector, {}))
        return merged

    @property
    def derived_rules(self) -> tuple[SeriesRule, ...]:
        """The rules that watch a derived series (such as tightness) rather than measures."""
        return tuple(r for r in self.series if r.derived is not None)


def load_catalogue(path: Path | None = None) -> Catalogue:
    """The shipped catalogue or the TOML file at ``path``; raises ``ValueError`` on any problem."""
    if path is None:
        text = resources.files("tutka.config").joinpath(SHIPPED).read_text(encoding="utf-8")
        where = SHIPPED
    else:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ValueError(f"cannot read detector catalogue {path}: {exc.strerror}") from exc
        where = str(path)
    try:
        return Catalogue.model_validate(tomllib.loads(text))
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{where} is not valid TOML: {exc}") from exc
    except ValidationError as exc:
        raise ValueError(f"{where} is not a valid detector catalogue:\n{exc}") from exc
