"""The facts Muutostutka consumes: layoff notices, unemployment figures and vacancy figures.

Every event is a frozen pydantic model that forbids unknown fields, NaN and infinity, carries a
``schema_version``, an event-time ``period`` (or dates) and a ``revision``. A figure's idempotency
key is ``(series, period)`` with the highest revision winning; a notice's is its ``notice_id``.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, Any, Final, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from tutka.models.codes import (
    AreaCode,
    BusinessId,
    IscoCode,
    MunicipalityCode,
    Period,
    PlausibleDate,
    TolCode,
    period_after,
    period_of,
)
from tutka.models.personal_data import contains_personal_code

#: Free text from the outside world: trimmed, no control characters.
Text = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]*$"
    ),
]
Identifier = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}$")]


class _Boundary(BaseModel):
    """Shared configuration: immutable, strict about shape, no NaN/inf anywhere."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        allow_inf_nan=False,
        str_strip_whitespace=False,
        # Errors must never echo input: it may hold personal data.
        hide_input_in_errors=True,
    )

    @model_validator(mode="before")
    @classmethod
    def _no_personal_codes(cls, data: Any) -> Any:
        # Checked before field validation so that no other error message can echo the code.
        problem = personal_data_problem(data)
        if problem is not None:
            raise problem
        return data

    @field_validator("schema_version", mode="before", check_fields=False)
    @classmethod
    def _schema_version_is_an_integer(cls, value: Any) -> Any:
        # Literal[1] would take True (True == 1); a schema version is a plain integer.
        if type(value) is not int:
            raise PydanticCustomError("int_type", "schema_version must be an integer")
        return value


def personal_data_problem(data: Any) -> PydanticCustomError | None:
    """The first personal identity code or invalid text anywhere in ``data`` (keys included)."""
    texts: list[str] = []
    _collect_strings(data, texts)
    joined = "\n".join(texts)
    # One scan of everything first: this runs on every event, and almost none carry a code.
    if _is_valid_unicode(joined) and not contains_personal_code(joined):
        return None
    for path, text in _strings(data):
        if contains_personal_code(text):
            return PydanticCustomError(
                "personal_data",
                "field {path} contains a Finnish personal identity code (henkilötunnus); "
                "events must not carry personal data",
                {"path": "<key>" if contains_personal_code(path) else path or "<root>"},
            )
        if not _is_valid_unicode(text):
            return PydanticCustomError(
                "invalid_text", "field {path} is not valid Unicode text", {"path": "<redacted>"}
            )
    # A code can also straddle two strings joined above; that is not a code in any one field.
    return None


def _collect_strings(data: Any, out: list[str]) -> None:
    # Iterative, and scalars are not visited one call each: this runs on every event.
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, dict):
            for key, value in item.items():
                out.append(str(key))
                if isinstance(value, str):
                    out.append(value)
                elif isinstance(value, dict | list | tuple):
                    stack.append(value)
        elif isinstance(item, list | tuple):
            stack.extend(item)


def _strings(data: Any, path: str = "") -> list[tuple[str, str]]:
    """Every string in ``data`` with where it is (keys reported as ``<key>``)."""
    if isinstance(data, str):
        return [(path, data)]
    if isinstance(data, dict):
        found: list[tuple[str, str]] = []
        for key, value in data.items():
            key_text = str(key)
            found.append((f"{path}.<key>".lstrip("."), key_text))
            found.extend(_strings(value, f"{path}.{key_text}".lstrip(".")))
        return found
    if isinstance(data, (list, tuple)):
        return [pair for i, value in enumerate(data) for pair in _strings(value, f"{path}[{i}]")]
    return []


def _is_valid_unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class NoticeKind(StrEnum):
    """What a layoff notice announces: dismissals, temporary or part-time layoffs, or a closure."""

    DISMISSAL = "dismissal"
    TEMPORARY_LAYOFF = "temporary_layoff"
    PART_TIME_LAYOFF = "part_time_layoff"
    CLOSURE = "closure"


class UnemploymentMeasure(StrEnum):
    """The job-seeker figures we read (TEM employment service statistics): stocks and groups."""

    UNEMPLOYED_JOBSEEKERS = "unemployed_jobseekers"
    LABOUR_FORCE = "labour_force"
    FULL_TIME_LAID_OFF = "full_time_laid_off"
    LONG_TERM_UNEMPLOYED = "long_term_unemployed"
    UNDER_25 = "under_25"
    UNDER_30 = "under_30"
    OVER_54 = "over_54"
    FOREIGN_LANGUAGE = "foreign_language"


class VacancyMeasure(StrEnum):
    """The vacancy figures we read: open at the end of the month, and new during it."""

    OPEN_AT_MONTH_END = "open_at_month_end"
    NEW_IN_MONTH = "new_in_month"


#: Statistics Finland PxWeb measure codes (tables 12r5, 12ti) and what they mean here.
PXWEB_MEASURES: Final[dict[str, UnemploymentMeasure | VacancyMeasure]] = {
    "TYOTTOMATLOPUSSA": UnemploymentMeasure.UNEMPLOYED_JOBSEEKERS,
    "TYOVOIMATK": UnemploymentMeasure.LABOUR_FORCE,
    "AVPAIKATLOPUSSA": VacancyMeasure.OPEN_AT_MONTH_END,
}


class LayoffNoticeFiled(_Boundary):
    """An employer's change-negotiation outcome or layoff notification to the employment office.

    Notices name employers, never people: a personal identity code anywhere rejects the notice.
    """

    type: Literal["layoff_notice"] = "layoff_notice"
    schema_version: Literal[1] = 1
    notice_id: Identifier
    employer: Text
    business_id: BusinessId
    municipality: MunicipalityCode
    sector: TolCode
    kind: NoticeKind
    persons: Annotated[int, Field(ge=1, le=100_000, strict=True)]
    announced: PlausibleDate
    effective_from: PlausibleDate
    effective_to: PlausibleDate | None = None
    occupations: Annotated[tuple[IscoCode, ...], Field(max_length=50)] = ()
    source: Identifier = "unknown"
    revision: Annotated[int, Field(ge=0, strict=True)] = 0

    @model_validator(mode="after")
    def _dates_in_order(self) -> LayoffNoticeFiled:
        if self.effective_to is not None and self.effective_to < self.effective_from:
            raise ValueError(
                f"effective_to {self.effective_to} is before effective_from {self.effective_from}"
            )
        return self

    @property
    def available_on(self) -> date:
        """When the notice became known: its announcement day."""
        return self.announced

    @property
    def period(self) -> str:
        """The month (``YYYY-MM``) the notice was announced in."""
        return period_of(self.announced)


class _Figure(_Boundary):
    """A monthly official figure for one area (and optionally one sector or occupation)."""

    schema_version: Literal[1] = 1
    area: AreaCode
    period: Period
    sector: TolCode | None = None
    occupation: IscoCode | None = None
    value: Annotated[float, Field(ge=0, le=1e9, strict=True)]
    published: PlausibleDate
    revision: Annotated[int, Field(ge=0, strict=True)] = 0
    source: Identifier = "unknown"
    #: What a revision replaced (the value of the previous revision), for the record: the engine
    #: judges ``value`` alone. Left out of the JSON when absent, so every figure that is not a
    #: revision serialises exactly as before the field existed (schema note in the README).
    previous_value: Annotated[float, Field(ge=0, le=1e9, strict=True)] | None = Field(
        default=None, exclude_if=lambda value: value is None
    )

    @model_validator(mode="after")
    def _published_after_period(self) -> _Figure:
        # A month-end figure cannot be known before the month is over.
        if self.published < period_after(self.period):
            raise ValueError(
                f"period {self.period} ends after its published date {self.published.isoformat()}"
            )
        if self.previous_value is not None and self.revision == 0:
            raise ValueError("previous_value belongs to a revision (revision 1 or later)")
        return self

    @property
    def available_on(self) -> date:
        return self.published


class UnemploymentReported(_Figure):
    """A monthly job-seeker figure for one area (and optionally one sector or occupation)."""

    type: Literal["unemployment"] = "unemployment"
    measure: UnemploymentMeasure


class VacanciesReported(_Figure):
    """A monthly vacancy figure for one area (and optionally one sector or occupation)."""

    type: Literal["vacancies"] = "vacancies"
    measure: VacancyMeasure


Figure = UnemploymentReported | VacanciesReported
Event = Annotated[
    LayoffNoticeFiled | UnemploymentReported | VacanciesReported, Field(discriminator="type")
]
EVENT_TYPES: Final = ("layoff_notice", "unemployment", "vacancies")
