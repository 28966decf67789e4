"""The notice stage: layoff notices tallied by area and industry, judged the moment they arrive.

A notice counts where it happened and nationally (its TOL section, and all industries), so that a
nationwide wave is one national alert per industry rather than one per sub-region — the judging
stage decides, as for figures. A revised notice replaces its earlier figures in the same bursts.
Each tally's detector (a ``Detector[NoticeTally]`` from the catalogue) learns a month when the next
one starts.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Final

from tutka.detectors.notice_burst import NoticeTally
from tutka.detectors.registry import notice_detector
from tutka.models.alerts import MAX_NOTICES, AlertKind, NoticeEvidence, Polarity
from tutka.models.areas import COUNTRY
from tutka.models.codes import tol_section
from tutka.models.events import LayoffNoticeFiled
from tutka.streams.ordering import month_index
from tutka.streams.signals import SeriesKey, Signal
from tutka.streams.stages.alerting import resolve_quiet_groups
from tutka.streams.stages.context import EngineContext
from tutka.streams.stages.judging import judge
from tutka.streams.stages.state import (
    BurstState,
    EngineState,
    Output,
    SeenNotice,
    reject_unknown_area,
)

#: The notice tally over all industries (nationally).
ALL: Final = "*"
#: Notice ids remembered (months) for deduplication and revisions.
NOTICE_MEMORY: Final = 24
#: Empty months fed to a notice-burst detector after a long silence; beyond it nothing changes.
MAX_EMPTY_MONTHS: Final = 120


def on_notice(state: EngineState, ctx: EngineContext, notice: LayoffNoticeFiled) -> list[Output]:
    """Count a notice into its bursts and judge them; the alert versions it caused."""
    stats = state.stats
    if notice.municipality not in ctx.hierarchy:
        stats.notices["rejected"] += 1
        return [reject_unknown_area(stats, notice.municipality, len(ctx.hierarchy))]
    month = month_index(notice.period)
    seen = state.seen_notices.get(notice.notice_id)
    if seen is not None and notice.revision <= seen.revision:
        stats.notices["duplicate" if notice.revision == seen.revision else "stale"] += 1
        return []
    out = _advance_clock(state, ctx, month)
    if state.first_notice_month is None:
        state.first_notice_month = month
    learning = month < state.first_notice_month + ctx.catalogue.notices.warmup
    section = tol_section(notice.sector)
    local = (ctx.notice_area(notice.municipality), section)
    keys = tuple(dict.fromkeys([local, (COUNTRY, section), (COUNTRY, ALL)]))
    state.seen_notices[notice.notice_id] = SeenNotice(notice.revision, month, notice.persons, keys)
    revised = seen is not None and seen.month == month
    stats.notices["revised" if revised else "new"] += 1
    signals = []
    for key in keys:
        burst = _burst(state, ctx, key, month)
        if month < burst.month:
            stats.notices["late"] += 1
            return out
        if seen is not None and revised and key in seen.bursts:
            burst.count -= 1
            burst.persons -= seen.persons
        burst.count += 1
        burst.persons += notice.persons
        _add_evidence(burst, notice)
        signal = None if learning else _signal(state, key, burst, notice.announced)
        if signal is not None:
            signals.append(signal)
    out.extend(judge(state, ctx, [_mark_distinct(state, ctx, s) for s in signals], month))
    return out


def _mark_distinct(state: EngineState, ctx: EngineContext, signal: Signal) -> Signal:
    """A local burst that is most of the nation's excess of notices is its own story.

    It is then reported even while a national notice alert is open (the notice counterpart
    of a local figure diverging from the country).
    """
    national = state.bursts.get((COUNTRY, ALL))
    if signal.area == COUNTRY or national is None:
        return signal
    expected = national.detector.assess(NoticeTally(national.count, national.persons)).baseline
    excess = max(national.persons - expected, 0.0)
    if signal.excess >= ctx.catalogue.alerting.explained_share * excess:
        return replace(signal, distinct=True)
    return signal


def _burst(state: EngineState, ctx: EngineContext, key: tuple[str, str], month: int) -> BurstState:
    burst = state.bursts.get(key)
    if burst is None:
        name = ctx.catalogue.notices.detector
        detector = notice_detector(name, ctx.catalogue.detectors.get(name, {}))
        burst = state.bursts[key] = BurstState(detector=detector, month=month)
    elif month > burst.month:
        _close_months(burst, month)
    return burst


def _signal(
    state: EngineState, key: tuple[str, str], burst: BurstState, announced: date
) -> Signal | None:
    """Judge the month-to-date tally the moment a notice arrives."""
    detector = burst.detector
    assessment = detector.assess(NoticeTally(burst.count, burst.persons))
    state.stats.evaluations[detector.name] += 1
    if not detector.is_alarm(assessment):
        return None
    state.stats.signals[detector.name] += 1
    area, section = key
    largest = sorted(burst.evidence.values(), key=lambda n: (-n.persons, n.notice_id))
    return Signal(
        series=SeriesKey(area, "layoff_notices", None if section == ALL else section),
        kind=AlertKind.LAYOFF_NOTICES,
        polarity=Polarity.NEGATIVE,
        detector=detector.name,
        period=burst.month,
        value=float(burst.persons),
        baseline=assessment.baseline,
        score=assessment.score,
        threshold=detector.params.threshold,
        direction=1,
        available_on=announced,
        notices=tuple(largest[:MAX_NOTICES]),
        notice_count=burst.count,
        notice_persons=burst.persons,
    )


def _advance_clock(state: EngineState, ctx: EngineContext, month: int) -> list[Output]:
    """Move the notice clock to ``month``: forget old notices, resolve quiet notice alerts."""
    if state.clock_notices is not None and month <= state.clock_notices:
        return []
    state.clock_notices = month
    seen = state.seen_notices
    for notice_id in [i for i, s in seen.items() if s.month < month - NOTICE_MEMORY]:
        del seen[notice_id]
    return resolve_quiet_groups(state, ctx, month, notices=True)


def _close_months(burst: BurstState, month: int) -> None:
    """Teach the detector the finished month and the empty months since; start ``month``."""
    burst.detector.update(NoticeTally(burst.count, burst.persons))
    for _ in range(min(month - burst.month - 1, MAX_EMPTY_MONTHS)):
        burst.detector.update(NoticeTally(0, 0))
    burst.month, burst.count, burst.persons, burst.evidence = month, 0, 0, {}


def _add_evidence(burst: BurstState, notice: LayoffNoticeFiled) -> None:
    burst.evidence[notice.notice_id] = _evidence(notice)
    if len(burst.evidence) > MAX_NOTICES * 4:
        # Keep the largest notices of the month (bounded); the tally keeps the totals.
        largest = sorted(burst.evidence.values(), key=lambda n: (-n.persons, n.notice_id))
        burst.evidence = {n.notice_id: n for n in largest[: MAX_NOTICES * 2]}


def _evidence(notice: LayoffNoticeFiled) -> NoticeEvidence:
    return NoticeEvidence(
        notice_id=notice.notice_id,
        employer=notice.employer,
        business_id=notice.business_id,
        municipality=notice.municipality,
        sector=notice.sector,
        kind=notice.kind,
        persons=notice.persons,
        announced=notice.announced,
        effective_from=notice.effective_from,
    )
