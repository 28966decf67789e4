"""Lead-time scoring of alarms against labelled events: the backtest scorecard.

Everything is counted in **availability months**, the month in which a statement could first be
read: figures for month ``m`` are published around the 25th of ``m + 1``, so an alert on period
``m`` is available in ``m + 1``; a layoff notice is known in the month it is announced.

Definitions (the scorecard means exactly this):

**Labelled event.** A row ``event_id,regions,reference_month,polarity,confidence,what`` of an
events file (regions ``;``-separated area codes; the reference month ``YYYY-MM`` is the
announcement). :func:`parse_events` validates it; a bad row is a :class:`EventsFileError` naming
the line and the field. The synthetic generator's ``truth.csv`` is such a file.

**Alarm.** What one source said about one area with one polarity: the months it *raised*
something and the months it was *live* (:class:`Alarm`). For the detectors, each alert is one
alarm (:func:`alarms_from_alerts`): raised when it opened (availability month of
``available_on``) and again at every ``updated`` version (it escalated, or new evidence, notices or
areas joined); live from its opening until the month before its resolution became available, or
to the end of the data if it never resolved. Every published version (open, updated, resolved)
is used: together they say when the alert was live. Versions after the opening inherit its lag:
0 months for an alert opened by layoff notices (known when announced), else 1 (figures). For the
year-on-year baseline (``tutka.evaluation.yoy_rule``) each run of consecutive months the rule fires
is one alarm, raised in its first month.

**Window** of an event: availability months ``[ref - 3, ref + 12]``, inclusive
(:class:`BacktestRules`).

**Detection** of an (event, region) pair: an alarm with the event's polarity *raised* in the
window, *direct* when it is on the region itself, *covered* when it is on the region or on an area
containing it that is itself one of the event's regions (the change is visible there) — so a
nationwide shock reported once as national counts everywhere, while an unrelated national alert is
not credited with a small town's closure. Alarms on areas *within* the region do not count: they do
not say the region changed. The delay is the first such raise month minus the reference month
(negative: an early warning). An alarm live since before the window that says nothing new in it
does not detect the event. Recall counts pairs, the headline being covered detection; event recall
counts events detected (covered) in at least one of their regions. The median delay is over
detected pairs, the event median delay over detected events' first delays (an event with a hundred
regions weighs as one).

**Excused months** of an area for a polarity: the windows of the same-polarity events that
concern it — it is one of the event's regions, lies within one (the event covers it) or contains
one (the event is part of its figures, so an alert there may be the event seen from above; this
is lenient for broad areas, and the same for every source) — and the nationwide shock periods
(defaults 2008-10…2010-06 and 2020-03…2021-06), for every area and both polarities.

**False-alarm episodes.** An alarm raised in an excused month of its area is explained, all its
live months with it (the tail of an alert an event raised is not held against it). The live
months of every other alarm that fall in the data and outside excused months are grouped per area
and polarity into episodes: months at most ``episode_gap`` (2) months apart without an alarm
between them belong to one episode, which counts once. The rate is episodes per 100 area-years;
an area's exposure is its months of data outside its excused months, and area-years are the
exposure of the scored areas summed, / 12. The figures are given for each polarity and each area
level (country, ELY area, region, sub-region, municipality): small noisy areas are where false
alarms hurt.

>>> from tutka.models.areas import Area
>>> events = parse_events(
...     "event_id,regions,reference_month,polarity,confidence,what\\n"
...     "kemi,KU240;SK192,2022-09,negative,high,mill closure\\n"
... )
>>> h = Hierarchy([
...     Area("SSS", "Koko maa", "Hela landet", "Finland", None),
...     Area("ELY15", "Lappi", "Lappland", "Lapland", "SSS"),
...     Area("MK19", "Lappi", "Lappland", "Lapland", "ELY15"),
...     Area("SK192", "Kemi-Tornio", "Kemi-Torneå", "Kemi-Tornio", "MK19"),
...     Area("KU240", "Kemi", "Kemi", "Kemi", "SK192"),
...     Area("KU851", "Tornio", "Torneå", "Tornio", "SK192"),
... ])
>>> m = period_index
>>> alarms = [
...     Alarm("SK192", Polarity.NEGATIVE, (m("2022-10"),), m("2023-03")),  # covers Kemi, +1
...     Alarm("KU851", Polarity.NEGATIVE, (m("2019-05"),), m("2019-06")),  # a false alarm
... ]
>>> card = score(events, h, ScoredData.of(h.areas, "2018-01", "2023-12"), {"detectors": alarms})
>>> row = card.events[0].regions[0]
>>> row.detections["detectors"].covered_delay, row.detections["detectors"].covered_by
(1, 'SK192')
>>> summary = card.summary["detectors"]
>>> summary.recall.negative, summary.recall_direct.negative
(1.0, 0.5)
>>> summary.false_alarms["negative"].by_level["KU"].episodes
1
"""

from __future__ import annotations

import csv
import io
import statistics
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Final, Literal, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from tutka.models.alerts import Alert, AlertStatus, Polarity
from tutka.models.areas import Hierarchy
from tutka.models.codes import (
    AREA_LEVELS,
    AreaCode,
    AreaLevel,
    Period,
    area_level,
    period_index,
    period_of,
    period_str,
)

__all__ = [
    "DEFAULT_SHOCKS",
    "EVENT_COLUMNS",
    "Alarm",
    "BacktestRules",
    "DataSummary",
    "Detection",
    "EventRow",
    "EventSummary",
    "EventsFileError",
    "FalseAlarmRate",
    "FalseAlarms",
    "LabelledEvent",
    "PolarityCount",
    "PolarityFigure",
    "RegionRow",
    "Scorecard",
    "ScoredData",
    "Shock",
    "Summary",
    "alarms_from_alerts",
    "episodes",
    "parse_events",
    "score",
]

EVENT_COLUMNS: Final = ("event_id", "regions", "reference_month", "polarity", "confidence", "what")
#: The 2008-09 financial crisis and the COVID-19 pandemic: nationwide shocks in which every area
#: moves at once, so an alert anywhere is no false alarm.
DEFAULT_SHOCKS: Final = ("2008-10:2010-06", "2020-03:2021-06")
POLARITIES: Final = (Polarity.NEGATIVE, Polarity.POSITIVE)
T = TypeVar("T")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


# -- the events file -------------------------------------------------------------------------------


class LabelledEvent(_Frozen):
    """A known structural change: where, when it was announced, and which way."""

    event_id: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    regions: Annotated[tuple[AreaCode, ...], Field(min_length=1)]
    reference_month: Period
    polarity: Polarity
    confidence: Literal["high", "medium", "low"]
    what: str = ""

    @field_validator("regions", mode="before")
    @classmethod
    def _split_regions(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(";"))
        return value

    @field_validator("regions")
    @classmethod
    def _distinct_regions(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        repeated = sorted({code for code in value if value.count(code) > 1})
        if repeated:
            raise ValueError(f"regions repeat {', '.join(repeated)}")
        return value

    @property
    def reference(self) -> int:
        """The reference month as a month index."""
        return period_index(self.reference_month)


class EventsFileError(ValueError):
    """A row of an events file that cannot be used, with its line and field."""

    def __init__(self, line: int, field: str | None, message: str) -> None:
        self.line = line
        self.field = field
        where = f"line {line}" + (f", field {field}" if field else "")
        super().__init__(f"{where}: {message}")


def parse_events(
    text: str, known_areas: Collection[str] | None = None
) -> tuple[LabelledEvent, ...]:
    """Validate an events file's text; raise :class:`EventsFileError` at the first bad row.

    ``known_areas``, when given, is the area hierarchy every region must belong to.

    >>> parse_events("event_id,regions,reference_month,polarity,confidence,what\\n"
    ...              "x,MK19;KU240,2022-09,negative,high,\\n")[0].regions
    ('MK19', 'KU240')
    >>> parse_events("event_id,regions,reference_month,polarity,confidence,what\\n"
    ...              "x,MK19,2022-9,negative,high,\\n")
    Traceback (most recent call last):
    ...
    tutka.evaluation.backtest.EventsFileError: line 2, field reference_month: period must be \
YYYY-MM, got '2022-9'
    """
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff")))
    header = [name.strip() for name in next(reader, [])]
    _check_header(header)
    events: list[LabelledEvent] = []
    seen: dict[str, int] = {}
    for row in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise EventsFileError(
                line, None, f"expected {len(header)} fields ({','.join(header)}), got {len(row)}"
            )
        fields = dict(zip(header, row, strict=True))
        event = _event({name: fields[name] for name in EVENT_COLUMNS}, line)
        if event.event_id in seen:
            raise EventsFileError(
                line, "event_id", f"{event.event_id!r} repeats line {seen[event.event_id]}"
            )
        unknown = [r for r in event.regions if known_areas is not None and r not in known_areas]
        if unknown:
            raise EventsFileError(
                line, "regions", f"{', '.join(unknown)} not in the area hierarchy"
            )
        seen[event.event_id] = line
        events.append(event)
    return tuple(events)


def _check_header(header: list[str]) -> None:
    """The six columns must be there, once each; other columns (e.g. ``source``) are ignored."""
    if not header:
        raise EventsFileError(1, None, f"the file is empty; expected {','.join(EVENT_COLUMNS)}")
    missing = [c for c in EVENT_COLUMNS if c not in header]
    repeated = sorted({c for c in header if header.count(c) > 1})
    if missing or repeated:
        problems = [f"missing {', '.join(missing)}" if missing else ""]
        problems.append(f"repeated {', '.join(repeated)}" if repeated else "")
        detail = "; ".join(p for p in problems if p)
        raise EventsFileError(
            1, None, f"the header must include {','.join(EVENT_COLUMNS)} ({detail})"
        )


def _event(row: dict[str, str], line: int) -> LabelledEvent:
    try:
        return LabelledEvent.model_validate(row)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        field = str(first["loc"][0]) if first["loc"] else None
        message = str(first["msg"]).removeprefix("Value error, ")
        raise EventsFileError(line, field, message) from None


# -- rules -----------------------------------------------------------------------------------------


class Shock(_Frozen):
    """A nationwide shock period, in availability months, both ends included."""

    start: Period
    end: Period

    @model_validator(mode="after")
    def _ordered(self) -> Shock:
        if self.end < self.start:
            raise ValueError(f"shock period ends ({self.end}) before it starts ({self.start})")
        return self

    @classmethod
    def parse(cls, text: str) -> Shock:
        """``"2008-10:2010-06"`` → a shock; ``ValueError`` with the expected form otherwise.

        >>> Shock.parse("2020-03:2021-06").months
        range(24242, 24258)
        """
        start, sep, end = text.partition(":")
        if not sep:
            raise ValueError(f"a shock period looks like 2008-10:2010-06, got {text!r}")
        return cls(start=start.strip(), end=end.strip())

    @property
    def months(self) -> range:
        """The shock's months (indices), both ends included."""
        return range(period_index(self.start), period_index(self.end) + 1)


def _default_shocks() -> tuple[Shock, ...]:
    return tuple(Shock.parse(text) for text in DEFAULT_SHOCKS)


class BacktestRules(_Frozen):
    """How alarms are matched to events and false alarms counted."""

    #: Months before the reference month in which an alarm still detects the event.
    before: Annotated[int, Field(ge=0, le=36)] = 3
    #: Months after the reference month in which an alarm still detects the event.
    after: Annotated[int, Field(ge=0, le=60)] = 12
    #: Months without an alarm that do not split an episode.
    episode_gap: Annotated[int, Field(ge=0, le=24)] = 2
    shocks: tuple[Shock, ...] = Field(default_factory=_default_shocks)

    def window(self, event: LabelledEvent) -> range:
        """The months in which an alarm detects ``event``: ``before`` it to ``after`` it."""
        return range(event.reference - self.before, event.reference + self.after + 1)


class ScoredData(_Frozen):
    """The data the scores are about: its months (data periods) and the areas scored."""

    first_period: Period
    last_period: Period
    areas: tuple[AreaCode, ...]

    @classmethod
    def of(cls, areas: Iterable[str], first_period: str, last_period: str) -> ScoredData:
        """The scored data of ``areas`` (sorted) from ``first_period`` to ``last_period``."""
        return cls(first_period=first_period, last_period=last_period, areas=tuple(sorted(areas)))

    @property
    def months(self) -> range:
        """Availability months of the data: each period is read the month after."""
        return range(period_index(self.first_period) + 1, period_index(self.last_period) + 2)


# -- alarms ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Alarm:
    """What one source said about one area and polarity, in availability months.

    ``raised`` are the months it said something (sorted; the first is when it was raised and
    became live); it stayed live through ``last``.
    """

    area: str
    polarity: Polarity
    raised: tuple[int, ...]
    last: int

    def __post_init__(self) -> None:
        if not self.raised or list(self.raised) != sorted(set(self.raised)):
            raise ValueError(f"an alarm needs distinct raise months in order, got {self.raised}")
        if self.last < self.raised[-1]:
            raise ValueError(
                f"an alarm is live through {period_str(self.last)}, "
                f"before its last raise {period_str(self.raised[-1])}"
            )

    @property
    def first(self) -> int:
        """The month the alarm was raised (its first raise)."""
        return self.raised[0]

    @property
    def live(self) -> range:
        """The months the alarm was live, from its first raise through ``last``."""
        return range(self.first, self.last + 1)


def alarms_from_alerts(alerts: Iterable[Alert], end: int) -> list[Alarm]:
    """One alarm per alert id from its published versions; ``end`` = last month of the data.

    ``end`` is an availability month: an alert still open at the end of the data is live to it.
    """
    versions: dict[str, list[Alert]] = defaultdict(list)
    for alert in alerts:
        versions[alert.id].append(alert)
    return [_alarm(group, end) for group in versions.values()]


def _alarm(versions: Sequence[Alert], end: int) -> Alarm:
    head = versions[0]
    first = period_index(period_of(head.available_on))
    # Notice alerts are known when announced; figures the month after their period.
    lag = 0 if first == period_index(head.opened_period) else 1
    raised = {first} | {
        max(first, period_index(v.period) + lag)
        for v in versions
        if v.status is AlertStatus.UPDATED
    }
    resolved = [
        period_index(v.resolved_period)
        for v in versions
        if v.status is AlertStatus.RESOLVED and v.resolved_period is not None
    ]
    last = max(first, min(resolved) + lag - 1) if resolved else max(end, *raised)
    return Alarm(head.area, head.polarity, tuple(sorted(m for m in raised if m <= last)), last)


def episodes(months: Iterable[int], gap: int) -> list[tuple[int, int]]:
    """Group months into (first, last) episodes; up to ``gap`` empty months do not split one.

    >>> episodes([1, 2, 5, 9], gap=2)
    [(1, 5), (9, 9)]
    """
    found: list[tuple[int, int]] = []
    for month in sorted(set(months)):
        if found and month - found[-1][1] <= gap + 1:
            found[-1] = (found[-1][0], month)
        else:
            found.append((month, month))
    return found


# -- the scorecard ---------------------------------------------------------------------------------


class PolarityCount(_Frozen):
    """A count for negative changes, for positive ones, and for all."""

    negative: int
    positive: int
    all: int


class PolarityFigure(_Frozen):
    """A figure for negative changes, for positive ones, and for all (None: nothing to measure)."""

    negative: float | None
    positive: float | None
    all: float | None


class FalseAlarmRate(_Frozen):
    """False-alarm episodes, the exposure in area-years, and episodes per 100 area-years."""

    episodes: int
    area_years: float
    per_100_area_years: float | None

    @classmethod
    def of(cls, episodes: int, months: int) -> FalseAlarmRate:
        """The rate of ``episodes`` over ``months`` of exposure (None when there is no exposure)."""
        years = months / 12
        rate = round(100 * episodes / years, 3) if years > 0 else None
        return cls(episodes=episodes, area_years=round(years, 3), per_100_area_years=rate)


class FalseAlarms(FalseAlarmRate):
    """False alarms overall, and by area level (small noisy areas are where they hurt)."""

    by_level: dict[AreaLevel, FalseAlarmRate]


class Summary(_Frozen):
    """One source's headline figures."""

    pairs: PolarityCount
    detected: PolarityCount
    detected_direct: PolarityCount
    recall: PolarityFigure
    recall_direct: PolarityFigure
    events: PolarityCount
    events_detected: PolarityCount
    event_recall: PolarityFigure
    median_delay_months: PolarityFigure
    #: Median over detected events of each one's first delay (a big event weighs as one).
    event_median_delay_months: PolarityFigure
    alarms: int
    false_alarms: dict[str, FalseAlarms]


class Detection(_Frozen):
    """How one source did on one (event, region) pair; delays in months from the reference."""

    direct_delay: int | None
    covered_delay: int | None
    covered_by: AreaCode | None

    @property
    def detected(self) -> bool:
        """Whether an alarm, at the region or above it, covered the pair within the window."""
        return self.covered_delay is not None


class RegionRow(_Frozen):
    """One region of an event: its level, whether the data has it, and each source's detection."""

    region: AreaCode
    level: AreaLevel
    #: The data has figures for this area (else only a broader alarm can cover it).
    observed: bool
    detections: dict[str, Detection]


class EventSummary(_Frozen):
    """How one source did on one event: regions detected, the first and the median delay."""

    regions_detected: int
    regions_detected_direct: int
    first_delay: int | None
    median_delay: float | None


class EventRow(_Frozen):
    """One labelled event in the scorecard: what it was, a summary per source, and its regions."""

    event_id: str
    polarity: Polarity
    reference_month: Period
    confidence: str
    what: str
    summary: dict[str, EventSummary]
    regions: tuple[RegionRow, ...]


class DataSummary(_Frozen):
    """The data scored: its first and last month and its areas, in all and by level."""

    first_period: Period
    last_period: Period
    months: int
    areas: int
    areas_by_level: dict[AreaLevel, int]


class Scorecard(_Frozen):
    """Every source scored the same way against the same events."""

    format: Literal[1] = 1
    rules: BacktestRules
    data: DataSummary
    sources: tuple[str, ...]
    summary: dict[str, Summary]
    events: tuple[EventRow, ...]


def score(
    events: Sequence[LabelledEvent],
    hierarchy: Hierarchy,
    data: ScoredData,
    sources: Mapping[str, Iterable[Alarm]],
    rules: BacktestRules | None = None,
) -> Scorecard:
    """Score every source's alarms against ``events`` (see the module docstring)."""
    rules = rules or BacktestRules()
    excused = _Excused(events, hierarchy, data, rules)
    scored = {
        name: _SourceScore(list(alarms), events, hierarchy, data, rules, excused)
        for name, alarms in sources.items()
    }
    rows = tuple(_event_row(event, hierarchy, data, scored) for event in events)
    return Scorecard(
        rules=rules,
        data=_data_summary(data),
        sources=tuple(sources),
        summary={name: s.summary(rows, name) for name, s in scored.items()},
        events=rows,
    )


def _data_summary(data: ScoredData) -> DataSummary:
    levels = {
        level: n
        for level in AREA_LEVELS
        if (n := sum(1 for a in data.areas if area_level(a) == level))
    }
    return DataSummary(
        first_period=data.first_period,
        last_period=data.last_period,
        months=len(data.months),
        areas=len(data.areas),
        areas_by_level=levels,
    )


class _Excused:
    """Months in which an alarm on an area is no false alarm (event windows, shocks)."""

    def __init__(
        self,
        events: Sequence[LabelledEvent],
        hierarchy: Hierarchy,
        data: ScoredData,
        rules: BacktestRules,
    ) -> None:
        self.shocks = frozenset(m for shock in rules.shocks for m in shock.months)
        self.windows: dict[tuple[str, Polarity], set[int]] = defaultdict(set)
        for event in events:
            window = rules.window(event)
            for area in _concerned(event, hierarchy):
                self.windows[(area, event.polarity)].update(window)
        self.data_months = data.months

    def __call__(self, area: str, polarity: Polarity) -> Collection[int]:
        window = self.windows.get((area, polarity))
        return self.shocks | window if window else self.shocks

    def exposure(self, area: str, polarity: Polarity) -> int:
        excused = self(area, polarity)
        return sum(1 for m in self.data_months if m not in excused)


def _concerned(event: LabelledEvent, hierarchy: Hierarchy) -> set[str]:
    """The event's regions, the areas within them and the areas containing them."""
    areas: set[str] = set()
    for region in event.regions:
        areas.add(region)
        if region in hierarchy:
            areas.update(hierarchy.ancestors(region))
            areas.update(_descendants(hierarchy, region))
    return areas


def _descendants(hierarchy: Hierarchy, code: str) -> Iterator[str]:
    stack = list(hierarchy.children(code))
    while stack:
        child = stack.pop()
        yield child
        stack.extend(hierarchy.children(child))


class _SourceScore:
    """One source's detections and false alarms."""

    def __init__(
        self,
        alarms: list[Alarm],
        events: Sequence[LabelledEvent],
        hierarchy: Hierarchy,
        data: ScoredData,
        rules: BacktestRules,
        excused: _Excused,
    ) -> None:
        self.alarms = alarms
        self.hierarchy = hierarchy
        self.rules = rules
        raised: dict[tuple[str, Polarity], set[int]] = defaultdict(set)
        for alarm in alarms:
            raised[(alarm.area, alarm.polarity)].update(alarm.raised)
        self.raised = {key: sorted(months) for key, months in raised.items()}
        self.false_alarms = {
            polarity.value: _false_alarms(alarms, polarity, data, rules, excused)
            for polarity in POLARITIES
        }

    def detection(self, event: LabelledEvent, region: str) -> Detection:
        window = self.rules.window(event)
        direct = self._first_raise(region, event.polarity, window)
        ancestors = self.hierarchy.ancestors(region) if region in self.hierarchy else ()
        covered: tuple[int, str] | None = None
        # A broader area counts only where the event is visible in it (one of its regions): an
        # unrelated national alert must not be credited with a small town's closure.
        for area in (region, *(a for a in ancestors if a in event.regions)):
            month = self._first_raise(area, event.polarity, window)
            if month is not None and (covered is None or month < covered[0]):
                covered = (month, area)
        return Detection(
            direct_delay=None if direct is None else direct - event.reference,
            covered_delay=None if covered is None else covered[0] - event.reference,
            covered_by=None if covered is None else covered[1],
        )

    def _first_raise(self, area: str, polarity: Polarity, window: range) -> int | None:
        months = self.raised.get((area, polarity))
        if not months:
            return None
        i = bisect_left(months, window.start)
        return months[i] if i < len(months) and months[i] < window.stop else None

    def summary(self, rows: Sequence[EventRow], name: str) -> Summary:
        pairs = [(row.polarity, r.detections[name]) for row in rows for r in row.regions]
        by_event = [(row.polarity, row.summary[name]) for row in rows]
        delays = [(p, d.covered_delay) for p, d in pairs if d.covered_delay is not None]
        firsts = [(p, e.first_delay) for p, e in by_event if e.first_delay is not None]
        return Summary(
            pairs=_count(p for p, _ in pairs),
            detected=_count(p for p, d in pairs if d.detected),
            detected_direct=_count(p for p, d in pairs if d.direct_delay is not None),
            recall=_share(pairs, lambda d: d.detected),
            recall_direct=_share(pairs, lambda d: d.direct_delay is not None),
            events=_count(p for p, _ in by_event),
            events_detected=_count(p for p, e in by_event if e.regions_detected),
            event_recall=_share(by_event, lambda e: e.regions_detected > 0),
            median_delay_months=_medians(delays),
            event_median_delay_months=_medians(firsts),
            alarms=len(self.alarms),
            false_alarms=self.false_alarms,
        )


def _false_alarms(
    alarms: Iterable[Alarm],
    polarity: Polarity,
    data: ScoredData,
    rules: BacktestRules,
    excused: _Excused,
) -> FalseAlarms:
    scored = set(data.areas)
    months: dict[str, set[int]] = defaultdict(set)
    for alarm in alarms:
        if alarm.polarity is not polarity or alarm.area not in scored:
            continue
        excused_months = excused(alarm.area, polarity)
        if alarm.first in excused_months:
            continue  # raised by an event or a shock: all of it is explained
        months[alarm.area].update(
            m for m in alarm.live if m in data.months and m not in excused_months
        )
    episodes_by_level: dict[AreaLevel, int] = defaultdict(int)
    exposure_by_level: dict[AreaLevel, int] = defaultdict(int)
    for area in data.areas:
        level = area_level(area)
        episodes_by_level[level] += len(episodes(months.get(area, ()), rules.episode_gap))
        exposure_by_level[level] += excused.exposure(area, polarity)
    by_level = {
        level: FalseAlarmRate.of(episodes_by_level[level], exposure_by_level[level])
        for level in AREA_LEVELS
        if level in exposure_by_level
    }
    total = FalseAlarmRate.of(sum(episodes_by_level.values()), sum(exposure_by_level.values()))
    return FalseAlarms(**total.model_dump(), by_level=by_level)


def _event_row(
    event: LabelledEvent,
    hierarchy: Hierarchy,
    data: ScoredData,
    scored: Mapping[str, _SourceScore],
) -> EventRow:
    observed = set(data.areas)
    regions = tuple(
        RegionRow(
            region=region,
            level=area_level(region),
            observed=region in observed,
            detections={name: s.detection(event, region) for name, s in scored.items()},
        )
        for region in event.regions
    )
    return EventRow(
        event_id=event.event_id,
        polarity=event.polarity,
        reference_month=event.reference_month,
        confidence=event.confidence,
        what=event.what,
        summary={name: _event_summary(regions, name) for name in scored},
        regions=regions,
    )


def _event_summary(regions: Sequence[RegionRow], name: str) -> EventSummary:
    delays = [
        d.covered_delay for r in regions if (d := r.detections[name]).covered_delay is not None
    ]
    return EventSummary(
        regions_detected=len(delays),
        regions_detected_direct=sum(
            1 for r in regions if r.detections[name].direct_delay is not None
        ),
        first_delay=min(delays, default=None),
        median_delay=_median(delays),
    )


def _count(polarities: Iterable[Polarity]) -> PolarityCount:
    values = list(polarities)
    negative = sum(1 for p in values if p is Polarity.NEGATIVE)
    return PolarityCount(negative=negative, positive=len(values) - negative, all=len(values))


def _share(items: Sequence[tuple[Polarity, T]], hit: Callable[[T], bool]) -> PolarityFigure:
    def share(selected: list[T]) -> float | None:
        return round(sum(1 for x in selected if hit(x)) / len(selected), 4) if selected else None

    return PolarityFigure(
        negative=share([x for p, x in items if p is Polarity.NEGATIVE]),
        positive=share([x for p, x in items if p is Polarity.POSITIVE]),
        all=share([x for _, x in items]),
    )


def _medians(delays: Sequence[tuple[Polarity, int]]) -> PolarityFigure:
    return PolarityFigure(
        negative=_median(d for p, d in delays if p is Polarity.NEGATIVE),
        positive=_median(d for p, d in delays if p is Polarity.POSITIVE),
        all=_median(d for _, d in delays),
    )


def _median(values: Iterable[int]) -> float | None:
    found = list(values)
    return float(statistics.median(found)) if found else None
