"""Lasting shifts labelled with hindsight: what an area's figures say happened, years later.

The detectors must decide from the past alone; this module may look up to 24 months ahead. It
labels the *lasting* changes of an area's share of the country's unemployed, two-sided, so that
(1) a backtest can ask whether the detectors caught them early (``tutka backtest --shifts``), and
(2) the engine can audit its own old alarms and calibrate its thresholds to a false-alarm budget
(``tutka.streams.calibration``): an alarm that no lasting shift followed was a false alarm.

Definition (issue #12), per area with monthly counts ``u`` and the country's ``c``:

* ``y = log(u + 1) − log(c)``; ``s = y`` minus a per-calendar-month seasonal: the median over all
  years of ``y`` minus its centred 13-month median (months without a full window take no part);
* ``σ = 1.4826 · MAD(Δs) / √2``, the noise of one month, from the month-to-month differences;
* at month ``m`` (with 12 months before and 24 after), ``B``, ``A``, ``L`` are the medians of ``s``
  over ``m−12…m−1``, ``m…m+11`` and ``m+12…m+23``, and ``d = A − B``. ``m`` is a *candidate* when
  ``|d| ≥ 3σ``, ``|eᵈ − 1| ≥ 5 %``, ``u(m−1)·|eᵈ − 1| ≥ 50`` persons, ``L − B`` has ``d``'s sign
  with ``|L − B| ≥ |d|/2`` (it lasted), and ``(mean of s over m…m+2 − B)/d ≥ 0.6`` (it was quick);
* a run of same-sign candidates with gaps of at most 2 months is one shift, dated at its largest
  ``|d|`` (= largest ``|d|/σ``); same-polarity shifts under 12 months apart merge into the larger;
  shifts dated in an excluded period (by default the COVID-19 months 2020-03…2021-06) are dropped;
* ``d > 0`` (a growing share of the unemployed) is *negative* change; a shift is *large* when any
  of its candidate months involves ≥ 200 persons or ≥ 20 %.

>>> import numpy as np
>>> rng = np.random.default_rng(3)
>>> months = 72
>>> country = np.full(months, 100_000.0)
>>> level = np.where(np.arange(months) < 36, 1_000.0, 1_300.0)       # +30 % from month 36
>>> counts = np.round(level * np.exp(rng.normal(0, 0.02, months)))
>>> [(s.month, s.polarity, round(s.change, 2), s.large)
...  for s in lasting_shifts(counts[None, :], country, first_month=0)]
[(35, 'negative', 0.3, True)]

(Dated a month early: at month 35 the "after" median already sees 11 months of the new level,
so ``d`` is as large as at 36, and the earlier of equal months wins. The backtest's window,
three months before to six after, absorbs such offsets.)
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view

FloatArray = npt.NDArray[np.float64]

#: Months of medians before (B), after (A) and later still (L) a candidate month.
SPAN: Final = 12
MIN_SIGMAS: Final = 3.0
MIN_CHANGE: Final = 0.05
MIN_PERSONS: Final = 50.0
LASTING_SHARE: Final = 0.5
QUICK_SHARE: Final = 0.6
RUN_GAP: Final = 2
MERGE_MONTHS: Final = 12
LARGE_PERSONS: Final = 200.0
LARGE_CHANGE: Final = 0.20
#: Months of the future the label needs beyond its candidate month (A and L).
LOOKAHEAD: Final = 2 * SPAN


@dataclass(frozen=True, slots=True)
class LastingShift:
    """One labelled shift: area row, month index (absolute), log change and size."""

    row: int
    month: int
    d: float
    sigma: float
    persons: float
    large: bool

    @property
    def polarity(self) -> str:
        """``"negative"`` when the share of the unemployed grew, else ``"positive"``."""
        return "negative" if self.d > 0 else "positive"

    @property
    def direction(self) -> int:
        """+1 when the share grew, -1 when it fell (the sign of the detectors' direction)."""
        return 1 if self.d > 0 else -1

    @property
    def change(self) -> float:
        """Relative change of the area's share, e.g. 0.3 for +30 %."""
        return math.expm1(self.d)


def deseasonalised(y: FloatArray, first_month: int) -> FloatArray:
    """``y`` minus its per-calendar-month median deviation from a centred 13-month median."""
    rows, months = y.shape
    centred = np.full_like(y, np.nan)
    if months >= 13:
        with np.errstate(all="ignore"):
            centred[:, 6 : months - 6] = _nanmedian(sliding_window_view(y, 13, axis=1), axis=2)
    deviation = y - centred
    calendar = (np.arange(months) + first_month) % 12
    seasonal = np.zeros((rows, 12))
    for k in range(12):
        column = deviation[:, calendar == k]
        if column.size:
            seasonal[:, k] = _nanmedian(column, axis=1)
    return y - np.nan_to_num(seasonal)[:, calendar]


def noise(s: FloatArray) -> FloatArray:
    """σ per row: 1.4826 · MAD of the monthly differences / √2."""
    diffs = np.diff(s, axis=1)
    centre = _nanmedian(diffs, axis=1)
    mad: FloatArray = _nanmedian(np.abs(diffs - centre[:, None]), axis=1)
    return 1.4826 * mad / math.sqrt(2)


def lasting_shifts(
    counts: FloatArray,
    country: FloatArray,
    first_month: int,
    excluded: tuple[int, int] | None = None,
) -> list[LastingShift]:
    """Label every row of ``counts`` (rows = areas, columns = consecutive months).

    ``country`` is the reference count per month, one for all rows (a vector) or one per row (a
    matrix shaped like ``counts``); every row is labelled on its own, so rows labelled together
    get what each would alone. ``first_month`` is the absolute index (year × 12 + month − 1) of
    column 0; shift months are absolute too. ``excluded`` drops shifts dated in that inclusive
    range of absolute months.
    """
    months = counts.shape[1]
    if months < 2 * SPAN + LOOKAHEAD - SPAN + 1:
        return []
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        y = np.log(counts + 1.0) - np.log(np.atleast_2d(country))
        s = deseasonalised(y, first_month)
        sigma = noise(s)
        medians = _nanmedian(sliding_window_view(s, SPAN, axis=1), axis=2)
        candidates_at = np.arange(SPAN, months - LOOKAHEAD + 1)
        before = medians[:, candidates_at - SPAN]
        after = medians[:, candidates_at]
        later = medians[:, candidates_at + SPAN]
        d = after - before
        quick = np.nanmean(sliding_window_view(s, 3, axis=1), axis=2)[:, candidates_at]
        relative = np.abs(np.expm1(d))
        persons = counts[:, candidates_at - 1] * relative
        lasted = later - before
        candidate = (
            (np.abs(d) >= MIN_SIGMAS * sigma[:, None])
            & (relative >= MIN_CHANGE)
            & (persons >= MIN_PERSONS)
            & (np.sign(lasted) == np.sign(d))
            & (np.abs(lasted) >= LASTING_SHARE * np.abs(d))
            & ((quick - before) / d >= QUICK_SHARE)
        )
    found: list[LastingShift] = []
    for row in np.flatnonzero(candidate.any(axis=1)):
        cols = np.flatnonzero(candidate[row])
        runs = _runs(
            [
                (
                    int(candidates_at[j]),
                    float(d[row, j]),
                    float(persons[row, j]),
                    float(relative[row, j]),
                )
                for j in cols
            ]
        )
        shifts = [_shift_of(int(row), run, float(sigma[row]), first_month) for run in runs]
        for shift in _merged(shifts):
            if excluded is None or not excluded[0] <= shift.month <= excluded[1]:
                found.append(shift)
    return found


Candidate = tuple[int, float, float, float]  # column, d, persons, relative change


def _runs(candidates: list[Candidate]) -> list[list[Candidate]]:
    """Group month-ordered candidates into runs of one sign with gaps of at most RUN_GAP months."""
    runs: list[list[Candidate]] = []
    for candidate in candidates:
        if (
            runs
            and candidate[0] - runs[-1][-1][0] <= RUN_GAP + 1
            and math.copysign(1, candidate[1]) == math.copysign(1, runs[-1][-1][1])
        ):
            runs[-1].append(candidate)
        else:
            runs.append([candidate])
    return runs


def _shift_of(row: int, run: list[Candidate], sigma: float, first_month: int) -> LastingShift:
    """The run as one shift, dated at its largest ``|d|`` (the earliest of equal ones)."""
    column, d, _, _ = max(run, key=lambda c: abs(c[1]))
    # The size at the dated month, and "large" when any month of the run was.
    persons = next(p for c, _, p, _ in run if c == column)
    large = any(p >= LARGE_PERSONS or r >= LARGE_CHANGE for _, _, p, r in run)
    return LastingShift(row, first_month + column, d, sigma, persons, large)


def _merged(shifts: list[LastingShift]) -> list[LastingShift]:
    """Same-polarity shifts under MERGE_MONTHS apart become the larger (repeatedly)."""
    merged = sorted(shifts, key=lambda s: s.month)
    changed = True
    while changed:
        changed = False
        for i, first in enumerate(merged):
            partner = next(
                (
                    j
                    for j in range(i + 1, len(merged))
                    if merged[j].direction == first.direction
                    and merged[j].month - first.month < MERGE_MONTHS
                ),
                None,
            )
            if partner is None:
                continue
            second = merged[partner]
            keep = first if abs(first.d) >= abs(second.d) else second
            keep = LastingShift(
                keep.row,
                keep.month,
                keep.d,
                keep.sigma,
                keep.persons,
                first.large or second.large,
            )
            merged = [s for k, s in enumerate(merged) if k not in (i, partner)] + [keep]
            merged.sort(key=lambda s: s.month)
            changed = True
            break
    return merged


def _nanmedian(values: FloatArray, axis: int) -> FloatArray:
    """``np.nanmedian`` along ``axis``, bit for bit, without its masked-array detour.

    For short axes NumPy computes the NaN-median through ``numpy.ma`` (about a millisecond a
    call, most of the engine's calibration time). Here: sort (NaN last), count the values and
    average the two middle ones as NumPy does, ``(low + high) / 2`` (``low == high`` for an odd
    count, so exactly the middle value); an all-NaN lane is NaN, without a warning.
    """
    if values.size == 0 or values.shape[axis] == 0:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            empty: FloatArray = np.nanmedian(values, axis=axis)
        return empty
    ordered = np.sort(values, axis=axis)
    counts = np.count_nonzero(~np.isnan(values), axis=axis, keepdims=True)
    high = counts // 2
    low = np.where(counts % 2 == 1, high, high - 1)
    low_values = np.take_along_axis(ordered, np.maximum(low, 0), axis=axis)
    high_values = np.take_along_axis(ordered, high, axis=axis)
    with np.errstate(all="ignore"):
        # ``+ 0.0``: NumPy's masked sum starts from +0, so a lone −0 comes out as +0.
        result: FloatArray = np.true_divide(np.add(low_values, high_values) + 0.0, 2.0)
    result = np.squeeze(result, axis=axis)
    result[np.squeeze(counts, axis=axis) == 0] = np.nan
    return result
