"""Dead letters and the decoder that produces them: bad input is kept, explained and counted.

``decode`` never raises on data. It returns either a valid event or a :class:`DeadLetter` that keeps
the raw payload (personal identity codes redacted), where it came from, a reason class and the
structured validation errors.

>>> origin = Origin(source="file", file="x.jsonl", line=3)
>>> dl = decode(b'{"type": "vacancies"', origin, received_at=EPOCH)
>>> dl.reason, dl.error_type
('decode', 'json_invalid')
>>> ok = decode(b'{"type": "unemployment", "area": "MK19", "period": "2023-09", '
...             b'"measure": "unemployed_jobseekers", "value": 11000, "published": "2023-10-25"}',
...             origin, received_at=EPOCH)
>>> type(ok).__name__, ok.value
('UnemploymentReported', 11000.0)
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from tutka.models.events import Event, personal_data_problem
from tutka.models.personal_data import redact_personal_codes, redact_personal_codes_in_bytes

DeadLetterReason = Literal["decode", "validation", "processing"]
EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)

_EVENT_ADAPTER: Final[TypeAdapter[Event]] = TypeAdapter(Event)


class Origin(BaseModel):
    """Where a payload came from: a Kafka record or a line of a file."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    source: str
    topic: str | None = None
    partition: int | None = None
    offset: int | None = None
    key: str | None = None
    file: str | None = None
    line: int | None = None


class ErrorDetail(BaseModel):
    """One validation problem of a payload: where (``loc``), its type and the message."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    loc: str
    type: str
    msg: str


class DeadLetter(BaseModel):
    """An input that could not become an event, with everything needed to fix and replay it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: Literal[1] = 1
    type: Literal["dead_letter"] = "dead_letter"
    reason: DeadLetterReason
    error_type: str = Field(description="the first error's type, a bounded label for metrics")
    summary: str
    errors: Annotated[tuple[ErrorDetail, ...], Field(max_length=50)]
    raw: str
    raw_encoding: Literal["utf-8", "base64"] = "utf-8"
    redacted: bool = False
    origin: Origin
    received_at: datetime


def decode(raw: bytes | str, origin: Origin, received_at: datetime) -> Event | DeadLetter:
    """Parse JSON and validate it as one of the event types; never raises on bad data."""
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError as exc:
        return _dead(raw, origin, received_at, "decode", "not_utf8", f"payload is not UTF-8: {exc}")
    try:
        payload = json.loads(text)
    except (ValueError, RecursionError) as exc:
        # ValueError covers JSONDecodeError and Python's limit on integer digits.
        return _dead(
            text, origin, received_at, "decode", "json_invalid", f"payload is not JSON: {exc}"
        )
    return validate(payload, text, origin, received_at)


def validate(payload: Any, raw: str, origin: Origin, received_at: datetime) -> Event | DeadLetter:
    """Validate an already-parsed payload (a JSON object or a CSV row turned into one)."""
    if not isinstance(payload, dict):
        return _dead(
            raw,
            origin,
            received_at,
            "validation",
            "not_an_object",
            f"payload must be a JSON object, got {type(payload).__name__}",
        )
    # Before the union picks a model: a personal code in the type tag or a key must not be echoed.
    try:
        problem = personal_data_problem(payload)
    except RecursionError:
        return _dead(
            raw, origin, received_at, "validation", "too_deep", "payload is nested too deeply"
        )
    if problem is not None:
        return _dead(
            raw, origin, received_at, "validation", problem.type, str(problem), payload=payload
        )
    try:
        return _EVENT_ADAPTER.validate_python(payload)
    except ValidationError as exc:
        errors = tuple(_detail(e) for e in exc.errors(include_input=False, include_url=False))
        summary = "; ".join(f"{e.loc}: {e.msg}" if e.loc else e.msg for e in errors[:5])
        return _dead(
            raw, origin, received_at, "validation", errors[0].type, summary, errors, payload
        )
    except RecursionError:
        return _dead(
            raw, origin, received_at, "validation", "too_deep", "payload is nested too deeply"
        )


def dead_letter(
    raw: bytes | str,
    origin: Origin,
    received_at: datetime,
    reason: DeadLetterReason,
    error_type: str,
    summary: str,
) -> DeadLetter:
    """A dead letter for a failure found after validation (e.g. an area outside the hierarchy)."""
    return _dead(raw, origin, received_at, reason, error_type, summary)


def _detail(error: Any) -> ErrorDetail:
    loc = ".".join(str(part) for part in error.get("loc", ()))
    msg = str(error.get("msg", ""))
    # pydantic prefixes our ValueErrors; the prefix adds nothing for a reader.
    msg = msg.removeprefix("Value error, ")
    return ErrorDetail(loc=loc, type=str(error.get("type", "unknown")), msg=msg)


def _dead(
    raw: bytes | str,
    origin: Origin,
    received_at: datetime,
    reason: DeadLetterReason,
    error_type: str,
    summary: str,
    errors: tuple[ErrorDetail, ...] = (),
    payload: Any = None,
) -> DeadLetter:
    text, encoding, redacted = _keepable(raw, payload)
    if not errors:
        errors = (ErrorDetail(loc="", type=error_type, msg=summary),)
    return DeadLetter(
        reason=reason,
        error_type=error_type,
        summary=_clean(summary),
        errors=tuple(
            ErrorDetail(loc=_clean(e.loc), type=e.type, msg=_clean(e.msg)) for e in errors
        ),
        raw=text,
        raw_encoding=encoding,
        redacted=redacted,
        origin=origin,
        received_at=received_at,
    )


def _keepable(raw: bytes | str, payload: Any) -> tuple[str, Literal["utf-8", "base64"], bool]:
    """The raw payload as it can be stored and produced: text or base64, never a person's code."""
    data = raw.encode("utf-8", errors="surrogateescape") if isinstance(raw, str) else raw
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        kept = redact_personal_codes_in_bytes(data)
        return base64.b64encode(kept).decode("ascii"), "base64", kept != data
    redacted = redact_personal_codes(text)
    if payload is not None and _still_personal(redacted, payload):
        # JSON escapes can hide a code from a text search of the raw payload: rewrite the
        # parsed payload with every code removed instead.
        return json.dumps(_redact(payload), ensure_ascii=False), "utf-8", True
    return redacted, "utf-8", redacted != text


def _still_personal(redacted: str, payload: Any) -> bool:
    try:
        if personal_data_problem(payload) is None:
            return False
        return personal_data_problem(json.loads(redacted)) is not None
    except (ValueError, RecursionError):
        return True


def _redact(data: Any) -> Any:
    if isinstance(data, str):
        return redact_personal_codes(data).encode("utf-8", errors="replace").decode("utf-8")
    if isinstance(data, dict):
        return {_redact(str(k)): _redact(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_redact(v) for v in data]
    return data


def _clean(text: str) -> str:
    """Messages may quote keys or tags from the input: no personal codes, valid Unicode."""
    return redact_personal_codes(text).encode("utf-8", errors="replace").decode("utf-8")
