"""Release-level decisions: report each change once, at the area that explains it.

A monthly release is judged as a whole, across the area hierarchy, before anything is alerted:

* **Broader change first.** When an area and one of its ancestors both signal the same kind and
  polarity, the local signal is *part of* the broader change and is folded into the ancestor's
  alert — unless the local area also *diverges* from its references (the divergence detector
  fired) or *stands out* in the release (its change is several times the broader one), i.e. it
  is hit harder than the area around it. A nationwide shock is thus reported
  once, as national, not as 35 local alerts.
* **Explained by a sub-area.** When most of an area's excess (at least ``explained_share``) comes
  from a single signalling sub-area, or a sub-area already has an alert of the same kind open,
  the sub-area takes the alert: a mill closing in one town is reported for that town, not again
  for its sub-region, region and ELY area. (An ELY area that is the same territory as one
  region is always explained by it.)

>>> from datetime import date
>>> from tutka.models.areas import Area, Hierarchy
>>> from tutka.models.alerts import AlertKind, Polarity
>>> from tutka.streams.signals import SeriesKey, Signal
>>> h = Hierarchy([Area("SSS", "Koko maa", "", "", None), Area("ELY15", "Lappi", "", "", "SSS"),
...                Area("MK19", "Lappi", "", "", "ELY15"), Area("ELY01", "Uusimaa", "", "", "SSS"),
...                Area("MK01", "Uusimaa", "", "", "ELY01")])
>>> def sig(area, value, baseline, detector="seasonal_baseline"):
...     return Signal(SeriesKey(area, "unemployed_jobseekers"), AlertKind.UNEMPLOYMENT,
...                   Polarity.NEGATIVE, detector, 24000, value, baseline, 9.0, 4.0, 1,
...                   date(2000, 2, 25))
>>> shock = [sig("SSS", 300, 200), sig("MK19", 30, 20), sig("MK01", 90, 60), sig("ELY01", 90, 60)]
>>> for d in decide(shock, h, 0.5):
...     print(d.area, d.accepted, d.reason)
SSS True accepted
ELY01 False explained_by:MK01
MK01 False part_of:SSS
MK19 False part_of:SSS
>>> decide(shock, h, 0.5)[0].also_in
('ELY01', 'MK01', 'MK19')
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Final

from tutka.models.alerts import AlertKind, Polarity
from tutka.models.areas import Hierarchy, level_depth
from tutka.streams.signals import Decision, Signal, group_key

#: Detectors that judge an area relative to others; their excess says little about its size.
RELATIVE_DETECTORS: Final = frozenset({"divergence", "isolation_forest"})
DIVERGENCE: Final = "divergence"
#: A local signal stands out from the broader change (and is reported on its own) when its change
#: beyond the broader area's change in the same release is at least +30 % (as a log ratio) and
#: this many people (or vacancies), and the local change is at least twice the broader one.
STAND_OUT_MIN_CHANGE: Final = math.log(1.3)
STAND_OUT_MIN_COUNT: Final = 30.0
STAND_OUT_FACTOR: Final = 2.0

SignalClass = tuple[AlertKind, Polarity, str | None, str | None]
ACCEPTED: Final = "accepted"


def signal_class(signal: Signal) -> SignalClass:
    """What makes signals comparable across areas: kind, polarity, sector and occupation."""
    return (signal.kind, signal.polarity, signal.series.sector, signal.series.occupation)


def decide(
    signals: Iterable[Signal],
    hierarchy: Hierarchy,
    explained_share: float,
    prior_accepted: frozenset[tuple[str, SignalClass]] = frozenset(),
) -> list[Decision]:
    """One decision per (area, class) among ``signals`` of one period, broadest areas first.

    ``prior_accepted`` holds (area, class) pairs reported earlier — accepted for the same period,
    or alerts still open — so a late figure, or a change that carries on, is judged against them.
    """
    by_class: dict[SignalClass, dict[str, list[Signal]]] = defaultdict(lambda: defaultdict(list))
    for signal in signals:
        by_class[signal_class(signal)][signal.area].append(signal)
    explained = _totals_explained_by_breakdowns(by_class, hierarchy, explained_share)
    decisions: list[Decision] = []
    accepted = set(prior_accepted)
    # Totals (no sector or occupation) come first, so they can cover their breakdowns.
    for cls in sorted(by_class, key=_class_order):
        made = _decide_class(
            cls, by_class[cls], hierarchy, explained_share, frozenset(accepted), explained
        )
        accepted.update((d.area, cls) for d in made if d.accepted)
        decisions.extend(made)
    return decisions


def _class_order(cls: SignalClass) -> tuple[str, str, str, str]:
    kind, polarity, sector, occupation = cls
    return (kind.value, polarity.value, sector or "", occupation or "")


def _group(area: str, cls: SignalClass) -> str:
    kind, _, sector, occupation = cls
    return group_key(area, sector, occupation, kind)


def _decide_class(
    cls: SignalClass,
    by_area: dict[str, list[Signal]],
    hierarchy: Hierarchy,
    explained_share: float,
    prior_accepted: frozenset[tuple[str, SignalClass]],
    explained: dict[tuple[str, SignalClass], tuple[str, SignalClass]],
) -> list[Decision]:
    areas = sorted(by_area, key=lambda a: (level_depth(a), a))
    excess = {a: _excess(by_area[a]) for a in areas}
    delegate = _explained_by(areas, excess, hierarchy, explained_share)
    for area in areas:
        if area not in delegate:
            # A sub-area already carrying an open alert of this class explains the area's change.
            open_below = sorted(
                a
                for a, c in prior_accepted
                if c == cls and a != area and hierarchy.contains(area, a)
            )
            if open_below:
                delegate[area] = open_below[0]
    status: dict[str, tuple[str, str | None]] = {}
    for area in areas:
        if (area, cls) in explained:
            target, target_cls = explained[(area, cls)]
            status[area] = (f"explained_by:{target}", _group(target, target_cls))
        elif area in delegate:
            status[area] = (f"explained_by:{delegate[area]}", _group(delegate[area], cls))
        else:
            broader = _broader(area, cls, hierarchy, status, prior_accepted)
            diverges = any(s.detector == DIVERGENCE or s.distinct for s in by_area[area])
            if broader is not None and not diverges:
                diverges = _stands_out(by_area[area], by_area.get(broader[0]))
            if broader is not None and not diverges:
                status[area] = (f"part_of:{broader[0]}", _group(*broader))
            else:
                status[area] = (ACCEPTED, None)
    folded = _fold(areas, {a: reason for a, (reason, _) in status.items()})
    kind, polarity, sector, occupation = cls
    return [
        Decision(
            group=by_area[area][0].group,
            kind=kind,
            polarity=polarity,
            area=area,
            sector=sector,
            occupation=occupation,
            period=by_area[area][0].period,
            signals=tuple(by_area[area]),
            accepted=status[area][0] == ACCEPTED,
            reason=status[area][0],
            also_in=tuple(sorted(folded.get(area, ()), key=lambda a: (level_depth(a), a))),
            target=status[area][1],
        )
        for area in areas
    ]


def _broader(
    area: str,
    cls: SignalClass,
    hierarchy: Hierarchy,
    status: dict[str, tuple[str, str | None]],
    prior_accepted: frozenset[tuple[str, SignalClass]],
) -> tuple[str, SignalClass] | None:
    """The reported change that covers ``area``'s signal: its own total, or an ancestor's."""
    inhibitors = _inhibiting_classes(cls)
    for c in inhibitors:
        if c != cls and (area, c) in prior_accepted:
            return area, c
    for ancestor in hierarchy.ancestors(area):
        if status.get(ancestor, ("",))[0] == ACCEPTED:
            return ancestor, cls
        for c in inhibitors:
            if (ancestor, c) in prior_accepted:
                return ancestor, c
    return None


def _totals_explained_by_breakdowns(
    by_class: dict[SignalClass, dict[str, list[Signal]]], hierarchy: Hierarchy, share: float
) -> dict[tuple[str, SignalClass], tuple[str, SignalClass]]:
    """Totals whose excess mostly comes from one breakdown (sector/occupation) signal.

    A national all-industries burst of notices that is mostly one mill's notices is that mill's
    story: the total defers to the area and industry where it happened.
    """
    explained: dict[tuple[str, SignalClass], tuple[str, SignalClass]] = {}
    for cls, by_area in by_class.items():
        kind, polarity, sector, occupation = cls
        if sector is not None or occupation is not None:
            continue
        narrower = [
            (area, c)
            for c, areas in by_class.items()
            if c[:2] == (kind, polarity) and (c[2] is not None or c[3] is not None)
            for area in areas
        ]
        for area, signals in by_area.items():
            inside = [(a, c) for a, c in narrower if hierarchy.contains(area, a)]
            if not inside:
                continue
            best = max(
                inside, key=lambda ac: (_excess(by_class[ac[1]][ac[0]]), ac[0], _class_order(ac[1]))
            )
            total = _excess(signals)
            if total > 0 and _excess(by_class[best[1]][best[0]]) >= share * total:
                explained[(area, cls)] = best
    return explained


def _inhibiting_classes(cls: SignalClass) -> tuple[SignalClass, ...]:
    """Broader alerts that make a signal of ``cls`` part of them.

    The same kind and polarity, for the same breakdown or for the total (all sectors and
    occupations): a nationwide wave of notices is one story, not one per industry. For
    multivariate outliers also any broad change in unemployment or vacancies: during a
    nationwide shock every area's picture is unusual, and that is the national story.
    """
    kind, polarity, sector, occupation = cls
    breakdowns = list(
        dict.fromkeys([(sector, occupation), (None, occupation), (sector, None), (None, None)])
    )
    if kind is not AlertKind.OUTLIER:
        return tuple((kind, polarity, s, o) for s, o in breakdowns)
    kinds = (AlertKind.OUTLIER, AlertKind.UNEMPLOYMENT, AlertKind.VACANCIES)
    return tuple((k, p, s, o) for k in kinds for p in Polarity for s, o in breakdowns)


def _net_change(local: Sequence[Signal], broader_change: float) -> tuple[float, float]:
    """The local change beyond the broader one: (log ratio, count) for the strongest signal."""
    best = (0.0, 0.0)
    for s in local:
        if s.detector in RELATIVE_DETECTORS or s.baseline < 0 or s.value < 0:
            continue
        own = s.direction * math.log((s.value + 1) / (s.baseline + 1))
        expected = (s.baseline + 1) * math.exp(s.direction * broader_change) - 1
        best = max(best, (own - broader_change, s.direction * (s.value - expected)))
    return best


def _own_change(signals: Sequence[Signal]) -> float:
    changes = [
        s.direction * math.log((s.value + 1) / (s.baseline + 1))
        for s in signals
        if s.detector not in RELATIVE_DETECTORS and s.baseline >= 0 and s.value >= 0
    ]
    return max(changes, default=0.0)


def _stands_out(local: Sequence[Signal], broader: Sequence[Signal] | None) -> bool:
    """A local change much larger than the broader one it would be folded into, in the release.

    A hiring surge of +80 % in one town during a national vacancy rise of +30 % is a story of
    its own, even before the divergence detector (which needs a sustained gap) fires. The broader
    change must be known (signalled in the same release) and the local excess beyond it large
    in relative terms and in people.
    """
    if not broader:
        return False
    theirs = max(_own_change(broader), 0.0)
    net, people = _net_change(local, theirs)
    mine = net + theirs
    return (
        net >= STAND_OUT_MIN_CHANGE
        and mine >= STAND_OUT_FACTOR * theirs
        and people >= STAND_OUT_MIN_COUNT
    )


def _excess(signals: Sequence[Signal]) -> float:
    level = [s.excess for s in signals if s.detector not in RELATIVE_DETECTORS]
    return max(level) if level else max(s.excess for s in signals)


def _explained_by(
    areas: list[str], excess: dict[str, float], hierarchy: Hierarchy, share: float
) -> dict[str, str]:
    """Areas whose excess mostly comes from one signalling sub-area, mapped to that sub-area."""
    firing = set(areas)
    nearest: dict[str, list[str]] = defaultdict(list)
    for area in areas:
        parent = next((a for a in hierarchy.ancestors(area) if a in firing), None)
        if parent is not None:
            nearest[parent].append(area)
    delegate: dict[str, str] = {}
    for area, subs in nearest.items():
        best = max(subs, key=lambda a: (excess[a], a))
        if excess[area] > 0 and excess[best] >= share * excess[area]:
            delegate[area] = best
    return delegate


def _fold(areas: list[str], status: dict[str, str]) -> dict[str, list[str]]:
    """For each accepted area, the non-accepted areas whose signals end up in its alert."""
    folded: dict[str, list[str]] = defaultdict(list)
    for area in areas:
        target = area
        for _ in range(len(areas) + 1):
            state = status.get(target, ACCEPTED)
            if state == ACCEPTED:
                break
            target = state.split(":", 1)[1]
        if target != area and status.get(target, ACCEPTED) == ACCEPTED and target in status:
            folded[target].append(area)
    return folded
