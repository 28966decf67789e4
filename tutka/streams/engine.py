"""The pipeline core: events in (in availability order), alerts out. No I/O, clock or environment.

``Engine.process(event)`` is the step every runner calls — the embedded replay (``tutka demo``,
``tutka replay``, ``tutka backtest``) and the Kafka worker alike — and ``Engine.flush()`` closes
whatever is still pending at the end of input. Every decision depends on event time alone.

The engine is a facade over the stages of :mod:`tutka.streams.stages`: it holds one
:class:`~tutka.streams.stages.state.EngineState` (everything it remembers; written and read back
by :mod:`tutka.streams.state`) and one :class:`~tutka.streams.stages.context.EngineContext` (the
configuration), and hands both to the stage an event calls for:

* a figure → :mod:`~tutka.streams.stages.figures` (collect the release; when it closes, the series'
  detectors in :mod:`~tutka.streams.stages.detection` and the pooled ones in
  :mod:`~tutka.streams.stages.outliers`), or :mod:`~tutka.streams.stages.revisions` for a figure
  of a period already judged;
* a layoff notice → :mod:`~tutka.streams.stages.notices` (judged the moment it arrives);
* signals → :mod:`~tutka.streams.stages.judging` (across the area hierarchy) →
  :mod:`~tutka.streams.stages.alerting` (per alert group).

The state is owned, not shared: a stage changes only the state it is handed (copying ten thousand
series states per event would cost more than the detectors), and callers see only the alerts the
engine returns.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace

from tutka.config.catalogue import Catalogue
from tutka.models.alerts import Alert, ChangeClass, Localized
from tutka.models.areas import Hierarchy
from tutka.models.closures import StaffClosure
from tutka.models.events import LayoffNoticeFiled
from tutka.streams import stories
from tutka.streams.calibration import CalibrationState
from tutka.streams.series import Pristine, SeriesState
from tutka.streams.signals import SeriesKey
from tutka.streams.stages import alerting, figures, notices
from tutka.streams.stages import stories as story_stage
from tutka.streams.stages.context import EngineContext
from tutka.streams.stages.detection import OPEN_VACANCIES, TIGHTNESS, UNEMPLOYED
from tutka.streams.stages.state import (
    EngineState,
    EngineStats,
    Event,
    Figure,
    Output,
    Rejection,
)

__all__ = [
    "OPEN_VACANCIES",
    "TIGHTNESS",
    "UNEMPLOYED",
    "Engine",
    "EngineState",
    "EngineStats",
    "Event",
    "Figure",
    "Output",
    "Rejection",
]


class Engine:
    """The deterministic core shared by every runner."""

    def __init__(
        self,
        hierarchy: Hierarchy,
        catalogue: Catalogue,
        sector_names: Mapping[str, Localized] | None = None,
        state: EngineState | None = None,
    ) -> None:
        self.context = EngineContext(hierarchy, catalogue, sector_names)
        self.state = state if state is not None else EngineState()
        # The alerting stage reads series values (labour force, recovery) and a change's class
        # (structural or transient: what a quiet alert resolves as) through these look-ups.
        self.context.alerts = replace(
            self.context.alerts, values=self.value_of, change_class=self._change_class
        )

    # -- the step ---------------------------------------------------------------------------------

    def process(self, event: Event) -> list[Output]:
        """Fold one event in; return the alert versions (and rejections) it caused."""
        state, ctx = self.state, self.context
        state.stats.events[event.type] += 1
        clock = state.clock_figures
        out: list[Output] = []
        if state.pending is not None and event.available_on > state.pending.available_on:
            out.extend(figures.close_release(state, ctx))
        if isinstance(event, LayoffNoticeFiled):
            if event.municipality in ctx.hierarchy:
                stories.on_notice(state.stories, event, ctx.catalogue.footprint)
            out.extend(notices.on_notice(state, ctx, event))
        else:
            out.extend(figures.on_figure(state, ctx, event))
            if not out and state.clock_figures == clock:
                # Nothing to tell (most figures: collected into their release): no alert, and
                # no notice watch can have come due, as the clock has not moved since the
                # stories were last told, and only a notice adds a watch.
                return out
        return self._with_stories(out)

    def close(self, closure: StaffClosure) -> list[Output]:
        """Staff close a held alert: its resolved version (``closed_by_staff``), or nothing.

        A command for an alert that is unknown, already resolved or not held changes nothing
        but a count in :attr:`stats` (``closures``), so a redelivered command is harmless.
        """
        closed = alerting.close_alert(self.state, self.context, closure.alert_id, closure.reason)
        return self._with_stories(closed)

    def flush(self) -> list[Output]:
        """Judge the release still being collected (end of input, or an idle stream)."""
        return self._with_stories(figures.close_release(self.state, self.context))

    def _with_stories(self, out: list[Output]) -> list[Output]:
        """Each alert with its story, and notice alerts again with the figures' verdict."""
        return story_stage.tell(self.state, self.context, out)

    def _change_class(self, alert: Alert) -> ChangeClass | None:
        """The class the alert's story gives its change (read-only: links nothing)."""
        rules, hierarchy = self.context.catalogue.footprint, self.context.hierarchy
        story = stories.annotate(self.state.stories, alert, hierarchy, rules, link=False).story
        return None if story is None else story.change_class

    def run(self, events: Iterable[Event]) -> list[Output]:
        """Every event in turn, then :meth:`flush`: what ``tutka replay`` does with sorted input."""
        out: list[Output] = []
        for event in events:
            out.extend(self.process(event))
        out.extend(self.flush())
        return out

    # -- what runners read ------------------------------------------------------------------------

    @property
    def hierarchy(self) -> Hierarchy:
        """The area hierarchy the engine judges in."""
        return self.context.hierarchy

    @property
    def catalogue(self) -> Catalogue:
        """The detector catalogue and rules."""
        return self.context.catalogue

    @property
    def series(self) -> Mapping[SeriesKey, SeriesState]:
        """Every series watched (read it; the stages change it)."""
        return self.state.series

    @property
    def stats(self) -> EngineStats:
        """Counts of everything the engine did."""
        return self.state.stats

    @property
    def calibration(self) -> CalibrationState:
        """The calibrated thresholds and the score tracks behind them."""
        return self.state.calibration

    def open_alerts(self) -> list[Alert]:
        """The latest version of every open alert, in alert-group order (policy triggers last).

        Stories are annotated without linking: looking changes no later alert.
        """
        state, rules = self.state, self.context.catalogue.footprint
        told = [
            stories.annotate(state.stories, alert, self.context.hierarchy, rules, link=False)
            for alert in alerting.open_alerts(state)
        ]
        return told + [state.triggers.open[k] for k in sorted(state.triggers.open)]

    def value_of(self, series: str, period: int) -> float | None:
        """A series' value in a month (the series as alerts name it); None when unknown."""
        state = self.state.series.get(SeriesKey.parse(series))
        return None if state is None else state.value(period)

    def history(self, key: SeriesKey) -> dict[int, float]:
        """The values recorded for one series, by month index (empty for an unknown series)."""
        series = self.state.series.get(key)
        return {} if series is None else {p: pt.value for p, pt in sorted(series.history.items())}

    def pristine(self, rule_name: str, area: str) -> Pristine:
        """The detectors every series of ``rule_name`` at ``area``'s level starts with."""
        return self.context.pristine(rule_name, area)
