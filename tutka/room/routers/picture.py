"""The situation picture: who you are, the reference lists for filters, the status, the picture."""

from dataclasses import asdict, replace
from typing import Annotated, Final

from fastapi import APIRouter, HTTPException, Query
from fastapi import Path as PathParam

from tutka.models.access import Permission, may
from tutka.models.alerts import AlertKind
from tutka.models.areas import COUNTRY
from tutka.models.codes import AreaCode, area_level
from tutka.models.events import UnemploymentMeasure
from tutka.room.area_context import area_context
from tutka.room.auth import Filtered, User
from tutka.room.context import Room
from tutka.room.responses import TIMELINE_LIMIT, name_of, status_out, summary, timeline_of
from tutka.room.schemas import (
    AREA_ERRORS,
    ERRORS,
    AreaContextOut,
    AreaOut,
    CountsOut,
    Me,
    Picture,
    PlaceOut,
    Point,
    Reference,
    StatusOut,
)
from tutka.streams.picture import by_place, count, matches_view, ordered
from tutka.streams.signals import SeriesKey

#: Alerts in one picture: the most urgent first; the page says when there are more.
PICTURE_LIMIT: Final = 500

router = APIRouter()


@router.get("/api/me", response_model=Me, responses=ERRORS, tags=["access"])
def me(user: User) -> Me:
    permissions: list[Permission] = [
        "read", "work_cases", "manage_subscriptions", "manage_others_subscriptions",
        "submit_notices",
    ]  # fmt: skip
    return Me(
        name=user.name, role=user.role, scope=user.scope, organisation=user.organisation,
        permissions=[p for p in permissions if may(user, p)],
    )  # fmt: skip


@router.get("/api/reference", response_model=Reference, responses=ERRORS, tags=["picture"])
def reference(room: Room, user: User) -> Reference:
    """Areas (with names in fi/sv/en), sector names and alert kinds, for filters."""
    areas = [
        AreaOut(code=a.code, level=area_level(a.code), parent=a.parent, name=name_of(room, a.code))
        for a in room.hierarchy.areas.values()
    ]
    return Reference(areas=areas, sectors=room.service.sectors, kinds=list(AlertKind))


@router.get("/api/status", response_model=StatusOut, responses=ERRORS, tags=["picture"])
def status(room: Room, user: User) -> StatusOut:
    return status_out(room)


@router.get("/api/picture", response_model=Picture, responses=ERRORS, tags=["picture"])
def picture(
    room: Room,
    filtered: Filtered,
    limit: Annotated[int, Query(ge=1, le=5000)] = PICTURE_LIMIT,
) -> Picture:
    """The situation picture for a view: counts, places, the alerts, recent changes."""
    user, view = filtered
    state, hierarchy = room.state, room.hierarchy
    cases = state.cases()
    shown = ordered(a for a in state.alerts() if matches_view(a, view, hierarchy))
    # The places table covers the whole scope (with the other filters, the status one too), so
    # staff can move from one area to another by choosing its row; rows with nothing are left out.
    everywhere = replace(view, area=None if user.national else user.scope)
    in_scope = [a for a in state.alerts() if matches_view(a, everywhere, hierarchy)]
    counts = count(shown)
    places = [
        PlaceOut(**{**asdict(p), "name": name_of(room, p.area)})
        for p in by_place(in_scope, hierarchy)
        if (p.negative or p.positive)
        and (user.national or p.area == COUNTRY or hierarchy.contains(user.scope, p.area))
    ]
    return Picture(
        status=status_out(room),
        counts=CountsOut(**asdict(counts)),
        places=places,
        alerts=[summary(a, cases.get(a.id)) for a in shown[:limit]],
        total=len(shown),
        timeline=timeline_of(room, user, view, TIMELINE_LIMIT),
    )


@router.get(
    "/api/areas/{code}/context",
    response_model=AreaContextOut,
    responses=AREA_ERRORS,
    tags=["picture"],
)
def context(
    room: Room,
    user: User,
    code: Annotated[AreaCode, PathParam(description="area code, e.g. MK19, KU091, ELY01")],
) -> AreaContextOut:
    """The area's level, rate, year-on-year change, 24 months and what changed in the latest
    release. An area outside your scope is 404, as an unknown one is."""
    hierarchy = room.hierarchy
    if code not in hierarchy or not (user.national or hierarchy.contains(user.scope, code)):
        if code in hierarchy:
            room.service.metrics.denied.labels("404").inc()
        raise HTTPException(404, f"no area {code}")
    series = room.state.series

    def values(measure: UnemploymentMeasure) -> dict[str, float]:
        return series.values(str(SeriesKey(code, measure.value)))

    found = area_context(
        values(UnemploymentMeasure.UNEMPLOYED_JOBSEEKERS),
        values(UnemploymentMeasure.LABOUR_FORCE),
        (a for a in room.state.alerts() if a.area == code),
    )
    fields = asdict(found)
    fields["sparkline"] = [Point(period=p, value=v) for p, v in found.sparkline]
    return AreaContextOut(area=code, name=name_of(room, code), **fields)
