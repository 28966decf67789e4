"""Dead letters and the decoder that produces them: bad input is kept, explained and counted.

``decode`` never raises on data. It returns either a valid event or a :class:`DeadLetter` that keeps
the raw payload (personal identity codes redacted, in any spelling; at most 16 KiB of it), where it
came from, a reason class and the structured validation errors.

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
from tutka.models.personal_data import (
    contains_personal_code,
    redact_personal_codes,
    redact_personal_codes_in_bytes,
)

DeadLetterReason = Literal["decode", "validation", "processing"]
EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)

#: The most of a raw payload a dead letter keeps (bytes, before redaction): enough to see what
#: is wrong, and memory and the dead-letter topic stay bounded whatever arrives.
MAX_RAW_BYTES: Final = 16_384

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
    #: The event's place (from 1) in a batch record carrying several (``{"type":"events",…}``).
    item: int | None = None


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
    raw_truncated: bool = Field(
        default=False, description=f"raw holds only the first {MAX_RAW_BYTES:,} bytes"
    )
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
        return _dead(raw, origin, received_at, "validation", problem.type, str(problem))
    try:
        return _EVENT_ADAPTER.validate_python(payload)
    except ValidationError as exc:
        errors = tuple(_detail(e) for e in exc.errors(include_input=False, include_url=False))
        summary = "; ".join(f"{e.loc}: {e.msg}" if e.loc else e.msg for e in errors[:5])
        return _dead(raw, origin, received_at, "validation", errors[0].type, summary, errors)
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
) -> DeadLetter:
    text, encoding, redacted, truncated = _keepable(raw)
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
        raw_truncated=truncated,
        origin=origin,
        received_at=received_at,
    )


def _keepable(raw: bytes | str) -> tuple[str, Literal["utf-8", "base64"], bool, bool]:
    """The raw payload as it can be stored: (text, encoding, redacted, truncated).

    Text or base64, never a person's code, the first :data:`MAX_RAW_BYTES` bytes at most.

    The check reads the payload as a person would (JSON escapes, look-alike characters: see
    :func:`tutka.models.personal_data.reading_form`), whether or not it parses. A payload that
    is not UTF-8 is checked as far as it decodes; if that shows a code, only the redacted
    reading is kept, never the bytes.
    """
    data = raw.encode("utf-8", errors="surrogateescape") if isinstance(raw, str) else raw
    truncated = len(data) > MAX_RAW_BYTES
    data = data[:MAX_RAW_BYTES]
    text = _utf8(data, truncated)
    if text is None:
        lossy = data.decode("utf-8", errors="replace")
        if contains_personal_code(lossy, json_escapes=True) or (
            redact_personal_codes_in_bytes(data) != data
        ):
            return redact_personal_codes(lossy, json_escapes=True), "utf-8", True, truncated
        return base64.b64encode(data).decode("ascii"), "base64", False, truncated
    redacted = redact_personal_codes(text, json_escapes=True)
    return redacted, "utf-8", redacted != text, truncated


def _utf8(data: bytes, truncated: bool) -> str | None:
    """``data`` as UTF-8, or None; a cut (``truncated``) may split the last character."""
    for cut in range(4 if truncated else 1):
        try:
            return data[: len(data) - cut].decode("utf-8")
        except UnicodeDecodeError:
            continue
    return None


def _clean(text: str) -> str:
    """Messages may quote keys or tags from the input: no personal codes, valid Unicode."""
    return redact_personal_codes(text).encode("utf-8", errors="replace").decode("utf-8")
