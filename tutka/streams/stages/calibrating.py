"""The calibration stage: calibrated detectors' scores tracked, thresholds recalibrated when due.

Each calibrated detector's scores are kept per calibration group (detector, rule, area level,
breakdown or not) with the counts behind them; once a year the thresholds are recalibrated to the
false-alarm budget on what was known before the release (see :mod:`tutka.streams.calibration`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache
from typing import cast

from tutka.models.codes import AreaLevel
from tutka.streams.calibration import group_of, level_of_group
from tutka.streams.series import Finding, Inputs, SeriesState
from tutka.streams.signals import SeriesKey
from tutka.streams.stages.context import EngineContext, level_of
from tutka.streams.stages.state import EngineState


def calibration_group(detector: str, series: SeriesState) -> str:
    """The calibration group of ``detector`` watching ``series``."""
    key = series.key
    breakdown = key.sector is not None or key.occupation is not None
    return _group(detector, series.rule, key.area, breakdown)


@lru_cache(maxsize=1 << 14)
def _group(detector: str, rule: str, area: str, breakdown: bool) -> str:
    # Asked for every calibrated finding; the combinations are few (areas × rules × detectors).
    return group_of(detector, rule, level_of(area), breakdown)


def track(
    state: EngineState,
    ctx: EngineContext,
    series: SeriesState,
    findings: Sequence[Finding],
    inputs: Inputs,
) -> None:
    """Remember calibrated detectors' scores with the counts behind them, for the audit."""
    rules = ctx.catalogue.calibration
    calibrated = rules.detectors
    for finding in findings:
        if finding.detector not in calibrated:
            continue
        value = series.value(finding.period)
        reference = inputs.reference(finding.period)
        if value is None or reference is None:
            continue
        a = finding.assessment
        signed = a.score * a.direction if finding.ready else math.nan
        state.calibration.record(
            calibration_group(finding.detector, series),
            _name(series.key),
            finding.period,
            value,
            reference,
            signed,
            rules.history_months,
        )


def calibrate_if_due(state: EngineState, ctx: EngineContext, period: int) -> None:
    """Recalibrate every group's threshold when ``period`` is the calibration month."""
    rules = ctx.catalogue.calibration
    calibration = state.calibration
    if not calibration.tracks or not calibration.due(period, rules.month):
        return
    budgets = {
        group: rules.budget_for(cast(AreaLevel, level_of_group(group)))
        for group in calibration.tracks
    }
    # Judged on what was known before this release: through the previous period.
    calibration.recalibrate(
        period - 1,
        budgets,
        rules.grid(),
        rules.excluded_months(),
        rules.pooling_area_years,
        rules.min_area_years,
        rules.history_months,
        rules.confidence,
    )
    calibration.calibrated = period
    state.stats.decisions["calibrations"] += 1


def thresholds(state: EngineState, ctx: EngineContext, series: SeriesState) -> dict[str, float]:
    """The calibrated thresholds of the detectors watching a series (none before)."""
    out = {}
    for detector in ctx.catalogue.calibration.detectors:
        threshold = state.calibration.threshold(calibration_group(detector, series))
        if threshold is not None:
            out[detector] = threshold
    return out


@lru_cache(maxsize=1 << 18)
def _name(key: SeriesKey) -> str:
    # Every calibrated finding is tracked under its series' name, month after month: one
    # string per series instead of a new one each time.
    return str(key)
