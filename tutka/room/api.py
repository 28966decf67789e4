"""The situation room's HTTP shell: the JSON API (described by its OpenAPI document at
``/openapi.json``), the live stream, and the page's own static assets (no CDN).

FastAPI rather than aiohttp: the room is its own process, not part of the faust worker, so
staying on faust's aiohttp buys nothing, while FastAPI derives the OpenAPI document and the
422 answers to bad input from the same pydantic models the core already uses.
"""

import asyncio
import hashlib
import hmac
import json
import secrets
from collections.abc import AsyncIterator, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any, Final, Literal

from fastapi import Depends, FastAPI, HTTPException, Query, Request, Response
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, ConfigDict, Field
from sse_starlette import EventSourceResponse

from tutka.config.settings import RoomUser, WebhookSettings
from tutka.models.access import Permission, Principal, Role, may
from tutka.models.alerts import Alert, AlertKind, Localized, Polarity, Severity
from tutka.models.areas import COUNTRY
from tutka.models.casework import CASE_ACTION, AlertId, CaseAction, CaseEvent, CaseState
from tutka.models.codes import AreaCode, IscoCode, TolCode, area_level, period_index, period_str
from tutka.models.subscriptions import (
    Delivery,
    ScopeError,
    Subscription,
    SubscriptionFilters,
    SubscriptionId,
    SubscriptionRemoved,
    SubscriptionUpserted,
    check_scope,
    is_ely_owner,
)
from tutka.plot import expected_line
from tutka.room.service import Service
from tutka.streams.picture import StatusFilter, View, by_place, count, matches_view, ordered
from tutka.webhooks import check_webhook_signing

STATIC: Final = Path(__file__).parent / "static"
#: Alerts in one picture: the most urgent first; the page says when there are more.
PICTURE_LIMIT: Final = 500
TIMELINE_LIMIT: Final = 100
HEARTBEAT_SECONDS: Final = 15.0


# -- access ---------------------------------------------------------------------------------------


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Staff:
    """Token hashes to principals (tokens themselves are never kept)."""

    by_hash: dict[str, Principal]

    @classmethod
    def of(cls, users: Sequence[RoomUser]) -> "Staff":
        return cls({
            u.token_sha256: Principal(
                name=u.name, role=Role(u.role), scope=u.scope, organisation=u.organisation
            )
            for u in users
        })  # fmt: skip

    def find(self, token: str) -> Principal | None:
        digest = token_hash(token)
        found = None
        for known, principal in self.by_hash.items():
            if hmac.compare_digest(known, digest):  # the same time for every token
                found = principal
        return found


def ephemeral_users() -> tuple[list[RoomUser], dict[str, str]]:
    """Random tokens for a demo session: a national admin, a Lapland analyst, a viewer."""
    people = [
        ("Demo admin", "admin", COUNTRY),
        ("Demo analyst (Lappi)", "analyst", "ELY15"),
        ("Demo analyst", "analyst", COUNTRY),
        ("Demo viewer", "viewer", COUNTRY),
    ]
    users, tokens = [], {}
    for name, role, scope in people:
        token = secrets.token_urlsafe(24)
        tokens[name] = token
        users.append(RoomUser(name=name, role=role, scope=scope, token_sha256=token_hash(token)))
    return users, tokens


# -- response shapes ------------------------------------------------------------------------------


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class Me(_Out):
    name: str
    role: Role
    scope: str
    organisation: str
    permissions: list[Permission]


class AreaOut(_Out):
    code: str
    level: str
    parent: str | None
    name: Localized


class Reference(_Out):
    areas: list[AreaOut]
    sectors: dict[str, Localized]
    kinds: list[AlertKind]


class CaseSummary(_Out):
    acknowledged_by: str | None
    assignee: str | None
    assessment: str | None
    notes: int
    actions: int


class AlertSummary(_Out):
    id: str
    sequence: int
    kind: AlertKind
    polarity: Polarity
    severity: Severity
    status: str
    area: str
    area_name: Localized
    parents: tuple[str, ...]
    ely: str | None
    sector: str | None
    occupation: str | None
    period: str
    opened_period: str
    available_on: date
    resolved_period: str | None
    notice_persons: int
    explanation: Localized
    case: CaseSummary | None


class CountsOut(_Out):
    negative: int
    positive: int
    by_severity: dict[str, int]


class PlaceOut(_Out):
    area: str
    level: str
    parent: str | None
    name: Localized
    negative: int
    positive: int
    worst: Severity | None


class TimelineOut(_Out):
    alert_id: str
    sequence: int
    change: str
    available_on: date
    period: str
    severity: Severity
    polarity: Polarity
    area: str
    area_name: Localized
    kind: AlertKind
    received: datetime


class StatusOut(_Out):
    mode: str
    source: str
    ready: bool
    detail: str
    as_of: str | None
    events: int
    dead_letters: int
    error: str | None
    alerts: int
    live_streams: int


class Picture(_Out):
    status: StatusOut
    counts: CountsOut
    places: list[PlaceOut]
    alerts: list[AlertSummary]
    total: int = Field(description="alerts matching the view (the list holds the first ones)")
    timeline: list[TimelineOut]


class CaseNoteOut(_Out):
    actor: str
    at: datetime
    text: str


class ResponseActionOut(_Out):
    actor: str
    at: datetime
    title: str
    url: str | None


class CaseOut(_Out):
    alert_id: str
    acknowledged_by: str | None
    acknowledged_at: datetime | None
    assignee: str | None
    assessment: str | None
    notes: list[CaseNoteOut]
    actions: list[ResponseActionOut]
    log: list[CaseEvent]


class Point(_Out):
    period: str
    value: float


class SignalPoint(_Out):
    period: str
    value: float
    baseline: float
    detector: str
    score: float


class Chart(_Out):
    series: str | None
    measure: str | None
    source: Literal["series", "evidence", "none"] = Field(
        description="series: the recorded figures; evidence: only the signals' own points"
    )
    values: list[Point]
    expected: list[Point] = Field(description="same month in earlier years (median of up to 3)")
    signals: list[SignalPoint]
    opened_period: str
    resolved_period: str | None


class AlertDetail(_Out):
    alert: Alert
    case: CaseOut
    chart: Chart


class SubscriptionRequest(BaseModel):
    """A subscription as staff make it; the room fills in the revision and creation date."""

    model_config = ConfigDict(extra="forbid")

    owner: str | None = Field(
        default=None,
        description="default: the current owner when replacing, else your organisation",
    )
    scope: Literal["own", "national"] | None = Field(
        default=None, description='default: "own" for an ELY centre, else "national"'
    )
    filters: SubscriptionFilters = SubscriptionFilters()
    delivery: Delivery = Field(default_factory=lambda: {"type": "kafka"})  # type: ignore[assignment]


class Problem(_Out):
    detail: str | list[dict[str, Any]] = Field(
        description="why: a sentence, or (for a request that does not fit the schema) "
        "pydantic's list of errors, each with loc, msg and type"
    )


_ERRORS: Final[dict[int | str, dict[str, Any]]] = {
    401: {"model": Problem, "description": "no token, or an unknown one"},
    403: {"model": Problem, "description": "outside your scope or role"},
    422: {"model": Problem, "description": "bad input, with the reason"},
}


# -- the app --------------------------------------------------------------------------------------


def create_app(service: Service, users: Sequence[RoomUser], webhook: WebhookSettings) -> FastAPI:
    staff = Staff.of(users)
    state = service.state
    hierarchy = state.hierarchy
    bearer = HTTPBearer(auto_error=False, description="a room token (tutka room token)")
    app = FastAPI(
        title="Muutostutka situation room",
        version="1",
        description="Open alerts, case work and subscriptions. Every /api request carries "
        "`Authorization: Bearer <token>`; staff scoped to an ELY area see and act on the alerts "
        "under it only.",
        docs_url=None,  # the interactive docs load scripts from a CDN: not on an intranet
        redoc_url=None,
    )
    app.state.service = service

    def principal(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> Principal:
        found = staff.find(credentials.credentials) if credentials is not None else None
        if found is None:
            service.metrics.denied.labels("401").inc()
            raise HTTPException(
                401, "a valid token is required", headers={"WWW-Authenticate": "Bearer"}
            )
        return found

    User = Annotated[Principal, Depends(principal)]

    def deny(detail: str) -> HTTPException:
        service.metrics.denied.labels("403").inc()
        return HTTPException(403, detail)

    def require(user: Principal, permission: Permission) -> None:
        if not may(user, permission):
            raise deny(f"your role ({user.role.value}) may not {permission.replace('_', ' ')}")

    def visible_alert(user: Principal, alert_id: str) -> Alert:
        alert = state.alert(alert_id)
        if alert is None:
            raise HTTPException(404, f"no alert {alert_id}")
        if not state.sees(user, alert):
            raise deny(f"alert {alert_id} lies outside your area ({user.scope})")
        return alert

    def view_of(
        user: Principal,
        area: str | None,
        sector: str | None,
        occupation: str | None,
        kind: AlertKind | None,
        polarity: Polarity | None,
        min_severity: Severity | None,
        status: StatusFilter,
    ) -> View:
        if area is not None:
            if area not in hierarchy:
                raise HTTPException(422, f"area {area} is not in the area hierarchy")
            if not user.national and not hierarchy.contains(user.scope, area):
                raise deny(f"area {area} lies outside your area ({user.scope})")
        scoped = area if area is not None else (None if user.national else user.scope)
        return View(scoped, sector, occupation, kind, polarity, min_severity, status)

    # Filters, shared by the picture and the alert list.
    def filters(
        user: User,
        area: Annotated[AreaCode | None, Query(description="includes everything under it")] = None,
        sector: Annotated[TolCode | None, Query(description="TOL 2008 section or code")] = None,
        occupation: Annotated[IscoCode | None, Query(description="ISCO-08 code (prefix)")] = None,
        kind: AlertKind | None = None,
        polarity: Polarity | None = None,
        min_severity: Severity | None = None,
        status: StatusFilter = "open",
    ) -> tuple[Principal, View]:
        view = view_of(user, area, sector, occupation, kind, polarity, min_severity, status)
        return user, view

    Filtered = Annotated[tuple[Principal, View], Depends(filters)]

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

    def status_out() -> StatusOut:
        s = state.status
        open_alerts = sum(1 for a in state.alerts() if a.status.value != "resolved")
        service.metrics.open_alerts.set(open_alerts)
        return StatusOut(
            mode=s.mode, source=s.source, ready=s.ready, detail=s.detail, as_of=s.as_of,
            events=s.events, dead_letters=s.dead_letters, error=s.error,
            alerts=open_alerts, live_streams=state.listeners,
        )  # fmt: skip

    def name_of(code: str) -> Localized:
        area = hierarchy.get(code)
        if area is None:
            return Localized(fi=code, sv=code, en=code)
        return Localized(fi=area.name_fi, sv=area.name_sv, en=area.name_en)

    def timeline_of(user: Principal, view: View, limit: int) -> list[TimelineOut]:
        out = []
        for change in reversed(state.timeline()):
            alert = state.alert(change.entry.alert_id)
            if alert is None or not state.sees(user, alert):
                continue
            if not matches_view(alert, replace(view, status="all"), hierarchy):
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
            if len(out) >= limit:
                break
        return out

    # -- pages ----------------------------------------------------------------------------------

    @app.get("/", include_in_schema=False)
    @app.get("/alerts/{alert_id}", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, object]:
        return {"ok": state.status.error is None, "ready": state.status.ready}

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        status_out()
        service.metrics.streams.set(state.listeners)
        return Response(generate_latest(service.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    # -- the API --------------------------------------------------------------------------------

    @app.get("/api/me", response_model=Me, responses=_ERRORS, tags=["access"])
    def me(user: User) -> Me:
        permissions: list[Permission] = [
            "read", "work_cases", "manage_subscriptions", "manage_others_subscriptions",
        ]  # fmt: skip
        return Me(
            name=user.name, role=user.role, scope=user.scope, organisation=user.organisation,
            permissions=[p for p in permissions if may(user, p)],
        )  # fmt: skip

    @app.get("/api/reference", response_model=Reference, responses=_ERRORS, tags=["picture"])
    def reference(user: User) -> Reference:
        """Areas (with names in fi/sv/en), sector names and alert kinds, for filters."""
        areas = [
            AreaOut(code=a.code, level=area_level(a.code), parent=a.parent, name=name_of(a.code))
            for a in hierarchy.areas.values()
        ]
        return Reference(areas=areas, sectors=service.sectors, kinds=list(AlertKind))

    @app.get("/api/status", response_model=StatusOut, responses=_ERRORS, tags=["picture"])
    def status(user: User) -> StatusOut:
        return status_out()

    @app.get("/api/picture", response_model=Picture, responses=_ERRORS, tags=["picture"])
    def picture(
        filtered: Filtered, limit: Annotated[int, Query(ge=1, le=5000)] = PICTURE_LIMIT
    ) -> Picture:
        """The situation picture for a view: counts, places, the alerts, recent changes."""
        user, view = filtered
        cases = state.cases()
        shown = ordered(a for a in state.alerts() if matches_view(a, view, hierarchy))
        # The places table covers the whole scope (with the other filters), so staff can move
        # from one area to another by choosing its row.
        everywhere = replace(view, area=None if user.national else user.scope, status="open")
        open_in_scope = [a for a in state.alerts() if matches_view(a, everywhere, hierarchy)]
        counts = count(shown)
        places = [
            PlaceOut(**{**asdict(p), "name": name_of(p.area)})
            for p in by_place(open_in_scope, hierarchy)
            if user.national or p.area == COUNTRY or hierarchy.contains(user.scope, p.area)
        ]
        return Picture(
            status=status_out(),
            counts=CountsOut(**asdict(counts)),
            places=places,
            alerts=[summary(a, cases.get(a.id)) for a in shown[:limit]],
            total=len(shown),
            timeline=timeline_of(user, view, TIMELINE_LIMIT),
        )

    @app.get("/api/alerts", response_model=list[Alert], responses=_ERRORS, tags=["alerts"])
    def alerts(filtered: Filtered) -> list[Alert]:
        """The latest version of every alert in the view, most urgent first."""
        _, view = filtered
        return ordered(a for a in state.alerts() if matches_view(a, view, hierarchy))

    @app.get("/api/timeline", response_model=list[TimelineOut], responses=_ERRORS, tags=["alerts"])
    def timeline(
        filtered: Filtered, limit: Annotated[int, Query(ge=1, le=2000)] = TIMELINE_LIMIT
    ) -> list[TimelineOut]:
        """Recent openings, escalations and resolutions, newest first."""
        user, view = filtered
        return timeline_of(user, view, limit)

    AlertIdPath = Annotated[AlertId, PathParam(description="al- and 16 hex digits")]
    _ALERT_ERRORS = {**_ERRORS, 404: {"model": Problem, "description": "no such alert"}}

    @app.get("/api/alerts/{alert_id}", response_model=AlertDetail, responses=_ALERT_ERRORS,
             tags=["alerts"])  # fmt: skip
    def alert_detail(user: User, alert_id: AlertIdPath) -> AlertDetail:
        """An alert with its case and its evidence chart."""
        alert = visible_alert(user, alert_id)
        return AlertDetail(alert=alert, case=case_out(alert.id), chart=chart_of(alert))

    @app.get("/api/alerts/{alert_id}/case", response_model=CaseOut, responses=_ALERT_ERRORS,
             tags=["cases"])  # fmt: skip
    def case(user: User, alert_id: AlertIdPath) -> CaseOut:
        visible_alert(user, alert_id)
        return case_out(alert_id)

    @app.post("/api/alerts/{alert_id}/case", response_model=CaseOut, status_code=201,
              responses=_ALERT_ERRORS, tags=["cases"])  # fmt: skip
    def work_case(user: User, alert_id: AlertIdPath, action: CaseAction) -> CaseOut:
        """Acknowledge, assign, note, mark expected / new trend / false alarm, link an action."""
        require(user, "work_cases")
        alert = visible_alert(user, alert_id)
        event = CaseEvent(
            id=secrets.token_hex(12), alert_id=alert.id, ely=alert.ely, actor=user.name,
            at=datetime.now(UTC), action=CASE_ACTION.validate_python(action),
        )  # fmt: skip
        service.record_case(event)
        return case_out(alert.id)

    def case_out(alert_id: str) -> CaseOut:
        c = state.case(alert_id) or CaseState(alert_id=alert_id)
        return CaseOut(
            alert_id=alert_id, acknowledged_by=c.acknowledged_by,
            acknowledged_at=c.acknowledged_at, assignee=c.assignee, assessment=c.assessment,
            notes=[CaseNoteOut(actor=n.actor, at=n.at, text=n.text) for n in c.notes],
            actions=[ResponseActionOut(actor=a.actor, at=a.at, title=a.title, url=a.url)
                     for a in c.actions],
            log=list(c.log),
        )  # fmt: skip

    def chart_of(alert: Alert) -> Chart:
        head = max(alert.evidence, key=lambda e: abs(e.value - e.baseline), default=None)
        signals = [
            SignalPoint(period=e.period, value=e.value, baseline=e.baseline, detector=e.detector,
                        score=e.score)
            for e in alert.evidence
            if head is not None and e.series == head.series
        ]  # fmt: skip
        values = state.series.values(head.series) if head is not None else {}
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
            expected=[Point(period=p, value=v) for p, v in _same_month_before(values).items()],
            signals=signals,
            opened_period=alert.opened_period,
            resolved_period=alert.resolved_period,
        )

    # -- subscriptions --------------------------------------------------------------------------

    def visible_subscription(user: Principal, subscription: Subscription) -> bool:
        return user.national or subscription.owner == user.organisation

    @app.get("/api/subscriptions", response_model=list[Subscription], responses=_ERRORS,
             tags=["subscriptions"])  # fmt: skip
    def subscriptions(user: User) -> list[Subscription]:
        """Your organisation's subscriptions (national staff: all of them)."""
        book = state.book()
        return sorted(
            (s for s in book.subscriptions.values() if visible_subscription(user, s)),
            key=lambda s: s.id,
        )

    SubscriptionIdPath = Annotated[SubscriptionId, PathParam(description="a slug")]

    @app.put("/api/subscriptions/{subscription_id}", response_model=Subscription,
             responses=_ERRORS, tags=["subscriptions"])  # fmt: skip
    def put_subscription(
        user: User, subscription_id: SubscriptionIdPath, request: SubscriptionRequest
    ) -> Subscription:
        """Create or replace a subscription, within your scope."""
        require(user, "manage_subscriptions")
        book = state.book()
        current = book.subscriptions.get(subscription_id)
        if current is not None and not visible_subscription(user, current):
            raise deny(f"subscription {subscription_id} belongs to {current.owner}")
        # Replacing keeps the owner unless one is named: an edit does not move a subscription.
        owner = request.owner or (current.owner if current else user.organisation)
        if owner != user.organisation:
            require(user, "manage_others_subscriptions")
            if not user.national:
                raise deny(f"staff of {user.scope} manage only {user.scope}'s subscriptions")
        scope = request.scope or ("own" if is_ely_owner(owner) else "national")
        if scope == "national" and not user.national:
            raise deny("only national staff may make a national subscription")
        known = book.revision(subscription_id)
        try:
            subscription = Subscription(
                id=subscription_id, owner=owner, scope=scope, filters=request.filters,
                delivery=request.delivery,
                created=current.created if current else date.today(),
                revision=0 if known is None else known + 1,
            )  # fmt: skip
            check_scope(subscription, hierarchy)
            check_webhook_signing(subscription, webhook)
        except (ValueError, ScopeError) as exc:
            raise HTTPException(422, str(exc)) from exc
        service.record_subscription(SubscriptionUpserted(subscription=subscription))
        return subscription

    @app.delete("/api/subscriptions/{subscription_id}", status_code=204,
                responses={**_ERRORS, 404: {"model": Problem}}, tags=["subscriptions"])  # fmt: skip
    def delete_subscription(user: User, subscription_id: SubscriptionIdPath) -> Response:
        require(user, "manage_subscriptions")
        current = state.book().subscriptions.get(subscription_id)
        if current is None or not visible_subscription(user, current):
            raise HTTPException(404, f"no subscription {subscription_id}")
        if current.owner != user.organisation:
            require(user, "manage_others_subscriptions")
        removal = SubscriptionRemoved(
            id=subscription_id, revision=current.revision + 1, removed=date.today()
        )
        service.record_subscription(removal)
        return Response(status_code=204)

    # -- live -----------------------------------------------------------------------------------

    @app.get(
        "/api/stream",
        responses=_ERRORS,
        tags=["picture"],
        response_class=Response,
        response_description="text/event-stream: alert, case, subscriptions, status",
    )
    async def stream(user: User, request: Request) -> EventSourceResponse:
        """Server-sent events: what changed (in your scope), for the page to fetch again."""
        listener = state.listen(user)
        service.metrics.streams.set(state.listeners)

        async def events() -> AsyncIterator[dict[str, str]]:
            try:
                yield {"event": "hello", "data": json.dumps({"user": user.name})}
                while True:
                    try:
                        message = await asyncio.wait_for(listener.queue.get(), HEARTBEAT_SECONDS)
                    except TimeoutError:
                        if await request.is_disconnected():
                            break
                        continue
                    if listener.overflowed:
                        listener.overflowed = False
                        yield {"event": "resync", "data": "{}"}
                    yield {"event": message["type"], "data": json.dumps(message)}
            finally:
                state.forget(listener)
                service.metrics.streams.set(state.listeners)

        return EventSourceResponse(events(), ping=HEARTBEAT_SECONDS)

    @app.exception_handler(HTTPException)
    async def problem(_request: Request, exc: HTTPException) -> JSONResponse:
        return JSONResponse({"detail": exc.detail}, exc.status_code, headers=exc.headers)

    return app


def _same_month_before(values: dict[str, float]) -> dict[str, float]:
    """The analysts' comparison: the same month in up to three earlier years (median)."""
    expected = expected_line({period_index(p): v for p, v in values.items()})
    return {period_str(p): v for p, v in expected.items()}
