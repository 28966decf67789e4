"""The engine's whole state as versioned JSON with a schema, and back: what a worker checkpoints.

Everything the engine remembers (:class:`~tutka.streams.stages.state.EngineState`) is here —
per-series detector snapshots, values and revision checkpoints, alert groups, notice tallies, the
release being collected, clocks and counters — so that ``restore(snapshot(engine))`` continues
exactly where the engine was: the same later alerts, byte for byte. Caches are rebuilt, never
stored. No pickle: the snapshot must survive deploys.

The layout is :class:`EngineSnapshot` (typed dictionaries, JSON as written), version
:data:`VERSION`; :func:`schema` is its JSON schema. :func:`restore` checks the version first (a
snapshot of another version is refused with the versions named; version 1 is read by upgrading
it), then validates the whole snapshot against the schema before building anything. A change to
the layout bumps :data:`VERSION`; ``tests/unit/streams/test_state.py`` keeps a version-1
snapshot and the schema, so a change that forgets to is noticed.

Version 2 (#18) is version 1 made smaller, not different: a series' values as columns (integers
where whole) instead of ``[period, value, revision]`` triples, and each distinct parameter set
of the series' detectors written once in a table instead of in every detector snapshot and
checkpoint.
"""

from __future__ import annotations

import base64
import json
import math
import sys
from array import array
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Annotated, Final, Literal, NotRequired, TypeAlias

import numpy as np
from pydantic import Field, JsonValue, TypeAdapter, ValidationError
from pydantic_core import to_json
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


#: A series' values as columns: the oldest period kept, the values from it (null: none) and
#: their revisions — one number when every value has the same one, else one per value (-1:
#: none). A value that is a whole number is written as an integer (read back as a float).
HistoryRow: TypeAlias = tuple[int, list[Number | None], int | list[int]]


class SeriesSnapshot(TypedDict):
    """One series: its detectors, values (:data:`HistoryRow`), checkpoints, alarms.

    The detectors, and each checkpoint's, are a row of the snapshot's ``detector_sets``: the
    many series whose detectors have learnt nothing yet share one, and so do checkpoints taken
    while nothing was learnt in between.
    """

    key: KeyRow
    rule: str
    detectors: int
    history: HistoryRow
    last: int | None
    checkpoints: list[tuple[int, int]]
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

    v: Literal[2]
    #: The distinct parameter sets of the detector snapshots in ``detector_sets``: a snapshot's
    #: ``params`` is a row of this table (a version-1 snapshot has them in place, read too).
    params: list[dict[str, JsonValue]]
    #: The series' detectors and checkpoints (see :class:`SeriesSnapshot`): detector name →
    #: snapshot, the lists of floats in their states packed (``{"f8": base64}``).
    detector_sets: list[dict[str, DetectorSnapshot]]
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
    params = _ParamsTable()
    sets = _DetectorSets(params)
    series = [_series(s, sets) for s in state.series.values()]
    return {
        "v": VERSION,
        "params": params.rows,
        "detector_sets": sets.rows,
        "series": series,
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
    if version == 1:
        data = _upgraded_from_v1(data)
    elif version != VERSION:
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


def _upgraded_from_v1(data: Mapping[str, object]) -> dict[str, object]:
    """A version-1 snapshot in version 2's layout.

    Histories become columns and detector sets rows of ``detector_sets``; there is no parameter
    table (version 1 has each detector's parameters in place, which version 2 reads too). A
    history that is not version 1's list of ``[period, value, revision]`` is left as it is, for
    the schema to name.
    """
    series = data.get("series")
    sets: list[object] = []
    return {
        **data,
        "v": 2,
        "params": [],
        "detector_sets": sets,
        "series": (
            [_series_from_v1(item, sets) for item in series] if type(series) is list else series
        ),
    }


def _series_from_v1(item: object, sets: list[object]) -> object:
    """A version-1 series: its values as columns, its detector sets added to ``sets``."""
    if type(item) is not dict:
        return item
    item = dict(item)
    points = item.get("history")
    try:
        history = History((p, Point(float(v), r)) for p, v, r in points)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        pass  # (left for the schema to name)
    else:
        item["history"] = _history(history)
    if type(item.get("detectors")) is dict:
        sets.append(item["detectors"])
        item["detectors"] = len(sets) - 1
    checkpoints = item.get("checkpoints")
    if type(checkpoints) is list:
        item["checkpoints"] = [
            [entry[0], _added(sets, entry[1])] if type(entry) is list and len(entry) == 2 else entry
            for entry in checkpoints
        ]
    return item


def _added(sets: list[object], snaps: object) -> int:
    sets.append(snaps)
    return len(sets) - 1


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
    sets = _DetectorSetsRead(data["detector_sets"], data["params"])
    for item in data["series"]:
        pristine = engine.pristine(item["rule"], item["key"][0])
        series = _series_from(item, pristine, sets)
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


def _series(state: SeriesState, sets: _DetectorSets) -> SeriesSnapshot:
    pristine = state.pristine
    if pristine is not None:  # (the shared detectors: their one snapshot, never taken again)
        detectors = pristine.snapshot
    else:
        detectors = {name: d.snapshot() for name, d in state.detectors.items()}
    return {
        "key": _key(state.key),
        "rule": state.rule,
        "detectors": sets.ref(detectors),
        "history": _history(state.history),
        "last": state.last,
        "checkpoints": [(p, sets.ref(snaps)) for p, snaps in state.checkpoints],
        "alarms": {str(p): sorted(a) for p, a in state.alarms.items()},
        "anchor": state.anchor,
    }


def _series_from(item: SeriesSnapshot, pristine: Pristine, sets: _DetectorSetsRead) -> SeriesState:
    """A series' state; detectors that never learnt share the rule's pristine set again."""
    untaught = sets.pristine(item["detectors"], pristine)
    return SeriesState(
        key=_key_from(item["key"]),
        rule=item["rule"],
        detectors=(
            pristine.detectors
            if untaught
            else {
                name: restore_detector(snap) for name, snap in sets.fresh(item["detectors"]).items()
            }
        ),
        history=_history_from(item["history"]),
        last=item["last"],
        checkpoints=[
            (p, pristine.snapshot if sets.pristine(row, pristine) else sets.row(row))
            for p, row in item["checkpoints"]
        ],
        alarms={int(p): frozenset(a) for p, a in item["alarms"].items()},
        anchor=item["anchor"],
        pristine=pristine if untaught else None,
    )


class _DetectorSets:
    """The series' detector sets (name → snapshot) as rows, each distinct one written once.

    Most are found again by identity: the pristine detectors' one snapshot is shared by every
    series that has learnt nothing, and a checkpoint's by the later checkpoints taken while
    nothing was learnt (snapshots are never changed once taken). Others by their JSON, so that
    equal sets are one row however they were made, and a restored engine writes the same rows.
    """

    def __init__(self, params: _ParamsTable) -> None:
        self.rows: list[dict[str, DetectorSnapshot]] = []
        self._params = params
        self._by_id: dict[int, int] = {}
        self._by_text: dict[bytes, int] = {}
        self._held: list[object] = []  # (alive while written: an id is not given out again)

    def ref(self, snaps: dict[str, DetectorSnapshot]) -> int:
        row = self._by_id.get(id(snaps))
        if row is None:
            text = to_json(snaps, inf_nan_mode="constants")  # (json.dumps: 3 times slower)
            row = self._by_text.get(text)
            if row is None:
                row = self._by_text[text] = len(self.rows)
                self.rows.append({name: self._params.ref(snap) for name, snap in snaps.items()})
            self._by_id[id(snaps)] = row
            self._held.append(snaps)
        return row


class _DetectorSetsRead:
    """The rows of a snapshot's ``detector_sets``, read once each, and which are pristine."""

    def __init__(
        self, rows: list[dict[str, DetectorSnapshot]], params: list[dict[str, JsonValue]]
    ) -> None:
        self._rows = rows
        self._params = params
        self._read: dict[int, dict[str, DetectorSnapshot]] = {}
        self._pristine: dict[tuple[int, int], bool] = {}

    def row(self, index: int) -> dict[str, DetectorSnapshot]:
        """Row ``index``, parameters put back and floats unpacked: one object, shared.

        For checkpoints, which are never changed once taken.
        """
        snaps = self._read.get(index)
        if snaps is None:
            snaps = self._read[index] = self.fresh(index)
        return snaps

    def fresh(self, index: int) -> dict[str, DetectorSnapshot]:
        """Row ``index`` read anew, with lists and dictionaries of its own.

        For detectors to be restored from: an equal row may stand for other series, or for a
        checkpoint.
        """
        if not 0 <= index < len(self._rows):
            raise SnapshotError(
                f"engine snapshot names detector set {index}, but has {len(self._rows)}"
            )
        return _with_params(self._rows[index], self._params)

    def pristine(self, index: int, pristine: Pristine) -> bool:
        """Whether row ``index`` is ``pristine``'s snapshot (detectors that learnt nothing)."""
        key = (index, id(pristine))  # (a rule's pristine detectors live as long as the engine)
        same = self._pristine.get(key)
        if same is None:
            same = self._pristine[key] = self.row(index) == pristine.snapshot
        return same


class _ParamsTable:
    """The distinct parameter sets of the series' detector snapshots, each written once."""

    def __init__(self) -> None:
        self.rows: list[dict[str, JsonValue]] = []
        self._index: dict[str, int] = {}

    def ref(self, snap: DetectorSnapshot) -> DetectorSnapshot:
        """``snap`` with its ``params`` replaced by their row (in place: the layout is kept)."""
        params = snap.get("params")
        if not isinstance(params, dict):
            return snap
        text = json.dumps(params)  # (in its own key order: equal rows restore the same JSON)
        row = self._index.get(text)
        if row is None:
            row = self._index[text] = len(self.rows)
            self.rows.append(params)
        if "state" not in snap:
            return {**snap, "params": row}
        return {**snap, "params": row, "state": _packed(snap["state"])}


#: The shortest list of floats written packed (see :func:`_packed`).
PACK_FROM: Final = 4


def _packed(value: JsonValue) -> JsonValue:
    """``value`` with each list of ``PACK_FROM`` or more floats as ``{"f8": base64}``.

    The floats' IEEE 754 doubles, little-endian: about 11 characters a value instead of up to
    24, and exact (signed zeros and NaN included). A detector's state is mostly such lists.
    """
    if type(value) is list:
        if len(value) >= PACK_FROM and all(type(v) is float for v in value):
            doubles = array("d", value)  # type: ignore[type-var]
            if sys.byteorder == "big":
                doubles.byteswap()
            return {"f8": base64.b64encode(doubles.tobytes()).decode("ascii")}
        return [_packed(v) for v in value]
    if type(value) is dict:
        return {k: _packed(v) for k, v in value.items()}
    return value


def _unpacked(value: JsonValue) -> JsonValue:
    """``value`` with every ``{"f8": base64}`` of :func:`_packed` a list of floats again."""
    if type(value) is list:
        return [_unpacked(v) for v in value]
    if type(value) is dict:
        packed = value.get("f8")
        if len(value) == 1 and type(packed) is str:
            try:
                doubles = array("d", base64.b64decode(packed, validate=True))
            except ValueError as exc:  # (binascii.Error is one, and so is a length not of 8)
                raise SnapshotError(
                    f"engine snapshot has packed floats that are not: {exc}"
                ) from exc
            if sys.byteorder == "big":
                doubles.byteswap()
            return doubles.tolist()  # type: ignore[return-value]
        return {k: _unpacked(v) for k, v in value.items()}
    return value


def _with_params(
    snaps: Mapping[str, DetectorSnapshot], params: list[dict[str, JsonValue]]
) -> dict[str, DetectorSnapshot]:
    """Detector snapshots with their ``params`` rows put back (those in place left alone)."""
    out = {}
    for name, snap in snaps.items():
        row = snap.get("params")
        if type(row) is int:
            if not 0 <= row < len(params):
                raise SnapshotError(
                    f"engine snapshot names parameter set {row} for {name!r}, but has {len(params)}"
                )
            snap = {**snap, "params": params[row]}
        if "state" in snap:
            snap = {**snap, "state": _unpacked(snap["state"])}
        out[name] = snap
    return out


def _history(history: History) -> HistoryRow:
    first, values, revisions = history.columns()
    present = [r for r in revisions if r >= 0]
    uniform = bool(present) and present.count(present[0]) == len(present)
    written = _numbers(values)
    if len(present) < len(revisions):  # (gaps: rare)
        written = [v if r >= 0 else None for v, r in zip(written, revisions, strict=True)]
    return (first, written, present[0] if uniform else list(revisions))


def _numbers(values: array[float]) -> list[Number | None]:
    """The values as JSON numbers, a whole number as an integer (shorter; read back the same).

    Anything else (a fraction, −0.0, 2⁵³ or more, NaN) stays the float it is. Decided in numpy
    for all at once (this runs for every series at every checkpoint): most series are counts,
    all whole, or ratios, none whole.
    """
    if not values:
        return []
    floats = np.frombuffer(values, dtype=np.float64)
    negative_zero = (floats == 0) & np.signbit(floats)
    whole = (floats == np.floor(floats)) & (np.abs(floats) < 2.0**53) & ~negative_zero
    if whole.all():
        return floats.astype(np.int64).tolist()  # type: ignore[no-any-return]
    as_floats: list[Number | None] = floats.tolist()
    if not whole.any():
        return as_floats
    return [
        int(v) if w else v  # type: ignore[arg-type]
        for v, w in zip(as_floats, whole.tolist(), strict=True)
    ]


def _history_from(row: HistoryRow) -> History:
    first, values, revisions = row
    if isinstance(revisions, int):
        if revisions < 0:
            raise SnapshotError(f"engine snapshot has a history of revision {revisions}")
        revisions = [-1 if v is None else revisions for v in values]
    elif len(revisions) != len(values) or any(
        (v is None) != (r < 0) for v, r in zip(values, revisions, strict=True)
    ):
        raise SnapshotError("engine snapshot has a history whose values and revisions do not match")
    return History.from_columns(
        first,
        array("d", (0.0 if v is None else float(v) for v in values)),
        array("q", revisions),
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
