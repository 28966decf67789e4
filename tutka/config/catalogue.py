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
from tutka.models.codes import AreaLevel
from tutka.models.events import UnemploymentMeasure, VacancyMeasure

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


class SeverityRules(_Strict):
    """When an alert is a warning or critical (``[severity]``): detectors, change, persons."""

    warning_detectors: Annotated[int, Field(ge=1)] = 2
    critical_detectors: Annotated[int, Field(ge=1)] = 3
    warning_change: Annotated[float, Field(gt=0)] = 0.15
    critical_change: Annotated[float, Field(gt=0)] = 0.40
    min_excess: Annotated[float, Field(ge=0)] = 50.0
    warning_persons: Annotated[int, Field(ge=1)] = 200
    critical_persons: Annotated[int, Field(ge=1)] = 500

    @model_validator(mode="after")
    def _ordered(self) -> SeverityRules:
        if self.critical_detectors < self.warning_detectors:
            raise ValueError("critical_detectors must be >= warning_detectors")
        if self.critical_change < self.warning_change:
            raise ValueError("critical_change must be >= warning_change")
        if self.critical_persons < self.warning_persons:
            raise ValueError("critical_persons must be >= warning_persons")
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

    @model_validator(mode="after")
    def _measures_or_derived(self) -> SeriesRule:
        if bool(self.measures) == (self.derived is not None):
            raise ValueError(f"series {self.name!r} needs either measures or derived, not both")
        for detector in list(self.detectors) + list(self.params):
            if detector not in DETECTORS:
                raise ValueError(f"series {self.name!r} names unknown detector {detector!r}")
        return self

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
