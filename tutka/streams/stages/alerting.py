"""The alerting stage: release decisions into alert versions, per alert group.

The group logic (open, merge, escalate, resolve, withdraw) is :mod:`tutka.streams.alerting`'s;
this stage keeps the engine's groups and the set of open ones, and counts what it emits.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from tutka.models.alerts import Alert, AlertKind, ClosureReason
from tutka.streams.alerting import (
    GroupState,
    apply_decision,
    close_by_staff,
    fold,
    resolve_quiet,
    withdraw,
)
from tutka.streams.signals import Decision
from tutka.streams.stages.context import EngineContext
from tutka.streams.stages.state import EngineState, Output


def apply_decisions(
    state: EngineState, ctx: EngineContext, decisions: Sequence[Decision]
) -> list[Output]:
    """Apply decisions to their alert groups; return the alert versions they caused."""
    out: list[Output] = []
    # Accepted decisions first, so that the signals folded into them find their alerts.
    for decision in sorted(decisions, key=lambda d: not d.accepted):
        state.stats.decisions[
            "accepted" if decision.accepted else decision.reason.split(":")[0]
        ] += 1
        group = state.groups.get(decision.group)
        if group is not None or decision.accepted:
            group = state.groups.setdefault(decision.group, GroupState())
            group, alerts = apply_decision(group, decision, ctx.alerts)
            _track_open(state, decision.group, group)
            _count(state, alerts)
            out.extend(alerts)
        _fold_into_target(state, ctx, decision)
    return out


def _fold_into_target(state: EngineState, ctx: EngineContext, decision: Decision) -> None:
    """Note an inhibited signal's area on the open alert that covers it."""
    if decision.accepted or decision.target is None:
        return
    group = state.groups.get(decision.target)
    if group is not None:
        fold(group, (decision.area, *decision.also_in), decision.polarity, ctx.alerts)


def withdraw_evidence(
    state: EngineState,
    ctx: EngineContext,
    group_key: str,
    removed: set[tuple[str, str, str]],
    period: int,
) -> list[Output]:
    """Take (detector, series, period) evidence out of a group's alert (revised figures)."""
    group = state.groups.get(group_key)
    if group is None:
        return []
    alerts = withdraw(group, removed, period, ctx.alerts)
    _track_open(state, group_key, group)
    _count(state, alerts)
    return list(alerts)


def resolve_quiet_groups(
    state: EngineState, ctx: EngineContext, clock: int, notices: bool
) -> list[Output]:
    """Resolve the open alerts (of notices, or of figures) that have been quiet long enough."""
    groups = [
        g
        for g in state.open_groups
        if (g.endswith("|" + AlertKind.LAYOFF_NOTICES.value)) == notices
    ]
    resolved = resolve_quiet(state.groups, groups, clock, ctx.alerts)
    for key, _ in resolved:
        _track_open(state, key, state.groups[key])
    alerts = [alert for _, alert in resolved]
    _count(state, alerts)
    return list(alerts)


def close_alert(
    state: EngineState, ctx: EngineContext, alert_id: str, reason: ClosureReason
) -> list[Output]:
    """Staff close a held alert: its resolved version, or nothing (counted by outcome)."""
    key = next((k for k in sorted(state.open_groups) if _alert_id(state, k) == alert_id), None)
    if key is None:
        resolved = any(
            g.last_resolved is not None and g.last_resolved.id == alert_id
            for g in state.groups.values()
        )
        state.stats.closures["resolved" if resolved else "unknown"] += 1
        return []
    group = state.groups[key]
    notices = key.endswith("|" + AlertKind.LAYOFF_NOTICES.value)
    clock = state.clock_notices if notices else state.clock_figures
    closed = close_by_staff(group, clock if clock is not None else -1, reason, ctx.alerts)
    if closed is None:
        state.stats.closures["not_held"] += 1
        return []
    _track_open(state, key, group)
    state.stats.closures["closed"] += 1
    _count(state, [closed])
    return [closed]


def open_alerts(state: EngineState) -> list[Alert]:
    """The latest version of every open alert, in alert-group order."""
    return [g.alert for k in sorted(state.open_groups) if (g := state.groups[k]).alert is not None]


def _track_open(state: EngineState, key: str, group: GroupState) -> None:
    if group.alert is None:
        state.open_groups.discard(key)
    else:
        state.open_groups.add(key)


def counted(state: EngineState, alerts: list[Alert]) -> list[Alert]:
    """Alerts made outside the alert groups (policy triggers), counted like the others."""
    _count(state, alerts)
    return alerts


def _count(state: EngineState, alerts: Iterable[Alert]) -> None:
    for alert in alerts:
        state.stats.alerts[alert.status.value] += 1


def _alert_id(state: EngineState, key: str) -> str | None:
    alert = state.groups[key].alert
    return None if alert is None else alert.id
