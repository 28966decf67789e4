"""Who is asking, and what they may see and do: the access dependencies of the room's routes.

Every ``/api`` request carries ``Authorization: Bearer <token>``; an unknown or missing token is
401 (and after too many from one address, 429 for a while), anything outside the principal's role
is 403, and an alert outside their ELY area is 404, as an unknown one is (all counted). Staff
scoped to an ELY area see, filter and act on the alerts under it only.
"""

from typing import Annotated

from fastapi import Depends, HTTPException, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from tutka.models.access import Permission, Principal, may
from tutka.models.alerts import Alert, AlertKind, Polarity, Severity
from tutka.models.codes import AreaCode, IscoCode, TolCode
from tutka.room.context import Room, RoomContext
from tutka.streams.picture import StatusFilter, View

bearer = HTTPBearer(auto_error=False, description="a room token (tutka room token)")


def principal(
    room: Room,
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    client = request.client.host if request.client is not None else "unknown"
    if room.throttle.blocked(client):
        room.service.metrics.denied.labels("429").inc()
        raise HTTPException(
            429,
            "too many failed sign-ins from your address: wait a minute",
            headers={"Retry-After": str(room.throttle.retry_after(client))},
        )
    found = room.staff.find(credentials.credentials) if credentials is not None else None
    if found is None:
        room.throttle.failed(client)
        room.service.metrics.denied.labels("401").inc()
        raise HTTPException(
            401, "a valid token is required", headers={"WWW-Authenticate": "Bearer"}
        )
    return found


User = Annotated[Principal, Depends(principal)]


def deny(room: RoomContext, detail: str) -> HTTPException:
    room.service.metrics.denied.labels("403").inc()
    return HTTPException(403, detail)


def require(room: RoomContext, user: Principal, permission: Permission) -> None:
    if not may(user, permission):
        raise deny(room, f"your role ({user.role.value}) may not {permission.replace('_', ' ')}")


def visible_alert(room: RoomContext, user: Principal, alert_id: str) -> Alert:
    """The alert, if it exists and lies in ``user``'s scope; 404 otherwise, the same answer
    either way, so that an id outside the scope does not tell that it exists."""
    alert = room.state.alert(alert_id)
    if alert is None or not room.state.sees(user, alert):
        if alert is not None:
            room.service.metrics.denied.labels("404").inc()
        raise HTTPException(404, f"no alert {alert_id}")
    return alert


def view_of(
    room: RoomContext,
    user: Principal,
    area: str | None,
    sector: str | None,
    occupation: str | None,
    kind: AlertKind | None,
    polarity: Polarity | None,
    min_severity: Severity | None,
    status: StatusFilter,
) -> View:
    hierarchy = room.hierarchy
    if area is not None:
        if area not in hierarchy:
            raise HTTPException(422, f"area {area} is not in the area hierarchy")
        if not user.national and not hierarchy.contains(user.scope, area):
            raise deny(room, f"area {area} lies outside your area ({user.scope})")
    scoped = area if area is not None else (None if user.national else user.scope)
    return View(scoped, sector, occupation, kind, polarity, min_severity, status)


# Filters, shared by the picture and the alert list.
def filters(
    room: Room,
    user: User,
    area: Annotated[AreaCode | None, Query(description="includes everything under it")] = None,
    sector: Annotated[TolCode | None, Query(description="TOL 2008 section or code")] = None,
    occupation: Annotated[IscoCode | None, Query(description="ISCO-08 code (prefix)")] = None,
    kind: AlertKind | None = None,
    polarity: Polarity | None = None,
    min_severity: Severity | None = None,
    status: StatusFilter = "open",
) -> tuple[Principal, View]:
    view = view_of(room, user, area, sector, occupation, kind, polarity, min_severity, status)
    return user, view


Filtered = Annotated[tuple[Principal, View], Depends(filters)]
