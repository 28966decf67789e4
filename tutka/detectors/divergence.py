"""Reference divergence: an area drifting away from its parent region and the country.

Shift-share thinking: an area's change is the reference's change (the national or regional
component) plus its own (the local component). Only the local component is news about the area;
a nationwide shock moves every area and belongs to the national detectors.

For each reference *j* (e.g. the parent region, then the country) the detector takes the log ratio
``z_j = log((local + c) / (ref_j + c))`` and its year-on-year change::

    d_j(t) = z_j(t) - z_j(t - season)

which is the local year-on-year change minus the reference's; seasonal patterns that differ between
areas cancel, and so does anything local and reference share. ``d_j`` is judged robustly, as in
:mod:`tutka.detectors.seasonal_baseline`: minus the median of earlier ``d_j`` (a steady relative
trend is not an anomaly), over ``sqrt(spread² + counting noise)`` floored by ``min_scale``, where
the spread is the MAD-sigma of earlier ``d_j`` and the Poisson noise of the four counts involved is
``1/(local + c) + 1/(local_then + c) + 1/(ref_j + c) + 1/(ref_j_then + c)``.

The area diverges only if it diverges from *every* reference in the same direction: the score is
the smallest robust ``|z|`` over the references when all their signs agree, else 0 (and the
direction is then 0). A municipality worsening while its region and the country improve scores;
a region-wide closure wave that hits the municipality and its region alike does not, and neither
does a nationwide shock.

The baseline is the local value expected had the area followed the first reference:
``(ref_1 + c) * exp(z_1(t - season) + median earlier d_1) - c``.

Persistent divergence becomes the new normal: after ``adopt_after`` consecutive alarms in the same
direction the stored ratios from before the run are shifted by the median deviation of the run
(the run's own ratios already sit at the new level), and with ``protect`` alarmed points never
widen the spread.

Example: job-seekers in a town (about 5 000) against its region (about 20 000) and the country
(about 200 000), each with its own seasonal pattern; a nationwide +40 % shock in months
30-44 and, at month 60, a local rise of 35 % that the references do not share.

>>> import math, random
>>> rng = random.Random(11)
>>> def season(t, phase): return 1 + 0.15 * math.sin(2 * math.pi * (t + phase) / 12)
>>> def point(t):
...     shock = 1.4 if 30 <= t < 45 else 1.0
...     local = 5000 * season(t, 0) * shock * (1.35 if t >= 60 else 1.0)
...     region, country = 20000 * season(t, 2) * shock, 200000 * season(t, 3) * shock
...     noisy = [rng.gauss(m, 1.5 * math.sqrt(m)) for m in (local, region, country)]
...     return DivergencePoint(noisy[0], (noisy[1], noisy[2]))
>>> points = [point(t) for t in range(96)]
>>> det = ReferenceDivergence()
>>> [t for t, x in enumerate(points) if det.learn(x)[1]]
[60, 61, 62, 63]

References: Dunn (1960) and Esteban-Marquillas (1972) on shift-share analysis; Hampel (1974) for
the MAD scale; Statistics Finland's year-on-year comparisons of the employment service statistics.
"""

from __future__ import annotations

import math
from collections import deque
from typing import ClassVar, NamedTuple

from pydantic import Field

from tutka.detectors.base import (
    Assessment,
    BaseDetector,
    DetectorParams,
    JSONObject,
    JSONValue,
    capped,
    floats,
    integer,
)
from tutka.detectors.robust import RobustRatioParams, mad_sigma, median


class DivergencePoint(NamedTuple):
    """One month of an area's count and the same month of its reference series."""

    local: float
    references: tuple[float, ...]


class ReferenceDivergenceParams(RobustRatioParams):
    """Hyperparameters of :class:`ReferenceDivergence`: robust-ratio ones, alarm |z|, references."""

    threshold: float = Field(default=4.0, gt=0, description="alarm at this robust |z|")
    max_references: int = Field(default=4, ge=1, le=16, description="most reference series")


class _Judged(NamedTuple):
    deviations: list[float]  # d_j minus the median of earlier d_j, per reference
    scales: list[float]
    baseline: float


def _rows(value: JSONValue, expected: int) -> list[list[float]]:
    if not isinstance(value, list) or len(value) != expected:
        raise ValueError(f"expected a list of {expected} lists of numbers, got {value!r}")
    return [floats(row) for row in value]


class ReferenceDivergence(BaseDetector[DivergencePoint, ReferenceDivergenceParams]):
    """Flags an area whose year-on-year change departs from every reference's, the same way."""

    name: ClassVar[str] = "divergence"
    Params: ClassVar[type[DetectorParams]] = ReferenceDivergenceParams

    def __init__(self, params: ReferenceDivergenceParams | None = None) -> None:
        super().__init__(params)
        self._k = 0  # references per point, fixed by the first point
        self._local: deque[float] = deque(maxlen=self.params.season)
        self._refs: list[deque[float]] = []
        self._z: list[deque[float]] = []
        self._d: list[deque[float]] = []
        self._run: list[deque[float]] = []
        self._run_direction = 0
        self._n = 0
        # Derived from self._d (not stored): the median and MAD-sigma of earlier changes.
        self._drift: list[float] = []
        self._spread: list[float] = []

    def _allocate(self, k: int) -> None:
        p = self.params
        self._k = k
        self._refs = [deque(maxlen=p.season) for _ in range(k)]
        self._z = [deque(maxlen=p.season) for _ in range(k)]
        self._d = [deque(maxlen=p.spread_window) for _ in range(k)]
        self._run = [deque(maxlen=p.adopt_after) for _ in range(k)]
        self._drift = [0.0] * k
        self._spread = [0.0] * k

    @property
    def ready(self) -> bool:
        """Whether enough year-on-year changes are known to judge a departure (``min_ratios``)."""
        return self._k > 0 and len(self._d[0]) >= self.params.min_ratios

    def _check(self, x: DivergencePoint) -> tuple[float, tuple[float, ...]]:
        local, refs = x
        k, most = len(refs), self.params.max_references
        if not 1 <= k <= most:
            raise ValueError(f"a divergence point needs 1 to {most} references, got {k}")
        if self._k and k != self._k:
            raise ValueError(
                f"this divergence detector was fed {self._k} reference(s) per point, got {k}"
            )
        for value in (local, *refs):
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"divergence values must be finite counts >= 0, got {x!r}")
        return local, refs

    def _refresh(self) -> None:
        ready = self.ready
        for j, changes in enumerate(self._d):
            drift = median(changes) if ready else 0.0
            self._drift[j] = drift
            self._spread[j] = mad_sigma(changes, drift) if ready else 0.0

    def _judge(self, local: float, refs: tuple[float, ...]) -> _Judged | None:
        """Deviations and scales per reference, or None before a full season of history."""
        if len(self._local) < self.params.season:
            return None
        c, floor = self.params.offset, self.params.min_scale**2
        local_noise = 1.0 / (local + c) + 1.0 / (self._local[0] + c)
        deviations, scales = [], []
        for j, ref in enumerate(refs):
            then = self._z[j][0]
            change = math.log((local + c) / (ref + c)) - then
            noise = local_noise + 1.0 / (ref + c) + 1.0 / (self._refs[j][0] + c)
            spread = self._spread[j]
            deviations.append(change - self._drift[j])
            scales.append(math.sqrt(max(spread * spread + noise, floor)))
        baseline = (refs[0] + c) * math.exp(self._z[0][0] + self._drift[0]) - c
        return _Judged(deviations, scales, max(baseline, 0.0))

    @staticmethod
    def _verdict(judged: _Judged) -> tuple[float, int]:
        """The smallest robust |z| and the common direction; (0, 0) if the signs disagree."""
        zs = [dev / scale for dev, scale in zip(judged.deviations, judged.scales, strict=True)]
        if all(z > 0 for z in zs):
            return min(zs), 1
        if all(z < 0 for z in zs):
            return min(-z for z in zs), -1
        return 0.0, 0

    def assess(self, x: DivergencePoint) -> Assessment:
        """The smallest robust |z| of a departure from all references, one way; no state changes."""
        local, refs = self._check(x)
        return self._assessment(local, self._judge(local, refs))

    def _assessment(self, local: float, judged: _Judged | None) -> Assessment:
        if judged is None:
            return Assessment.quiet(local)
        if not self.ready:
            return Assessment.quiet(judged.baseline)
        score, direction = self._verdict(judged)
        return Assessment(capped(score), judged.baseline, direction)

    def update(self, x: DivergencePoint) -> None:
        """Learn ``x``'s changes against each reference (the first point fixes how many)."""
        local, refs = self._check(x)
        if not self._k:
            self._allocate(len(refs))
        self._fold(local, refs, self._judge(local, refs))

    def learn(self, x: DivergencePoint) -> tuple[Assessment, bool]:
        """Assess then update, judging the point once (the same result as both)."""
        # assess + update, judging the point once
        local, refs = self._check(x)
        if not self._k:
            self._allocate(len(refs))
        judged = self._judge(local, refs)
        assessment = self._assessment(local, judged)
        alarm = self.is_alarm(assessment)
        self._fold(local, refs, judged)
        return assessment, alarm

    def _fold(self, local: float, refs: tuple[float, ...], judged: _Judged | None) -> None:
        if judged is not None:
            score, direction = self._verdict(judged)
            alarmed = self.ready and score >= self.params.threshold
            if alarmed:
                self._track_run(judged.deviations, direction)
            else:
                self._clear_run()
            if not (alarmed and self.params.protect):
                for j, dev in enumerate(judged.deviations):
                    self._d[j].append(dev + self._drift[j])
                self._refresh()
        c = self.params.offset
        self._local.append(local)
        for j, ref in enumerate(refs):
            self._refs[j].append(ref)
            self._z[j].append(math.log((local + c) / (ref + c)))
        self._n += 1

    def _clear_run(self) -> None:
        for run in self._run:
            run.clear()
        self._run_direction = 0

    def _track_run(self, deviations: list[float], direction: int) -> None:
        if direction != self._run_direction:
            self._clear_run()
            self._run_direction = direction
        for run, dev in zip(self._run, deviations, strict=True):
            run.append(dev)
        length = len(self._run[0])
        if length >= self.params.adopt_after:
            self._adopt([median(run) for run in self._run], length)

    def _adopt(self, shifts: list[float], length: int) -> None:
        # The divergence has persisted: move the ratios from before the run to the new level so
        # that it becomes the baseline. The run's earlier points (the newest `length - 1` ratios)
        # are already there; shifting them too would fake a reverse divergence a season later.
        for ring, shift in zip(self._z, shifts, strict=True):
            old = len(ring) - (length - 1)
            for i in range(max(old, 0)):
                ring[i] += shift
        self._clear_run()

    def _state(self) -> JSONObject:
        return {
            "references": self._k,
            "local": list(self._local),
            "refs": [list(ring) for ring in self._refs],
            "z": [list(ring) for ring in self._z],
            "d": [list(ring) for ring in self._d],
            "run": [list(ring) for ring in self._run],
            "run_direction": self._run_direction,
            "n": self._n,
        }

    def _load_state(self, state: JSONObject) -> None:
        k = integer(state["references"])
        if not 0 <= k <= self.params.max_references:
            raise ValueError(f"snapshot has {k} references; at most {self.params.max_references}")
        self._allocate(k)
        self._local.extend(floats(state["local"]))
        for name, rings in (
            ("refs", self._refs),
            ("z", self._z),
            ("d", self._d),
            ("run", self._run),
        ):
            for ring, row in zip(rings, _rows(state[name], k), strict=True):
                ring.extend(row)
        self._run_direction = integer(state["run_direction"])
        self._n = integer(state["n"])
        self._refresh()
