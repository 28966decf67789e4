"""Per-series state: recent values (revision-aware) and the detectors watching the series.

A series is evaluated once per period, in period order. Before each evaluation the detectors'
snapshots are kept for the last ``revision_depth`` periods, so a revised figure can rewind the
detectors to just before its period and replay the later periods with the corrected value:
the detectors end up exactly where they would be had the revised figure come first.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from detectors.base import Assessment, JSONObject
from detectors.divergence import DivergencePoint
from detectors.registry import AnyDetector, restore
from streams.signals import SeriesKey

#: Values kept per series: enough for year-on-year features and a few years of plots.
HISTORY_MONTHS: Final = 48
#: Detectors that judge a series against reference series rather than its own values alone.
REFERENCE_DETECTORS: Final = frozenset({"divergence"})


@dataclass(frozen=True, slots=True)
class Inputs:
    """What a series' detectors need from outside the series, per period.

    ``references``: the reference values (rest of the parent area, rest of the country …) for
    the divergence detector, or None when missing. ``scale``: the factor that makes the series
    relative to the country (1.0 for the country itself), or None when it cannot be computed.
    """

    references: Callable[[int], tuple[float, ...] | None]
    scale: Callable[[int], float | None]


UNSCALED: Final = Inputs(references=lambda _: None, scale=lambda _: 1.0)


@dataclass(frozen=True, slots=True)
class Point:
    value: float
    revision: int


@dataclass(frozen=True, slots=True)
class Finding:
    """A detector's assessment of the series in one period."""

    detector: str
    period: int
    assessment: Assessment
    alarm: bool
    threshold: float


@dataclass(slots=True)
class SeriesState:
    key: SeriesKey
    rule: str
    detectors: dict[str, AnyDetector]
    history: dict[int, Point] = field(default_factory=dict)
    last: int | None = None
    checkpoints: deque[tuple[int, dict[str, JSONObject]]] = field(default_factory=deque)
    alarms: dict[int, frozenset[str]] = field(default_factory=dict)
    #: The country's (rest-of-country) value when the series started: relative values are
    #: scaled by anchor / reference so they stay on the series' own count scale.
    anchor: float | None = None

    def value(self, period: int) -> float | None:
        point = self.history.get(period)
        return None if point is None else point.value


def record(state: SeriesState, period: int, value: float, revision: int) -> str:
    """Store a value; returns 'new', 'revised', 'duplicate' or 'stale' (an older revision)."""
    existing = state.history.get(period)
    if existing is None:
        outcome = "new"
    elif revision < existing.revision:
        return "stale"
    elif existing.value == value:
        if revision > existing.revision:
            state.history[period] = Point(value, revision)
        return "duplicate"
    else:
        outcome = "revised"
    state.history[period] = Point(value, revision)
    _trim(state, period)
    return outcome


def _trim(state: SeriesState, period: int) -> None:
    if len(state.history) <= HISTORY_MONTHS + 12:
        return  # trim in batches: this runs for every figure
    newest = max(period, state.last if state.last is not None else period)
    for old in [p for p in state.history if p <= newest - HISTORY_MONTHS]:
        del state.history[old]


def evaluate(
    state: SeriesState,
    period: int,
    inputs: Inputs,
    depth: int,
    max_gap: int,
    fresh: Callable[[], dict[str, AnyDetector]],
) -> list[Finding]:
    """Assess then learn the value stored for ``period`` (which must be after ``state.last``)."""
    value = state.value(period)
    if value is None or (state.last is not None and period <= state.last):
        raise ValueError(f"{state.key}: nothing new to evaluate for period {period}")
    if state.last is not None:
        gap = period - state.last - 1
        if gap > max_gap:
            # Too long a silence to bridge: start the detectors afresh rather than guess.
            state.detectors = fresh()
            state.checkpoints.clear()
            state.alarms.clear()
        elif gap > 0:
            _bridge(state, period, value, inputs)
    _checkpoint(state, period, depth)
    findings = _step(state, period, value, inputs)
    state.last = period
    _remember_alarms(state, period, findings, depth)
    return findings


def _checkpoint(state: SeriesState, period: int, depth: int) -> None:
    """Snapshot the detectors before ``period`` every ``depth`` periods; keep the last two.

    Two checkpoints ``depth`` apart always include one at or before any of the last ``depth``
    periods, which is what a revision may touch. Snapshotting every period would cost more
    than the detectors themselves.
    """
    if depth <= 0:
        return
    if state.checkpoints and period - state.checkpoints[-1][0] < depth:
        return
    state.checkpoints.append((period, {n: d.snapshot() for n, d in state.detectors.items()}))
    while len(state.checkpoints) > 2:
        state.checkpoints.popleft()


def reevaluate(
    state: SeriesState, period: int, inputs: Inputs, depth: int
) -> dict[int, list[Finding]] | None:
    """Rewind to the last checkpoint at or before ``period`` and replay through ``state.last``.

    Returns the new findings of ``period`` and every later period, or None when ``period`` is
    older than the checkpoints reach or than ``depth`` (the revised value is then kept for the
    future but not re-judged).
    """
    last = state.last
    usable = [(p, snaps) for p, snaps in state.checkpoints if p <= period]
    if last is None or not usable or period < last - depth + 1:
        return None
    start, snaps = usable[-1]
    state.detectors = {name: restore(snap) for name, snap in snaps.items()}
    state.checkpoints = deque((p, s) for p, s in state.checkpoints if p < start)
    replayed: dict[int, list[Finding]] = {}
    previous: int | None = None
    for p in range(start, last + 1):
        value = state.value(p)
        if value is None:
            continue
        if previous is not None and p - previous > 1:
            state.last = previous
            _bridge(state, p, value, inputs)
        _checkpoint(state, p, depth)
        findings = _step(state, p, value, inputs)
        previous = p
        if p >= period:
            replayed[p] = findings
            _remember_alarms(state, p, findings, depth)
    state.last = last
    return replayed


def _step(state: SeriesState, period: int, value: float, inputs: Inputs) -> list[Finding]:
    findings = []
    refs: tuple[float, ...] | None = None
    scale: float | None = None
    refs_loaded = scale_loaded = False
    for name, detector in state.detectors.items():
        if name in REFERENCE_DETECTORS:
            if not refs_loaded:
                refs, refs_loaded = inputs.references(period), True
            if refs is None:
                continue
            assessment, alarm = detector.learn(DivergencePoint(value, refs))
        else:
            if not scale_loaded:
                scale, scale_loaded = inputs.scale(period), True
            if scale is None:
                continue
            assessment, alarm = detector.learn(value * scale)
            # Report what was expected in the series' own units, not the relative ones.
            assessment = Assessment(
                assessment.score, assessment.baseline / scale, assessment.direction
            )
        findings.append(Finding(name, period, assessment, alarm, detector.params.threshold))
    return findings


def _bridge(state: SeriesState, period: int, value: float, inputs: Inputs) -> None:
    """Feed linearly interpolated values for the missing months (learned, never alarmed)."""
    assert state.last is not None
    start, end = state.history[state.last].value, value
    steps = period - state.last
    for i in range(1, steps):
        month = state.last + i
        interpolated = start + (end - start) * i / steps
        for name, detector in state.detectors.items():
            if name in REFERENCE_DETECTORS:
                refs = inputs.references(month)
                if refs is not None:
                    detector.update(DivergencePoint(interpolated, refs))
            else:
                scale = inputs.scale(month)
                if scale is not None:
                    detector.update(interpolated * scale)


def _remember_alarms(state: SeriesState, period: int, findings: list[Finding], depth: int) -> None:
    state.alarms[period] = frozenset(f.detector for f in findings if f.alarm)
    for old in [p for p in state.alarms if p <= period - max(depth, 1)]:
        del state.alarms[old]
