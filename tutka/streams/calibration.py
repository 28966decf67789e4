"""Thresholds from a false-alarm budget: the engine audits its own old alarms with hindsight.

Staff say how many false alarms they accept — *episodes per 100 area-years*, per area level, in
the catalogue's ``[calibration]`` — and the engine sets each calibrated detector's threshold to
meet it, from the history alone, without labels:

1. For every series a calibrated detector watches, the engine keeps the last ``history_months``
   of the count, its reference and the detector's signed score (:class:`Track`).
2. Once a year (with the release of ``month``), for each group of tracks (detector × area level)
   it labels the lasting shifts those years hold with hindsight
   (:func:`tutka.detectors.hindsight.lasting_shifts`: up to 24 months of the future), and for
   every candidate threshold counts the alarm episodes (months at most two apart) that no
   same-polarity lasting shift explains (one dated 12 months before to 6 after the episode's
   start). Only episodes old enough to be judged count (30 months), outside excluded periods
   (nationwide shocks such as COVID-19, when every area moves at once).
3. The threshold is the lowest candidate whose false-alarm rate is within the budget. A level
   with little history borrows from the others: its curve is mixed with the pooled curve of all
   groups of the detector, ``pooling`` area-years' worth. Until there is ``min_area_years`` of
   judged history at all, the detector's own prior threshold applies.

The result is kept in the engine's state (:class:`Calibration`) and shown with every alert, in
the README and in the situation room. The same pass measures how often changes of each size
happen in such areas (all alarm episodes, per area-year, by threshold): an alert says "about
once in 40 years here" from that curve (:meth:`Calibration.years_between`).

>>> import math
>>> track = Track.empty(first=0, months=4)
>>> for p, (count, score) in enumerate([(100, 0.0), (100, 9.0), (140, 8.5), (141, 0.0)]):
...     track.record(p, count, 10_000.0, score)
>>> track.scores(), track.first
([0.0, 9.0, 8.5, 0.0], 0)
>>> alarm_episodes([0.0, 9.0, 8.5, 0.0, 0.0, 0.0, 0.0, -8.0], threshold=8.0, first=100)
[(101, 1), (107, -1)]
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Final

import numpy as np

from tutka.detectors.hindsight import LOOKAHEAD, SPAN, FloatArray, lasting_shifts

#: Alarm months at most this many months apart form one episode (as in the backtest).
EPISODE_GAP: Final = 2
#: Figures for a period are read the month after: an alarm's episode starts when it is read.
PUBLICATION_LAG: Final = 1
#: An episode is explained by a same-polarity lasting shift dated from 12 months before the
#: episode became available to 6 months after it (the backtest's rule, seen from the alarm).
EXPLAINED_BEFORE: Final = 12
EXPLAINED_AFTER: Final = 6
#: Months of the future that judging an episode needs: the shift's own look-ahead, and the
#: latest shift month that could explain it.
JUDGE_LAG: Final = LOOKAHEAD + EXPLAINED_AFTER + PUBLICATION_LAG
#: Tracks labelled together at most (bounds the labels' working arrays to tens of megabytes).
LABEL_BLOCK: Final = 1024


@dataclass(slots=True)
class Track:
    """One series' recent counts, references and signed detector scores (NaN: not judged)."""

    first: int
    counts: array[float] = field(default_factory=lambda: array("d"))
    references: array[float] = field(default_factory=lambda: array("d"))
    signed: array[float] = field(default_factory=lambda: array("d"))

    @classmethod
    def empty(cls, first: int, months: int = 0) -> Track:
        """A track from month ``first`` with ``months`` months not recorded yet (all NaN)."""
        nan = [math.nan] * months
        return cls(first, array("d", nan), array("d", nan), array("d", nan))

    def record(self, period: int, count: float, reference: float, signed_score: float) -> None:
        """Store a month (extending with gaps as needed; an earlier month is overwritten)."""
        counts = self.counts
        i = period - self.first
        if i == len(counts) and counts:  # the month after the last: nearly always
            counts.append(count)
            self.references.append(reference)
            self.signed.append(signed_score)
            return
        if not counts:
            self.first = period
        i = period - self.first
        if i < 0:
            pad = array("d", [math.nan] * -i)
            self.counts, self.references, self.signed = (
                pad + self.counts,
                pad + self.references,
                pad + self.signed,
            )
            self.first, i = period, 0
        while len(self.counts) <= i:
            self.counts.append(math.nan)
            self.references.append(math.nan)
            self.signed.append(math.nan)
        self.counts[i], self.references[i], self.signed[i] = count, reference, signed_score

    def trim(self, keep: int) -> None:
        """Keep the last ``keep`` months."""
        extra = len(self.counts) - keep
        if extra > 0:
            del self.counts[:extra], self.references[:extra], self.signed[:extra]
            self.first += extra

    @property
    def last(self) -> int:
        """The latest month the track spans."""
        return self.first + len(self.counts) - 1

    def scores(self) -> list[float]:
        """The signed scores month by month from ``first`` (NaN where not judged)."""
        return list(self.signed)


def alarm_episodes(signed: Sequence[float], threshold: float, first: int) -> list[tuple[int, int]]:
    """(start month, direction) of each run of alarms (gaps of at most EPISODE_GAP months)."""
    return episodes_of(marks(signed, threshold, first), threshold)


#: A month's score that reaches a threshold: (month, direction, size).
Mark = tuple[int, int, float]


def marks(signed: Sequence[float], lowest: float, first: int) -> list[Mark]:
    """The months whose score reaches ``lowest`` (not NaN), with its direction and size.

    Every threshold of a grid finds its alarms among those of the lowest one: picked out once
    per track, the grid is counted without a pass over every month per threshold.
    """
    return [
        (first + i, 1 if value > 0 else -1, abs(value))
        for i, value in enumerate(signed)
        if abs(value) >= lowest  # (False for NaN)
    ]


def episodes_of(alarms: Iterable[Mark], threshold: float) -> list[tuple[int, int]]:
    """:func:`alarm_episodes` of the months of ``alarms`` that reach ``threshold``."""
    episodes: list[tuple[int, int]] = []
    last: dict[int, int] = {}
    for month, direction, size in alarms:
        if size < threshold:
            continue
        previous = last.get(direction)
        if previous is None or month - previous > EPISODE_GAP + 1:
            episodes.append((month, direction))
        last[direction] = month
    return episodes


@dataclass(frozen=True, slots=True)
class Curve:
    """Per candidate threshold: false-alarm episodes and all alarm episodes; judged exposure."""

    false_alarms: tuple[int, ...]
    alarms: tuple[int, ...]
    area_months: int

    @staticmethod
    def zero(size: int) -> Curve:
        """No episodes and no exposure, for a grid of ``size`` thresholds."""
        return Curve((0,) * size, (0,) * size, 0)

    def __add__(self, other: Curve) -> Curve:
        return Curve(
            tuple(a + b for a, b in zip(self.false_alarms, other.false_alarms, strict=True)),
            tuple(a + b for a, b in zip(self.alarms, other.alarms, strict=True)),
            self.area_months + other.area_months,
        )

    @property
    def area_years(self) -> float:
        """The judged exposure in area-years."""
        return self.area_months / 12


def judge(
    tracks: Iterable[Track],
    grid: Sequence[float],
    now: int,
    excluded: Sequence[tuple[int, int]] = (),
) -> Curve:
    """Count, for each threshold of ``grid``, the alarm episodes no lasting shift explains.

    ``now`` is the latest period known; episodes starting after ``now − JUDGE_LAG`` cannot be
    judged yet and are left out, with their months of exposure.
    """
    false_alarms = [0] * len(grid)
    alarms = [0] * len(grid)
    exposure = 0
    judged_until = now - JUDGE_LAG
    spans = [(track, _judged_span(track, judged_until, excluded)) for track in tracks]
    spans = [(track, span) for track, span in spans if span]
    shifts = shift_months([track for track, _ in spans], excluded)
    lowest = min(grid, default=0.0)
    for (track, span), explained in zip(spans, shifts, strict=True):
        exposure += len(span)
        candidates = marks(track.signed, lowest, track.first)
        for g, threshold in enumerate(grid):
            episodes = episodes_of(candidates, threshold)
            if not episodes:
                break  # a higher threshold finds nothing either
            for start, direction in episodes:
                if start not in span:
                    continue
                alarms[g] += 1
                available = start + PUBLICATION_LAG
                if not any(
                    available - EXPLAINED_BEFORE <= m <= available + EXPLAINED_AFTER
                    for m in explained.get(direction, ())
                ):
                    false_alarms[g] += 1
    return Curve(tuple(false_alarms), tuple(alarms), exposure)


def _judged_span(
    track: Track, judged_until: int, excluded: Sequence[tuple[int, int]]
) -> frozenset[int]:
    """Months whose alarms can be judged: scored, old enough, outside excluded periods."""
    months = set()
    first, signed = track.first, track.signed
    # The earliest shift that could explain an episode must itself be labelable (it needs a
    # year of figures before it): earlier episodes are neither counted nor exposed.
    judged_from = first + SPAN + EXPLAINED_BEFORE - PUBLICATION_LAG
    # Only the months from judged_from to judged_until are looked at, and the excluded periods
    # only between the earliest start and the latest end of them.
    low = min((a for a, _ in excluded), default=0)
    high = max((b for _, b in excluded), default=-1)
    for i in range(max(judged_from - first, 0), min(judged_until - first + 1, len(signed))):
        if math.isnan(signed[i]):
            continue
        month = first + i
        if low <= month <= high and any(a <= month <= b for a, b in excluded):
            continue
        months.add(month)
    return frozenset(months)


def shift_months(
    tracks: Sequence[Track], excluded: Sequence[tuple[int, int]]
) -> list[dict[int, list[int]]]:
    """Per track, the months of its lasting shifts by direction, outside excluded periods.

    Tracks spanning the same months are labelled together, a block of rows at a time: the
    labels are computed row by row, so this is what labelling each track alone gives, without
    a round of array set-up per series (it was most of the calibration's time). A missing or
    non-positive reference is NaN to the labels (that month takes no part).
    """
    out: list[dict[int, list[int]]] = [{} for _ in tracks]
    alike: dict[tuple[int, int], list[int]] = {}
    for i, track in enumerate(tracks):
        alike.setdefault((track.first, len(track.counts)), []).append(i)
    for (first, _), members in alike.items():
        for start in range(0, len(members), LABEL_BLOCK):
            block = members[start : start + LABEL_BLOCK]
            counts = np.vstack([np.frombuffer(tracks[i].counts) for i in block])
            references = _usable(np.vstack([np.frombuffer(tracks[i].references) for i in block]))
            for shift in lasting_shifts(counts, references, first):
                if any(a <= shift.month <= b for a, b in excluded):
                    continue
                out[block[shift.row]].setdefault(shift.direction, []).append(shift.month)
    return out


def _usable(references: FloatArray) -> FloatArray:
    """References with the months of a row that are missing or not positive as NaN.

    Only rows with such a month are rewritten (a row without one is kept exactly as it is).
    """
    bad = np.isnan(references).any(axis=1) | ~np.all(references > 0, axis=1)
    if bad.any():
        rows = references[bad]
        references[bad] = np.where(np.isfinite(rows) & (rows > 0), rows, np.nan)
    return references


def poisson_upper(events: float, confidence: float) -> float:
    """Upper confidence bound of a Poisson mean after ``events`` (Wilson–Hilferty).

    >>> round(poisson_upper(0, 0.8), 2), round(poisson_upper(10, 0.8), 1)
    (1.6, 13.6)
    """
    z = NormalDist().inv_cdf(confidence)
    k = events + 1
    return k * (1 - 1 / (9 * k) + z / (3 * math.sqrt(k))) ** 3


def threshold_for(
    curve: Curve,
    pooled: Curve,
    grid: Sequence[float],
    budget: float,
    pooling_area_years: float,
    confidence: float = 0.8,
) -> float:
    """The lowest threshold whose false-alarm rate is within ``budget`` with ``confidence``.

    The group's own false alarms are mixed with ``pooling_area_years`` of the pooled curve,
    and the rate is the upper confidence bound: a short history gives a cautious threshold,
    which relaxes as the history grows.
    """
    weight = pooling_area_years * 12
    for g, threshold in enumerate(grid):
        pooled_rate = pooled.false_alarms[g] / pooled.area_months if pooled.area_months else 0.0
        events = curve.false_alarms[g] + weight * pooled_rate
        exposure = curve.area_months + weight
        if exposure > 0 and 1200 * poisson_upper(events, confidence) / exposure <= budget:
            return threshold
    return grid[-1]


@dataclass(frozen=True, slots=True)
class GroupCalibration:
    """A group's threshold, and how often alarms of each size happen in such areas."""

    threshold: float
    grid: tuple[float, ...]
    #: All alarm episodes (true or false) at each threshold of ``grid``, over ``basis_area_years``.
    alarm_episodes: tuple[int, ...]
    basis_area_years: float
    #: The false-alarm rate the history shows at ``threshold`` (per 100 area-years).
    false_alarms_per_100_area_years: float
    #: Judged history of the group itself (area-years).
    area_years: float
    calibrated_period: int

    def years_between(self, score: float) -> float | None:
        """About how many years pass between changes at least this large in one such area.

        A size the history has never shown counts as seen once: the figure is then a floor.
        """
        episodes = None
        for threshold, count in zip(self.grid, self.alarm_episodes, strict=True):
            if threshold > score:
                break
            episodes = count
        if episodes is None:
            return None
        return self.basis_area_years / max(episodes, 1)


def calibrate(
    groups: Mapping[str, Sequence[Track]],
    budgets: Mapping[str, float],
    grid: Sequence[float],
    now: int,
    excluded: Sequence[tuple[int, int]] = (),
    pooling_area_years: float = 120.0,
    min_area_years: float = 50.0,
    confidence: float = 0.8,
) -> dict[str, GroupCalibration]:
    """Thresholds for every group whose pooled history is long enough (others: none yet)."""
    curves = {name: judge(tracks, grid, now, excluded) for name, tracks in groups.items()}
    pooled = Curve.zero(len(grid))
    for curve in curves.values():
        pooled = pooled + curve
    if pooled.area_years < min_area_years:
        return {}
    out = {}
    for name, curve in curves.items():
        own = curve if curve.area_months else Curve.zero(len(grid))
        threshold = threshold_for(own, pooled, grid, budgets[name], pooling_area_years, confidence)
        g = list(grid).index(threshold)
        basis = curve if curve.area_years >= min_area_years else pooled
        out[name] = GroupCalibration(
            threshold=threshold,
            grid=tuple(grid),
            alarm_episodes=basis.alarms,
            basis_area_years=round(basis.area_years, 3),
            false_alarms_per_100_area_years=round(
                100 * basis.false_alarms[g] / basis.area_years, 3
            ),
            area_years=round(curve.area_years, 2),
            calibrated_period=now,
        )
    return out


def group_of(detector: str, rule: str, level: str, breakdown: bool) -> str:
    """The calibration group of a series: detector × series rule × area level (× breakdown).

    >>> group_of("relative_shift", "unemployment", "KU", False)
    'relative_shift:unemployment:KU'
    """
    return f"{detector}:{rule}:{level}" + (":breakdown" if breakdown else "")


def level_of_group(group: str) -> str:
    """The area level a group's budget is set for.

    >>> level_of_group("relative_shift:unemployment:MK:breakdown")
    'MK'
    """
    return group.split(":")[2]


@dataclass(slots=True)
class CalibrationState:
    """The engine's calibration memory: tracks per group, and the latest thresholds."""

    tracks: dict[str, dict[str, Track]] = field(default_factory=dict)
    results: dict[str, GroupCalibration] = field(default_factory=dict)
    #: The period of the release that last triggered a calibration.
    calibrated: int | None = None

    def record(
        self,
        group: str,
        series: str,
        period: int,
        count: float,
        reference: float,
        signed_score: float,
        keep: int,
    ) -> None:
        """Keep a series' figure and signed score of ``period`` in its group's track.

        Args:
            group: The calibration group (:func:`group_of`).
            series: The series' key.
            period: The month (absolute index); a revised month overwrites the stored one.
            count: The series' count.
            reference: The count its share is taken of (the country's).
            signed_score: The detector's score times its direction (NaN: not judged).
            keep: Months kept per track; a month older than that is ignored, and the track
                is trimmed in batches of a year once it is that long.
        """
        tracks = self.tracks.setdefault(group, {})
        track = tracks.get(series)
        if track is None:
            track = tracks[series] = Track.empty(period)
        if period < track.first - keep:
            return  # older than anything kept: a revision of the distant past
        track.record(period, count, reference, signed_score)
        if len(track.counts) > keep + 12:
            track.trim(keep)  # in batches: this runs for every figure

    def due(self, period: int, month: int) -> bool:
        """Whether the release of ``period`` is the yearly calibration (and not done yet)."""
        return period % 12 == month - 1 and (self.calibrated is None or period > self.calibrated)

    def recalibrate(
        self,
        period: int,
        budgets: Mapping[str, float],
        grid: Sequence[float],
        excluded: Sequence[tuple[int, int]],
        pooling_area_years: float,
        min_area_years: float,
        keep: int,
        confidence: float = 0.8,
    ) -> None:
        """Calibrate every group from its tracks, as known after the release of ``period``."""
        self.calibrated = period
        # Levels of one signal family (detector × rule) borrow from each other, nothing else.
        families: dict[str, dict[str, list[Track]]] = {}
        for group, tracks in self.tracks.items():
            for track in tracks.values():
                track.trim(keep)
            family = ":".join(group.split(":")[:2])
            families.setdefault(family, {})[group] = list(tracks.values())
        for groups in families.values():
            self.results.update(
                calibrate(
                    groups,
                    {g: budgets[g] for g in groups},
                    grid,
                    period,
                    excluded,
                    pooling_area_years,
                    min_area_years,
                    confidence,
                )
            )

    def threshold(self, group: str) -> float | None:
        """The calibrated threshold of ``group``; None before its first calibration."""
        result = self.results.get(group)
        return None if result is None else result.threshold

    def years_between(self, group: str, score: float) -> float | None:
        """About how many years pass between changes scoring ``score`` in such an area.

        None before ``group`` is calibrated, or when the score is below the threshold grid.
        """
        result = self.results.get(group)
        return None if result is None else result.years_between(score)
