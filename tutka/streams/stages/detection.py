"""The detection stage: each series' detectors judge its new figure, and alarms become signals.

A series' detectors are scored before they learn (prequential, see :mod:`tutka.streams.series`).
Their inputs from outside the series — the reference areas' values, the country's count, the
calibrated thresholds — are read from the engine's other series when asked. Derived series
(labour-market tightness) are computed here from the figures they derive from.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from functools import lru_cache
from typing import Final

from tutka.models.areas import COUNTRY, level_depth
from tutka.models.events import UnemploymentMeasure, VacancyMeasure
from tutka.streams.alerting import held
from tutka.streams.series import (
    SHARE_DETECTORS,
    UNSCALED,
    Finding,
    Inputs,
    Pristine,
    SeriesState,
    evaluate,
    record,
)
from tutka.streams.signals import SeriesKey, Signal, group_key
from tutka.streams.sizes import too_small
from tutka.streams.stages.calibrating import calibration_group, track
from tutka.streams.stages.context import EngineContext, SeriesPlan, TightnessPair
from tutka.streams.stages.state import EngineState

UNEMPLOYED: Final = UnemploymentMeasure.UNEMPLOYED_JOBSEEKERS.value
LAID_OFF: Final = UnemploymentMeasure.FULL_TIME_LAID_OFF.value
OPEN_VACANCIES: Final = VacancyMeasure.OPEN_AT_MONTH_END.value
TIGHTNESS: Final = "tightness"
#: A relative signal needs the area's own year-on-year change to go the same way by at least this
#: much (log units, about 2 %).
OWN_CHANGE_MIN: Final = 0.02


def series_state(state: EngineState, ctx: EngineContext, key: SeriesKey) -> SeriesState:
    """The series ``key``, started with its rule's pristine detectors if new."""
    series = state.series.get(key)
    if series is None:
        rule = ctx.catalogue.rule_for(key.measure)
        name = rule.name if rule is not None else ""
        pristine = ctx.pristine(name, key.area)
        series = SeriesState(key, name, pristine.detectors, pristine=pristine)
        state.series[key] = series
    return series


def detect(
    state: EngineState, ctx: EngineContext, series: SeriesState, period: int, available_on: date
) -> list[Signal]:
    """Judge ``period``'s value of ``series``; the signals of its alarms."""
    rules = ctx.catalogue.alerting
    plan = ctx.plan(series.key, series.rule)
    pristine = plan.pristine
    if unwatched(series, pristine):
        # It only moves on (its last period, checkpoints), with no inputs to read, nothing found.
        evaluate(series, period, UNSCALED, rules.revision_depth, rules.max_gap, pristine)
        return []
    inputs = _SeriesInputs(state, series, plan)
    findings = evaluate(series, period, inputs, rules.revision_depth, rules.max_gap, pristine)
    if not findings:
        return []  # (no detector had its inputs)
    evaluations = state.stats.evaluations
    for finding in findings:
        evaluations[finding.detector] += 1
    track(state, ctx, series, findings, inputs)
    alarms = [f for f in findings if f.alarm]
    return signals_of(state, ctx, series, alarms, available_on) if alarms else []


def unwatched(series: SeriesState, pristine: Pristine) -> bool:
    """Whether no detector watches ``series``, nor will after a restart (its rule's level has none).

    Most series of a large market are such breakdowns (vacancies and tightness by occupation in
    a region): their evaluation then skips the inputs, the tracking and the signals, which
    would find nothing.
    """
    return not series.detectors and not pristine.detectors


def signals_of(
    state: EngineState,
    ctx: EngineContext,
    series: SeriesState,
    alarms: Sequence[Finding],
    available_on: date,
) -> list[Signal]:
    """The signals of a series' alarms (those only relative to the country left out)."""
    if not alarms:
        return []
    rule = ctx.catalogue.rule(series.rule)
    signals = []
    for finding in alarms:
        value = series.value(finding.period)
        if value is None:
            raise ValueError(f"{series.key}: an alarm in {finding.period} without a value")
        state.stats.signals[finding.detector] += 1
        if _only_relative(state, ctx, series, finding, value):
            state.stats.decisions["relative_only"] += 1
            continue
        rules = ctx.catalogue.alerting
        baseline = finding.assessment.baseline
        if too_small(
            series.key, value, baseline, rules.min_breakdown_size, rules.min_breakdown_excess
        ):
            state.stats.decisions["too_small"] += 1
            continue
        group = calibration_group(finding.detector, series)
        signals.append(
            Signal(
                series=series.key,
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
                once_in_years=state.calibration.years_between(group, finding.assessment.score),
            )
        )
    return signals


def _only_relative(
    state: EngineState, ctx: EngineContext, series: SeriesState, finding: Finding, value: float
) -> bool:
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
    key = series.key
    if key.area == COUNTRY:
        return False
    rule = ctx.catalogue.rule(series.rule)
    if finding.detector in SHARE_DETECTORS:
        national = state.groups.get(group_key(COUNTRY, key.sector, key.occupation, rule.kind))
        # A national alert only held open (the new normal, until staff close it) is no longer
        # a shock in progress: local changes after it are judged on their own.
        if national is None or national.alert is None:
            return False
        if held(national, state.clock_figures, ctx.alerts):
            return False
    year_ago = series.value(finding.period - 12)
    if year_ago is None:
        return False
    own = math.log((value + 1) / (year_ago + 1))
    return finding.assessment.direction * own < OWN_CHANGE_MIN


def series_inputs(state: EngineState, ctx: EngineContext, series: SeriesState) -> Inputs:
    """The series' references (rest of the parent area and of the country) and its scale."""
    return _SeriesInputs(state, series, ctx.plan(series.key, series.rule))


def derive(
    state: EngineState, ctx: EngineContext, keys: Iterable[SeriesKey], period: int
) -> list[SeriesKey]:
    """Derived series (tightness = open vacancies per unemployed) touched by ``keys``."""
    if not ctx.catalogue.derived_rules:
        return []
    derived = []
    series = state.series
    seen: set[SeriesKey] = set()
    # In the order of ``keys``, without repeats (a set's order would vary from run to run).
    pairs = ctx.tightness_pairs  # (a dict read per figure of a release: no call)
    for key in keys:
        pair = pairs.get(key)
        if pair is None:
            pair = pairs[key] = _tightness_of(key)
        if not pair:
            continue
        base, unemployed_key, derived_key = pair
        if base in seen:
            continue
        seen.add(base)
        vacancies = series.get(base)
        unemployed = series.get(unemployed_key)
        if vacancies is None or unemployed is None:
            continue
        v, u = vacancies.history.get(period), unemployed.history.get(period)
        if v is None or u is None or u.value <= 0:
            continue
        revision = max(v.revision, u.revision)
        outcome = record(series_state(state, ctx, derived_key), period, v.value / u.value, revision)
        if outcome in ("new", "revised"):
            derived.append(derived_key)
    return derived


def _tightness_of(key: SeriesKey) -> TightnessPair:
    """The open vacancies, unemployed and tightness keys of the pair ``key`` belongs to.

    Empty for a key of another measure. (Asked for every figure of a release: the context
    remembers it per series.)
    """
    if key.measure == OPEN_VACANCIES:
        base = key
    elif key.measure == UNEMPLOYED:
        base = key.with_measure(OPEN_VACANCIES)
    else:
        return ()
    return base, base.with_measure(UNEMPLOYED), base.with_measure(TIGHTNESS)


def series_order(key: SeriesKey) -> tuple[int, str, str, str, str]:
    """The order of evidence: country first, then down the hierarchy, then by measure."""
    return (_depth(key.area), key.area, key.measure, key.sector or "", key.occupation or "")


@lru_cache(maxsize=1 << 16)
def _depth(area: str) -> int:
    return level_depth(area)


class _SeriesInputs:
    """A series' references and scale, read from the engine's other series when asked.

    (An object rather than two closures per evaluation: it is built for every figure.)
    """

    __slots__ = ("_calibration", "_plan", "_reference", "_series", "_state")

    def __init__(self, engine: EngineState, state: SeriesState, plan: SeriesPlan) -> None:
        self._calibration = engine.calibration
        self._series: Mapping[SeriesKey, SeriesState] = engine.series
        self._state = state
        self._plan = plan
        #: The last period's reference count asked (a share detector's, then its tracking's).
        self._reference: tuple[int, float | None] | None = None

    def threshold(self, detector: str) -> float | None:
        group = self._plan.groups.get(detector)
        return None if group is None else self._calibration.threshold(group)

    def reference(self, period: int) -> float | None:
        """The count the series is a share of: the country's (1.0 for the country itself).

        The whole country, not the rest of it: an area that is most of a small country (or a
        large region) would otherwise see its share of "the rest" swing with any one town.
        """
        asked = self._reference
        if asked is not None and asked[0] == period:
            return asked[1]
        found = self._find_reference(period)
        self._reference = (period, found)
        return found

    def _find_reference(self, period: int) -> float | None:
        country_key = self._plan.country
        if country_key is None:
            return 1.0
        country = self._series.get(country_key)
        total = country.history.value(period) if country is not None else None
        return total if total is not None and total > 0 else None

    def references(self, period: int) -> tuple[float, ...] | None:
        """Reference values for divergence: the rest of the parent area and of the country."""
        local = self._state.history.value(period)
        areas = self._plan.areas
        if local is None or not areas:
            return None
        key = self._state.key
        values = []
        for area in areas:
            ref = self._series.get(key.with_area(area))
            total = ref.history.value(period) if ref is not None else None
            # Compare with the rest of the reference area, so the area's own change does not
            # also move its reference.
            if total is None or total - local <= 0:
                return None
            values.append(total - local)
        return tuple(values)

    def scale(self, period: int) -> float | None:
        """Factor making a series relative to the (rest of the) country; 1.0 for the country."""
        plan = self._plan
        if plan.country is None:
            return 1.0
        state = self._state
        country = self._series.get(plan.country)
        total = country.history.value(period) if country is not None else None
        local = state.history.value(period)
        if total is None or local is None:
            return None
        reference = total - local if plan.additive else total
        if reference <= 0:
            return None
        if state.anchor is None:
            state.anchor = reference
        return state.anchor / reference
