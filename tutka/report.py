"""What an analyst wants to see after a run: alerts against known events, and a summary."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from tutka.models.alerts import Alert, AlertKind, AlertStatus
from tutka.models.areas import Hierarchy
from tutka.models.codes import period_index, period_of

#: Months before and after an event's reference month in which an alert counts as finding it.
WINDOW_BEFORE = 3
WINDOW_AFTER = 12


@dataclass(frozen=True, slots=True)
class KnownEvent:
    """A labelled structural change (synthetic ground truth or a curated event list)."""

    event_id: str
    regions: tuple[str, ...]
    reference_month: str
    polarity: str
    what: str
    confidence: str = "high"


@dataclass(frozen=True, slots=True)
class EventMatch:
    event: KnownEvent
    alerts: tuple[Alert, ...]

    @property
    def first(self) -> Alert | None:
        return self.alerts[0] if self.alerts else None

    @property
    def delay_months(self) -> int | None:
        """Months from the reference month to the month the first alert became available."""
        first = self.first
        if first is None:
            return None
        return period_index(period_of(first.available_on)) - period_index(
            self.event.reference_month
        )


def related(alert: Alert, regions: Iterable[str], hierarchy: Hierarchy) -> bool:
    """The alert concerns one of ``regions`` or an area within one (including folded areas)."""
    areas = (alert.area, *alert.also_in)
    return any(
        hierarchy.contains(region, area)
        for region in regions
        for area in areas
        if region in hierarchy
    )


def match_events(
    events: Sequence[KnownEvent], alerts: Iterable[Alert], hierarchy: Hierarchy
) -> list[EventMatch]:
    """For each event, the alerts that found it, earliest available first.

    Policy triggers (EGF, structural change, Sahm) are watches on criteria, not detections:
    they are not matched to events.
    """
    latest = [a for a in alerts if a.kind is not AlertKind.POLICY_TRIGGER]
    matches = []
    for event in events:
        ref = period_index(event.reference_month)
        found = [
            a
            for a in latest
            if a.polarity.value == event.polarity
            and ref - WINDOW_BEFORE <= period_index(a.opened_period) <= ref + WINDOW_AFTER
            and related(a, event.regions, hierarchy)
        ]
        found.sort(
            key=lambda a: (a.available_on, period_index(a.opened_period), -a.severity.rank, a.id)
        )
        matches.append(EventMatch(event, tuple(found)))
    return matches


def unexplained(matches: Sequence[EventMatch], alerts: Iterable[Alert]) -> list[Alert]:
    """Alerts that match no known event."""
    explained = {a.id for m in matches for a in m.alerts}
    return [a for a in alerts if a.id not in explained]


def counts(alerts: Iterable[Alert]) -> Counter[tuple[str, str, str]]:
    return Counter((a.kind.value, a.polarity.value, a.severity.value) for a in alerts)


def most_severe(alerts: Iterable[Alert]) -> list[Alert]:
    return sorted(
        alerts,
        key=lambda a: (-a.severity.rank, a.status is AlertStatus.RESOLVED, a.opened_period, a.id),
    )
