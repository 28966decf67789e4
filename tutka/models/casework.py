"""Case work on alerts, as events: acknowledge, assign, note, assess, link a response action, close.

Staff work an alert in the situation room; every step is a :data:`CaseEvent` on the topic
``tutka.casenotes.v1`` (keyed by alert id, so one alert's events stay in order) or, on the
embedded default, a line in a local file. Every room instance folds the same events with
:func:`apply_case_event` and so shows the same state, and nothing is lost on a restart.

Case events name staff (who acknowledged, who it is assigned to): they are internal working
records, never part of an alert, and never leave the room's own topic. Closing a held alert
(:class:`Closed`) also tells the engine, with a command that names no one
(:class:`~tutka.models.closures.StaffClosure`).

>>> from datetime import UTC, datetime
>>> at = datetime(2024, 3, 4, 9, 30, tzinfo=UTC)
>>> ack = CaseEvent(id="e1", alert_id="al-0123456789abcdef", actor="aino",
...                 at=at, action=Acknowledged())
>>> state = apply_case_event(None, ack)
>>> state.acknowledged_by, state.assessment
('aino', None)
>>> mark = ack.model_copy(update={"id": "e2", "action": Marked(assessment="false_alarm")})
>>> state = apply_case_event(state, mark)
>>> state.assessment, len(state.log)
('false_alarm', 2)
>>> apply_case_event(state, mark) is state  # the same event again (at-least-once delivery)
True
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Annotated, Final, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    StringConstraints,
    TypeAdapter,
)

from tutka.models.alerts import ClosureReason
from tutka.models.codes import AreaCode
from tutka.models.personal_data import contains_personal_code

#: Alert ids are deterministic hashes (``tutka.models.alerts.alert_id``).
AlertId = Annotated[str, StringConstraints(pattern=r"^al-[0-9a-f]{16}$")]
#: A case event id: unique per event, so a redelivered event is folded in once.
CaseEventId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
#: A person's or a team's name as staff write it ("Aino V.", "Elinkeinotiimi").
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)]
Assessment = Literal["expected", "new_trend", "false_alarm"]
ASSESSMENTS: Final[tuple[Assessment, ...]] = ("expected", "new_trend", "false_alarm")

MAX_NOTE: Final = 2000
MAX_LOG: Final = 500


def _no_control_characters(text: str) -> str:
    # Notes are shown to other staff and written to logs: refuse terminal escapes and the like.
    if any(ord(c) < 32 and c not in "\n\t" for c in text):
        raise ValueError("text must not contain control characters")
    return text


def _no_personal_code(text: str) -> str:
    # Case work is kept for years and read by other staff: no henkilötunnus, in any spelling.
    if contains_personal_code(text):
        raise ValueError(
            "text must not contain a Finnish personal identity code (henkilötunnus); "
            "refer to the person another way"
        )
    return text


Text = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_NOTE),
    AfterValidator(_no_control_characters),
    AfterValidator(_no_personal_code),
]


class _Frozen(BaseModel):
    # Errors must not echo input: a refused note may hold the very code it was refused for.
    model_config = ConfigDict(
        frozen=True, extra="forbid", allow_inf_nan=False, hide_input_in_errors=True
    )


class Acknowledged(_Frozen):
    """Someone has seen the alert and is on it."""

    type: Literal["acknowledged"] = "acknowledged"


class Assigned(_Frozen):
    """The case is assigned to a person or a team (replaces an earlier assignment)."""

    type: Literal["assigned"] = "assigned"
    assignee: Annotated[Name, AfterValidator(_no_personal_code)]


class Noted(_Frozen):
    """A free-text note (what was found out, who was called)."""

    type: Literal["note"] = "note"
    text: Text


class Marked(_Frozen):
    """Staff's judgement of the alert: expected, a new trend, or a false alarm."""

    type: Literal["marked"] = "marked"
    assessment: Assessment


class ActionLinked(_Frozen):
    """A response action taken on the alert (a rapid-response team, a training programme)."""

    type: Literal["action_linked"] = "action_linked"
    title: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
        AfterValidator(_no_control_characters),
        AfterValidator(_no_personal_code),
    ]
    url: HttpUrl | None = None


class Closed(_Frozen):
    """Staff close a held alert, for a reason, with an optional note.

    The reasons: the new normal accepted, the structural change dealt with, a false alarm. The
    engine resolves the alert as ``closed_by_staff``.
    """

    type: Literal["closed"] = "closed"
    reason: ClosureReason
    note: Text | None = None


AnyAction = Acknowledged | Assigned | Noted | Marked | ActionLinked | Closed
CaseAction = Annotated[AnyAction, Field(discriminator="type")]
CASE_ACTION: Final[TypeAdapter[AnyAction]] = TypeAdapter(
    CaseAction, config=ConfigDict(hide_input_in_errors=True)
)


class CaseEvent(_Frozen):
    """One step of case work on one alert, by one member of staff."""

    schema_version: Literal[1] = 1
    id: CaseEventId
    alert_id: AlertId
    ely: AreaCode | None = Field(
        default=None, description="the ELY area of the alert (None: national): scopes readers"
    )
    actor: Name
    at: AwareDatetime
    action: CaseAction


@dataclass(frozen=True, slots=True)
class CaseNote:
    """A free-text note someone added to a case, and when."""

    actor: str
    at: datetime
    text: str


@dataclass(frozen=True, slots=True)
class ResponseAction:
    """A response taken on an alert (a meeting, a service, a funding decision), with a link."""

    actor: str
    at: datetime
    title: str
    url: str | None


@dataclass(frozen=True, slots=True)
class CaseState:
    """Where the work on one alert stands, and every step that got it there."""

    alert_id: str
    acknowledged_by: str | None = None
    acknowledged_at: datetime | None = None
    assignee: str | None = None
    assessment: Assessment | None = None
    #: Why staff closed the alert, who and when (None: not closed by staff).
    closed: ClosureReason | None = None
    closed_by: str | None = None
    closed_at: datetime | None = None
    notes: tuple[CaseNote, ...] = ()
    actions: tuple[ResponseAction, ...] = ()
    log: tuple[CaseEvent, ...] = ()
    seen: frozenset[str] = field(default_factory=frozenset, repr=False)

    @property
    def updated_at(self) -> datetime | None:
        """When the case last changed (the time of its latest event); ``None`` before any."""
        return self.log[-1].at if self.log else None


def _closed(current: CaseState, base: CaseState, event: CaseEvent, action: Closed) -> CaseState:
    if current.closed is not None:
        return base  # the first close stands; later ones are in the log
    notes = current.notes
    if action.note is not None:
        notes = (*notes, CaseNote(event.actor, event.at, action.note))
    return replace(
        base, closed=action.reason, closed_by=event.actor, closed_at=event.at, notes=notes
    )


def apply_case_event(state: CaseState | None, event: CaseEvent) -> CaseState:
    """Fold one case event into the state of its alert; an event already seen changes nothing.

    Later events win (an assignment or assessment replaces the earlier one); notes and actions
    accumulate. The log keeps the latest :data:`MAX_LOG` events so a busy case stays bounded.
    """
    current = state if state is not None else CaseState(alert_id=event.alert_id)
    if event.alert_id != current.alert_id:
        raise ValueError(f"case event {event.id} is for {event.alert_id}, not {current.alert_id}")
    if event.id in current.seen:
        return current
    log = (*current.log, event)[-MAX_LOG:]
    base = replace(current, log=log, seen=current.seen | {event.id})
    action = event.action
    if isinstance(action, Acknowledged):
        if current.acknowledged_by is not None:
            return base  # the first acknowledgement stands; later ones are in the log
        return replace(base, acknowledged_by=event.actor, acknowledged_at=event.at)
    if isinstance(action, Assigned):
        return replace(base, assignee=action.assignee)
    if isinstance(action, Noted):
        return replace(base, notes=(*current.notes, CaseNote(event.actor, event.at, action.text)))
    if isinstance(action, Marked):
        return replace(base, assessment=action.assessment)
    if isinstance(action, Closed):
        return _closed(current, base, event, action)
    link = ResponseAction(
        event.actor, event.at, action.title, str(action.url) if action.url else None
    )
    return replace(base, actions=(*current.actions, link))
