"""Per-series state: recent values (revision-aware) and the detectors watching the series.

A series is evaluated once per period, in period order. Before each evaluation the detectors'
snapshots are kept for the last ``revision_depth`` periods, so a revised figure can rewind the
detectors to just before its period and replay the later periods with the corrected value:
the detectors end up exactly where they would be had the revised figure come first.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final, NamedTuple, Protocol

from tutka.detectors.base import Assessment, JSONObject
from tutka.detectors.divergence import DivergencePoint
from tutka.detectors.registry import AnyDetector, restore
from tutka.detectors.relative_shift import RelativePoint
from tutka.streams.signals import SeriesKey

_new = tuple.__new__
#: Values kept per series: enough for year-on-year features and a few years of plots.
HISTORY_MONTHS: Final = 48
#: Detectors that judge a series against reference series rather than its own values alone.
REFERENCE_DETECTORS: Final = frozenset({"divergence"})
#: Detectors that follow a series' share of one reference count (the rest of the country).
SHARE_DETECTORS: Final = frozenset({"relative_shift"})


class Inputs(Protocol):
    """What a series' detectors need from outside the series, per period.

    ``references``: the reference values (rest of the parent area, rest of the country …) for
    the divergence detector, or None when missing. ``scale``: the factor that makes the series
    relative to the country (1.0 for the country itself), or None when it cannot be computed.
    ``reference``: the count a share detector divides by (the country's; 1.0 when the series is
    judged on its own), or None when missing. ``threshold``: a detector's calibrated
    threshold for this series, or None to use its own.
    """

    def references(self, period: int) -> tuple[float, ...] | None:
        """The reference values of ``period`` for the divergence detector (None when missing)."""

    def scale(self, period: int) -> float | None:
        """The factor that makes ``period``'s value relative to the country (None when unknown)."""

    def reference(self, period: int) -> float | None:
        """The count a share detector divides ``period``'s value by (None when missing)."""

    def threshold(self, detector: str) -> float | None:
        """The calibrated threshold of ``detector`` for this series (None: its own)."""


class _Unscaled:
    """No references, and the series' own scale."""

    def references(self, period: int) -> tuple[float, ...] | None:
        return None

    def scale(self, period: int) -> float | None:
        return 1.0

    def reference(self, period: int) -> float | None:
        return 1.0

    def threshold(self, detector: str) -> float | None:
        return None


UNSCALED: Final[Inputs] = _Unscaled()


class Point(NamedTuple):
    """A stored figure (a named tuple: cheap to build, and not tracked by the garbage collector)."""

    value: float
    revision: int


class History:
    """A series' stored values by period, in two flat arrays from the oldest period kept.

    It behaves as a ``dict[int, Point]`` (the first form of this state) at about a tenth of the
    memory: no object per value, and nothing for the garbage collector to walk. Periods
    without a value inside the span hold the revision -1.

    >>> h = History()
    >>> h[24001] = Point(10.0, 0)
    >>> h[23999] = Point(8.0, 1)
    >>> len(h), h.get(24000), h.value(23999), list(h.items())
    (2, None, 8.0, [(23999, Point(value=8.0, revision=1)), (24001, Point(value=10.0, revision=0))])
    >>> h.drop_through(23999)
    >>> list(h.periods()), h.span
    ([24001], 1)
    """

    __slots__ = ("_count", "_first", "_revisions", "_values")

    def __init__(self, points: Iterable[tuple[int, Point]] = ()) -> None:
        self._first = 0
        self._values = array("d")
        self._revisions = array("q")
        self._count = 0
        for period, point in points:
            self[period] = point

    @classmethod
    def from_columns(cls, first: int, values: array[float], revisions: array[int]) -> History:
        """The history whose oldest kept period is ``first``, as :meth:`columns` gives it."""
        if len(values) != len(revisions):
            raise ValueError(f"{len(values)} values but {len(revisions)} revisions")
        history = cls()
        history._first = first if len(revisions) else 0
        history._values = values
        history._revisions = revisions
        history._count = sum(1 for r in revisions if r >= 0)
        return history

    def columns(self) -> tuple[int, array[float], array[int]]:
        """The oldest kept period, then the values and revisions from it (-1: no value)."""
        return self._first, self._values, self._revisions

    def __len__(self) -> int:
        return self._count

    @property
    def span(self) -> int:
        """Periods from the oldest to the newest kept (the arrays' length)."""
        return len(self._revisions)

    def get(self, period: int) -> Point | None:
        """The value and revision of ``period``, or None when it has none."""
        i = period - self._first
        if 0 <= i < len(self._revisions):
            revision = self._revisions[i]
            if revision >= 0:
                return _new(Point, (self._values[i], revision))
        return None

    def value(self, period: int) -> float | None:
        """The value of ``period``, or None when it has none."""
        i = period - self._first
        if 0 <= i < len(self._revisions) and self._revisions[i] >= 0:
            return self._values[i]
        return None

    def __getitem__(self, period: int) -> Point:
        point = self.get(period)
        if point is None:
            raise KeyError(period)
        return point

    def revision(self, period: int) -> int:
        """The stored revision of ``period``; -1 when there is no value."""
        i = period - self._first
        return self._revisions[i] if 0 <= i < len(self._revisions) else -1

    def append_next(self, period: int, value: float, revision: int) -> bool:
        """Store ``value`` if ``period`` is the month after the newest kept; else False.

        By far the most common case (a figure of the next release), taken without the look-ups
        of :meth:`put`; otherwise nothing is stored.
        """
        revisions = self._revisions
        if period - self._first != len(revisions) or not revisions or revision < 0:
            return False
        self._values.append(value)
        revisions.append(revision)
        self._count += 1
        return True

    def __setitem__(self, period: int, point: Point) -> None:
        self.put(period, *point)

    def put(self, period: int, value: float, revision: int) -> None:
        """Store ``value`` as ``revision`` of ``period``, growing the arrays to reach it."""
        if revision < 0:
            raise ValueError(f"a revision cannot be negative, got {revision}")
        revisions = self._revisions
        if period - self._first == len(revisions) and revisions:
            # The month after the newest kept: by far the most common case.
            self._values.append(value)
            revisions.append(revision)
            self._count += 1
            return
        if not revisions:
            self._first = period
        elif period < self._first:
            gap = self._first - period
            self._values = array("d", bytes(8 * gap)) + self._values
            self._revisions = array("q", [-1]) * gap + self._revisions
            self._first = period
        i = period - self._first
        if i >= len(self._revisions):
            gap = i - len(self._revisions) + 1
            self._values.extend(array("d", bytes(8 * gap)))
            self._revisions.extend(array("q", [-1]) * gap)
        if self._revisions[i] < 0:
            self._count += 1
        self._values[i] = value
        self._revisions[i] = revision

    def drop_through(self, period: int) -> None:
        """Forget every value of ``period`` and before."""
        cut = min(max(period - self._first + 1, 0), len(self._revisions))
        if cut == 0:
            return
        self._count -= sum(1 for r in self._revisions[:cut] if r >= 0)
        keep = len(self._revisions)
        for i in range(cut, len(self._revisions)):
            if self._revisions[i] >= 0:
                keep = i
                break
        self._values = self._values[keep:]
        self._revisions = self._revisions[keep:]
        self._first += keep
        if not self._revisions:
            self._first = 0

    def periods(self) -> Iterator[int]:
        """The periods with a value, oldest first."""
        first = self._first
        return (first + i for i, r in enumerate(self._revisions) if r >= 0)

    def items(self) -> Iterator[tuple[int, Point]]:
        """(period, point) pairs, oldest first."""
        first, values = self._first, self._values
        return ((first + i, Point(values[i], r)) for i, r in enumerate(self._revisions) if r >= 0)


class Finding(NamedTuple):
    """A detector's assessment of the series in one period."""

    detector: str
    period: int
    assessment: Assessment
    alarm: bool
    threshold: float
    #: Whether the detector was past its warm-up (an unready detector's score means nothing).
    ready: bool = True


class Pristine:
    """A rule's detectors before they learn anything, shared by every series of the rule.

    A series starts with these, and with their one snapshot as its checkpoints, and gets
    detectors of its own only when one is about to learn (copy on write). Many breakdown series
    never reach a detector (nothing national to be relative to): they then cost no detector
    state at all.
    """

    __slots__ = ("_make", "detectors", "snapshot")

    def __init__(self, make: Callable[[], dict[str, AnyDetector]]) -> None:
        self._make = make
        #: Never taught: read-only (the mapping is a proxy; the detectors are left alone).
        self.detectors: Mapping[str, AnyDetector] = MappingProxyType(make())
        self.snapshot: dict[str, JSONObject] = {
            name: detector.snapshot() for name, detector in self.detectors.items()
        }

    def fresh(self) -> dict[str, AnyDetector]:
        """Detectors of its own for a series, as they start."""
        return self._make()


@dataclass(slots=True)
class SeriesState:
    """One series in the engine: its detectors, history, checkpoints for revisions and alarms."""

    key: SeriesKey
    rule: str
    detectors: Mapping[str, AnyDetector]
    history: History = field(default_factory=History)
    last: int | None = None
    #: At most two (a list: a deque's first block alone is 624 bytes, for every series).
    checkpoints: list[tuple[int, dict[str, JSONObject]]] = field(default_factory=list)
    alarms: dict[int, frozenset[str]] = field(default_factory=dict)
    #: The country's (rest-of-country) value when the series started: relative values are
    #: scaled by anchor / reference so they stay on the series' own count scale.
    anchor: float | None = None
    #: Whether the detectors may have changed since the last checkpoint (if not, the next
    #: checkpoint is that one again).
    unsaved: bool = True
    #: The shared detectors ``detectors`` still are (None once the series has its own).
    pristine: Pristine | None = None

    def value(self, period: int) -> float | None:
        """The series' value in ``period``, or None."""
        return self.history.value(period)


def record(state: SeriesState, period: int, value: float, revision: int) -> str:
    """Store a value; returns 'new', 'revised', 'duplicate' or 'stale' (an older revision)."""
    history = state.history
    if history.append_next(period, value, revision):
        if len(history) > HISTORY_MONTHS + 12:
            _trim(state, period)
        return "new"
    existing = history.revision(period)
    if existing < 0:
        outcome = "new"
    elif revision < existing:
        return "stale"
    elif history.value(period) == value:
        if revision > existing:
            history.put(period, value, revision)
        return "duplicate"
    else:
        outcome = "revised"
    history.put(period, value, revision)
    _trim(state, period)
    return outcome


def _trim(state: SeriesState, period: int) -> None:
    if len(state.history) <= HISTORY_MONTHS + 12:
        return  # trim in batches: this runs for every figure
    newest = max(period, state.last if state.last is not None else period)
    state.history.drop_through(newest - HISTORY_MONTHS)


def evaluate(
    state: SeriesState,
    period: int,
    inputs: Inputs,
    depth: int,
    max_gap: int,
    pristine: Pristine,
) -> list[Finding]:
    """Assess then learn the value stored for ``period`` (which must be after ``state.last``)."""
    value = state.history.value(period)
    last = state.last
    if value is None or (last is not None and period <= last):
        raise ValueError(f"{state.key}: nothing new to evaluate for period {period}")
    if last is not None:
        gap = period - last - 1
        if gap > max_gap:
            # Too long a silence to bridge: start the detectors afresh rather than guess.
            state.detectors, state.pristine = pristine.detectors, pristine
            state.unsaved = True
            state.checkpoints.clear()
            state.alarms.clear()
        elif gap > 0:
            _bridge(state, period, value, inputs)
    checkpoints = state.checkpoints
    if not checkpoints or period - checkpoints[-1][0] >= depth:  # (most periods: none due)
        _checkpoint(state, period, depth)
    findings = _step(state, period, value, inputs)
    state.last = period
    if findings or state.alarms:  # (nothing to remember or forget otherwise)
        _remember_alarms(state, period, findings, depth)
    return findings


def _checkpoint(state: SeriesState, period: int, depth: int) -> None:
    """Snapshot the detectors before ``period`` every ``depth`` periods; keep the last two.

    Two checkpoints ``depth`` apart always include one at or before any of the last ``depth``
    periods, which is what a revision may touch. Snapshotting every period would cost more
    than the detectors themselves; detectors unchanged since the last checkpoint share its
    snapshot (snapshots are never changed once taken).
    """
    if depth <= 0:
        return
    checkpoints = state.checkpoints
    if checkpoints and period - checkpoints[-1][0] < depth:
        return
    if state.pristine is not None:
        snaps = state.pristine.snapshot
    elif state.unsaved or not checkpoints:
        snaps = {n: d.snapshot() for n, d in state.detectors.items()}
        state.unsaved = False
    else:
        snaps = checkpoints[-1][1]
    checkpoints.append((period, snaps))
    while len(checkpoints) > 2:
        del checkpoints[0]


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
    state.pristine = None
    state.unsaved = True
    state.checkpoints = [(p, s) for p, s in state.checkpoints if p < start]
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
    """Every detector of the series judges ``value`` (scored before it learns it).

    A detector whose input is missing this period (no references, reference or scale) skips it.
    Each outside input is asked of ``inputs`` once, and only if a detector needs it.
    """
    findings = []
    references: tuple[float, ...] | _Unasked | None = _UNASKED
    reference: float | _Unasked | None = _UNASKED
    scale: float | _Unasked | None = _UNASKED
    for name in state.detectors:
        kind = _KINDS.get(name, _OWN)
        x: object
        own: float | None = None  # the scale that made x relative to the country
        if kind is _OWN:
            if isinstance(scale, _Unasked):
                scale = inputs.scale(period)
            if scale is None:
                continue
            x, own = value * scale, scale
        elif kind is _REFERENCES:
            if isinstance(references, _Unasked):
                references = inputs.references(period)
            if references is None:
                continue
            x = _new(DivergencePoint, (value, references))
        else:
            if isinstance(reference, _Unasked):
                reference = inputs.reference(period)
            if reference is None:
                continue
            x = _new(RelativePoint, (value, reference))
        calibrated = inputs.threshold(name)
        detector = _learner(state, name)
        # (A value made relative is reported with what was expected in the series' own units.)
        findings.append(_judge(detector, name, period, x, calibrated, own))
    return findings


class _Unasked:
    """The marker of an input not asked for yet (None is an answer: the input is missing)."""

    __slots__ = ()


_UNASKED: Final = _Unasked()
#: What a detector takes besides the value: the value relative to the country (most), the
#: references (divergence) or the reference count (a share detector).
_OWN: Final = "own"
_REFERENCES: Final = "references"
_SHARE: Final = "share"
_KINDS: Final[dict[str, str]] = {
    **dict.fromkeys(REFERENCE_DETECTORS, _REFERENCES),
    **dict.fromkeys(SHARE_DETECTORS, _SHARE),
}


def _judge(
    detector: AnyDetector,
    name: str,
    period: int,
    x: object,
    calibrated: float | None,
    scale: float | None = None,
) -> Finding:
    """Assess ``x``, then learn it; alarm on the calibrated threshold when there is one.

    Without a calibrated threshold the detector decides itself (its ``learn``, its own
    threshold); with one, the alarm is the calibrated threshold reached by a ready detector.
    With a ``scale``, the baseline is divided by it (back to the series' own units).
    """
    ready = detector.ready
    if calibrated is None:
        assessment, alarm = detector.learn(x)
        threshold = detector.params.threshold
    else:
        # (Assessed then learnt in one step: ``learn`` is exactly ``assess`` then ``update``,
        # and its own alarm is not the calibrated one.)
        assessment, _ = detector.learn(x)
        threshold = calibrated
        alarm = ready and assessment.score >= threshold
    if scale is not None:
        score, baseline, direction = assessment
        assessment = _new(Assessment, (score, baseline / scale, direction))
    # (Without the named tuple's ``__new__``, a Python function: one finding per detector and
    # series every month.)
    return _new(Finding, (name, period, assessment, alarm, threshold, ready))


def _bridge(state: SeriesState, period: int, value: float, inputs: Inputs) -> None:
    """Feed linearly interpolated values for the missing months (learned, never alarmed)."""
    if state.last is None:
        raise ValueError(f"{state.key}: no earlier period to bridge from")
    start, end = state.history[state.last].value, value
    steps = period - state.last
    for i in range(1, steps):
        month = state.last + i
        interpolated = start + (end - start) * i / steps
        for name in state.detectors:
            if name in REFERENCE_DETECTORS:
                refs = inputs.references(month)
                if refs is not None:
                    _learner(state, name).update(DivergencePoint(interpolated, refs))
            elif name in SHARE_DETECTORS:
                reference = inputs.reference(month)
                if reference is not None:
                    _learner(state, name).update(RelativePoint(interpolated, reference))
            else:
                scale = inputs.scale(month)
                if scale is not None:
                    _learner(state, name).update(interpolated * scale)


def _learner(state: SeriesState, name: str) -> AnyDetector:
    """The series' own detector ``name``, about to learn: copied from the pristine set first."""
    if state.pristine is not None:
        state.detectors = state.pristine.fresh()
        state.pristine = None
    state.unsaved = True
    return state.detectors[name]


def _remember_alarms(state: SeriesState, period: int, findings: list[Finding], depth: int) -> None:
    """Note which detectors alarmed in ``period`` (a revision compares with it).

    Only periods with an alarm are kept (a period not kept had none): most periods have none,
    and this runs for every evaluation.
    """
    alarms = state.alarms
    alarmed = [f.detector for f in findings if f.alarm]
    if alarmed:
        alarms[period] = frozenset(alarmed)
    elif not alarms:
        return
    else:
        alarms.pop(period, None)
    oldest = period - max(depth, 1)
    for old in [p for p in alarms if p <= oldest]:
        del alarms[old]
