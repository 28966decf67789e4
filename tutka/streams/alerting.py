"""The alerting stage: release decisions in, alert state changes out (pure, event time).

Per alert group (area + sector/occupation + kind) at most one alert is open. An accepted decision
opens an alert or merges into the open one; the open alert is re-emitted (``updated``) only when
something material changes — it escalates, a new detector or area joins, more notices arrive — so
a persistent condition does not repeat itself every month. After ``resolve_after`` months without
signals an alert is judged on its level (:func:`resolve_quiet`): back → ``recovered`` (``reversed``
for a transient change); still shifted, or a structural change whose level cannot be told → held
open until staff close it (:func:`close_by_staff`, ``closed_by_staff``); otherwise ``quiet``. It
also resolves when the opposite change arrives (``reversed``), or when revised figures withdraw all
of its evidence (``withdrawn``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Final

from tutka.config.catalogue import AlertingRules, SeverityRules
from tutka.models.alerts import (
    HELD_STRUCTURAL,
    MAX_EVIDENCE,
    MAX_HISTORY,
    MAX_NOTICES,
    NEW_NORMAL,
    Alert,
    AlertKind,
    AlertStatus,
    ChangeClass,
    ClosureReason,
    HistoryEntry,
    Localized,
    NoticeEvidence,
    Polarity,
    Severity,
    SignalEvidence,
    alert_id,
    hold_of,
)
from tutka.models.areas import Hierarchy
from tutka.models.codes import period_index, period_str
from tutka.streams.explain import AlertFacts, explain
from tutka.streams.importance import (
    confidence_of,
    level_of,
    peak,
    persons_affected,
    ratio_level,
    severity_word,
)
from tutka.streams.release import RELATIVE_DETECTORS
from tutka.streams.signals import Decision, Signal

#: Kinds whose values are ratios, not head counts: relative change counts without a floor.
RATIO_KINDS: Final = frozenset({AlertKind.TIGHTNESS, AlertKind.OUTLIER})
#: An open notice alert is re-announced when its headcount has grown by this factor.
NOTICE_GROWTH: Final = 1.25
#: An open alert is re-announced when the change it reports has grown by this factor (a second
#: step while the first is still open: a further closure, a wave that deepens).
CHANGE_GROWTH: Final = 1.5


@dataclass(frozen=True)
class AlertContext:
    """What the alerting stage needs besides the decisions: names and rules."""

    hierarchy: Hierarchy
    sector_names: Mapping[str, Localized]
    severity: SeverityRules
    rules: AlertingRules
    #: A series' value in a month (series as alerts name it), for the labour force behind an
    #: alert's share and for telling a recovered level from one that stays shifted.
    values: Callable[[str, int], float | None] | None = None
    #: Whether a negative alert's change is structural or transient (its story's class; None
    #: where it has none), for what a quiet alert resolves as.
    change_class: Callable[[Alert], ChangeClass | None] | None = None

    @property
    def resolve_after(self) -> int:
        """Quiet months after which an open alert is resolved."""
        return self.rules.resolve_after

    def area_name(self, code: str) -> Localized:
        """The area's names in three languages (the code itself for an unknown area)."""
        area = self.hierarchy.get(code)
        if area is None:
            return Localized(fi=code, sv=code, en=code)
        return Localized(fi=area.name_fi, sv=area.name_sv, en=area.name_en)


@dataclass(slots=True)
class GroupState:
    """An alert group's memory: its open alert (if any) and when it last had a signal."""

    alert: Alert | None = None
    last_signal: int = -1
    #: Month-to-date notice tallies per month while a notice alert is open.
    notice_months: dict[int, tuple[int, int]] = field(default_factory=dict)
    #: Accepted signals of recent months that have not (yet) been corroborated into an alert.
    candidates: dict[int, tuple[Signal, ...]] = field(default_factory=dict)
    #: The group's most recently resolved alert, to recognise a recovery when it comes.
    last_resolved: Alert | None = None
    #: Notice headcount when the open alert was last emitted.
    reported_persons: int = 0
    #: The relative change the open alert reported when it was last emitted.
    reported_change: float = 0.0


def apply_decision(
    state: GroupState, decision: Decision, ctx: AlertContext
) -> tuple[GroupState, list[Alert]]:
    """Fold one release decision into its group; return the alert versions to emit."""
    period = decision.period
    current = state.alert
    if not decision.accepted:
        # A signal folded into a broader alert still keeps this group's own open alert alive.
        if current is not None and current.polarity is decision.polarity:
            state.last_signal = max(state.last_signal, period)
        return state, []
    emitted: list[Alert] = []
    quiet_for = period - state.last_signal
    if current is not None and current.polarity is not decision.polarity:
        state.alert, state.last_signal = None, max(state.last_signal, period)
        state.notice_months = {}
        state.last_resolved = _resolve(current, period, "reversed", ctx)
        if period - period_index(current.opened_period) <= ctx.rules.recovery_window:
            return state, [state.last_resolved]
        # An old change (a level long held as the new normal) turned by a new one: the new
        # change is a story of its own and opens its alert at once.
        emitted, current = [state.last_resolved], None
        state.candidates = {}
    if current is None and _recovers(state.last_resolved, decision, ctx.rules):
        # The opposite change brings the series back to where it was before the last alert:
        # that alert's change has reversed; it is not a new structural change.
        return state, _mark_reversed(state, period, ctx)
    _track_notices(state, decision)
    state.last_signal = max(state.last_signal, period)
    if current is None:
        evidence = _corroborated(state, decision, ctx.rules)
        if evidence is None:
            return state, emitted
        state.alert = _open(replace(decision, signals=evidence), state, ctx)
        state.candidates = {}
        state.reported_persons = state.alert.notice_persons
        state.reported_change = change_of(state.alert.evidence, state.alert.kind, ctx.severity)
        return state, [*emitted, state.alert]
    merged, material, note = _merge(current, decision, state, ctx)
    if _renewed(current, quiet_for, ctx.rules):
        # A held alert that moves again is news (and no longer only held: staff see it move).
        material, note = True, "; ".join(n for n in ("moving again after the hold", note) if n)
    if material:
        merged = _advance(merged, AlertStatus.UPDATED, period, note, ctx)
    state.alert = merged
    return state, [merged] if material else []


def _renewed(held: Alert, quiet_for: int, rules: AlertingRules) -> bool:
    """Whether a signal on a held alert is announced (an update), as a new change would be.

    New notices on a held structural change always are; a level held as the new normal that
    moves again only after ``renew_after`` quiet months (sooner, it is the same change settling).
    """
    note = held.history[-1].note
    if note == HELD_STRUCTURAL:
        return True
    return note == NEW_NORMAL and quiet_for >= rules.renew_after


def _recovers(previous: Alert | None, decision: Decision, rules: AlertingRules) -> bool:
    if previous is None or previous.polarity is decision.polarity:
        return False
    if decision.period - period_index(previous.opened_period) > rules.recovery_window:
        return False
    before = [e for e in previous.evidence if e.detector not in RELATIVE_DETECTORS]
    if not before:
        return False
    shift = max(before, key=lambda e: abs(e.value - e.baseline))
    same_series = [s for s in decision.signals if s.evidence().series == shift.series]
    if not same_series:
        return False
    # Back at least half way to the level from before the change.
    return all(
        abs(s.value - shift.baseline) <= 0.5 * abs(shift.value - shift.baseline)
        for s in same_series
    )


def _mark_reversed(state: GroupState, period: int, ctx: AlertContext) -> list[Alert]:
    previous = state.last_resolved
    state.candidates = {}
    if previous is None or previous.resolution in ("reversed", "closed_by_staff"):
        return []
    reversed_ = replace_alert(previous, ctx, resolution="reversed")
    entry = HistoryEntry(
        period=period_str(period),
        status=AlertStatus.RESOLVED,
        severity=previous.severity,
        note="recovered to the earlier level",
    )
    state.last_resolved = replace_alert(
        reversed_,
        ctx,
        sequence=previous.sequence + 1,
        history=(*previous.history, entry)[-MAX_HISTORY:],
    )
    return [state.last_resolved]


def fold(state: GroupState, areas: tuple[str, ...], polarity: Polarity, ctx: AlertContext) -> None:
    """Record, silently, that ``areas`` show the change of this group's open alert too."""
    current = state.alert
    if current is None or current.polarity is not polarity:
        return
    also_in = tuple(sorted(set(current.also_in) | set(areas)))
    if also_in != current.also_in:
        state.alert = replace_alert(current, ctx, also_in=also_in)


def resolve_quiet(
    groups: Mapping[str, GroupState], open_groups: Iterable[str], clock: int, ctx: AlertContext
) -> list[tuple[str, Alert]]:
    """Judge the open alerts in ``open_groups`` that have been quiet for ``resolve_after``.

    Quiet is not recovered: an alert whose level is back (three quarters of the way to where it
    was before, in the same calendar months) resolves as ``recovered`` (``reversed`` for a
    transient change: it came back as such changes do). One whose level stays shifted stays open
    as the new normal, and a structural change whose level cannot be told (a burst of permanent
    layoff notices) stays open as such (each noted once per hold), until staff close it
    (:func:`close_by_staff`) — or, only where the catalogue sets ``hold_shifted``, until that
    many quiet months have passed (``settled``). Any other alert whose level cannot be told
    resolves as ``quiet``.
    """
    out = []
    hold_for = ctx.rules.hold_shifted
    for key in sorted(open_groups):
        state = groups[key]
        alert = state.alert
        if alert is None or clock - state.last_signal < ctx.resolve_after:
            continue
        shifted = _still_shifted(alert, clock, ctx)
        change = _class_of(alert, ctx)
        hold = NEW_NORMAL if shifted else None
        if shifted is None and change is ChangeClass.STRUCTURAL:
            hold = HELD_STRUCTURAL
        if shifted is False:
            resolution = "reversed" if change is ChangeClass.TRANSIENT else "recovered"
        elif hold is None:
            resolution = "quiet"
        elif hold_for is None or clock - state.last_signal < hold_for:
            if hold_of(alert) is None:  # not yet noted (a verdict note keeps the hold)
                state.alert = _advance(alert, AlertStatus.UPDATED, clock, hold, ctx)
                out.append((key, state.alert))
            continue
        else:
            resolution = "settled"
        state.last_resolved = _resolve(alert, clock, resolution, ctx)
        out.append((key, state.last_resolved))
        state.alert, state.notice_months = None, {}
    return out


def _class_of(alert: Alert, ctx: AlertContext) -> ChangeClass | None:
    if alert.polarity is not Polarity.NEGATIVE or ctx.change_class is None:
        return None
    return ctx.change_class(alert)


def close_by_staff(
    state: GroupState, period: int, reason: ClosureReason, ctx: AlertContext
) -> Alert | None:
    """Resolve the group's held alert as ``closed_by_staff`` (None: nothing held to close).

    Only an alert held open (its latest version notes the hold: the new normal, a structural
    change) is closed; staff's command for one that is still moving, already resolved or
    unknown changes nothing, so a redelivered command is harmless.
    """
    alert = state.alert
    if alert is None or hold_of(alert) is None:
        return None
    at = max(period, period_index(alert.history[-1].period))
    closed = replace_alert(
        alert, ctx, resolved_period=period_str(at), resolution="closed_by_staff", closure=reason
    )
    state.last_resolved = _advance(
        closed, AlertStatus.RESOLVED, at, f"closed by staff: {reason}", ctx
    )
    state.alert, state.notice_months, state.candidates = None, {}, {}
    return state.last_resolved


def held(state: GroupState, clock: int | None, ctx: AlertContext) -> bool:
    """Whether the group's open alert is only held open as the new normal (quiet, shifted).

    Such an alert stays in front of staff but no longer explains or covers new changes: a
    nationwide shock years later is judged on its own, not folded into a region's old alert.
    """
    return (
        state.alert is not None
        and clock is not None
        and clock - state.last_signal >= ctx.resolve_after
    )


def _still_shifted(alert: Alert, clock: int, ctx: AlertContext) -> bool | None:
    """Whether the alert's series is still away from its earlier level; None if unknown.

    The last three months against the same calendar months of the year before the change
    began (the season does not count as a shift): shifted while more than a quarter of the
    change at its peak remains, in the change's direction.
    """
    top = peak(alert.evidence)
    if top is None or ctx.values is None or alert.kind in RATIO_KINDS:
        return None
    opened = period_index(alert.opened_period)
    gaps = []
    for period in range(clock, clock - 3, -1):
        now = ctx.values(top.series, period)
        before = ctx.values(top.series, period - 12 * ((period - opened) // 12 + 1))
        if now is not None:
            gaps.append(now - (before if before is not None else top.baseline))
    if not gaps:
        return None
    gap, step = sum(gaps) / len(gaps), top.value - top.baseline
    return gap * step > 0 and abs(gap) > RECOVERED_SHARE * abs(step)


#: An alert's level counts as recovered once no more than this share of its peak change remains.
RECOVERED_SHARE: Final = 0.25


def withdraw(
    state: GroupState, removed: set[tuple[str, str, str]], period: int, ctx: AlertContext
) -> list[Alert]:
    """Drop evidence (detector, series, period) that revised figures no longer support."""
    current = state.alert
    if current is None:
        return []
    kept = tuple(e for e in current.evidence if (e.detector, e.series, e.period) not in removed)
    if len(kept) == len(current.evidence):
        return []
    if not kept:
        state.alert, state.notice_months = None, {}
        state.last_resolved = _resolve(current, period, "withdrawn", ctx)
        return [state.last_resolved]
    updated = replace_alert(current, ctx, evidence=kept)
    state.alert = _advance(updated, AlertStatus.UPDATED, period, "revised figures", ctx)
    return [state.alert]


def _corroborated(
    state: GroupState, decision: Decision, rules: AlertingRules
) -> tuple[Signal, ...] | None:
    """The recent signals if they are enough to open an alert, else None (kept as candidates)."""
    period = decision.period
    state.candidates[period] = (*state.candidates.get(period, ()), *decision.signals)
    for old in [p for p in state.candidates if p <= period - rules.corroborate_within]:
        del state.candidates[old]
    recent = [s for p in sorted(state.candidates) for s in state.candidates[p]]
    detectors = {s.detector for s in recent}
    months_per_detector = Counter(d for d, _ in {(s.detector, s.period) for s in recent})
    if (
        len(detectors) >= rules.min_detectors
        or max(months_per_detector.values()) >= rules.min_repeats
        or any(s.score >= rules.strong_ratio * s.threshold for s in decision.signals)
        or detectors & set(rules.standalone)
    ):
        return tuple(recent)
    return None


# -- building alerts -----------------------------------------------------------------------------


def _track_notices(state: GroupState, decision: Decision) -> None:
    for signal in decision.signals:
        if signal.notice_count:
            state.notice_months[signal.period] = (signal.notice_count, signal.notice_persons)


def _notice_totals(state: GroupState) -> tuple[int, int]:
    return (
        sum(c for c, _ in state.notice_months.values()),
        sum(p for _, p in state.notice_months.values()),
    )


def _open(decision: Decision, state: GroupState, ctx: AlertContext) -> Alert:
    period = decision.period
    evidence = _bounded_evidence(s.evidence() for s in decision.signals)
    notices = _bounded_notices(n for s in decision.signals for n in s.notices)
    count, persons = _notice_totals(state)
    severity = Severity.WATCH  # set with the rest of the importance by replace_alert
    draft = Alert(
        id=alert_id(decision.group, period_str(period)),
        sequence=1,
        group=decision.group,
        kind=decision.kind,
        polarity=decision.polarity,
        severity=severity,
        status=AlertStatus.OPEN,
        area=decision.area,
        region=decision.area,
        ely=ctx.hierarchy.ely_of(decision.area),
        area_name=ctx.area_name(decision.area),
        parents=ctx.hierarchy.ancestors(decision.area),
        sector=decision.sector,
        occupation=decision.occupation,
        period=period_str(period),
        opened_period=period_str(period),
        available_on=decision.available_on,
        evidence=evidence,
        notices=notices,
        notice_count=count,
        notice_persons=persons,
        also_in=decision.also_in,
        history=(
            HistoryEntry(period=period_str(period), status=AlertStatus.OPEN, severity=severity),
        ),
        explanation=Localized(fi="", sv="", en=""),
    )
    return replace_alert(draft, ctx)


def _merge(
    current: Alert, decision: Decision, state: GroupState, ctx: AlertContext
) -> tuple[Alert, bool, str]:
    evidence = _bounded_evidence([*current.evidence, *(s.evidence() for s in decision.signals)])
    notices = _bounded_notices(
        [*current.notices, *(n for s in decision.signals for n in s.notices)]
    )
    count, persons = _notice_totals(state)
    also_in = tuple(sorted(set(current.also_in) | set(decision.also_in)))
    severity, _, _ = importance(
        evidence, persons, current.kind, current.polarity, current.area, ctx
    )
    if severity.rank < current.severity.rank:
        severity = current.severity  # an open alert never de-escalates
    new_detectors = {e.detector for e in evidence} - {e.detector for e in current.evidence}
    notes = []
    if severity.rank > current.severity.rank:
        notes.append(f"escalated to {severity.value}")
    if new_detectors:
        notes.append("new evidence: " + ", ".join(sorted(new_detectors)))
    if persons >= NOTICE_GROWTH * max(state.reported_persons, 1) and count > current.notice_count:
        # Re-announce a notice alert when its headcount has grown markedly, not for every notice.
        notes.append(f"now {count} notices, {persons} persons")
        state.reported_persons = persons
    change = change_of([s.evidence() for s in decision.signals], current.kind, ctx.severity)
    if state.reported_change > 0 and change >= CHANGE_GROWTH * state.reported_change:
        notes.append(f"the change grew to {change:+.0%}" if change <= 10 else "the change grew")
        state.reported_change = change
    latest = max(period_index(current.period), decision.period)
    merged = replace_alert(
        current,
        ctx,
        evidence=evidence,
        notices=notices,
        notice_count=count,
        notice_persons=persons,
        also_in=also_in,
        severity=severity,
        period=period_str(latest),
    )
    return merged, bool(notes), "; ".join(notes)


def _advance(alert: Alert, status: AlertStatus, period: int, note: str, ctx: AlertContext) -> Alert:
    entry = HistoryEntry(
        period=period_str(period), status=status, severity=alert.severity, note=note
    )
    history = (*alert.history, entry)[-MAX_HISTORY:]
    return replace_alert(alert, ctx, status=status, sequence=alert.sequence + 1, history=history)


def _resolve(alert: Alert, period: int, resolution: str, ctx: AlertContext) -> Alert:
    resolved = replace_alert(alert, ctx, resolved_period=period_str(period), resolution=resolution)
    return _advance(resolved, AlertStatus.RESOLVED, period, resolution, ctx)


def replace_alert(alert: Alert, ctx: AlertContext, **changes: object) -> Alert:
    """A copy of ``alert`` with ``changes``, its importance and a freshly written explanation."""
    updated = alert.model_copy(update=changes)
    severity, impact, share = importance(
        updated.evidence,
        updated.notice_persons,
        updated.kind,
        updated.polarity,
        updated.area,
        ctx,
    )
    if updated.sequence == 1 and updated.status is AlertStatus.OPEN and "severity" not in changes:
        history = (updated.history[0].model_copy(update={"severity": severity}),)
        updated = updated.model_copy(update={"severity": severity, "history": history})
    months = len({e.period for e in updated.evidence})
    updated = updated.model_copy(
        update={
            "impact": impact,
            "labour_share": share,
            "confidence": confidence_of(updated.evidence, months),
        }
    )
    facts = AlertFacts(
        kind=updated.kind,
        polarity=updated.polarity,
        status=updated.status,
        resolution=updated.resolution,
        closure=updated.closure,
        area=updated.area,
        area_name=updated.area_name,
        sector=updated.sector,
        sector_name=ctx.sector_names.get(updated.sector) if updated.sector else None,
        occupation=updated.occupation,
        period=period_index(updated.period),
        evidence=updated.evidence,
        notices=updated.notices,
        notice_count=updated.notice_count,
        notice_persons=updated.notice_persons,
        also_in=[ctx.area_name(code) for code in updated.also_in],
        also_in_codes=updated.also_in,
    )
    # Validate once, here: model_copy does not, and every alert that leaves must be valid.
    return Alert.model_validate(
        {**updated.model_dump(exclude={"region", "ely"}), "explanation": explain(facts)}
    )


def _bounded_evidence(items: Iterable[SignalEvidence]) -> tuple[SignalEvidence, ...]:
    latest: dict[tuple[str, str, str], SignalEvidence] = {}
    for item in items:
        latest[(item.period, item.detector, item.series)] = item
    ordered = sorted(latest.values(), key=lambda e: (e.period, e.detector, e.series))
    return tuple(ordered[-MAX_EVIDENCE:])


def _bounded_notices(items: Iterable[NoticeEvidence]) -> tuple[NoticeEvidence, ...]:
    by_id: dict[str, NoticeEvidence] = {}
    for item in items:
        by_id[item.notice_id] = item
    largest = sorted(by_id.values(), key=lambda n: (-n.persons, n.notice_id))[:MAX_NOTICES]
    return tuple(sorted(largest, key=lambda n: (n.announced, n.notice_id)))


def change_of(evidence: Sequence[SignalEvidence], kind: AlertKind, rules: SeverityRules) -> float:
    """The largest relative change the evidence shows (material changes only; 0 if none)."""
    return max(
        (
            abs(e.value - e.baseline) / max(abs(e.baseline), 1e-9)
            for e in evidence
            if e.detector not in RELATIVE_DETECTORS
            and (kind in RATIO_KINDS or abs(e.value - e.baseline) >= rules.min_excess)
        ),
        default=0.0,
    )


def importance(
    evidence: Sequence[SignalEvidence],
    persons: int,
    kind: AlertKind,
    polarity: Polarity,
    area: str,
    ctx: AlertContext,
) -> tuple[Severity, float, float | None]:
    """Severity, persons affected and their share of the labour force (see ``importance``)."""
    rules = ctx.severity
    if kind in RATIO_KINDS:
        return severity_word(ratio_level(evidence, rules), polarity), 0.0, None
    impact = persons_affected(evidence, persons, kind)
    share = None
    force = _labour_force(area, evidence, ctx)
    if force is not None and force > 0:
        share = round(impact / force, 6)
    return severity_word(level_of(impact, share, rules), polarity), impact, share


def _labour_force(area: str, evidence: Sequence[SignalEvidence], ctx: AlertContext) -> float | None:
    if ctx.values is None or not evidence:
        return None
    latest = max(period_index(e.period) for e in evidence)
    series = f"{area}/labour_force"
    for period in range(latest, latest - 13, -1):
        value = ctx.values(series, period)
        if value is not None:
            return value
    return None
