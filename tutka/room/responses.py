"""Response bodies from the room's state: alert summaries, the status, the timeline, a case and an
alert's evidence chart."""

from dataclasses import replace
from typing import Final, Literal

from tutka.expected import expected_line
from tutka.models.access import Principal
from tutka.models.alerts import Alert, Localized
from tutka.models.casework import CaseState
from tutka.models.codes import period_index, period_str
from tutka.room.context import RoomContext
from tutka.room.schemas import (
    AlertSummary,
    CaseNoteOut,
    CaseOut,
    CaseSummary,
    Chart,
    Point,
    ResponseActionOut,
    SignalPoint,
    StatusOut,
    TimelineOut,
)
from tutka.room.series import SeriesStore
from tutka.streams.picture import View, matches_view

#: Changes in one timeline (the picture's and the timeline route's default).
TIMELINE_LIMIT: Final = 100


def summary(alert: Alert, case: CaseState | None) -> AlertSummary:
    return AlertSummary(
        **alert.model_dump(
            include={
                "id",
                "sequence",
                "kind",
                "polarity",
                "severity",
                "area",
                "area_name",
                "parents",
                "ely",
                "sector",
                "occupation",
                "period",
                "opened_period",
                "available_on",
                "resolved_period",
                "notice_persons",
                "explanation",
                "impact",
                "labour_share",
                "confidence",
                "resolution",
            }
        ),
        status=alert.status.value,
        case=None
        if case is None
        else CaseSummary(
            acknowledged_by=case.acknowledged_by,
            assignee=case.assignee,
            assessment=case.assessment,
            notes=len(case.notes),
            actions=len(case.actions),
        ),
    )


def status_out(room: RoomContext) -> StatusOut:
    """The pipeline's status and the open alerts (which also sets the open-alerts gauge)."""
    state = room.state
    s = state.status
    open_alerts = sum(1 for a in state.alerts() if a.status.value != "resolved")
    room.service.metrics.open_alerts.set(open_alerts)
    return StatusOut(
        mode=s.mode, source=s.source, ready=s.ready, detail=s.detail, as_of=s.as_of,
        events=s.events, dead_letters=s.dead_letters, error=s.error,
        alerts=open_alerts, live_streams=state.listeners,
    )  # fmt: skip


def name_of(room: RoomContext, code: str) -> Localized:
    area = room.hierarchy.get(code)
    if area is None:
        return Localized(fi=code, sv=code, en=code)
    return Localized(fi=area.name_fi, sv=area.name_sv, en=area.name_en)


def timeline_of(room: RoomContext, user: Principal, view: View, limit: int) -> list[TimelineOut]:
    """Recent changes of the alerts ``user`` sees in ``view`` (any status), newest first.

    Newest in event time: by the day the data became available, then the month it is about
    (a replay delivers years of releases within minutes, so the wall-clock time a change
    arrived says nothing to staff).
    """
    state = room.state
    out = []
    for change in reversed(state.timeline()):
        alert = state.alert(change.entry.alert_id)
        if alert is None or not state.sees(user, alert):
            continue
        if not matches_view(alert, replace(view, status="all"), room.hierarchy):
            continue
        e = change.entry
        out.append(
            TimelineOut(
                alert_id=e.alert_id, sequence=e.sequence, change=e.change,
                available_on=e.available_on, period=e.period, severity=e.severity,
                polarity=e.polarity, area=e.area, area_name=alert.area_name, kind=e.kind,
                received=change.received,
            )
        )  # fmt: skip
    out.sort(key=lambda e: (e.available_on, e.period, e.sequence), reverse=True)
    return out[:limit]


def case_out(room: RoomContext, alert_id: str) -> CaseOut:
    c = room.state.case(alert_id) or CaseState(alert_id=alert_id)
    return CaseOut(
        alert_id=alert_id, acknowledged_by=c.acknowledged_by,
        acknowledged_at=c.acknowledged_at, assignee=c.assignee, assessment=c.assessment,
        closed=c.closed, closed_by=c.closed_by, closed_at=c.closed_at,
        notes=[CaseNoteOut(actor=n.actor, at=n.at, text=n.text) for n in c.notes],
        actions=[ResponseActionOut(actor=a.actor, at=a.at, title=a.title, url=a.url)
                 for a in c.actions],
        log=list(c.log),
    )  # fmt: skip


def chart_of(room: RoomContext, alert: Alert) -> Chart:
    """The alert's headline series (the evidence furthest from its baseline) for the chart."""
    return chart_from(room.state.series, alert)


def chart_from(series: SeriesStore, alert: Alert) -> Chart:
    """:func:`chart_of` from the room's copy of the series."""
    head = max(alert.evidence, key=lambda e: abs(e.value - e.baseline), default=None)
    signals = [
        SignalPoint(period=e.period, value=e.value, baseline=e.baseline, detector=e.detector,
                    score=e.score)
        for e in alert.evidence
        if head is not None and e.series == head.series
    ]  # fmt: skip
    values = series.values(head.series) if head is not None else {}
    source: Literal["series", "evidence", "none"] = (
        "series" if values else "evidence" if signals else "none"
    )
    if not values:
        values = {s.period: s.value for s in signals}
    return Chart(
        series=head.series if head else None,
        measure=head.measure if head else None,
        source=source,
        values=[Point(period=p, value=v) for p, v in values.items()],
        expected=[Point(period=p, value=v) for p, v in same_month_before(values).items()],
        signals=signals,
        opened_period=alert.opened_period,
        resolved_period=alert.resolved_period,
    )


def same_month_before(values: dict[str, float]) -> dict[str, float]:
    """The analysts' comparison: the same month in up to three earlier years (median)."""
    expected = expected_line({period_index(p): v for p, v in values.items()})
    return {period_str(p): v for p, v in expected.items()}
