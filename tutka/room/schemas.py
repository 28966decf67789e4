"""The room API's request and response models: what ``/openapi.json`` documents.

Response models are frozen and built from the room's state by :mod:`tutka.room.responses`; the
alert itself, case events and subscriptions are the core's own models.
"""

from datetime import date, datetime
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from tutka.models.access import Permission, Role
from tutka.models.alerts import Alert, AlertKind, Localized, Polarity, Severity
from tutka.models.casework import CaseEvent
from tutka.models.subscriptions import Delivery, SubscriptionFilters


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
    impact: float = 0.0
    labour_share: float | None = None
    confidence: str | None = None
    resolution: str | None = None
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
    #: Why staff closed the alert, who and when (None: not closed by staff).
    closed: str | None = None
    closed_by: str | None = None
    closed_at: datetime | None = None
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


class AreaContextOut(_Out):
    """One area's latest figures (unemployed job-seekers) for the context panel."""

    area: str
    name: Localized
    period: str | None = Field(description="the latest month with a figure")
    level: float | None = Field(description="unemployed job-seekers in the latest month")
    labour_force: float | None
    rate: float | None = Field(description="unemployed / labour force, where that is known")
    year_ago: float | None = Field(description="the same month a year earlier")
    year_change: float | None
    year_change_pct: float | None = Field(description="as a share of year_ago (0.1 = 10 %)")
    previous_period: str | None
    previous: float | None = Field(description="the month before the latest (the last release)")
    month_change: float | None
    sparkline: list[Point] = Field(description="the last 24 months")
    opened: list[str] = Field(description="alerts opened in the latest month")
    updated: list[str] = Field(description="alerts updated (not opened) in the latest month")


class AlertDetail(_Out):
    alert: Alert
    case: CaseOut
    chart: Chart
    #: Held open (the new normal, a structural change) until staff close it: it may be closed.
    closable: bool = False


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


#: The documented error answers of every API route.
ERRORS: Final[dict[int | str, dict[str, Any]]] = {
    401: {"model": Problem, "description": "no token, or an unknown one"},
    403: {"model": Problem, "description": "outside your scope or role"},
    413: {"model": Problem, "description": "the request body is too large"},
    422: {"model": Problem, "description": "bad input, with the reason"},
    429: {"model": Problem, "description": "too many failed sign-ins: wait (Retry-After)"},
}
#: … and of the routes of one area.
AREA_ERRORS: Final[dict[int | str, dict[str, Any]]] = {
    **ERRORS,
    404: {"model": Problem, "description": "no such area in your scope"},
}
#: … and of the routes of one alert.
ALERT_ERRORS: Final[dict[int | str, dict[str, Any]]] = {
    **ERRORS,
    404: {"model": Problem, "description": "no such alert in your scope"},
}


class RejectedRowOut(_Out):
    line: int = Field(description="the row's line in the spreadsheet (the header is line 1)")
    notice_id: str | None
    reason: str = Field(description="the reasons, in the language asked for")
    reasons: list[Localized] = Field(description="each reason in Finnish, Swedish and English")


class NoticeUploadOut(_Out):
    """An upload's outcome: ``accepted + rejected + blank = rows``, every row accounted for."""

    id: str = Field(description="the upload's id: the rejected rows' CSV is under it")
    filename: str
    rows: int = Field(description="data rows read (the header not counted)")
    accepted: int = Field(description="notices published")
    rejected: int
    blank: int
    published_to: str = Field(description="the notices topic, or the embedded store")
    repeated: bool = Field(description="a retry with the same Idempotency-Key: nothing sent again")
    summary: str = Field(description="one sentence on the counts, in the language asked for")
    ignored_columns: list[str]
    missing_columns: list[str]
    rejected_rows: list[RejectedRowOut]


#: … and of a notice upload.
UPLOAD_ERRORS: Final[dict[int | str, dict[str, Any]]] = {
    **ERRORS,
    409: {"model": Problem, "description": "the Idempotency-Key was used for another file"},
    503: {"model": Problem, "description": "this room takes no notices, or sending them failed"},
}


#: … and of case work, which may also find the alert not in a state to close.
CASE_ERRORS: Final[dict[int | str, dict[str, Any]]] = {
    **ALERT_ERRORS,
    409: {"model": Problem, "description": "only an alert held open can be closed"},
}
