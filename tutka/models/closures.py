"""Staff closing a held alert, as a command to the engine: no names, only the alert and why.

Staff close an alert in the situation room (a :class:`~tutka.models.casework.CaseEvent` that
names them stays on the room's own topic); the engine is told with a :class:`StaffClosure` on
``tutka.closures.v1`` (keyed by alert id) or, on the embedded default, directly. The engine then
resolves the alert as ``closed_by_staff`` (:meth:`tutka.streams.engine.Engine.close`); a command
for an alert that is unknown, already resolved or not held changes nothing, so a redelivered
command is harmless.

>>> from datetime import UTC, datetime
>>> c = StaffClosure(alert_id="al-0123456789abcdef", at=datetime(2024, 3, 4, tzinfo=UTC),
...                  reason="new_normal_accepted")
>>> StaffClosure.model_validate_json(c.model_dump_json()) == c
True
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, ValidationError

from tutka.models.alerts import ClosureReason
from tutka.models.casework import AlertId
from tutka.models.deadletter import DeadLetter, DeadLetterReason, Origin, dead_letter


class StaffClosure(BaseModel):
    """Close the held alert ``alert_id`` for ``reason`` (sent at ``at``, wall clock)."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    schema_version: Literal[1] = 1
    type: Literal["staff_closure"] = "staff_closure"
    alert_id: AlertId
    at: AwareDatetime
    reason: ClosureReason


def decode_closure(raw: bytes, origin: Origin, received_at: datetime) -> StaffClosure | DeadLetter:
    """A command from its topic, or the dead letter saying why it is not one (never raises).

    >>> from datetime import UTC, datetime
    >>> at = datetime(2024, 3, 4, tzinfo=UTC)
    >>> decode_closure(b"{}", Origin(source="kafka"), at).reason
    'validation'
    >>> decode_closure(b"no", Origin(source="kafka"), at).error_type
    'json_invalid'
    """
    try:
        return StaffClosure.model_validate_json(raw)
    except ValidationError as exc:
        errors = exc.errors(include_input=False, include_url=False)
        kind = str(errors[0]["type"]) if errors else "invalid"
        summary = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" if e["loc"] else e["msg"]
            for e in errors[:5]
        )
        reason: DeadLetterReason = (
            "decode" if kind in ("json_invalid", "json_type") else "validation"
        )
        return dead_letter(raw, origin, received_at, reason, kind, summary)
