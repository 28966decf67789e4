"""The situation picture: which alerts a view shows, counted by polarity and place, what changed.

Pure functions over alerts; the situation room (``tutka room``) serves them.

>>> from datetime import date
>>> from tutka.models.alerts import AlertKind, HistoryEntry, Localized
>>> a = Alert(
...     id="al-1", sequence=1, group="MK19|17|unemployment", kind=AlertKind.UNEMPLOYMENT,
...     polarity=Polarity.NEGATIVE, severity=Severity.WARNING, status=AlertStatus.OPEN,
...     area="MK19", area_name=Localized(fi="Lappi", sv="Lappland", en="Lapland"),
...     parents=("ELY15", "SSS"), sector="17", period="2023-10", opened_period="2023-10",
...     available_on=date(2023, 11, 20), evidence=(), explanation=Localized(fi="-", sv="-", en="-"),
...     history=(HistoryEntry(period="2023-10", status="open", severity=Severity.WARNING),),
... )
>>> matches_view(a, View(area="ELY15"), None), matches_view(a, View(area="ELY01"), None)
(True, False)
>>> matches_view(a, View(sector="C"), None), matches_view(a, View(sector="16"), None)
(True, False)
>>> [c.change for c in changes(None, a)]
['opened']
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Literal

from tutka.models.alerts import Alert, AlertKind, AlertStatus, Polarity, Severity
from tutka.models.areas import COUNTRY, Hierarchy, level_depth
from tutka.models.codes import area_level
from tutka.models.subscriptions import occupation_matches, sector_matches

StatusFilter = Literal["open", "resolved", "all"]
Change = Literal["opened", "escalated", "resolved"]


@dataclass(frozen=True, slots=True)
class View:
    """What a member of staff has filtered the picture to; ``None`` means any."""

    area: str | None = None
    sector: str | None = None
    occupation: str | None = None
    kind: AlertKind | None = None
    polarity: Polarity | None = None
    min_severity: Severity | None = None
    status: StatusFilter = "open"


def lies_under(alert: Alert, ancestor: str, hierarchy: Hierarchy | None) -> bool:
    """The alert's area is ``ancestor`` or below it (a code includes everything under it)."""
    if hierarchy is not None and alert.area in hierarchy:
        return hierarchy.contains(ancestor, alert.area)
    return ancestor == alert.area or ancestor in alert.parents


def is_open(alert: Alert) -> bool:
    """Whether the alert is open or updated (not resolved)."""
    return alert.status is not AlertStatus.RESOLVED


def matches_view(alert: Alert, view: View, hierarchy: Hierarchy | None) -> bool:
    """Whether ``alert`` belongs in ``view``: its status, kind, polarity, severity and place."""
    if view.status == "open" and not is_open(alert):
        return False
    if view.status == "resolved" and is_open(alert):
        return False
    if view.kind is not None and alert.kind is not view.kind:
        return False
    if view.polarity is not None and alert.polarity is not view.polarity:
        return False
    if view.min_severity is not None and alert.severity.rank < view.min_severity.rank:
        return False
    if view.sector is not None and not sector_matches(view.sector, alert.sector):
        return False
    if view.occupation is not None and not occupation_matches(view.occupation, alert.occupation):
        return False
    return view.area is None or lies_under(alert, view.area, hierarchy)


def ordered(alerts: Iterable[Alert]) -> list[Alert]:
    """Most important first (:func:`impact_order`)."""
    return sorted(alerts, key=impact_order)


def impact_order(a: Alert) -> tuple[int, int, float, int, int, str, str]:
    """Sort key for the most important first.

    Severity level; negative before positive at the same level; then persons affected, the
    most recent data, broader areas.
    """
    return (
        -a.severity.rank,
        0 if a.polarity is Polarity.NEGATIVE else 1,
        -a.impact,
        -a.available_on.toordinal(),
        level_depth(a.area),
        a.area,
        a.id,
    )


@dataclass(frozen=True, slots=True)
class Counts:
    """Alerts counted by polarity, and by severity."""

    negative: int
    positive: int
    by_severity: dict[str, int]


def count(alerts: Iterable[Alert]) -> Counts:
    """Count ``alerts`` by polarity and by severity."""
    polarity: Counter[Polarity] = Counter()
    severity: Counter[str] = Counter()
    for alert in alerts:
        polarity[alert.polarity] += 1
        severity[alert.severity.value] += 1
    return Counts(
        negative=polarity[Polarity.NEGATIVE],
        positive=polarity[Polarity.POSITIVE],
        by_severity={s.value: severity[s.value] for s in Severity},
    )


@dataclass(frozen=True, slots=True)
class PlaceRow:
    """One row of the geographic table: an ELY area, or a region under it."""

    area: str
    level: str  # as in tutka.models.codes.area_level: SSS, ELY, MK
    parent: str | None
    negative: int
    positive: int
    worst: Severity | None


def by_place(alerts: Iterable[Alert], hierarchy: Hierarchy) -> list[PlaceRow]:
    """Open alerts counted per ELY area and per region, with the worst severity of each.

    An alert counts where it lies, and in the ELY area above it; every ELY area and region is
    listed, quiet ones too, so staff see the whole country at a glance. National alerts are
    counted under the country row.
    """
    negative: Counter[str] = Counter()
    positive: Counter[str] = Counter()
    worst: dict[str, Severity] = {}
    for alert in alerts:
        for place in _places(alert, hierarchy):
            (negative if alert.polarity is Polarity.NEGATIVE else positive)[place] += 1
            if place not in worst or alert.severity.rank > worst[place].rank:
                worst[place] = alert.severity
    rows = [_row(COUNTRY, None, negative, positive, worst)]
    for ely in hierarchy.of_level("ELY"):
        rows.append(_row(ely, COUNTRY, negative, positive, worst))
        for region in hierarchy.children(ely):
            if region.startswith("MK"):
                rows.append(_row(region, ely, negative, positive, worst))
    return rows


def _places(alert: Alert, hierarchy: Hierarchy) -> set[str]:
    chain = (
        (alert.area, *hierarchy.ancestors(alert.area))
        if alert.area in hierarchy
        else (alert.area, *alert.parents)
    )
    places = {code for code in chain if code.startswith(("ELY", "MK"))}
    return places or {COUNTRY}


def _row(
    area: str,
    parent: str | None,
    negative: Counter[str],
    positive: Counter[str],
    worst: dict[str, Severity],
) -> PlaceRow:
    return PlaceRow(area, area_level(area), parent, negative[area], positive[area], worst.get(area))


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    """An alert opened, escalated or was resolved, as of the day its data became available."""

    alert_id: str
    sequence: int
    change: Change
    available_on: date
    period: str
    severity: Severity
    polarity: Polarity
    area: str
    kind: AlertKind


def changes(previous: Alert | None, alert: Alert) -> list[TimelineEntry]:
    """What a new version of an alert changed, for the timeline.

    An update may change nothing staff need to see (more evidence, the same severity): then
    there is no entry.
    """
    if previous is not None and alert.sequence <= previous.sequence:
        return []  # a redelivered or older version
    if alert.status is AlertStatus.RESOLVED:
        # A resolved alert's later version (a notice alert hearing the figures' verdict) is
        # not a second resolution.
        resolved_before = previous is not None and previous.status is AlertStatus.RESOLVED
        change: Change | None = None if resolved_before else "resolved"
    elif previous is None or alert.status is AlertStatus.OPEN:
        change = "opened"
    elif alert.severity.rank > previous.severity.rank:
        change = "escalated"
    else:
        change = None
    if change is None:
        return []
    return [
        TimelineEntry(
            alert.id,
            alert.sequence,
            change,
            alert.available_on,
            alert.period,
            alert.severity,
            alert.polarity,
            alert.area,
            alert.kind,
        )
    ]
