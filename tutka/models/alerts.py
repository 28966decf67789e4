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
    #: A numeric criterion of a policy measure is met (EGF, sudden structural change, Sahm rule).
    POLICY_TRIGGER = "policy_trigger"


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


class TriggerRule(StrEnum):
    """The policy criteria the trigger watchers check (``tutka.streams.triggers``)."""

    #: Regulation (EU) 2021/691 Art. 4(2)(a): one enterprise, four months.
    EGF_ENTERPRISE = "egf_enterprise"
    #: Regulation (EU) 2021/691 Art. 4(2)(b): one NACE division, one or two contiguous NUTS 2
    #: regions, six months.
    EGF_SECTOR = "egf_sector"
    #: Permanent job losses in a sub-region against its labour force (a designation case).
    SUDDEN_STRUCTURAL_CHANGE = "sudden_structural_change"
    #: Sahm's rule on a region's unemployment rate.
    SAHM_RULE = "sahm_rule"


class TriggerFacts(_Frozen):
    """Which policy criterion an alert reports, what was measured and the threshold it met."""

    rule: TriggerRule
    #: What the criterion says, in plain words (fi/sv/en).
    criterion: Localized
    #: The rule's source (a regulation's article, a paper).
    source: str
    #: Who or what the criterion is about: a business id, a NACE division, an area code.
    subject: str
    measured: float
    threshold: float
    #: ``gt``: the measure must exceed the threshold ("more than 200"); ``ge``: reach it.
    comparison: Literal["gt", "ge"]
    window_from: Period
    window_to: Period
    #: The areas the measure covers (NUTS 2 codes for the EGF sector criterion, else areas).
    regions: tuple[str, ...] = ()
    #: Secondary figures behind the decision (labour force, rate, low ...), by name.
    figures: tuple[tuple[str, float], ...] = ()


def _none(value: object) -> bool:
    return value is None


class StoryStatus(StrEnum):
    """What the figures did with the change the notices announced."""

    #: The rise matches what the notices imply (within the band).
    CONFIRMED = "confirmed"
    #: Smaller: people found work, itself a sign of a working local market.
    ABSORBED = "absorbed"
    #: Larger than the notices explain: a hidden shock (subcontractors, unannounced losses).
    EXCEEDS = "exceeds"
    #: Too early to tell: the notices' inflow has not reached the figures yet.
    PENDING = "pending"
    #: On a notice alert: its footprint's horizon passed and no figure alert rose with it.
    NO_RISE = "no_rise"


class ChangeClass(StrEnum):
    """Whether a negative change is expected to last."""

    STRUCTURAL = "structural"
    TRANSIENT = "transient"
    UNDETERMINED = "undetermined"


class FootprintMonth(_Frozen):
    """Expected extra unemployed in one month from the notices, with its band."""

    period: Period
    expected: float
    low: float
    high: float


class Story(_Frozen):
    """One story per change: the notices' expected footprint and what the figures did with it."""

    #: The same for the notice alert and the figure alerts it explains.
    id: str
    #: None on a figure alert no notice explains.
    status: StoryStatus | None
    change_class: ChangeClass
    #: Why the class was chosen (fi/sv/en).
    class_evidence: Localized
    #: Expected extra unemployed in the alert's month from the notices known then, and band.
    expected: float
    low: float
    high: float
    #: The figures' excess over their baseline in the alert's month (None on a notice alert).
    observed: float | None = None
    notice_count: int = 0
    notice_persons: int = 0
    #: Permanent (dismissal, closure) persons among them.
    permanent_persons: int = 0
    footprint: Annotated[tuple[FootprintMonth, ...], Field(max_length=MAX_HISTORY)] = ()
    #: Ids of the notice alerts behind this story (on a figure alert).
    linked: tuple[str, ...] = ()
    explanation: Localized


#: The history note of an alert whose level stays shifted after its signals have gone quiet: a
#: version that says so is a note on the open alert, not a new alarm.
NEW_NORMAL: Final = "level stays shifted: the new normal"
#: The history note of a structural change whose level cannot be told (a burst of permanent
#: layoff notices) once its signals have gone quiet: held open until staff close it.
HELD_STRUCTURAL: Final = "structural change: held open until staff close it"
#: Notes that say an alert is held open (no new alarm): the ones staff may close.
HOLD_NOTES: Final = frozenset({NEW_NORMAL, HELD_STRUCTURAL})
#: The history note of a notice alert's version that carries the figures' verdict
#: ("figures: confirmed"): a note on the alert, which leaves its hold as it was.
VERDICT_NOTE: Final = "figures: {status}"
_VERDICT_PREFIX: Final = VERDICT_NOTE.split("{", 1)[0]


def is_verdict_note(note: str | None) -> bool:
    """Whether a history note only carries the figures' verdict on a notice alert."""
    return note is not None and note.startswith(_VERDICT_PREFIX)


def hold_of(alert: Alert) -> str | None:
    """The hold the alert's latest versions note (verdict notes skipped), or None."""
    for entry in reversed(alert.history):
        if not is_verdict_note(entry.note):
            return entry.note if entry.note in HOLD_NOTES else None
    return None


#: Why staff closed a held alert.
ClosureReason = Literal["new_normal_accepted", "structural_handled", "false_alarm"]
CLOSURE_REASONS: Final[tuple[ClosureReason, ...]] = (
    "new_normal_accepted",
    "structural_handled",
    "false_alarm",
)


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
    #: ``recovered`` (the level came back), ``reversed`` (the opposite change came, or a
    #: transient change recovered), ``withdrawn``, ``closed_by_staff`` (a held alert staff closed,
    #: see ``closure``); ``quiet`` where the level cannot be told (notices). ``settled`` (a held
    #: alert closed automatically) only where the catalogue sets ``hold_shifted``.
    resolution: (
        Literal["quiet", "recovered", "settled", "reversed", "withdrawn", "closed_by_staff"] | None
    ) = None
    #: Why staff closed the alert (with ``resolution="closed_by_staff"``). Omitted when None.
    closure: ClosureReason | None = Field(default=None, exclude_if=_none)
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
    #: For ``policy_trigger`` alerts: the criterion met and its figures. Omitted when None, so
    #: other alerts serialise as before.
    trigger: TriggerFacts | None = Field(default=None, exclude_if=_none)
    #: The notices' expected footprint and the figures' verdict (``tutka.streams.stories``).
    story: Story | None = Field(default=None, exclude_if=_none)

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


def held_open(alert: Alert) -> bool:
    """Whether the alert is open and only held so (the new normal, a structural change).

    Its latest version says so: such an alert stays open until staff close it (or its level
    recovers, or the opposite change comes).
    """
    return alert.status is not AlertStatus.RESOLVED and hold_of(alert) is not None


def alert_id(group: str, opened_period: str) -> str:
    """Deterministic alert id: the same group opening in the same period has the same id."""
    digest = hashlib.sha256(f"{group}|{opened_period}".encode()).hexdigest()
    return f"al-{digest[:16]}"
