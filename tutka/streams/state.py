"""The engine's whole state as versioned JSON, and back: what a worker checkpoints and restores.

Everything the engine remembers is here — per-series detector snapshots, values and revision
checkpoints, alert groups, notice tallies, the release being collected, clocks and counters — so
that ``restore(snapshot(engine))`` continues exactly where the engine was: the same later alerts,
byte for byte. Caches are rebuilt, never stored. No pickle: the snapshot must survive deploys.
"""

from __future__ import annotations

import math
from array import array
from collections import Counter, deque
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any, Final, cast

from pydantic import TypeAdapter

from tutka.config.catalogue import Catalogue
from tutka.detectors.base import JSONObject
from tutka.detectors.isolation_forest import IsolationForestOutlier
from tutka.detectors.notice_burst import NoticeBurst
from tutka.detectors.registry import restore as restore_detector
from tutka.models.alerts import Alert, AlertKind, Localized, NoticeEvidence, Polarity
from tutka.models.areas import Hierarchy
from tutka.models.events import Event, UnemploymentReported, VacanciesReported
from tutka.streams.alerting import GroupState
from tutka.streams.calibration import CalibrationState, GroupCalibration, Track
from tutka.streams.engine import Engine
from tutka.streams.release import SignalClass
from tutka.streams.series import History, Point, Pristine, SeriesState
from tutka.streams.signals import SeriesKey, Signal
from tutka.streams.stages.state import BurstState, EngineStats, PendingRelease, SeenNotice

VERSION: Final = 1
_COUNTERS: Final = (
    "events",
    "figures",
    "notices",
    "evaluations",
    "signals",
    "decisions",
    "alerts",
    "unknown_areas",
)
_EVENT: Final[TypeAdapter[Event]] = TypeAdapter(Event)


def snapshot(engine: Engine) -> JSONObject:
    """The engine's state as JSON-safe data (``json.dumps`` it as it is)."""
    state: dict[str, Any] = {
        "v": VERSION,
        "series": [_series(s) for s in engine.state.series.values()],
        "groups": {key: _group(g) for key, g in engine.state.groups.items()},
        "bursts": [_burst(key, b) for key, b in engine.state.bursts.items()],
        "seen_notices": {
            nid: [s.revision, s.month, s.persons, [list(b) for b in s.bursts]]
            for nid, s in engine.state.seen_notices.items()
        },
        "outliers": {level: d.snapshot() for level, d in engine.state.outliers.items()},
        "pending": _pending(engine.state.pending),
        "accepted": {
            str(period): sorted(
                ([area, *_class(cls)] for area, cls in pairs),
                key=lambda row: [part or "" for part in row],
            )
            for period, pairs in engine.state.accepted.items()
        },
        "clock_figures": engine.state.clock_figures,
        "clock_notices": engine.state.clock_notices,
        "first_notice_month": engine.state.first_notice_month,
        "calibration": _calibration(engine.state.calibration),
        "stats": {name: dict(getattr(engine.state.stats, name)) for name in _COUNTERS}
        | {"releases": engine.state.stats.releases},
    }
    return cast(JSONObject, state)


def restore(
    data: Mapping[str, Any],
    hierarchy: Hierarchy,
    catalogue: Catalogue,
    sector_names: Mapping[str, Localized] | None = None,
) -> Engine:
    """An engine in exactly the state ``data`` describes."""
    if data.get("v") != VERSION:
        raise ValueError(
            f"engine snapshot has version {data.get('v')!r}; this build reads {VERSION}"
        )
    engine = Engine(hierarchy, catalogue, sector_names)
    for item in data["series"]:
        state = _series_from(item, engine.pristine(item["rule"], item["key"][0]))
        engine.state.series[state.key] = state
    for key, item in data["groups"].items():
        group = _group_from(item)
        engine.state.groups[key] = group
        if group.alert is not None:
            engine.state.open_groups.add(key)
    for item in data["bursts"]:
        key, burst = _burst_from(item)
        engine.state.bursts[key] = burst
    engine.state.seen_notices = {
        nid: SeenNotice(rev, month, persons, tuple((a, s) for a, s in bursts))
        for nid, (rev, month, persons, bursts) in data["seen_notices"].items()
    }
    for level, snap in data["outliers"].items():
        detector = restore_detector(snap)
        assert isinstance(detector, IsolationForestOutlier)
        engine.state.outliers[level] = detector
    engine.state.pending = _pending_from(data["pending"])
    engine.state.accepted = {
        int(period): {(row[0], _class_from(row[1:])) for row in rows}
        for period, rows in data["accepted"].items()
    }
    engine.state.clock_figures = data["clock_figures"]
    engine.state.clock_notices = data["clock_notices"]
    engine.state.first_notice_month = data["first_notice_month"]
    engine.state.calibration = _calibration_from(data["calibration"])
    stats = data["stats"]
    engine.state.stats = EngineStats(
        **{name: Counter(stats[name]) for name in stats if name != "releases"},
        releases=stats["releases"],
    )
    return engine


# -- series --------------------------------------------------------------------------------------


def _key(key: SeriesKey) -> list[str | None]:
    return [key.area, key.measure, key.sector, key.occupation]


def _key_from(row: list[str | None]) -> SeriesKey:
    area, measure, sector, occupation = row
    assert area is not None and measure is not None
    return SeriesKey(area, measure, sector, occupation)


def _series(state: SeriesState) -> dict[str, Any]:
    return {
        "key": _key(state.key),
        "rule": state.rule,
        "detectors": {name: d.snapshot() for name, d in state.detectors.items()},
        "history": [[p, pt.value, pt.revision] for p, pt in sorted(state.history.items())],
        "last": state.last,
        "checkpoints": [[p, snaps] for p, snaps in state.checkpoints],
        "alarms": {str(p): sorted(a) for p, a in state.alarms.items()},
        "anchor": state.anchor,
    }


def _series_from(item: Mapping[str, Any], pristine: Pristine) -> SeriesState:
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


def _group(group: GroupState) -> dict[str, Any]:
    return {
        "alert": _alert(group.alert),
        "last_signal": group.last_signal,
        "notice_months": {str(p): list(v) for p, v in group.notice_months.items()},
        "candidates": {str(p): [_signal(s) for s in sigs] for p, sigs in group.candidates.items()},
        "last_resolved": _alert(group.last_resolved),
        "reported_persons": group.reported_persons,
        "reported_change": group.reported_change,
    }


def _group_from(item: Mapping[str, Any]) -> GroupState:
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


def _alert(alert: Alert | None) -> dict[str, Any] | None:
    return None if alert is None else alert.model_dump(mode="json")


def _alert_from(item: Mapping[str, Any] | None) -> Alert | None:
    return None if item is None else Alert.model_validate(item)


def _signal(signal: Signal) -> dict[str, Any]:
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


def _signal_from(item: Mapping[str, Any]) -> Signal:
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


def _class(cls: SignalClass) -> list[str | None]:
    kind, polarity, sector, occupation = cls
    return [kind.value, polarity.value, sector, occupation]


def _class_from(row: list[str | None]) -> SignalClass:
    kind, polarity, sector, occupation = row
    assert kind is not None and polarity is not None
    return (AlertKind(kind), Polarity(polarity), sector, occupation)


# -- notices and the pending release -------------------------------------------------------------


def _burst(key: tuple[str, str], burst: BurstState) -> dict[str, Any]:
    return {
        "key": list(key),
        "detector": burst.detector.snapshot(),
        "month": burst.month,
        "count": burst.count,
        "persons": burst.persons,
        "evidence": [n.model_dump(mode="json") for n in burst.evidence.values()],
    }


def _burst_from(item: Mapping[str, Any]) -> tuple[tuple[str, str], BurstState]:
    detector = restore_detector(item["detector"])
    assert isinstance(detector, NoticeBurst)
    evidence = [NoticeEvidence.model_validate(n) for n in item["evidence"]]
    area, section = item["key"]
    return (area, section), BurstState(
        detector=detector,
        month=item["month"],
        count=item["count"],
        persons=item["persons"],
        evidence={n.notice_id: n for n in evidence},
    )


def _pending(pending: PendingRelease | None) -> dict[str, Any] | None:
    if pending is None:
        return None
    return {
        "period": pending.period,
        "available_on": pending.available_on.isoformat(),
        "figures": [[_key(k), f.model_dump(mode="json")] for k, f in pending.figures.items()],
    }


def _pending_from(item: Mapping[str, Any] | None) -> PendingRelease | None:
    if item is None:
        return None
    figures: dict[SeriesKey, UnemploymentReported | VacanciesReported] = {}
    for key, event in item["figures"]:
        figure = _EVENT.validate_python(event)
        assert isinstance(figure, UnemploymentReported | VacanciesReported)
        figures[_key_from(key)] = figure
    return PendingRelease(
        period=item["period"],
        available_on=date.fromisoformat(item["available_on"]),
        figures=figures,
    )


# -- calibration --------------------------------------------------------------------------------


def _floats_json(values: Iterable[float]) -> list[float | None]:
    return [None if math.isnan(v) else v for v in values]


def _floats_from(values: Iterable[float | None]) -> array[float]:
    return array("d", (math.nan if v is None else float(v) for v in values))


def _calibration(state: CalibrationState) -> dict[str, Any]:
    return {
        "calibrated": state.calibrated,
        "tracks": {
            group: {
                series: [
                    t.first,
                    _floats_json(t.counts),
                    _floats_json(t.references),
                    _floats_json(t.signed),
                ]
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


def _calibration_from(item: Mapping[str, Any]) -> CalibrationState:
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
