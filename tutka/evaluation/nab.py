"""The Numenta Anomaly Benchmark (NAB v1.1) scoring method, implemented from its description.

Written from the NAB paper (Lavin & Ahmad, 2015) and the behaviour documented in the shared data's
README; NAB's own code is not used. The published per-row ``S(t)`` columns and per-file scores let
``tests/shared/test_nab_conformance.py`` prove that this scorer agrees with NAB's.

The method, for one data file of ``n`` rows:

* The first ``min(floor(0.15 n), 0.15 × 5000)`` rows are *probationary*: detections there are
  ignored, and a window lying wholly inside them is not scored at all.
* Each labelled anomaly window ``[left, right]`` (row indices, inclusive, width ``w``) is worth
  ``tpWeight`` when detected and costs ``fnWeight`` when missed. Only the *earliest* detection in a
  window counts, weighted by the scaled sigmoid of its relative position
  ``p = -(right - i + 1) / w`` (−1 at the left edge, near 0 at the right edge), normalised so that a
  detection on the window's first row earns exactly ``tpWeight``.
* A detection outside every window costs ``fpWeight`` — less when it comes just after a window
  (``p = (i - right_prev) / (w_prev - 1)``, the sigmoid is 0 at the edge and −1 from 3 widths on),
  the full cost when no window precedes it.
* A detection is a row whose anomaly score reaches the threshold. The threshold of a detector and
  profile is optimised over the whole corpus: NAB's hill climb (:func:`searched_threshold`),
  which reproduces the published results, or the exact sweep's optimum (:func:`best_threshold`).
* The corpus score is normalised: ``100 (S − S_null) / (S_perfect − S_null)`` where the null
  detector misses every window (``−fnWeight`` each) and the perfect one detects each on its first
  row (``tpWeight`` each).

>>> profile = PROFILES["standard"]
>>> layout = FileLayout.of(rows=20, windows=[(10, 14)])   # probation: the first 3 rows
>>> scores = np.zeros(20); scores[10] = 1.0                 # detected on the window's first row
>>> round(score_file(layout, scores, threshold=0.5, profile=profile).score, 6)
1.0
>>> scores[2] = 1.0; scores[18] = 1.0  # probationary (ignored); 4 rows after: 0.11 × σ(1) ≈ 0.1085
>>> round(score_file(layout, scores, threshold=0.5, profile=profile).score, 4)
0.8915
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]

PROBATION_SHARE = 0.15
PROBATION_CAP_ROWS = 5000  # the probationary share applies to at most this many rows (750)
#: The sigmoid's steepness and the distance (in window widths) after which a false positive costs
#: its full weight, as in the NAB paper.
SIGMOID_STEEPNESS = 5.0
FULL_COST_AFTER_WIDTHS = 3.0
#: NAB's sweep starts above every possible score, so "detect nothing" is always a candidate.
NOTHING_DETECTED = 1.1

OUTSIDE = -1  # window id of a row outside every window
PROBATION = -2  # window id of a probationary row


class CostMatrix(BaseModel):
    """One NAB application profile (``config/profiles.json``)."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    tp_weight: float = Field(gt=0)
    fp_weight: float = Field(ge=0)
    fn_weight: float = Field(ge=0)


PROFILES: Mapping[str, CostMatrix] = {
    "standard": CostMatrix(tp_weight=1.0, fp_weight=0.11, fn_weight=1.0),
    "reward_low_FP_rate": CostMatrix(tp_weight=1.0, fp_weight=0.22, fn_weight=1.0),
    "reward_low_FN_rate": CostMatrix(tp_weight=1.0, fp_weight=0.11, fn_weight=2.0),
}


def scaled_sigmoid(position: float) -> float:
    """NAB's weighting: +1 far before a window's end, 0 at the edge, −1 three widths after it.

    >>> round(scaled_sigmoid(-1.0), 4), scaled_sigmoid(0.0), scaled_sigmoid(3.5)
    (0.9866, 0.0, -1.0)
    """
    if position > FULL_COST_AFTER_WIDTHS:
        return -1.0
    return 2.0 / (1.0 + math.exp(SIGMOID_STEEPNESS * position)) - 1.0


def probationary_rows(rows: int) -> float:
    """Rows at the start of a file whose detections are ignored (a float, as NAB compares it)."""
    return min(math.floor(PROBATION_SHARE * rows), PROBATION_SHARE * PROBATION_CAP_ROWS)


@dataclass(frozen=True)
class FileLayout:
    """Where a file's windows lie and what a detection on each row would be worth (unweighted).

    ``window`` holds each row's window number (``OUTSIDE``/``PROBATION`` otherwise); ``tp_value``
    the normalised sigmoid a detection there earns inside a window; ``fp_value`` the sigmoid it
    costs outside (negative; multiply by ``fp_weight``).
    """

    rows: int
    windows: int
    window: Ints
    tp_value: Floats
    fp_value: Floats
    scored_windows: frozenset[int]

    @classmethod
    def of(cls, rows: int, windows: Sequence[tuple[int, int]]) -> FileLayout:
        """``windows``: (first row, last row) pairs, inclusive, in order, not overlapping."""
        _check_windows(rows, windows)
        window = np.full(rows, OUTSIDE, dtype=np.int64)
        tp_value = np.zeros(rows)
        fp_value = np.full(rows, -1.0)
        max_tp = scaled_sigmoid(-1.0)
        for k, (left, right) in enumerate(windows):
            width = right - left + 1
            inside = np.arange(left, right + 1)
            window[inside] = k
            positions = -(right - inside + 1) / width
            tp_value[inside] = [scaled_sigmoid(p) / max_tp for p in positions]
            following = windows[k + 1][0] if k + 1 < len(windows) else rows
            after = np.arange(right + 1, following)
            if width > 1:  # NAB divides by (width - 1); a one-row window gives no relief
                fp_value[after] = [scaled_sigmoid((i - right) / (width - 1)) for i in after]
        probation = np.arange(rows) < probationary_rows(rows)
        window[probation] = PROBATION
        scored = frozenset(int(k) for k in np.unique(window) if k >= 0)
        return cls(rows, len(windows), window, tp_value, fp_value, scored)

    def row_scores(self, detected: npt.NDArray[np.bool_], profile: CostMatrix) -> Floats:
        """The per-row score S(t): what each detection earned or cost (0 elsewhere).

        Every detection in a window carries its own sigmoid value, as in NAB's per-row output; only
        the window's earliest one enters the file score.
        """
        scores = np.zeros(self.rows)
        inside = detected & (self.window >= 0)
        outside = detected & (self.window == OUTSIDE)
        scores[inside] = self.tp_value[inside] * profile.tp_weight
        scores[outside] = self.fp_value[outside] * profile.fp_weight
        return scores


def _check_windows(rows: int, windows: Sequence[tuple[int, int]]) -> None:
    previous = -1
    for left, right in windows:
        if not 0 <= left <= right < rows:
            raise ValueError(f"window ({left}, {right}) is not inside rows 0..{rows - 1}")
        if left <= previous:
            raise ValueError(f"window ({left}, {right}) overlaps or precedes the one before it")
        previous = right


@dataclass(frozen=True)
class FileScore:
    """One file's result at one threshold, with NAB's counts (rows, after probation)."""

    score: float
    tp: int
    fp: int
    fn: int
    tn: int
    detected_windows: int


def score_file(
    layout: FileLayout, anomaly_scores: Floats, threshold: float, profile: CostMatrix
) -> FileScore:
    """Score one file's anomaly scores at ``threshold`` (a row is a detection when score ≥ it)."""
    if anomaly_scores.shape != (layout.rows,):
        raise ValueError(f"expected {layout.rows} anomaly scores, got {anomaly_scores.shape}")
    detected = anomaly_scores >= threshold
    row_scores = layout.row_scores(detected, profile)
    total = float(row_scores[detected & (layout.window == OUTSIDE)].sum())
    found = 0
    for k in layout.scored_windows:
        hits = np.flatnonzero(detected & (layout.window == k))
        if hits.size:
            found += 1
            total += float(row_scores[hits[0]])  # the earliest detection is worth the most
        else:
            total -= profile.fn_weight
    scorable = layout.window != PROBATION
    labelled = layout.window >= 0
    return FileScore(
        score=total,
        tp=int((detected & labelled).sum()),
        fp=int((detected & scorable & ~labelled).sum()),
        fn=int((~detected & labelled).sum()),
        tn=int((~detected & scorable & ~labelled).sum()),
        detected_windows=found,
    )


@dataclass(frozen=True)
class Candidate:
    """The corpus's raw score if every row scoring at least ``threshold`` is a detection."""

    threshold: float
    score: float


def sweep(corpus: Iterable[tuple[FileLayout, Floats]], profile: CostMatrix) -> list[Candidate]:
    """The corpus score at every distinct threshold, from "detect nothing" down to "detect all".

    Vectorised: rows of the whole corpus are sorted by anomaly score (descending); lowering the
    threshold past a row adds its false-positive cost, or raises its window's value to the best
    (earliest) detection seen so far. Windows are numbered corpus-wide.
    """
    scores_parts: list[Floats] = []
    windows_parts: list[Ints] = []
    values_parts: list[Floats] = []
    offset = 0
    scored_windows = 0
    for layout, anomaly_scores in corpus:
        scorable = layout.window != PROBATION
        window = layout.window[scorable]
        inside = window >= 0
        value = np.where(
            inside,
            layout.tp_value[scorable] * profile.tp_weight,
            layout.fp_value[scorable] * profile.fp_weight,
        )
        scores_parts.append(np.asarray(anomaly_scores, dtype=np.float64)[scorable])
        windows_parts.append(np.where(inside, window + offset, OUTSIDE))
        values_parts.append(value)
        offset += layout.windows
        scored_windows += len(layout.scored_windows)
    scores = np.concatenate(scores_parts)
    windows = np.concatenate(windows_parts)
    values = np.concatenate(values_parts)
    order = np.argsort(-scores, kind="stable")
    scores, windows, values = scores[order], windows[order], values[order]
    delta = np.where(windows == OUTSIDE, values, 0.0)
    delta += _window_improvements(windows, values, -profile.fn_weight)
    totals = -profile.fn_weight * scored_windows + np.cumsum(delta)
    # A threshold is only reached after every row with that exact score is in.
    last_of_run = np.flatnonzero(np.append(scores[1:] != scores[:-1], True))
    nothing = Candidate(NOTHING_DETECTED, -profile.fn_weight * scored_windows)
    return [nothing] + [Candidate(float(scores[i]), float(totals[i])) for i in last_of_run]


def _window_improvements(windows: Ints, values: Floats, missed: float) -> Floats:
    """How much each row (in sweep order) raises its window's best value so far."""
    improvement = np.zeros(windows.size)
    inside = np.flatnonzero(windows >= 0)
    if inside.size == 0:
        return improvement
    # Group rows by window, keeping sweep order inside each group.
    grouped = inside[np.argsort(windows[inside], kind="stable")]
    group = windows[grouped]
    best = values[grouped].copy()
    starts = np.flatnonzero(np.append(True, group[1:] != group[:-1]))
    for start, end in zip(starts, np.append(starts[1:], grouped.size), strict=True):
        best[start:end] = np.maximum.accumulate(best[start:end])
    previous = np.empty_like(best)
    previous[1:] = best[:-1]
    previous[starts] = missed
    improvement[grouped] = best - previous
    return improvement


def best_threshold(candidates: Sequence[Candidate]) -> Candidate:
    """The global optimum: the highest-scoring candidate (among equals, the highest threshold)."""
    return max(candidates, key=lambda c: c.score)  # max returns the first maximal element


def score_at(
    candidates: Sequence[Candidate], threshold: float, ascending: Sequence[float] | None = None
) -> float:
    """The corpus score when rows scoring at least ``threshold`` are detections.

    ``ascending`` (the candidates' thresholds, lowest first) may be passed in by callers that
    look up many thresholds, so it is built once.
    """
    if ascending is None:
        ascending = [c.threshold for c in reversed(candidates)]
    i = bisect.bisect_left(ascending, threshold)
    return candidates[len(candidates) - 1 - i].score if i < len(ascending) else candidates[0].score


def searched_threshold(
    candidates: Sequence[Candidate], start: float = 0.5, step: float = 0.1, tolerance: float = 1e-7
) -> Candidate:
    """The threshold NAB's published results used: a hill climb from 0.5, not the global optimum.

    The climb steps by ``step``, doubles the step after an improvement, tries the other direction
    after a failure and halves the step when neither direction helps, until the step is below
    ``tolerance``. It can stop on a local optimum (it does for ``numenta`` on reward_low_FP_rate:
    30.43 where 30.65 exists), so scores meant to sit beside the published board use it.
    """
    seen: dict[float, float] = {}
    ascending = [c.threshold for c in reversed(candidates)]

    def objective(x: float) -> float:
        if x not in seen:
            seen[x] = score_at(candidates, x, ascending)
        return seen[x]

    x, best = start, objective(start)
    while step > tolerance:
        x += step
        if objective(x) > best:
            best, step = objective(x), step * 2
            continue
        x -= 2 * step
        if objective(x) > best:
            best, step = objective(x), step * 2
            continue
        x += step
        step *= 0.5
    return Candidate(x, best)


def normalised(raw: float, windows: int, profile: CostMatrix) -> float:
    """Map a corpus score onto NAB's scale: the null detector 0, the perfect detector 100.

    >>> normalised(-116.0, 116, PROFILES["standard"]), normalised(116.0, 116, PROFILES["standard"])
    (0.0, 100.0)
    """
    null = -profile.fn_weight * windows
    perfect = profile.tp_weight * windows
    return 100.0 * (raw - null) / (perfect - null)
