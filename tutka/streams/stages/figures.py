"""The figures stage: monthly figures collected into a release, and the release closed.

All figures of one period are published together. A release is collected until an event from a
later period or a later availability date arrives, then judged as a whole: series by series
(detection), pooled across areas (outliers), across the area hierarchy (judging) and per alert
group (alerting). A figure for a period already judged is a revision (see :mod:`.revisions`) or
a late arrival, judged on its own against what its release already reported.
"""

from __future__ import annotations

from tutka.models.alerts import Alert
from tutka.streams import triggers
from tutka.streams.ordering import month_index
from tutka.streams.series import SeriesState, record
from tutka.streams.signals import SeriesKey, Signal
from tutka.streams.stages.alerting import counted, resolve_quiet_groups
from tutka.streams.stages.calibrating import calibrate_if_due
from tutka.streams.stages.context import EngineContext
from tutka.streams.stages.detection import derive, detect, series_order, series_state
from tutka.streams.stages.judging import judge
from tutka.streams.stages.outliers import outlier_signals
from tutka.streams.stages.revisions import revise
from tutka.streams.stages.state import (
    EngineState,
    Figure,
    Output,
    PendingRelease,
    reject_unknown_area,
)

_new_key = tuple.__new__


def on_figure(state: EngineState, ctx: EngineContext, fig: Figure) -> list[Output]:
    """Route a figure: into the pending release, a revision, a new release or a late judgement."""
    if fig.area not in ctx.hierarchy:
        state.stats.figures["rejected"] += 1
        return [reject_unknown_area(state.stats, fig.area, len(ctx.hierarchy))]
    # (Without the named tuple's ``__new__``, a Python function: this runs for every figure.)
    key = _new_key(SeriesKey, (fig.area, fig.measure.value, fig.sector, fig.occupation))
    period = month_index(fig.period)
    pending = state.pending
    if pending is not None and period == pending.period:
        _collect(state, pending, key, fig)
        return []
    series = state.series.get(key)
    if series is not None and series.last is not None and period <= series.last:
        return revise(state, ctx, series, fig, period)
    if pending is None or period > pending.period:
        out = close_release(state, ctx) if pending is not None else []
        state.pending = PendingRelease(period, fig.published, {key: fig})
        state.stats.figures["new"] += 1
        return out
    return _late_first(state, ctx, key, fig, period)


def _collect(state: EngineState, pending: PendingRelease, key: SeriesKey, fig: Figure) -> None:
    previous = pending.figures.get(key)
    figures = state.stats.figures
    if previous is not None and fig.revision < previous.revision:
        figures["stale"] += 1
    elif previous is not None and fig.revision == previous.revision and fig.value == previous.value:
        figures["duplicate"] += 1
    else:
        figures["revised" if previous is not None else "new"] += 1
        pending.figures[key] = fig


def close_release(state: EngineState, ctx: EngineContext) -> list[Output]:
    """Judge the release being collected as a whole (nothing if none is)."""
    pending = state.pending
    if pending is None:
        return []
    state.pending = None
    state.stats.releases += 1
    period = pending.period
    calibrate_if_due(state, ctx, period)
    # The series as they are touched, without repeats, in order (each looked up once).
    touched: dict[SeriesKey, SeriesState] = {}
    known = state.series
    for key, fig in pending.figures.items():  # (each key once)
        series = known.get(key)  # (without a call for a series already watched: nearly all)
        if series is None:
            series = series_state(state, ctx, key)
        if record(series, period, fig.value, fig.revision) != "stale":
            touched[key] = series
    for key in derive(state, ctx, touched, period):
        touched.setdefault(key, state.series[key])
    signals: list[Signal] = []
    for series in touched.values():
        if series.last is None or period > series.last:
            signals.extend(detect(state, ctx, series, period, pending.available_on))
    # Series by series in a fixed order: the order of the evidence. A series' evaluation
    # depends on no other's, so sorting the few signals (stably) is the same as evaluating
    # every series in that order, and much cheaper than sorting 100 000 series.
    signals.sort(key=lambda signal: series_order(signal.series))
    signals.extend(outlier_signals(state, ctx, period, pending.available_on))
    out = judge(state, ctx, signals, period)
    clock = period if state.clock_figures is None else max(state.clock_figures, period)
    state.clock_figures = clock
    out.extend(resolve_quiet_groups(state, ctx, clock, notices=False))
    out.extend(counted(state, _release_triggers(state, ctx, pending)))
    return out


def _release_triggers(
    state: EngineState, ctx: EngineContext, pending: PendingRelease
) -> list[Alert]:
    """The policy triggers a whole release can meet (Sahm's rule per region)."""
    # Only totals take part (breakdowns by sector or occupation never do): most figures of a
    # large release are breakdowns, and are not even looked at.
    values = {
        key: fig.value for key, fig in pending.figures.items() if key[2] is None and key[3] is None
    }
    return triggers.on_release(
        state.triggers,
        pending.period,
        pending.available_on,
        values,
        ctx.catalogue.triggers,
        ctx.alerts,
    )


def _late_first(
    state: EngineState, ctx: EngineContext, key: SeriesKey, fig: Figure, period: int
) -> list[Output]:
    """The first figure of a series for a period whose release was already judged."""
    state.stats.figures["late"] += 1
    record(series_state(state, ctx, key), period, fig.value, fig.revision)
    signals: list[Signal] = []
    for k in [key, *derive(state, ctx, [key], period)]:
        series = state.series[k]
        if series.last is None or period > series.last:
            signals.extend(detect(state, ctx, series, period, fig.published))
    return judge(state, ctx, signals, period)
