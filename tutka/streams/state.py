"""The engine's whole state as versioned JSON with a schema, and back: what a worker checkpoints.

Everything the engine remembers (:class:`~tutka.streams.stages.state.EngineState`) is here —
per-series detector snapshots, values and revision checkpoints, alert groups, notice tallies, the
release being collected, clocks and counters — so that ``restore(snapshot(engine))`` continues
exactly where the engine was: the same later alerts, byte for byte. Caches are rebuilt, never
stored. No pickle: the snapshot must survive deploys.

The layout is :class:`EngineSnapshot` (typed dictionaries, JSON as written), version
:data:`VERSION`; :func:`schema` is its JSON schema. :func:`restore` checks the version first (a
snapshot of another version is refused with the versions named), then validates the whole
snapshot against the schema before building anything. A change to the layout bumps
:data:`VERSION`; ``tests/unit/streams/test_state.py`` keeps a version-1 snapshot and the schema,
so a change that forgets to is noticed.
"""

from __future__ import annotations

import math
from array import array
from collections import Counter, deque
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Annotated, Final, Literal, NotRequired, TypeAlias

from pydantic import Field, JsonValue, TypeAdapter, ValidationError
from typing_extensions import TypedDict

from tutka.config.catalogue import Catalogue
from tutka.detectors.base import JSONObject
from tutka.detectors.registry import restore as restore_detector
from tutka.detectors.registry import restore_notice_detector, restore_pooled_detector
from tutka.models.alerts import Alert, AlertKind, Localized, NoticeEvidence, Polarity
from tutka.models.areas import Hierarchy
from tutka.streams import stories, triggers
from tutka.streams.alerting import GroupState
from tutka.streams.calibration import CalibrationState, GroupCalibration, Track
from tutka.streams.engine import Engine
from tutka.streams.release import SignalClass
from tutka.streams.series import History, Point, Pristine, SeriesState
from tutka.streams.signals import SeriesKey, Signal
from tutka.streams.stages.state import (
    STATE_VERSION,
    BurstState,
    EngineState,
    EngineStats,
    Figure,
    PendingRelease,
    SeenNotice,
)

#: The snapshot layout's version (that of :class:`~tutka.streams.stages.state.EngineState`).
VERSION: Final = STATE_VERSION

#: A JSON number as written: an integer stays one, so a restored state writes the same JSON.
Number: TypeAlias = int | float
#: A detector's snapshot (each detector checks its own version and layout).
DetectorSnapshot: TypeAlias = dict[str, JsonValue]
#: A JSON object (an alert, a notice, an event: validated by its own model when restored).
Object: TypeAlias = dict[str, JsonValue]
#: A series key: area, measure, sector (or null), occupation (or null).
KeyRow: TypeAlias = tuple[str, str, str | None, str | None]
#: A signal class: kind, polarity, sector (or null), occupation (or null).
ClassRow: TypeAlias = tuple[str, str, str | None, str | None]
#: An accepted (area, signal class) pair.
AcceptedRow: TypeAlias = tuple[str, str, str, str | None, str | None]


class SeriesSnapshot(TypedDict):
    """One series: its detectors, values ``[period, value, revision]``, checkpoints, alarms."""

    key: KeyRow
    rule: str
    detectors: dict[str, DetectorSnapshot]
    history: list[tuple[int, Number, int]]
    last: int | None
    checkpoints: list[tuple[int, dict[str, DetectorSnapshot]]]
    alarms: dict[str, list[str]]
    anchor: Number | None


class SignalSnapshot(TypedDict):
    """An accepted signal not yet corroborated into an alert."""

    series: KeyRow
    kind: str
    polarity: str
    detector: str
    period: int
    value: Number
    baseline: Number
    score: Number
    threshold: Number
    direction: int
    available_on: str
    notices: list[Object]
    notice_count: int
    notice_persons: int
    distinct: bool
    once_in_years: Number | None


class GroupSnapshot(TypedDict):
    """An alert group: its open alert (JSON of :class:`~tutka.models.alerts.Alert`) and memory."""

    alert: Object | None
    last_signal: int
    notice_months: dict[str, tuple[int, int]]
    candidates: dict[str, list[SignalSnapshot]]
    last_resolved: Object | None
    reported_persons: int
    reported_change: Number


class BurstSnapshot(TypedDict):
    """The month-to-date notice tally of one (area, TOL section) and its detector."""

    key: tuple[str, str]
    detector: DetectorSnapshot
    month: int
    count: int
    persons: int
    evidence: list[Object]


class PendingSnapshot(TypedDict):
    """The release being collected: ``figures`` are ``[key, event JSON]`` pairs."""

    period: int
    available_on: str
    figures: list[tuple[KeyRow, Object]]


class CalibrationResultSnapshot(TypedDict):
    """A calibration group's threshold and rarity curve."""

    threshold: Number
    grid: list[Number]
    alarm_episodes: list[int]
    basis_area_years: Number
    false_alarms_per_100_area_years: Number
    area_years: Number
    calibrated_period: int


#: A track: first month, then counts, references and signed scores (null: not judged).
TrackRow: TypeAlias = tuple[int, list[Number | None], list[Number | None], list[Number | None]]


class CalibrationSnapshot(TypedDict):
    """Score tracks per calibration group and series, and the latest thresholds."""

    calibrated: int | None
    tracks: dict[str, dict[str, TrackRow]]
    results: dict[str, CalibrationResultSnapshot]


class StatsSnapshot(TypedDict):
    """The engine's counters."""

    events: dict[str, int]
    figures: dict[str, int]
    notices: dict[str, int]
    evaluations: dict[str, int]
    signals: dict[str, int]
    decisions: dict[str, int]
    alerts: dict[str, int]
    unknown_areas: dict[str, int]
    releases: int
    #: Staff closures by outcome (absent in checkpoints from before them).
    closures: NotRequired[dict[str, int]]


class EngineSnapshot(TypedDict):
    """The engine's state as JSON (version ``v``)."""

    v: Literal[1]
    series: list[SeriesSnapshot]
    groups: dict[str, GroupSnapshot]
    bursts: list[BurstSnapshot]
    #: Notice id → [revision, month, persons, [[area, section], …]].
    seen_notices: dict[str, tuple[int, int, int, list[tuple[str, str]]]]
    outliers: dict[str, DetectorSnapshot]
    pending: PendingSnapshot | None
    accepted: dict[str, list[AcceptedRow]]
    clock_figures: int | None
    clock_notices: int | None
    first_notice_month: int | None
    calibration: CalibrationSnapshot
    #: The policy-trigger watchers and the notices' stories (absent in checkpoints written
    #: before them: they restore empty). Each checks its own version and layout.
    triggers: NotRequired[Object]
    stories: NotRequired[Object]
    stats: StatsSnapshot


_SNAPSHOT: Final[TypeAdapter[EngineSnapshot]] = TypeAdapter(EngineSnapshot)
_FIGURE: Final[TypeAdapter[Figure]] = TypeAdapter(Annotated[Figure, Field(discriminator="type")])


class SnapshotError(ValueError):
    """A snapshot this build cannot restore: another version, or not the schema's layout."""


def schema() -> JSONObject:
    """The JSON schema of :class:`EngineSnapshot` (what :func:`snapshot` writes)."""
    return _SNAPSHOT.json_schema()


def snapshot(engine: Engine) -> EngineSnapshot:
    """The engine's state as JSON-safe data (``json.dumps`` it as it is)."""
    state = engine.state
    stats = state.stats
    return {
        "v": VERSION,
        "series": [_series(s) for s in state.series.values()],
        "groups": {key: _group(g) for key, g in state.groups.items()},
        "bursts": [_burst(key, b) for key, b in state.bursts.items()],
        "seen_notices": {
            nid: (s.revision, s.month, s.persons, list(s.bursts))
            for nid, s in state.seen_notices.items()
        },
        "outliers": {level: d.snapshot() for level, d in state.outliers.items()},
        "pending": _pending(state.pending),
        "accepted": {
            str(period): sorted(
                ((area, *_class(cls)) for area, cls in pairs),
                key=lambda row: [part or "" for part in row],
            )
            for period, pairs in state.accepted.items()
        },
        "clock_figures": state.clock_figures,
        "clock_notices": state.clock_notices,
        "first_notice_month": state.first_notice_month,
        "calibration": _calibration(state.calibration),
        "triggers": triggers.snapshot(state.triggers),
        "stories": stories.snapshot(state.stories),
        "stats": _stats(stats),
    }


def restore(
    data: Mapping[str, object],
    hierarchy: Hierarchy,
    catalogue: Catalogue,
    sector_names: Mapping[str, Localized] | None = None,
) -> Engine:
    """An engine in exactly the state ``data`` describes; :class:`SnapshotError` if it cannot."""
    version = data.get("v")
    if version != VERSION:
        older = isinstance(version, int) and not isinstance(version, bool) and version < VERSION
        raise SnapshotError(
            f"engine snapshot has version {version!r}; this build reads version {VERSION}"
            + (" (an older layout: replay the input to rebuild the state)" if older else "")
        )
    try:
        valid = _SNAPSHOT.validate_python(data)
    except ValidationError as exc:
        raise SnapshotError(_summary("does not match its schema", exc)) from exc
    engine = Engine(hierarchy, catalogue, sector_names)
    try:
        # The alerts, notices, events and detectors inside are validated by their own models.
        engine.state = _state_from(valid, engine)
    except ValidationError as exc:
        raise SnapshotError(_summary("holds an invalid record", exc)) from exc
    return engine


def _summary(problem: str, exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "the top"
    return (
        f"engine snapshot (version {VERSION}) {problem}: {exc.error_count()} error(s), "
        f"the first at {where}: {first['msg']}"
    )


def _state_from(data: EngineSnapshot, engine: Engine) -> EngineState:
    state = EngineState(
        series={},
        seen_notices={
            nid: SeenNotice(rev, month, persons, tuple(bursts))
            for nid, (rev, month, persons, bursts) in data["seen_notices"].items()
        },
        outliers={level: restore_pooled_detector(snap) for level, snap in data["outliers"].items()},
        pending=_pending_from(data["pending"]),
        accepted={
            int(period): {(row[0], _class_from(row[1:])) for row in rows}
            for period, rows in data["accepted"].items()
        },
        clock_figures=data["clock_figures"],
        clock_notices=data["clock_notices"],
        first_notice_month=data["first_notice_month"],
        calibration=_calibration_from(data["calibration"]),
        triggers=triggers.restore(data.get("triggers")),
        stories=stories.restore(data.get("stories")),
        stats=_stats_from(data["stats"]),
    )
    for item in data["series"]:
        series = _series_from(item, engine.pristine(item["rule"], item["key"][0]))
        state.series[series.key] = series
    for key, group_item in data["groups"].items():
        group = _group_from(group_item)
        state.groups[key] = group
        if group.alert is not None:
            state.open_groups.add(key)
    for burst_item in data["bursts"]:
        area, section = burst_item["key"]
        state.bursts[area, section] = _burst_from(burst_item)
    return state


def _stats(stats: EngineStats) -> StatsSnapshot:
    out: StatsSnapshot = {
        "events": dict(stats.events),
        "figures": dict(stats.figures),
        "notices": dict(stats.notices),
        "evaluations": dict(stats.evaluations),
        "signals": dict(stats.signals),
        "decisions": dict(stats.decisions),
        "alerts": dict(stats.alerts),
        "unknown_areas": dict(stats.unknown_areas),
        "releases": stats.releases,
    }
    if stats.closures:  # only once there are any: an older snapshot reads back as it was
        out["closures"] = dict(stats.closures)
    return out


def _stats_from(stats: StatsSnapshot) -> EngineStats:
    return EngineStats(
        events=Counter(stats["events"]),
        figures=Counter(stats["figures"]),
        notices=Counter(stats["notices"]),
        evaluations=Counter(stats["evaluations"]),
        signals=Counter(stats["signals"]),
        decisions=Counter(stats["decisions"]),
        alerts=Counter(stats["alerts"]),
        unknown_areas=Counter(stats["unknown_areas"]),
        releases=stats["releases"],
        closures=Counter(stats.get("closures", {})),
    )


# -- series --------------------------------------------------------------------------------------


def _key(key: SeriesKey) -> KeyRow:
    return (key.area, key.measure, key.sector, key.occupation)


def _key_from(row: KeyRow) -> SeriesKey:
    return SeriesKey(*row)


def _series(state: SeriesState) -> SeriesSnapshot:
    return {
        "key": _key(state.key),
        "rule": state.rule,
        "detectors": {name: d.snapshot() for name, d in state.detectors.items()},
        "history": [(p, pt.value, pt.revision) for p, pt in sorted(state.history.items())],
        "last": state.last,
        "checkpoints": [(p, snaps) for p, snaps in state.checkpoints],
        "alarms": {str(p): sorted(a) for p, a in state.alarms.items()},
        "anchor": state.anchor,
    }


def _series_from(item: SeriesSnapshot, pristine: Pristine) -> SeriesState:
    """A series' state; detectors that never learnt share the rule's pristine set again."""
    shared = pristine.snapshot
    untaught = item["detectors"] == shared
    return SeriesState(
        key=_key_from(item["key"]),
        rule=item["rule"],
        detectors=(
            pristine.detectors
            if untaught
            else {name: restore_detector(snap) for name, snap in item["detectors"].items()}
        ),
        history=History((p, Point(v, r)) for p, v, r in item["history"]),
        last=item["last"],
        checkpoints=deque(
            (p, shared if snaps == shared else snaps) for p, snaps in item["checkpoints"]
        ),
        alarms={int(p): frozenset(a) for p, a in item["alarms"].items()},
        anchor=item["anchor"],
        pristine=pristine if untaught else None,
    )


# -- alert groups -------------------------------------------------------------------------------


def _group(group: GroupState) -> GroupSnapshot:
    return {
        "alert": _alert(group.alert),
        "last_signal": group.last_signal,
        "notice_months": {str(p): v for p, v in group.notice_months.items()},
        "candidates": {str(p): [_signal(s) for s in sigs] for p, sigs in group.candidates.items()},
        "last_resolved": _alert(group.last_resolved),
        "reported_persons": group.reported_persons,
        "reported_change": group.reported_change,
    }


def _group_from(item: GroupSnapshot) -> GroupState:
    return GroupState(
        alert=_alert_from(item["alert"]),
        last_signal=item["last_signal"],
        notice_months={int(p): (c, n) for p, (c, n) in item["notice_months"].items()},
        candidates={
            int(p): tuple(_signal_from(s) for s in sigs) for p, sigs in item["candidates"].items()
        },
        last_resolved=_alert_from(item["last_resolved"]),
        reported_persons=item["reported_persons"],
        reported_change=item["reported_change"],
    )


def _alert(alert: Alert | None) -> JSONObject | None:
    return None if alert is None else alert.model_dump(mode="json")


def _alert_from(item: JSONObject | None) -> Alert | None:
    return None if item is None else Alert.model_validate(item)


def _signal(signal: Signal) -> SignalSnapshot:
    return {
        "series": _key(signal.series),
        "kind": signal.kind.value,
        "polarity": signal.polarity.value,
        "detector": signal.detector,
        "period": signal.period,
        "value": signal.value,
        "baseline": signal.baseline,
        "score": signal.score,
        "threshold": signal.threshold,
        "direction": signal.direction,
        "available_on": signal.available_on.isoformat(),
        "notices": [n.model_dump(mode="json") for n in signal.notices],
        "notice_count": signal.notice_count,
        "notice_persons": signal.notice_persons,
        "distinct": signal.distinct,
        "once_in_years": signal.once_in_years,
    }


def _signal_from(item: SignalSnapshot) -> Signal:
    return Signal(
        series=_key_from(item["series"]),
        kind=AlertKind(item["kind"]),
        polarity=Polarity(item["polarity"]),
        detector=item["detector"],
        period=item["period"],
        value=item["value"],
        baseline=item["baseline"],
        score=item["score"],
        threshold=item["threshold"],
        direction=item["direction"],
        available_on=date.fromisoformat(item["available_on"]),
        notices=tuple(NoticeEvidence.model_validate(n) for n in item["notices"]),
        notice_count=item["notice_count"],
        notice_persons=item["notice_persons"],
        distinct=item["distinct"],
        once_in_years=item["once_in_years"],
    )


def _class(cls: SignalClass) -> ClassRow:
    kind, polarity, sector, occupation = cls
    return (kind.value, polarity.value, sector, occupation)


def _class_from(row: ClassRow) -> SignalClass:
    kind, polarity, sector, occupation = row
    return (AlertKind(kind), Polarity(polarity), sector, occupation)


# -- notices and the pending release -------------------------------------------------------------


def _burst(key: tuple[str, str], burst: BurstState) -> BurstSnapshot:
    return {
        "key": key,
        "detector": burst.detector.snapshot(),
        "month": burst.month,
        "count": burst.count,
        "persons": burst.persons,
        "evidence": [n.model_dump(mode="json") for n in burst.evidence.values()],
    }


def _burst_from(item: BurstSnapshot) -> BurstState:
    evidence = [NoticeEvidence.model_validate(n) for n in item["evidence"]]
    return BurstState(
        detector=restore_notice_detector(item["detector"]),
        month=item["month"],
        count=item["count"],
        persons=item["persons"],
        evidence={n.notice_id: n for n in evidence},
    )


def _pending(pending: PendingRelease | None) -> PendingSnapshot | None:
    if pending is None:
        return None
    return {
        "period": pending.period,
        "available_on": pending.available_on.isoformat(),
        "figures": [(_key(k), f.model_dump(mode="json")) for k, f in pending.figures.items()],
    }


def _pending_from(item: PendingSnapshot | None) -> PendingRelease | None:
    if item is None:
        return None
    return PendingRelease(
        period=item["period"],
        available_on=date.fromisoformat(item["available_on"]),
        figures={_key_from(key): _FIGURE.validate_python(event) for key, event in item["figures"]},
    )


# -- calibration --------------------------------------------------------------------------------


def _floats_json(values: Iterable[float]) -> list[Number | None]:
    return [None if math.isnan(v) else v for v in values]


def _floats_from(values: Iterable[Number | None]) -> array[float]:
    return array("d", (math.nan if v is None else float(v) for v in values))


def _calibration(state: CalibrationState) -> CalibrationSnapshot:
    return {
        "calibrated": state.calibrated,
        "tracks": {
            group: {
                series: (
                    t.first,
                    _floats_json(t.counts),
                    _floats_json(t.references),
                    _floats_json(t.signed),
                )
                for series, t in sorted(tracks.items())
            }
            for group, tracks in sorted(state.tracks.items())
        },
        "results": {
            group: {
                "threshold": r.threshold,
                "grid": list(r.grid),
                "alarm_episodes": list(r.alarm_episodes),
                "basis_area_years": r.basis_area_years,
                "false_alarms_per_100_area_years": r.false_alarms_per_100_area_years,
                "area_years": r.area_years,
                "calibrated_period": r.calibrated_period,
            }
            for group, r in sorted(state.results.items())
        },
    }


def _calibration_from(item: CalibrationSnapshot) -> CalibrationState:
    return CalibrationState(
        tracks={
            group: {
                series: Track(first, _floats_from(c), _floats_from(r), _floats_from(s))
                for series, (first, c, r, s) in tracks.items()
            }
            for group, tracks in item["tracks"].items()
        },
        results={
            group: GroupCalibration(
                threshold=r["threshold"],
                grid=tuple(r["grid"]),
                alarm_episodes=tuple(r["alarm_episodes"]),
                basis_area_years=r["basis_area_years"],
                false_alarms_per_100_area_years=r["false_alarms_per_100_area_years"],
                area_years=r["area_years"],
                calibrated_period=r["calibrated_period"],
            )
            for group, r in item["results"].items()
        },
        calibrated=item["calibrated"],
    )
