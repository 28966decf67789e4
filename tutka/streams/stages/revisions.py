"""The revision stage: a revised figure rewinds its series and replays the periods since.

Official statistics get revised; a revision replaces, never adds. The series' detectors are
rewound to a checkpoint before the revised period and replayed (see
:func:`tutka.streams.series.reevaluate`); alarms that no longer hold are withdrawn from their
alerts, and new ones are judged as any signal of their period would be.
"""

from __future__ import annotations

from datetime import date

from tutka.config.catalogue import SeriesRule
from tutka.models.codes import period_str
from tutka.streams.series import SeriesState, record, reevaluate
from tutka.streams.signals import group_key
from tutka.streams.stages.alerting import withdraw_evidence
from tutka.streams.stages.calibrating import track
from tutka.streams.stages.context import EngineContext
from tutka.streams.stages.detection import derive, series_inputs, signals_of
from tutka.streams.stages.judging import judge
from tutka.streams.stages.state import EngineState, Figure, Output


def revise(
    state: EngineState, ctx: EngineContext, series: SeriesState, fig: Figure, period: int
) -> list[Output]:
    """A figure for a period ``series`` already judged: record it; replay if it changed."""
    outcome = record(series, period, fig.value, fig.revision)
    state.stats.figures[outcome] += 1
    if outcome != "revised":
        return []
    out = _replay(state, ctx, series, period, fig.published)
    for derived in derive(state, ctx, [series.key], period):
        if state.series[derived].last is not None:
            out.extend(_replay(state, ctx, state.series[derived], period, fig.published))
    return out


def _replay(
    state: EngineState, ctx: EngineContext, series: SeriesState, period: int, available_on: date
) -> list[Output]:
    before = {p: a for p, a in series.alarms.items() if p >= period}
    inputs = series_inputs(state, ctx, series)
    replayed = reevaluate(series, period, inputs, ctx.catalogue.alerting.revision_depth)
    if replayed is None:
        state.stats.figures["revision_not_replayed"] += 1
        return []
    for findings in replayed.values():
        track(state, ctx, series, findings, inputs)
    out: list[Output] = []
    rule = ctx.catalogue.rule(series.rule) if series.detectors else None
    for p, findings in sorted(replayed.items()):
        now = series.alarms.get(p, frozenset())
        gone = before.get(p, frozenset()) - now
        if gone and rule is not None:
            out.extend(_withdraw(state, ctx, series, rule, p, gone))
        added = [f for f in findings if f.alarm and f.detector not in before.get(p, frozenset())]
        if added:
            out.extend(judge(state, ctx, signals_of(state, ctx, series, added, available_on), p))
    return out


def _withdraw(
    state: EngineState,
    ctx: EngineContext,
    series: SeriesState,
    rule: SeriesRule,
    period: int,
    detectors: frozenset[str],
) -> list[Output]:
    key = group_key(series.key.area, series.key.sector, series.key.occupation, rule.kind)
    removed = {(d, str(series.key), period_str(period)) for d in detectors}
    return withdraw_evidence(state, ctx, key, removed, period)
