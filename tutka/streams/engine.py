"""The pipeline core: events in (in availability order), alerts out. No I/O, clock or environment.

``Engine.process(event)`` is the step every runner calls — the embedded replay (``tutka demo``,
``tutka replay``, ``tutka backtest``) and the Kafka worker alike — and ``Engine.flush()`` closes
whatever is still pending at the end of input. The engine owns its state and changes it in place
(copying ten thousand series states per event would cost more than the detectors); callers see
only the alerts it returns, and every decision depends on event time alone.

Monthly figures arrive as *releases*: all figures of one period published together. A release is
collected until an event from a later period or a later availability date arrives, then judged as
a whole — series by series (detectors, prequential), then across the area hierarchy (see
``tutka.streams.release``), then per alert group (``tutka.streams.alerting``). Figures for a period
already judged are revisions (rewind and replay the series) or late arrivals (judged on their own
against what the release already reported). Layoff notices are judged the moment they arrive, on the
month-to-date tally of their area and sector.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from functools import lru_cache, partial
from typing import Final, cast

from tutka.config.catalogue import Catalogue, SeriesRule
from tutka.detectors.base import Assessment, DetectorParams
from tutka.detectors.isolation_forest import IsolationForestOutlier
from tutka.detectors.notice_burst import NoticeBurst, NoticeTally
from tutka.detectors.registry import AnyDetector, create, detector_class
from tutka.models.alerts import (
    MAX_NOTICES,
    Alert,
    AlertKind,
    Localized,
    NoticeEvidence,
    Polarity,
)
from tutka.models.areas import COUNTRY, Hierarchy, level_depth
from tutka.models.codes import AreaLevel, area_level, period_str, tol_section
from tutka.models.events import (
    LayoffNoticeFiled,
    UnemploymentMeasure,
    UnemploymentReported,
    VacanciesReported,
    VacancyMeasure,
)
from tutka.streams.alerting import (
    AlertContext,
    GroupState,
    apply_decision,
    fold,
    held,
    resolve_quiet,
    withdraw,
)
from tutka.streams.calibration import CalibrationState, group_of, level_of_group
from tutka.streams.ordering import month_index
from tutka.streams.release import SignalClass, decide, signal_class
from tutka.streams.series import (
    SHARE_DETECTORS,
    Finding,
    Inputs,
    Pristine,
    SeriesState,
    evaluate,
    record,
    reevaluate,
)
from tutka.streams.signals import Decision, SeriesKey, Signal, group_key
from tutka.streams.sizes import too_small

Figure = UnemploymentReported | VacanciesReported
Event = LayoffNoticeFiled | UnemploymentReported | VacanciesReported

UNEMPLOYED: Final = UnemploymentMeasure.UNEMPLOYED_JOBSEEKERS.value
LAID_OFF: Final = UnemploymentMeasure.FULL_TIME_LAID_OFF.value
OPEN_VACANCIES: Final = VacancyMeasure.OPEN_AT_MONTH_END.value
TIGHTNESS: Final = "tightness"
LABOUR_MARKET: Final = "labour_market"
#: The notice tally over all industries (nationally).
ALL: Final = "*"
#: Release decisions remembered for judging late and revised figures.
DECISION_MEMORY: Final = 12
#: Notice ids remembered (months) for deduplication and revisions.
NOTICE_MEMORY: Final = 24
#: A relative signal needs the area's own year-on-year change to go the same way by at least this
#: much (log units, about 2 %).
OWN_CHANGE_MIN: Final = 0.02
#: Empty months fed to a notice-burst detector after a long silence; beyond it nothing changes.
MAX_EMPTY_MONTHS: Final = 120
_NO_THRESHOLDS: Final[Mapping[str, float]] = {}
#: Distinct unknown area codes counted (beyond them only the dead letters say more).
MAX_UNKNOWN_CODES: Final = 1000


@dataclass(frozen=True, slots=True)
class Rejection:
    """An event the engine cannot use, e.g. an area outside the configured hierarchy."""

    error_type: str
    summary: str


Output = Alert | Rejection


@dataclass(slots=True)
class EngineStats:
    """Counts of everything the engine did; the shell turns them into metrics."""

    events: Counter[str] = field(default_factory=Counter)
    figures: Counter[str] = field(default_factory=Counter)
    notices: Counter[str] = field(default_factory=Counter)
    evaluations: Counter[str] = field(default_factory=Counter)
    signals: Counter[str] = field(default_factory=Counter)
    decisions: Counter[str] = field(default_factory=Counter)
    alerts: Counter[str] = field(default_factory=Counter)
    #: Records per area code outside the hierarchy (at most MAX_UNKNOWN_CODES codes kept).
    unknown_areas: Counter[str] = field(default_factory=Counter)
    releases: int = 0


@dataclass(slots=True)
class PendingRelease:
    """The monthly release being collected: its month, its day and the figures so far."""

    period: int
    available_on: date
    figures: dict[SeriesKey, Figure]


@dataclass(slots=True)
class BurstState:
    """Notices of the current month for one area and TOL section."""

    detector: NoticeBurst
    month: int
    count: int = 0
    persons: int = 0
    evidence: dict[str, NoticeEvidence] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SeenNotice:
    """A notice already counted: its revision, month and persons, and the bursts it went into.

    A revision of the notice takes it out of those (area, section) bursts before counting the new
    figures in.
    """

    revision: int
    month: int
    persons: int
    bursts: tuple[tuple[str, str], ...]


class Engine:
    """The deterministic core shared by every runner."""

    def __init__(
        self,
        hierarchy: Hierarchy,
        catalogue: Catalogue,
        sector_names: Mapping[str, Localized] | None = None,
    ) -> None:
        self.hierarchy = hierarchy
        self.catalogue = catalogue
        self.ctx = AlertContext(
            hierarchy=hierarchy,
            sector_names=dict(sector_names or {}),
            severity=catalogue.severity,
            rules=catalogue.alerting,
            values=self.value_of,
        )
        self.series: dict[SeriesKey, SeriesState] = {}
        self.groups: dict[str, GroupState] = {}
        self.open_groups: set[str] = set()
        self.bursts: dict[tuple[str, str], BurstState] = {}
        self.seen_notices: dict[str, SeenNotice] = {}
        self.outliers: dict[str, IsolationForestOutlier] = {}
        self.pending: PendingRelease | None = None
        self.accepted: dict[int, set[tuple[str, SignalClass]]] = {}
        self.clock_figures: int | None = None
        self.clock_notices: int | None = None
        self.first_notice_month: int | None = None
        self.calibration = CalibrationState()
        self.stats = EngineStats()
        # Validated once per rule and shared by every series' detectors (they never change).
        self._param_cache: dict[tuple[str, AreaLevel], dict[str, DetectorParams]] = {}
        self._levels: dict[AreaLevel, tuple[str, ...]] = {}
        self._pristine: dict[tuple[str, AreaLevel], Pristine] = {}
        self._reference_cache: dict[str, tuple[str, ...]] = {}

    # -- the step ---------------------------------------------------------------------------------

    def process(self, event: Event) -> list[Output]:
        """Fold one event in; return the alert versions (and rejections) it caused."""
        self.stats.events[event.type] += 1
        out: list[Output] = []
        if self.pending is not None and event.available_on > self.pending.available_on:
            out.extend(self._close_release())
        if isinstance(event, LayoffNoticeFiled):
            out.extend(self._on_notice(event))
        else:
            out.extend(self._on_figure(event))
        return out

    def flush(self) -> list[Output]:
        """Judge the release still being collected (end of input, or an idle stream)."""
        return list(self._close_release()) if self.pending is not None else []

    def run(self, events: Iterable[Event]) -> list[Output]:
        """Every event in turn, then :meth:`flush`: what ``tutka replay`` does with sorted input."""
        out: list[Output] = []
        for event in events:
            out.extend(self.process(event))
        out.extend(self.flush())
        return out

    # -- figures ----------------------------------------------------------------------------------

    def _on_figure(self, fig: Figure) -> list[Output]:
        if fig.area not in self.hierarchy:
            self.stats.figures["rejected"] += 1
            return [self._unknown_area(fig.area)]
        key = SeriesKey(fig.area, fig.measure.value, fig.sector, fig.occupation)
        period = month_index(fig.period)
        pending = self.pending
        if pending is not None and period == pending.period:
            return self._collect(pending, key, fig)
        state = self.series.get(key)
        if state is not None and state.last is not None and period <= state.last:
            return self._revise(state, fig, period)
        if pending is None or period > pending.period:
            out = self._close_release() if pending is not None else []
            self.pending = PendingRelease(period, fig.published, {key: fig})
            self.stats.figures["new"] += 1
            return out
        return self._late_first(key, fig, period)

    def _collect(self, pending: PendingRelease, key: SeriesKey, fig: Figure) -> list[Output]:
        previous = pending.figures.get(key)
        if previous is not None and fig.revision < previous.revision:
            self.stats.figures["stale"] += 1
        elif (
            previous is not None
            and fig.revision == previous.revision
            and fig.value == previous.value
        ):
            self.stats.figures["duplicate"] += 1
        else:
            self.stats.figures["revised" if previous is not None else "new"] += 1
            pending.figures[key] = fig
        return []

    def _close_release(self) -> list[Output]:
        pending = self.pending
        if pending is None:
            return []
        self.pending = None
        self.stats.releases += 1
        period = pending.period
        self._calibrate_if_due(period)
        touched = []
        for key, fig in pending.figures.items():
            if record(self._series(key), period, fig.value, fig.revision) != "stale":
                touched.append(key)
        touched.extend(self._derive(touched, period))
        signals: list[Signal] = []
        for key in dict.fromkeys(touched):
            state = self.series[key]
            if state.last is None or period > state.last:
                signals.extend(self._evaluate(state, period, pending.available_on))
        # Series by series in a fixed order: the order of the evidence. A series' evaluation
        # depends on no other's, so sorting the few signals (stably) is the same as evaluating
        # every series in that order, and much cheaper than sorting 100 000 series.
        signals.sort(key=lambda signal: _series_order(signal.series))
        signals.extend(self._outlier_signals(period, pending.available_on))
        out = self._judge(signals, period)
        self.clock_figures = (
            period if self.clock_figures is None else max(self.clock_figures, period)
        )
        out.extend(self._resolve_quiet(self.clock_figures, notices=False))
        return out

    def _late_first(self, key: SeriesKey, fig: Figure, period: int) -> list[Output]:
        """The first figure of a series for a period whose release was already judged."""
        self.stats.figures["late"] += 1
        state = self._series(key)
        record(state, period, fig.value, fig.revision)
        keys = [key, *self._derive([key], period)]
        signals: list[Signal] = []
        for k in keys:
            s = self.series[k]
            if s.last is None or period > s.last:
                signals.extend(self._evaluate(s, period, fig.published))
        return self._judge(signals, period)

    def _revise(self, state: SeriesState, fig: Figure, period: int) -> list[Output]:
        outcome = record(state, period, fig.value, fig.revision)
        self.stats.figures[outcome] += 1
        if outcome != "revised":
            return []
        out = self._replay(state, period, fig.published)
        for derived in self._derive([state.key], period):
            if self.series[derived].last is not None:
                out.extend(self._replay(self.series[derived], period, fig.published))
        return out

    def _replay(self, state: SeriesState, period: int, available_on: date) -> list[Output]:
        depth = self.catalogue.alerting.revision_depth
        before = {p: a for p, a in state.alarms.items() if p >= period}
        inputs = self._inputs(state)
        replayed = reevaluate(state, period, inputs, depth)
        if replayed is None:
            self.stats.figures["revision_not_replayed"] += 1
            return []
        for findings in replayed.values():
            self._track(state, findings, inputs)
        out: list[Output] = []
        rule = self.catalogue.rule(state.rule) if state.detectors else None
        for p, findings in sorted(replayed.items()):
            now = state.alarms.get(p, frozenset())
            gone = before.get(p, frozenset()) - now
            if gone and rule is not None:
                out.extend(self._withdraw(state, rule, p, gone))
            added = [
                f for f in findings if f.alarm and f.detector not in before.get(p, frozenset())
            ]
            if added:
                out.extend(self._judge(self._signals(state, added, available_on), p))
        return out

    def _withdraw(
        self, state: SeriesState, rule: SeriesRule, period: int, detectors: frozenset[str]
    ) -> list[Output]:
        key = group_key(state.key.area, state.key.sector, state.key.occupation, rule.kind)
        group = self.groups.get(key)
        if group is None:
            return []
        removed = {(d, str(state.key), period_str(period)) for d in detectors}
        alerts = withdraw(group, removed, period, self.ctx)
        self._track_open(key, group)
        self._count_alerts(alerts)
        return list(alerts)

    # -- series and detection ---------------------------------------------------------------------

    def _series(self, key: SeriesKey) -> SeriesState:
        state = self.series.get(key)
        if state is None:
            rule = self.catalogue.rule_for(key.measure)
            name = rule.name if rule is not None else ""
            pristine = self.pristine(name, key.area)
            state = SeriesState(key, name, pristine.detectors, pristine=pristine)
            self.series[key] = state
        return state

    def pristine(self, rule_name: str, area: str) -> Pristine:
        """The detectors every series of ``rule_name`` at ``area``'s level starts with.

        Shared by every such series until one learns (copy on write).
        """
        key = (rule_name, area_level(area))
        pristine = self._pristine.get(key)
        if pristine is None:
            pristine = Pristine(partial(_detectors, self._params(*key)))
            self._pristine[key] = pristine
        return pristine

    def _params(self, rule_name: str, level: AreaLevel) -> dict[str, DetectorParams]:
        cache = self._param_cache
        key = (rule_name, level)
        if key not in cache:
            rule = self.catalogue.rule(rule_name) if rule_name else None
            cache[key] = {
                d: detector_class(d).Params.model_validate(
                    self.catalogue.detector_params(rule_name, d)
                )
                for d in (rule.detectors_at(level) if rule else ())
            }
        return cache[key]

    def _evaluate(self, state: SeriesState, period: int, available_on: date) -> list[Signal]:
        inputs = self._inputs(state)
        findings = evaluate(
            state,
            period,
            inputs,
            self.catalogue.alerting.revision_depth,
            self.catalogue.alerting.max_gap,
            self.pristine(state.rule, state.key.area),
        )
        for finding in findings:
            self.stats.evaluations[finding.detector] += 1
        self._track(state, findings, inputs)
        return self._signals(state, [f for f in findings if f.alarm], available_on)

    # -- calibration ------------------------------------------------------------------------------

    def _calibration_group(self, detector: str, state: SeriesState) -> str:
        key = state.key
        breakdown = key.sector is not None or key.occupation is not None
        return group_of(detector, state.rule, area_level(key.area), breakdown)

    def _track(self, state: SeriesState, findings: Sequence[Finding], inputs: Inputs) -> None:
        """Remember calibrated detectors' scores with the counts behind them, for the audit."""
        calibrated = self.catalogue.calibration.detectors
        for finding in findings:
            if finding.detector not in calibrated:
                continue
            value = state.value(finding.period)
            reference = inputs.reference(finding.period)
            if value is None or reference is None:
                continue
            a = finding.assessment
            signed = a.score * a.direction if finding.ready else math.nan
            self.calibration.record(
                self._calibration_group(finding.detector, state),
                str(state.key),
                finding.period,
                value,
                reference,
                signed,
                self.catalogue.calibration.history_months,
            )

    def _calibrate_if_due(self, period: int) -> None:
        rules = self.catalogue.calibration
        if not self.calibration.tracks or not self.calibration.due(period, rules.month):
            return
        budgets = {
            group: rules.budget_for(cast(AreaLevel, level_of_group(group)))
            for group in self.calibration.tracks
        }
        # Judged on what was known before this release: through the previous period.
        self.calibration.recalibrate(
            period - 1,
            budgets,
            rules.grid(),
            rules.excluded_months(),
            rules.pooling_area_years,
            rules.min_area_years,
            rules.history_months,
            rules.confidence,
        )
        self.calibration.calibrated = period
        self.stats.decisions["calibrations"] += 1

    def thresholds(self, state: SeriesState) -> dict[str, float]:
        """The calibrated thresholds of the detectors watching a series (none before)."""
        out = {}
        for detector in self.catalogue.calibration.detectors:
            threshold = self.calibration.threshold(self._calibration_group(detector, state))
            if threshold is not None:
                out[detector] = threshold
        return out

    def _signals(
        self, state: SeriesState, alarms: Sequence[Finding], available_on: date
    ) -> list[Signal]:
        if not alarms:
            return []
        rule = self.catalogue.rule(state.rule)
        signals = []
        for finding in alarms:
            value = state.value(finding.period)
            assert value is not None
            self.stats.signals[finding.detector] += 1
            if self._only_relative(state, finding, value):
                self.stats.decisions["relative_only"] += 1
                continue
            rules = self.catalogue.alerting
            baseline = finding.assessment.baseline
            if too_small(
                state.key,
                value,
                baseline,
                rules.min_breakdown_size,
                rules.min_breakdown_excess,
            ):
                self.stats.decisions["too_small"] += 1
                continue
            group = self._calibration_group(finding.detector, state)
            signals.append(
                Signal(
                    series=state.key,
                    kind=rule.kind,
                    polarity=rule.polarity(finding.assessment.direction),
                    detector=finding.detector,
                    period=finding.period,
                    value=value,
                    baseline=finding.assessment.baseline,
                    score=finding.assessment.score,
                    threshold=finding.threshold,
                    direction=finding.assessment.direction,
                    available_on=available_on,
                    once_in_years=self.calibration.years_between(group, finding.assessment.score),
                )
            )
        return signals

    def _only_relative(self, state: SeriesState, finding: Finding, value: float) -> bool:
        """A local change relative to the country that goes against the area's own change.

        When unemployment rises 40 % nationally and 20 % in a region, the region is "better"
        only relative to the country: it is not positive structural change. An area that stands
        still while others move is not changing either (and a change elsewhere moves its
        reference). A relative signal is kept only when the area's own year-on-year change goes
        the same way by at least ``OWN_CHANGE_MIN``.

        A share detector reports a lasting change of the area's share by design, and says so in
        its explanation — except while the country itself has an open alert of the same kind:
        being hit less (or more briefly) than the country in a nationwide shock is part of the
        national story, not local structural change.
        """
        if state.key.area == COUNTRY:
            return False
        rule = self.catalogue.rule(state.rule)
        if finding.detector in SHARE_DETECTORS:
            national = self.groups.get(
                group_key(COUNTRY, state.key.sector, state.key.occupation, rule.kind)
            )
            if national is None or national.alert is None:
                return False
        year_ago = state.value(finding.period - 12)
        if year_ago is None:
            return False
        own = math.log((value + 1) / (year_ago + 1))
        return finding.assessment.direction * own < OWN_CHANGE_MIN

    def _inputs(self, state: SeriesState) -> Inputs:
        """The series' references (rest of the parent area and of the country) and its scale."""
        key = state.key
        rule = self.catalogue.rule(state.rule) if state.rule else None
        relative = key.area != COUNTRY and rule is not None and rule.relative_to_country
        return _SeriesInputs(
            self.series,
            state,
            self._reference_areas(key.area),
            key.with_area(COUNTRY) if relative else None,
            rule is not None and rule.derived is None,
            self.thresholds(state) if self.calibration.results else _NO_THRESHOLDS,
        )

    def _reference_areas(self, area: str) -> tuple[str, ...]:
        cache = self._reference_cache
        if area not in cache:
            ancestors = self.hierarchy.ancestors(area)
            # An ancestor that is the same territory (its only sub-area) is no reference.
            parent = next(
                (a for a in ancestors if a != COUNTRY and len(self.hierarchy.children(a)) > 1), None
            )
            refs = [a for a in (parent, COUNTRY) if a is not None and a in ancestors]
            cache[area] = tuple(dict.fromkeys(refs))
        return cache[area]

    def _derive(self, keys: Iterable[SeriesKey], period: int) -> list[SeriesKey]:
        """Derived series (tightness = open vacancies per unemployed) touched by ``keys``."""
        if not self.catalogue.derived_rules:
            return []
        derived = []
        # In the order of ``keys``, without repeats (a set's order would vary from run to run).
        for base in dict.fromkeys(
            k.with_measure(OPEN_VACANCIES)
            for k in keys
            if k.measure in (UNEMPLOYED, OPEN_VACANCIES)
        ):
            vacancies = self.series.get(base)
            unemployed = self.series.get(base.with_measure(UNEMPLOYED))
            if vacancies is None or unemployed is None:
                continue
            v, u = vacancies.history.get(period), unemployed.history.get(period)
            if v is None or u is None or u.value <= 0:
                continue
            key = base.with_measure(TIGHTNESS)
            outcome = record(
                self._series(key), period, v.value / u.value, max(v.revision, u.revision)
            )
            if outcome in ("new", "revised"):
                derived.append(key)
        return derived

    # -- multivariate outliers ----------------------------------------------------------------

    def _outlier_signals(self, period: int, available_on: date) -> list[Signal]:
        country = self._features(COUNTRY, period)
        if country is None:
            return []
        signals: list[Signal] = []
        for level in self.catalogue.outlier.levels:
            signals.extend(self._outliers_at(level, period, country, available_on))
        return signals

    def _outliers_at(
        self, level: AreaLevel, period: int, country: _Features, available_on: date
    ) -> list[Signal]:
        rows = []
        if level not in self._levels:
            self._levels[level] = self.hierarchy.of_level(level)
        for area in self._levels[level]:
            features = self._features(area, period)
            if features is not None:
                rows.append((area, features, features.relative_to(country)))
        if not rows:
            return []
        detector = self.outliers.get(level)
        if detector is None:
            params = self.catalogue.detectors.get(self.catalogue.outlier.detector, {})
            detector = create(self.catalogue.outlier.detector, params)  # type: ignore[assignment]
            assert isinstance(detector, IsolationForestOutlier)
            self.outliers[level] = detector
        vectors = [vector for _, _, vector in rows]
        assessments = detector.assess_many(vectors)
        ready = detector.ready
        detector.update_many(vectors)
        self.stats.evaluations[detector.name] += len(vectors)
        signals = []
        for (area, features, vector), assessment in zip(rows, assessments, strict=True):
            if ready and assessment.score >= detector.params.threshold:
                self.stats.signals[detector.name] += 1
                signals.append(
                    self._outlier_signal(
                        area, features, vector, assessment, country, period, available_on
                    )
                )
        return signals

    def _outlier_signal(
        self,
        area: str,
        features: _Features,
        vector: tuple[float, ...],
        assessment: Assessment,
        country: _Features,
        period: int,
        available_on: date,
    ) -> Signal:
        rel_unemployment, rel_vacancies = vector[0], vector[1]
        # Worse = unemployment up or vacancies down relative to the country.
        worse = rel_unemployment if abs(rel_unemployment) >= abs(rel_vacancies) else -rel_vacancies
        expected = (features.unemployed_year_ago + 1) * math.exp(country.yoy_unemployment) - 1
        return Signal(
            series=SeriesKey(area, LABOUR_MARKET),
            kind=AlertKind.OUTLIER,
            polarity=Polarity.NEGATIVE if worse > 0 else Polarity.POSITIVE,
            detector=self.catalogue.outlier.detector,
            period=period,
            value=features.unemployed,
            baseline=expected,
            score=assessment.score,
            threshold=self.outliers[area_level(area)].params.threshold,
            direction=1 if features.unemployed >= expected else -1,
            available_on=available_on,
        )

    def _features(self, area: str, period: int) -> _Features | None:
        unemployed = self.series.get(SeriesKey(area, UNEMPLOYED))
        if unemployed is None:
            return None
        u = [unemployed.value(period - lag) for lag in (0, 3, 12, 15)]
        if any(v is None for v in u):
            return None
        u0, u3, u12, u15 = (float(v) for v in u if v is not None)
        v0, v12 = self._pair(SeriesKey(area, OPEN_VACANCIES), period)
        l0, l12 = self._pair(SeriesKey(area, LAID_OFF), period)
        return _Features(
            unemployed=u0,
            unemployed_year_ago=u12,
            yoy_unemployment=math.log((u0 + 1) / (u12 + 1)),
            yoy_vacancies=math.log((v0 + 1) / (v12 + 1))
            if v0 is not None and v12 is not None
            else 0.0,
            momentum=math.log((u0 + 1) / (u3 + 1)) - math.log((u12 + 1) / (u15 + 1)),
            laid_off_share_change=(
                l0 / max(u0, 1) - l12 / max(u12, 1) if l0 is not None and l12 is not None else 0.0
            ),
            # Each feature's noise: counting noise plus a floor for everything else, so that a
            # small municipality's jitter does not look like a large area's structural change.
            noise=(
                _noise(u0, u12),
                _noise(v0, v12) if v0 is not None and v12 is not None else 1.0,
                _noise(u0, u3, u12, u15),
                math.sqrt(0.01**2 + l0 / (u0 + 1) ** 2 + l12 / (u12 + 1) ** 2)
                if l0 is not None and l12 is not None
                else 1.0,
            ),
        )

    def _pair(self, key: SeriesKey, period: int) -> tuple[float | None, float | None]:
        """A series' value now and a year earlier (None where missing)."""
        state = self.series.get(key)
        if state is None:
            return None, None
        return state.value(period), state.value(period - 12)

    # -- notices ----------------------------------------------------------------------------------

    def _on_notice(self, notice: LayoffNoticeFiled) -> list[Output]:
        if notice.municipality not in self.hierarchy:
            self.stats.notices["rejected"] += 1
            return [self._unknown_area(notice.municipality)]
        month = month_index(notice.period)
        seen = self.seen_notices.get(notice.notice_id)
        if seen is not None and notice.revision <= seen.revision:
            self.stats.notices["duplicate" if notice.revision == seen.revision else "stale"] += 1
            return []
        out = self._advance_notice_clock(month)
        if self.first_notice_month is None:
            self.first_notice_month = month
        learning = month < self.first_notice_month + self.catalogue.notices.warmup
        section = tol_section(notice.sector)
        # Counted where it happened and nationally: a nationwide wave of notices is one national
        # alert per industry, not one per sub-region (the release logic decides, as for figures).
        local = (self._notice_area(notice.municipality), section)
        keys = tuple(dict.fromkeys([local, (COUNTRY, section), (COUNTRY, ALL)]))
        self.seen_notices[notice.notice_id] = SeenNotice(
            notice.revision, month, notice.persons, keys
        )
        if seen is not None and seen.month == month:
            self.stats.notices["revised"] += 1
        else:
            self.stats.notices["new"] += 1
        signals = []
        for key in keys:
            burst = self._burst(key, month)
            if month < burst.month:
                self.stats.notices["late"] += 1
                return out
            if seen is not None and seen.month == month and key in seen.bursts:
                burst.count -= 1
                burst.persons -= seen.persons
            burst.count += 1
            burst.persons += notice.persons
            _add_evidence(burst, notice)
            signal = None if learning else self._notice_signal(key, burst, notice.announced)
            if signal is not None:
                signals.append(signal)
        out.extend(self._judge([self._mark_distinct(s) for s in signals], month))
        return out

    def _mark_distinct(self, signal: Signal) -> Signal:
        """A local burst that is most of the nation's excess of notices is its own story.

        It is then reported even while a national notice alert is open (the notice counterpart
        of a local figure diverging from the country).
        """
        national = self.bursts.get((COUNTRY, ALL))
        if signal.area == COUNTRY or national is None:
            return signal
        expected = national.detector.assess(NoticeTally(national.count, national.persons)).baseline
        excess = max(national.persons - expected, 0.0)
        if signal.excess >= self.catalogue.alerting.explained_share * excess:
            return replace(signal, distinct=True)
        return signal

    def _burst(self, key: tuple[str, str], month: int) -> BurstState:
        burst = self.bursts.get(key)
        if burst is None:
            name = self.catalogue.notices.detector
            detector = create(name, self.catalogue.detectors.get(name, {}))
            assert isinstance(detector, NoticeBurst)
            burst = self.bursts[key] = BurstState(detector=detector, month=month)
        elif month > burst.month:
            _close_notice_months(burst, month)
        return burst

    def _notice_signal(
        self, key: tuple[str, str], burst: BurstState, announced: date
    ) -> Signal | None:
        """Judge the month-to-date tally the moment a notice arrives."""
        detector = burst.detector
        assessment = detector.assess(NoticeTally(burst.count, burst.persons))
        self.stats.evaluations[detector.name] += 1
        if not detector.is_alarm(assessment):
            return None
        self.stats.signals[detector.name] += 1
        area, section = key
        largest = sorted(burst.evidence.values(), key=lambda n: (-n.persons, n.notice_id))
        return Signal(
            series=SeriesKey(area, "layoff_notices", None if section == ALL else section),
            kind=AlertKind.LAYOFF_NOTICES,
            polarity=Polarity.NEGATIVE,
            detector=detector.name,
            period=burst.month,
            value=float(burst.persons),
            baseline=assessment.baseline,
            score=assessment.score,
            threshold=detector.params.threshold,
            direction=1,
            available_on=announced,
            notices=tuple(largest[:MAX_NOTICES]),
            notice_count=burst.count,
            notice_persons=burst.persons,
        )

    def _notice_area(self, municipality: str) -> str:
        level = self.catalogue.notices.level
        if level == "KU":
            return municipality
        return next(a for a in self.hierarchy.ancestors(municipality) if area_level(a) == level)

    def _advance_notice_clock(self, month: int) -> list[Output]:
        if self.clock_notices is not None and month <= self.clock_notices:
            return []
        self.clock_notices = month
        for notice_id in [
            i for i, s in self.seen_notices.items() if s.month < month - NOTICE_MEMORY
        ]:
            del self.seen_notices[notice_id]
        return self._resolve_quiet(month, notices=True)

    # -- judging and alerting -------------------------------------------------------------------

    def _judge(self, signals: list[Signal], period: int) -> list[Output]:
        if not signals:
            return []
        # What the release already reported, and every alert still open: a local signal under an
        # open national (or regional) alert of the same kind is part of that change, as
        # Alertmanager's inhibition would have it, unless the area diverges.
        prior = frozenset(self.accepted.get(period, ())) | self._open_classes()
        decisions = decide(signals, self.hierarchy, self.catalogue.alerting.explained_share, prior)
        accepted = self.accepted.setdefault(period, set())
        for decision in decisions:
            if decision.accepted:
                accepted.add((decision.area, signal_class(decision.signals[0])))
        for old in [p for p in self.accepted if p <= period - DECISION_MEMORY]:
            del self.accepted[old]
        return self._alert(decisions)

    def _fold_into_target(self, decision: Decision) -> None:
        """Note an inhibited signal's area on the open alert that covers it."""
        if decision.accepted or decision.target is None:
            return
        group = self.groups.get(decision.target)
        if group is not None:
            fold(group, (decision.area, *decision.also_in), decision.polarity, self.ctx)

    def _open_classes(self) -> frozenset[tuple[str, SignalClass]]:
        classes = set()
        for key in self.open_groups:
            group = self.groups[key]
            alert = group.alert
            if alert is not None and not held(group, self.clock_figures, self.ctx):
                classes.add(
                    (alert.area, (alert.kind, alert.polarity, alert.sector, alert.occupation))
                )
        return frozenset(classes)

    def _alert(self, decisions: Sequence[Decision]) -> list[Output]:
        out: list[Output] = []
        # Accepted decisions first, so that the signals folded into them find their alerts.
        for decision in sorted(decisions, key=lambda d: not d.accepted):
            self.stats.decisions[
                "accepted" if decision.accepted else decision.reason.split(":")[0]
            ] += 1
            group = self.groups.get(decision.group)
            if group is not None or decision.accepted:
                group = self.groups.setdefault(decision.group, GroupState())
                group, alerts = apply_decision(group, decision, self.ctx)
                self._track_open(decision.group, group)
                self._count_alerts(alerts)
                out.extend(alerts)
            self._fold_into_target(decision)
        return out

    def _resolve_quiet(self, clock: int, notices: bool) -> list[Output]:
        groups = [
            g
            for g in self.open_groups
            if (g.endswith("|" + AlertKind.LAYOFF_NOTICES.value)) == notices
        ]
        resolved = resolve_quiet(self.groups, groups, clock, self.ctx)
        for key, _ in resolved:
            self._track_open(key, self.groups[key])
        alerts = [alert for _, alert in resolved]
        self._count_alerts(alerts)
        return list(alerts)

    def _track_open(self, key: str, group: GroupState) -> None:
        if group.alert is None:
            self.open_groups.discard(key)
        else:
            self.open_groups.add(key)

    def _count_alerts(self, alerts: Iterable[Alert]) -> None:
        for alert in alerts:
            self.stats.alerts[alert.status.value] += 1

    def _unknown_area(self, area: str) -> Rejection:
        unknown = self.stats.unknown_areas
        if area in unknown or len(unknown) < MAX_UNKNOWN_CODES:
            unknown[area] += 1
        return Rejection(
            "unknown_area",
            f"area {area} is not in the configured area hierarchy ({len(self.hierarchy)} areas); "
            "pass a full Statistics Finland correspondence file with --areas",
        )

    # -- introspection for runners --------------------------------------------------------------

    def open_alerts(self) -> list[Alert]:
        """The latest version of every open alert, in alert-group order."""
        return [
            g.alert for k in sorted(self.open_groups) if (g := self.groups[k]).alert is not None
        ]

    def value_of(self, series: str, period: int) -> float | None:
        """A series' value in a month (the series as alerts name it); None when unknown."""
        state = self.series.get(SeriesKey.parse(series))
        return None if state is None else state.value(period)

    def history(self, key: SeriesKey) -> dict[int, float]:
        """The values recorded for one series, by month index (empty for an unknown series)."""
        state = self.series.get(key)
        return {} if state is None else {p: pt.value for p, pt in sorted(state.history.items())}


class _SeriesInputs:
    """A series' references and scale, read from the engine's other series when asked.

    (An object rather than two closures per evaluation: it is built for every figure.)
    """

    __slots__ = ("_additive", "_areas", "_country", "_series", "_state", "_thresholds")

    def __init__(
        self,
        series: Mapping[SeriesKey, SeriesState],
        state: SeriesState,
        areas: tuple[str, ...],
        country: SeriesKey | None,
        additive: bool,
        thresholds: Mapping[str, float],
    ) -> None:
        self._series = series
        self._state = state
        self._areas = areas
        self._country = country  # None: not relative to the country (scale 1)
        self._additive = additive
        self._thresholds = thresholds

    def threshold(self, detector: str) -> float | None:
        return self._thresholds.get(detector)

    def reference(self, period: int) -> float | None:
        """The count the series is a share of: the country's (1.0 for the country itself).

        The whole country, not the rest of it: an area that is most of a small country (or a
        large region) would otherwise see its share of "the rest" swing with any one town.
        """
        if self._country is None:
            return 1.0
        country = self._series.get(self._country)
        total = country.value(period) if country is not None else None
        return total if total is not None and total > 0 else None

    def references(self, period: int) -> tuple[float, ...] | None:
        """Reference values for divergence: the rest of the parent area and of the country."""
        local = self._state.value(period)
        if local is None or not self._areas:
            return None
        key = self._state.key
        values = []
        for area in self._areas:
            ref = self._series.get(key.with_area(area))
            total = ref.value(period) if ref is not None else None
            # Compare with the rest of the reference area, so the area's own change does not
            # also move its reference.
            if total is None or total - local <= 0:
                return None
            values.append(total - local)
        return tuple(values)

    def scale(self, period: int) -> float | None:
        """Factor making a series relative to the (rest of the) country; 1.0 for the country."""
        if self._country is None:
            return 1.0
        state = self._state
        country = self._series.get(self._country)
        total = country.value(period) if country is not None else None
        local = state.value(period)
        if total is None or local is None:
            return None
        reference = total - local if self._additive else total
        if reference <= 0:
            return None
        if state.anchor is None:
            state.anchor = reference
        return state.anchor / reference


@dataclass(frozen=True, slots=True)
class _Features:
    unemployed: float
    unemployed_year_ago: float
    yoy_unemployment: float
    yoy_vacancies: float
    momentum: float
    laid_off_share_change: float
    noise: tuple[float, float, float, float]

    def relative_to(self, country: _Features) -> tuple[float, ...]:
        """The area's picture relative to the country, in units of its own noise.

        Relative, so a nationwide shock is not local; standardised, so areas of every size
        share one pooled model.
        """
        differences = (
            self.yoy_unemployment - country.yoy_unemployment,
            self.yoy_vacancies - country.yoy_vacancies,
            self.momentum - country.momentum,
            self.laid_off_share_change - country.laid_off_share_change,
        )
        return tuple(d / n for d, n in zip(differences, self.noise, strict=True))


#: Variation of log changes beyond counting noise (business cycle, reporting), as a floor.
FEATURE_NOISE_FLOOR: Final = 0.05


def _noise(*counts: float) -> float:
    return math.sqrt(FEATURE_NOISE_FLOOR**2 + sum(1.0 / (c + 1.0) for c in counts))


def _detectors(params: Mapping[str, DetectorParams]) -> dict[str, AnyDetector]:
    return {name: detector_class(name)(p) for name, p in params.items()}


def _series_order(key: SeriesKey) -> tuple[int, str, str, str, str]:
    return (_depth(key.area), key.area, key.measure, key.sector or "", key.occupation or "")


@lru_cache(maxsize=1 << 16)
def _depth(area: str) -> int:
    return level_depth(area)


def _close_notice_months(burst: BurstState, month: int) -> None:
    """Teach the detector the finished month and the empty months since; start ``month``."""
    burst.detector.update(NoticeTally(burst.count, burst.persons))
    for _ in range(min(month - burst.month - 1, MAX_EMPTY_MONTHS)):
        burst.detector.update(NoticeTally(0, 0))
    burst.month, burst.count, burst.persons, burst.evidence = month, 0, 0, {}


def _add_evidence(burst: BurstState, notice: LayoffNoticeFiled) -> None:
    burst.evidence[notice.notice_id] = _notice_evidence(notice)
    if len(burst.evidence) > MAX_NOTICES * 4:
        # Keep the largest notices of the month (bounded); the tally keeps the totals.
        largest = sorted(burst.evidence.values(), key=lambda n: (-n.persons, n.notice_id))
        burst.evidence = {n.notice_id: n for n in largest[: MAX_NOTICES * 2]}


def _notice_evidence(notice: LayoffNoticeFiled) -> NoticeEvidence:
    return NoticeEvidence(
        notice_id=notice.notice_id,
        employer=notice.employer,
        business_id=notice.business_id,
        municipality=notice.municipality,
        sector=notice.sector,
        kind=notice.kind,
        persons=notice.persons,
        announced=notice.announced,
        effective_from=notice.effective_from,
    )
