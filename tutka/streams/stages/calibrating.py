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
    plan = ctx.plan(series.key, series.rule)
    groups = plan.groups  # the calibrated detectors' groups
    for finding in findings:
        group = groups.get(finding.detector)
        if group is None:
            continue
        value = series.history.value(finding.period)
        reference = inputs.reference(finding.period)
        if value is None or reference is None:
            continue
        a = finding.assessment
        signed = a.score * a.direction if finding.ready else math.nan
        state.calibration.record(
            group,
            plan.name,
            finding.period,
            value,
            reference,
            signed,
            ctx.catalogue.calibration.history_months,
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
