"""The judging stage: a release's signals decided across the area hierarchy, then alerted.

A local signal under an open national (or regional) alert of the same kind is part of that change,
as Alertmanager's inhibition would have it, unless the area diverges (see
:mod:`tutka.streams.release`). Decisions of recent periods are remembered, so that late and revised
figures are judged against what their release already reported.
"""

from __future__ import annotations

from typing import Final

from tutka.streams.alerting import held
from tutka.streams.release import SignalClass, decide, signal_class
from tutka.streams.signals import Signal
from tutka.streams.stages.alerting import apply_decisions
from tutka.streams.stages.context import EngineContext
from tutka.streams.stages.state import EngineState, Output

#: Release decisions remembered for judging late and revised figures.
DECISION_MEMORY: Final = 12


def judge(
    state: EngineState, ctx: EngineContext, signals: list[Signal], period: int
) -> list[Output]:
    """Decide ``period``'s signals against what is already reported; alert the accepted ones."""
    if not signals:
        return []
    # What the release already reported, and every alert still open.
    prior = frozenset(state.accepted.get(period, ())) | open_classes(state, ctx)
    decisions = decide(signals, ctx.hierarchy, ctx.catalogue.alerting.explained_share, prior)
    accepted = state.accepted.setdefault(period, set())
    for decision in decisions:
        if decision.accepted:
            accepted.add((decision.area, signal_class(decision.signals[0])))
    for old in [p for p in state.accepted if p <= period - DECISION_MEMORY]:
        del state.accepted[old]
    return apply_decisions(state, ctx, decisions)


def open_classes(state: EngineState, ctx: EngineContext) -> frozenset[tuple[str, SignalClass]]:
    """The (area, signal class) of every open alert still moving.

    An alert held open only as the new normal (quiet, its level still shifted) covers no new
    change: a nationwide shock years later is judged on its own.
    """
    classes = set()
    for key in state.open_groups:
        group = state.groups[key]
        alert = group.alert
        if alert is not None and not held(group, state.clock_figures, ctx.alerts):
            classes.add((alert.area, (alert.kind, alert.polarity, alert.sector, alert.occupation)))
    return frozenset(classes)
