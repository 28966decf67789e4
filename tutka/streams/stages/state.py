"""What the engine remembers: one typed, versioned :class:`EngineState`, and its parts.

The state is *owned*: a stage changes only the state it is handed, and only the engine that holds
it hands it out (copying ten thousand series states per event would cost more than the detectors
do). Nothing here is a cache — caches live in the :class:`~.context.EngineContext` and are rebuilt
— so :mod:`tutka.streams.state` can write all of it as JSON and read it back exactly.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from typing import ClassVar, Final

from tutka.detectors.base import Detector, PooledDetector
from tutka.detectors.notice_burst import NoticeTally
from tutka.models.alerts import Alert, NoticeEvidence
from tutka.models.events import LayoffNoticeFiled, UnemploymentReported, VacanciesReported
from tutka.streams.alerting import GroupState
from tutka.streams.calibration import CalibrationState
from tutka.streams.release import SignalClass
from tutka.streams.series import SeriesState
from tutka.streams.signals import SeriesKey
from tutka.streams.stories import StoryState
from tutka.streams.triggers import TriggerState

Figure = UnemploymentReported | VacanciesReported
Event = LayoffNoticeFiled | UnemploymentReported | VacanciesReported

#: The version of the state's layout; :mod:`tutka.streams.state` writes and checks it.
STATE_VERSION: Final = 2


@dataclass(frozen=True, slots=True)
class Rejection:
    """An event the engine cannot use, e.g. an area outside the configured hierarchy."""

    error_type: str
    summary: str


Output = Alert | Rejection


@dataclass(slots=True)
class EngineStats:
    """Counts of everything the engine did; the shell turns them into metrics."""

    events: Counter[str] = field(default_factory=Counter)
    figures: Counter[str] = field(default_factory=Counter)
    notices: Counter[str] = field(default_factory=Counter)
    evaluations: Counter[str] = field(default_factory=Counter)
    signals: Counter[str] = field(default_factory=Counter)
    decisions: Counter[str] = field(default_factory=Counter)
    alerts: Counter[str] = field(default_factory=Counter)
    #: Records per area code outside the hierarchy (at most MAX_UNKNOWN_CODES codes kept).
    unknown_areas: Counter[str] = field(default_factory=Counter)
    releases: int = 0
    #: Staff closures by outcome: ``closed``, or a no-op (``unknown``, ``not_held``).
    closures: Counter[str] = field(default_factory=Counter)


@dataclass(slots=True)
class PendingRelease:
    """The monthly release being collected: its month, its day and the figures so far."""

    period: int
    available_on: date
    figures: dict[SeriesKey, Figure]


@dataclass(slots=True)
class BurstState:
    """Notices of the current month for one area and TOL section."""

    detector: Detector[NoticeTally]
    month: int
    count: int = 0
    persons: int = 0
    evidence: dict[str, NoticeEvidence] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SeenNotice:
    """A notice already counted: its revision, month and persons, and the bursts it went into.

    A revision of the notice takes it out of those (area, section) bursts before counting the new
    figures in.
    """

    revision: int
    month: int
    persons: int
    bursts: tuple[tuple[str, str], ...]


@dataclass(slots=True)
class EngineState:
    """Everything the engine remembers between events (version :data:`STATE_VERSION`)."""

    VERSION: ClassVar[int] = STATE_VERSION

    #: Every series watched: detectors, recent values, revision checkpoints, alarms.
    series: dict[SeriesKey, SeriesState] = field(default_factory=dict)
    #: Alert groups by group key, and the keys of those with an open alert.
    groups: dict[str, GroupState] = field(default_factory=dict)
    open_groups: set[str] = field(default_factory=set)
    #: Month-to-date notice tallies by (area, TOL section), and the notices already counted.
    bursts: dict[tuple[str, str], BurstState] = field(default_factory=dict)
    seen_notices: dict[str, SeenNotice] = field(default_factory=dict)
    #: The pooled outlier detector of each area level.
    outliers: dict[str, PooledDetector] = field(default_factory=dict)
    #: The release being collected.
    pending: PendingRelease | None = None
    #: Per recent period, the (area, signal class) pairs its releases reported.
    accepted: dict[int, set[tuple[str, SignalClass]]] = field(default_factory=dict)
    #: Event-time clocks: the latest month of figures and of notices, the first month of notices.
    clock_figures: int | None = None
    clock_notices: int | None = None
    first_notice_month: int | None = None
    calibration: CalibrationState = field(default_factory=CalibrationState)
    #: The policy-trigger watchers (:mod:`tutka.streams.triggers`).
    triggers: TriggerState = field(default_factory=TriggerState)
    #: The notices' expected footprints and the stories they start (:mod:`tutka.streams.stories`).
    stories: StoryState = field(default_factory=StoryState)
    stats: EngineStats = field(default_factory=EngineStats)


#: Distinct unknown area codes counted (beyond them only the dead letters say more).
MAX_UNKNOWN_CODES: Final = 1000


def reject_unknown_area(stats: EngineStats, area: str, known: int) -> Rejection:
    """Count a record of an area outside the hierarchy (of ``known`` areas) and say why."""
    unknown = stats.unknown_areas
    if area in unknown or len(unknown) < MAX_UNKNOWN_CODES:
        unknown[area] += 1
    return Rejection(
        "unknown_area",
        f"area {area} is not in the configured area hierarchy ({known} areas); "
        "pass a full Statistics Finland correspondence file with --areas",
    )
