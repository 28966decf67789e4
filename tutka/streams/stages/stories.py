"""The stories stage: alerts leave the engine with their story; notice alerts hear the verdict.

Every alert version the other stages emit is annotated (:func:`tutka.streams.stories.annotate`).
When a figure alert gives a notice alert's story its verdict (confirmed, absorbed, exceeds), or
the figures clock passes the notice alert's footprint without one (no rise seen), the notice
alert is published again: its latest version from its alert group, one sequence later, with a
history note and the verdict in its story. The group keeps that version, so the alerting stage
continues from it (a resolved notice alert stays resolved; an open one is ``updated``).
"""

from __future__ import annotations

from collections.abc import Sequence

from tutka.models.alerts import MAX_HISTORY, VERDICT_NOTE, Alert, AlertStatus, HistoryEntry
from tutka.models.codes import period_index, period_str
from tutka.streams import stories
from tutka.streams.stages.alerting import counted
from tutka.streams.stages.context import EngineContext
from tutka.streams.stages.state import EngineState, Output


def tell(state: EngineState, ctx: EngineContext, out: Sequence[Output]) -> list[Output]:
    """``out`` with stories, and after each verdict the notice alert it concerns, again."""
    rules, hierarchy = ctx.catalogue.footprint, ctx.hierarchy
    told: list[Output] = []
    for output in out:
        if not isinstance(output, Alert):
            told.append(output)
            continue
        alert = stories.annotate(state.stories, output, hierarchy, rules)
        told.append(alert)
        month = period_index(alert.period)
        for notice_alert in stories.verdicts(state.stories, alert):
            told.extend(_again(state, ctx, notice_alert, month))
    clock = state.clock_figures
    if clock is not None:
        for notice_alert in stories.expire(state.stories, clock):
            told.extend(_again(state, ctx, notice_alert, clock))
    return told


def _again(state: EngineState, ctx: EngineContext, alert_id: str, month: int) -> list[Alert]:
    """The notice alert's next version with its verdict (none if its group has moved on)."""
    watch = state.stories.watch.get(alert_id)
    group = None if watch is None else state.groups.get(watch.group)
    if watch is None or group is None:
        return []
    if group.alert is not None and group.alert.id == alert_id:
        latest = group.alert
    elif group.last_resolved is not None and group.last_resolved.id == alert_id:
        latest = group.last_resolved
    else:
        return []
    entry = HistoryEntry(
        period=period_str(max(month, period_index(latest.period))),
        status=AlertStatus.RESOLVED
        if latest.status is AlertStatus.RESOLVED
        else AlertStatus.UPDATED,
        severity=latest.severity,
        note=VERDICT_NOTE.format(status=watch.status.value),
    )
    again = latest.model_copy(
        update={
            "sequence": latest.sequence + 1,
            "status": entry.status,
            "history": (*latest.history, entry)[-MAX_HISTORY:],
        }
    )
    if group.alert is latest:
        group.alert = again
    else:
        group.last_resolved = again
    annotated = stories.annotate(state.stories, again, ctx.hierarchy, ctx.catalogue.footprint)
    return counted(state, [annotated])
