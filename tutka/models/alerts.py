"""What Muutostutka says: detector signals as evidence and alerts for people to act on.

Alerts name areas, sectors and employers, never people. Their ``id`` is deterministic (the alert
group and the period it opened in), so every runner produces the same ids for the same input and
consumers can deduplicate on it.
"""

from __future__ import annotations

import hashlib
from datetime import date
from enum import StrEnum
from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from tutka.models.codes import AreaCode, Period
from tutka.models.events import NoticeKind

MAX_EVIDENCE: Final = 24
MAX_NOTICES: Final = 25
MAX_HISTORY: Final = 36


class Polarity(StrEnum):
    """Whether a change is bad news for the area (``negative``) or good news (``positive``)."""

    NEGATIVE = "negative"
    POSITIVE = "positive"


class Severity(StrEnum):
    """How much an alert matters, never whether it is good or bad news.

    Negative changes: ``watch`` < ``warning`` < ``critical``; positive ones: ``watch`` <
    ``notable`` < ``strong`` (the same three levels: :attr:`rank`). The level follows the persons
    affected and their share of the labour force (:mod:`tutka.streams.importance`).
    """

    WATCH = "watch"
    WARNING = "warning"
    CRITICAL = "critical"
    NOTABLE = "notable"
    STRONG = "strong"

    @property
    def rank(self) -> int:
        """The severity's place in watch < warning < critical, for comparisons and sorting."""
        return _SEVERITY_RANK[self]


_SEVERITY_RANK: Final = {
    Severity.WATCH: 1,
    Severity.WARNING: 2,
    Severity.NOTABLE: 2,
    Severity.CRITICAL: 3,
    Severity.STRONG: 3,
}


class AlertStatus(StrEnum):
    """The life of an alert group: opened, updated (a later version), resolved."""

    OPEN = "open"
    UPDATED = "updated"
    RESOLVED = "resolved"


class AlertKind(StrEnum):
    """What changed. One alert group per area, sector/occupation and kind."""

    UNEMPLOYMENT = "unemployment"
    LONG_TERM_UNEMPLOYMENT = "long_term_unemployment"
    YOUTH_UNEMPLOYMENT = "youth_unemployment"
    OLDER_UNEMPLOYMENT = "older_unemployment"
    FOREIGN_LANGUAGE_UNEMPLOYMENT = "foreign_language_unemployment"
    TEMPORARY_LAYOFFS = "temporary_layoffs"
    VACANCIES = "vacancies"
    TIGHTNESS = "tightness"
    LAYOFF_NOTICES = "layoff_notices"
    OUTLIER = "outlier"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class Localized(_Frozen):
    """The same short text in Finnish, Swedish and English."""

    fi: str
    sv: str
    en: str


class SignalEvidence(_Frozen):
    """One detector's finding on one series in one period."""

    detector: str
    series: str
    area: AreaCode
    measure: str
    period: Period
    value: float
    baseline: float
    score: float
    threshold: float
    direction: Literal["up", "down"]
    #: About how many years pass between changes at least this large in such an area (from the
    #: engine's calibration; None before it has calibrated, or for uncalibrated detectors).
    once_in_years: float | None = Field(default=None, ge=0)


class NoticeEvidence(_Frozen):
    """A layoff notice behind an alert: the employer, never a person."""

    notice_id: str
    employer: str
    business_id: str
    municipality: AreaCode
    sector: str
    kind: NoticeKind
    persons: int
    announced: date
    effective_from: date


class HistoryEntry(_Frozen):
    """One month of an alert's history: its status and severity then, and a note."""

    period: Period
    status: AlertStatus
    severity: Severity
    note: str = ""


class Alert(_Frozen):
    """A structural-change alert for one group (area + sector/occupation + kind)."""

    schema_version: Literal[1] = 1
    id: str
    sequence: Annotated[int, Field(ge=1)]
    group: str
    kind: AlertKind
    polarity: Polarity
    severity: Severity
    status: AlertStatus
    area: AreaCode
    area_name: Localized
    parents: tuple[AreaCode, ...]
    sector: str | None = None
    occupation: str | None = None
    period: Period
    opened_period: Period
    available_on: date = Field(description="when the data that opened the alert became available")
    resolved_period: Period | None = None
    #: ``recovered`` (the level came back), ``settled`` (it stayed shifted and became the new
    #: normal), ``reversed``, ``withdrawn``; ``quiet`` where the level cannot be told (notices).
    resolution: Literal["quiet", "recovered", "settled", "reversed", "withdrawn"] | None = None
    evidence: Annotated[tuple[SignalEvidence, ...], Field(max_length=MAX_EVIDENCE)]
    notices: Annotated[tuple[NoticeEvidence, ...], Field(max_length=MAX_NOTICES)] = ()
    notice_count: int = 0
    notice_persons: int = 0
    also_in: tuple[AreaCode, ...] = ()
    #: People (or vacancies) beyond the expected level at the change's peak, or a notice burst's
    #: headcount: what severity and the room's order follow.
    impact: float = Field(default=0.0, ge=0)
    #: ``impact`` as a share of the area's labour force, where that is known.
    labour_share: float | None = Field(default=None, ge=0)
    #: How sure the detectors are (agreement, repetition, margin), apart from severity.
    confidence: Literal["low", "medium", "high"] | None = None
    history: Annotated[tuple[HistoryEntry, ...], Field(max_length=MAX_HISTORY)]
    explanation: Localized

    region: AreaCode = Field(description="the area code the alert is about (any level)")
    ely: AreaCode | None = Field(description="the ELY area it falls in; None for national alerts")

    @model_validator(mode="before")
    @classmethod
    def _derive_region_and_ely(cls, data: Any) -> Any:
        # region and ely are redundant with area and parents; derive them so producers cannot
        # make them disagree, and accept them back when an alert is read from a topic or file.
        if isinstance(data, dict) and "area" in data:
            data = dict(data)
            area = data["area"]
            data.setdefault("region", area)
            parents = tuple(data.get("parents", ()))
            ely = (
                area
                if str(area).startswith("ELY")
                else next((p for p in parents if str(p).startswith("ELY")), None)
            )
            data.setdefault("ely", ely)
            if data["region"] != area or data["ely"] != ely:
                raise ValueError("region and ely must agree with area and parents")
        return data


def alert_id(group: str, opened_period: str) -> str:
    """Deterministic alert id: the same group opening in the same period has the same id."""
    digest = hashlib.sha256(f"{group}|{opened_period}".encode()).hexdigest()
    return f"al-{digest[:16]}"
