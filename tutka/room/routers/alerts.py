"""Alerts and their case work: the list, the timeline, one alert with its chart, its case."""

import hashlib
import secrets
from datetime import UTC, datetime
from typing import Annotated, Final, Literal

from fastapi import APIRouter, Header, HTTPException, Query, Response
from fastapi import Path as PathParam

from tutka.models.alerts import Alert, held_open
from tutka.models.casework import CASE_ACTION, AlertId, CaseAction, CaseEvent, Closed
from tutka.room.auth import Filtered, User, require, visible_alert
from tutka.room.context import Room
from tutka.room.export import to_csv, to_xlsx
from tutka.room.responses import TIMELINE_LIMIT, case_out, chart_of, timeline_of
from tutka.room.schemas import ALERT_ERRORS, CASE_ERRORS, ERRORS, AlertDetail, CaseOut, TimelineOut
from tutka.streams.picture import matches_view, ordered

router = APIRouter()

AlertIdPath = Annotated[AlertId, PathParam(description="al- and 16 hex digits")]


@router.get("/api/alerts", response_model=list[Alert], responses=ERRORS, tags=["alerts"])
def alerts(room: Room, filtered: Filtered) -> list[Alert]:
    """The latest version of every alert in the view, most urgent first."""
    _, view = filtered
    return ordered(a for a in room.state.alerts() if matches_view(a, view, room.hierarchy))


_EXPORTED: Final = {
    200: {
        "description": "The view's alerts as CSV or an Excel workbook",
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {
                "schema": {"type": "string", "format": "binary"}
            },
        },
    }
}


@router.get(
    "/api/export",
    response_class=Response,
    responses={**_EXPORTED, **ERRORS},  # type: ignore[dict-item]
    tags=["alerts"],
)
def export(
    room: Room,
    filtered: Filtered,
    format: Annotated[Literal["csv", "xlsx"], Query()] = "csv",
    lang: Annotated[Literal["fi", "sv", "en"], Query()] = "fi",
) -> Response:
    """The alerts of the view (as ``/api/alerts`` lists them) as CSV or Excel, for briefings."""
    _, view = filtered
    shown = ordered(a for a in room.state.alerts() if matches_view(a, view, room.hierarchy))
    name = f"muutostutka-{datetime.now(UTC):%Y%m%d}"
    if format == "xlsx":
        return Response(
            to_xlsx(shown, lang),
            media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'},
        )
    return Response(
        "\ufeff" + to_csv(shown, lang),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


@router.get("/api/timeline", response_model=list[TimelineOut], responses=ERRORS, tags=["alerts"])
def timeline(
    room: Room,
    filtered: Filtered,
    limit: Annotated[int, Query(ge=1, le=2000)] = TIMELINE_LIMIT,
) -> list[TimelineOut]:
    """Recent openings, escalations and resolutions, newest first."""
    user, view = filtered
    return timeline_of(room, user, view, limit)


@router.get("/api/alerts/{alert_id}", response_model=AlertDetail, responses=ALERT_ERRORS,
            tags=["alerts"])  # fmt: skip
def alert_detail(room: Room, user: User, alert_id: AlertIdPath) -> AlertDetail:
    """An alert with its case and its evidence chart."""
    alert = visible_alert(room, user, alert_id)
    return AlertDetail(
        alert=alert, case=case_out(room, alert.id), chart=chart_of(room, alert),
        closable=held_open(alert),
    )  # fmt: skip


@router.get("/api/alerts/{alert_id}/case", response_model=CaseOut, responses=ALERT_ERRORS,
            tags=["cases"])  # fmt: skip
def case(room: Room, user: User, alert_id: AlertIdPath) -> CaseOut:
    visible_alert(room, user, alert_id)
    return case_out(room, alert_id)


@router.post("/api/alerts/{alert_id}/case", response_model=CaseOut, status_code=201,
             responses=CASE_ERRORS, tags=["cases"])  # fmt: skip
def work_case(
    room: Room,
    user: User,
    alert_id: AlertIdPath,
    action: CaseAction,
    idempotency_key: Annotated[
        str | None,
        Header(
            pattern=r"^[\x21-\x7e]{1,128}$",
            description="a client's own id for this write: a retry with the same key records "
            "nothing new (the case as it stands is returned)",
        ),
    ] = None,
) -> CaseOut:
    """Acknowledge, assign, note, mark expected / new trend / false alarm, link an action, or
    close an alert held open (the new normal, a structural change): the engine then resolves
    it as ``closed_by_staff`` (409 for an alert that is not held open)."""
    require(room, user, "work_cases")
    alert = visible_alert(room, user, alert_id)
    checked = CASE_ACTION.validate_python(action)
    event_id = (
        secrets.token_hex(12)
        if idempotency_key is None
        else _event_id(user.name, alert.id, idempotency_key)
    )
    current = room.state.case(alert.id)
    if current is not None and event_id in current.seen:
        return case_out(room, alert.id)  # a retry of a write already recorded
    if isinstance(checked, Closed) and not held_open(alert):
        raise HTTPException(
            409,
            "only an alert held open (the new normal, a structural change) can be closed; "
            f"{alert.id} is {alert.status.value}",
        )
    event = CaseEvent(
        id=event_id, alert_id=alert.id, ely=alert.ely, actor=user.name,
        at=datetime.now(UTC), action=checked,
    )  # fmt: skip
    room.service.record_case(event)
    return case_out(room, alert.id)


def _event_id(actor: str, alert_id: str, key: str) -> str:
    """The case event id of a keyed write: the same for a retry, different for anyone else."""
    digest = hashlib.sha256(f"{actor}\x00{alert_id}\x00{key}".encode()).hexdigest()
    return f"ik-{digest[:40]}"
