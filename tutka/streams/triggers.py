"""Policy-trigger watchers: numeric criteria of measures staff must start in time (pure).

Three watchers, each raising a ``policy_trigger`` alert that carries the criterion, the measured
figure, the threshold and the window (:class:`tutka.models.alerts.TriggerFacts`):

- **EGF** (Regulation (EU) 2021/691, Art. 4(2)): more than ``enterprise_persons`` displaced
  workers in one enterprise (business id) within ``enterprise_months``, or more than
  ``sector_persons`` in one NACE Rev. 2 division (the first two digits of a TOL 2008 code) in one
  NUTS 2 region or two contiguous ones within ``sector_months``. Displaced workers are the persons
  of dismissal and closure notices, in the month their dismissal takes effect.
- **Sudden structural change** (sub-region): permanent job losses announced in dismissal and
  closure notices over the last ``months`` reaching ``min_persons`` and ``min_share`` of the
  sub-region's latest labour force.
- **Sahm's rule** (region): the 3-month average unemployment rate at least ``rise_pp`` points above
  its lowest 3-month average of the previous ``low_months`` months.

The EGF and structural-change alerts open once per episode (a later window of the same subject
that overlaps the one that fired is the same episode); a Sahm alert stays open while the rule
holds and resolves the first month it does not. State is bounded: notices are forgotten
``NOTICE_MONTHS`` after their announcement, rates after ``low_months + average_months`` months.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import astuple, dataclass, field
from datetime import date
from typing import Any, Final

from tutka.config.catalogue import EgfRules, SahmRules, StructuralChangeRules, TriggerRules
from tutka.models.alerts import (
    Alert,
    AlertKind,
    AlertStatus,
    HistoryEntry,
    Polarity,
    Severity,
    TriggerFacts,
    TriggerRule,
    alert_id,
)
from tutka.models.areas import Hierarchy
from tutka.models.codes import area_level, period_index, period_str
from tutka.models.events import LayoffNoticeFiled, UnemploymentMeasure
from tutka.streams.alerting import AlertContext
from tutka.streams.signals import SeriesKey
from tutka.streams.trigger_texts import SOURCES, criterion, explanation

#: Months a notice is remembered after its announcement (longer than every window).
NOTICE_MONTHS: Final = 36
UNEMPLOYED: Final = UnemploymentMeasure.UNEMPLOYED_JOBSEEKERS.value
LABOUR_FORCE: Final = UnemploymentMeasure.LABOUR_FORCE.value
#: Months after an episode's window within which a window meeting the criterion again belongs
#: to the same episode (one alert for a wave of notices, not one per reference period).
EPISODE_GAP: Final = 6
#: Rounding before comparing with a threshold: 0.1 + 0.4 must meet 0.5.
_DIGITS: Final = 9


@dataclass(frozen=True, slots=True)
class _Noted:
    """What the watchers keep of a displacing notice."""

    announced: int
    effective: int
    persons: int
    business_id: str
    division: str
    region: str
    sub_area: str
    municipality: str


@dataclass(slots=True)
class TriggerState:
    """The watchers' memory: recent displacing notices, labour force, rates, fired episodes."""

    notices: dict[str, _Noted] = field(default_factory=dict)
    clock: int | None = None
    #: Latest total labour force per area (as reported, or summed from municipalities).
    labour_force: dict[str, float] = field(default_factory=dict)
    #: Unemployment rate (%) per region and month, bounded.
    rates: dict[str, dict[int, float]] = field(default_factory=dict)
    #: Labour force per region over the last 12 months (the rate's smoothed denominator).
    forces: dict[str, dict[int, float]] = field(default_factory=dict)
    #: Fired episodes: (rule, subject) -> [(window start, window end, regions)], recent ones.
    fired: dict[tuple[TriggerRule, str], list[tuple[int, int, frozenset[str]]]] = field(
        default_factory=dict
    )
    #: Open Sahm alerts by region.
    open: dict[str, Alert] = field(default_factory=dict)


def on_notice(
    state: TriggerState, notice: LayoffNoticeFiled, rules: TriggerRules, ctx: AlertContext
) -> list[Alert]:
    """Fold one notice in (a revision replaces the earlier one); the trigger alerts it raises."""
    announced = period_index(notice.period)
    if state.clock is None or announced > state.clock:
        state.clock = announced
        horizon = announced - NOTICE_MONTHS
        for key in [k for k, n in state.notices.items() if n.announced < horizon]:
            del state.notices[key]
    kinds = {
        *(rules.egf.kinds if rules.egf else ()),
        *(rules.structural.kinds if rules.structural else ()),
    }
    state.notices.pop(notice.notice_id, None)
    if notice.kind not in kinds:
        return []
    ancestors = ctx.hierarchy.ancestors(notice.municipality)
    region = next((a for a in ancestors if area_level(a) == "MK"), notice.municipality)
    level = rules.structural.level if rules.structural else "SK"
    sub_area = next((a for a in ancestors if area_level(a) == level), notice.municipality)
    noted = _Noted(
        announced=announced,
        effective=period_index(period_str_of(notice.effective_from)),
        persons=notice.persons,
        business_id=notice.business_id,
        division=notice.sector[:2],
        region=region,
        sub_area=sub_area,
        municipality=notice.municipality,
    )
    state.notices[notice.notice_id] = noted
    out: list[Alert] = []
    if rules.egf is not None and notice.kind in rules.egf.kinds:
        out.extend(_egf_enterprise(state, noted, rules.egf, ctx, notice.announced))
        out.extend(_egf_sector(state, noted, rules.egf, ctx, notice.announced))
    if rules.structural is not None and notice.kind in rules.structural.kinds:
        out.extend(_structural(state, noted, rules.structural, ctx, notice.announced))
    for alert in out:
        # Open until the episode can no longer grow (see _close_episodes), keyed by its id.
        state.open[alert.id] = alert
    return out


def period_str_of(day: date) -> str:
    """The ``YYYY-MM`` of a day."""
    return f"{day.year:04d}-{day.month:02d}"


def _best_window(months: Iterable[tuple[int, int]], pivot: int, width: int) -> tuple[int, int]:
    """The ``width``-month window containing ``pivot`` with the most persons: (start, persons)."""
    items = list(months)
    best = (pivot, -1)
    for start in range(pivot - width + 1, pivot + 1):
        total = sum(p for m, p in items if start <= m < start + width)
        if total > best[1]:
            best = (start, total)
    return best


def _new_episode(
    state: TriggerState, key: tuple[TriggerRule, str], start: int, end: int, regions: frozenset[str]
) -> bool:
    episodes = state.fired.setdefault(key, [])
    # Episodes long over are forgotten (bounded state).
    episodes[:] = [e for e in episodes if e[1] + EPISODE_GAP >= start - NOTICE_MONTHS]
    for i, (first, last, where) in enumerate(episodes):
        if (
            first <= end
            and start <= last + EPISODE_GAP
            and (not regions or not where or regions & where)
        ):
            # Still the same episode: windows that keep meeting the criterion extend it.
            episodes[i] = (first, max(end, last), where | regions)
            return False
    episodes.append((start, end, regions))
    return True


def _egf_enterprise(
    state: TriggerState, noted: _Noted, rules: EgfRules, ctx: AlertContext, day: date
) -> list[Alert]:
    width = rules.enterprise_months
    same = [n for n in state.notices.values() if n.business_id == noted.business_id]
    start, persons = _best_window(((n.effective, n.persons) for n in same), noted.effective, width)
    if persons <= rules.enterprise_persons:
        return []
    end = start + width - 1
    key = (TriggerRule.EGF_ENTERPRISE, noted.business_id)
    if not _new_episode(state, key, start, end, frozenset()):
        return []
    areas = sorted({n.municipality for n in same if start <= n.effective <= end})
    facts = TriggerFacts(
        rule=TriggerRule.EGF_ENTERPRISE,
        criterion=criterion(TriggerRule.EGF_ENTERPRISE, rules.enterprise_persons, width),
        source=SOURCES[TriggerRule.EGF_ENTERPRISE],
        subject=noted.business_id,
        measured=float(persons),
        threshold=float(rules.enterprise_persons),
        comparison="gt",
        window_from=period_str(start),
        window_to=period_str(end),
        regions=tuple(areas),
    )
    area = _common_area(ctx.hierarchy, areas)
    return [_alert(facts, area, None, noted.announced, day, ctx, Severity.WARNING)]


def _egf_sector(
    state: TriggerState, noted: _Noted, rules: EgfRules, ctx: AlertContext, day: date
) -> list[Alert]:
    nuts_of = {mk: code for code, regions in rules.nuts2.items() for mk in regions}
    home = nuts_of.get(noted.region, noted.region)
    units = [frozenset({home})] + [frozenset(pair) for pair in rules.contiguous if home in pair]
    width = rules.sector_months
    same = [n for n in state.notices.values() if n.division == noted.division]
    best: tuple[int, int, frozenset[str]] | None = None
    for unit in units:
        inside = ((n.effective, n.persons) for n in same if nuts_of.get(n.region, n.region) in unit)
        start, persons = _best_window(inside, noted.effective, width)
        # The smaller unit wins a tie: one region is the plainer case.
        if best is None or persons > best[1]:
            best = (start, persons, unit)
    assert best is not None
    start, persons, unit = best
    if persons <= rules.sector_persons:
        return []
    end = start + width - 1
    if not _new_episode(state, (TriggerRule.EGF_SECTOR, noted.division), start, end, unit):
        return []
    facts = TriggerFacts(
        rule=TriggerRule.EGF_SECTOR,
        criterion=criterion(TriggerRule.EGF_SECTOR, rules.sector_persons, width),
        source=SOURCES[TriggerRule.EGF_SECTOR],
        subject=noted.division,
        measured=float(persons),
        threshold=float(rules.sector_persons),
        comparison="gt",
        window_from=period_str(start),
        window_to=period_str(end),
        regions=tuple(sorted(unit)),
    )
    regions = sorted(
        {
            n.region
            for n in same
            if nuts_of.get(n.region, n.region) in unit and start <= n.effective <= end
        }
    )
    area = _common_area(ctx.hierarchy, regions)
    return [_alert(facts, area, noted.division, noted.announced, day, ctx, Severity.WARNING)]


def _structural(
    state: TriggerState,
    noted: _Noted,
    rules: StructuralChangeRules,
    ctx: AlertContext,
    day: date,
) -> list[Alert]:
    start = noted.announced - rules.months + 1
    persons = sum(
        n.persons
        for n in state.notices.values()
        if n.sub_area == noted.sub_area and start <= n.announced <= noted.announced
    )
    labour_force = state.labour_force.get(noted.sub_area)
    if labour_force is None or labour_force <= 0:
        return []
    share = persons / labour_force
    if persons < rules.min_persons or round(share - rules.min_share, _DIGITS) < 0:
        return []
    key = (TriggerRule.SUDDEN_STRUCTURAL_CHANGE, noted.sub_area)
    if not _new_episode(state, key, start, noted.announced, frozenset()):
        return []
    facts = TriggerFacts(
        rule=TriggerRule.SUDDEN_STRUCTURAL_CHANGE,
        criterion=criterion(
            TriggerRule.SUDDEN_STRUCTURAL_CHANGE, rules.min_persons, rules.months, rules.min_share
        ),
        source=SOURCES[TriggerRule.SUDDEN_STRUCTURAL_CHANGE],
        subject=noted.sub_area,
        measured=float(persons),
        threshold=float(max(rules.min_persons, rules.min_share * labour_force)),
        comparison="ge",
        window_from=period_str(start),
        window_to=period_str(noted.announced),
        regions=(noted.sub_area,),
        figures=(("labour_force", labour_force), ("share", round(share, 6))),
    )
    return [_alert(facts, noted.sub_area, None, noted.announced, day, ctx, Severity.WARNING)]


def on_release(
    state: TriggerState,
    period: int,
    available_on: date,
    figures: Mapping[SeriesKey, float],
    rules: TriggerRules,
    ctx: AlertContext,
) -> list[Alert]:
    """Fold one monthly release (total figures by series) in; the alerts it opens or resolves."""
    totals = _totals(
        figures,
        ctx.hierarchy,
        {
            level
            for level in (
                rules.structural.level if rules.structural else None,
                rules.sahm.level if rules.sahm else None,
            )
            if level is not None
        },
    )
    for (area, measure), value in totals.items():
        if measure == LABOUR_FORCE:
            state.labour_force[area] = value
    closed = _close_episodes(state, period, available_on, ctx)
    if rules.sahm is None:
        return closed
    return closed + _sahm(state, period, available_on, totals, rules.sahm, ctx)


def _close_episodes(
    state: TriggerState, period: int, available_on: date, ctx: AlertContext
) -> list[Alert]:
    """Resolve the EGF and structural-change alerts whose episode is over.

    Such an alert says a criterion was met in a reference period; it stays open (in the room, in
    Alertmanager) while a later window could still belong to its episode, i.e. until
    :data:`EPISODE_GAP` months after its window, then resolves.
    """
    out: list[Alert] = []
    for key, alert in sorted(state.open.items()):
        facts = alert.trigger
        if facts is None or facts.rule is TriggerRule.SAHM_RULE:
            continue
        if period > period_index(facts.window_to) + EPISODE_GAP:
            del state.open[key]
            out.append(_resolved(alert, period, available_on, facts, ctx))
    return out


def _totals(
    figures: Mapping[SeriesKey, float], hierarchy: Hierarchy, levels: set[str]
) -> dict[tuple[str, str], float]:
    """Total unemployed and labour force per area: reported, or summed from municipalities."""
    reported: dict[tuple[str, str], float] = {}
    summed: dict[tuple[str, str], float] = {}
    for key, value in figures.items():
        if key.sector is not None or key.occupation is not None:
            continue
        if key.measure not in (UNEMPLOYED, LABOUR_FORCE):
            continue
        reported[(key.area, key.measure)] = value
        if area_level(key.area) == "KU":
            for ancestor in hierarchy.ancestors(key.area):
                if area_level(ancestor) in levels:
                    summed[(ancestor, key.measure)] = (
                        summed.get((ancestor, key.measure), 0.0) + value
                    )
    return {**summed, **reported}


def _sahm(
    state: TriggerState,
    period: int,
    available_on: date,
    totals: Mapping[tuple[str, str], float],
    rules: SahmRules,
    ctx: AlertContext,
) -> list[Alert]:
    out: list[Alert] = []
    keep = rules.low_months + rules.average_months + 12 * rules.seasonal_years + 6
    for (area, measure), unemployed in sorted(totals.items()):
        if measure != UNEMPLOYED or area_level(area) != rules.level:
            continue
        reported = totals.get((area, LABOUR_FORCE)) or state.labour_force.get(area)
        if not reported:
            continue
        # Labour force is counted once a year (12r5 steps every January): a step would look
        # like a change of the rate, so the denominator is the mean of the last 12 months.
        forces = state.forces.setdefault(area, {})
        forces[period] = reported
        for old in [p for p in forces if p <= period - 12]:
            del forces[old]
        labour_force = sum(forces.values()) / len(forces)
        rates = state.rates.setdefault(area, {})
        rates[period] = 100.0 * unemployed / labour_force
        for old in [p for p in rates if p <= period - keep]:
            del rates[old]
        rise = _sahm_rise(_adjusted(rates, period, rules), period, rules)
        if rise is None:
            continue
        met = round(rise - rules.rise_pp, _DIGITS) >= 0
        current = state.open.get(area)
        if met and current is None:
            facts = _sahm_facts(_adjusted(rates, period, rules), period, rise, area, rules)
            alert = _alert(facts, area, None, period, available_on, ctx, Severity.WARNING)
            state.open[area] = alert
            out.append(alert)
        elif not met and current is not None:
            del state.open[area]
            adjusted = _adjusted(rates, period, rules)
            facts = _sahm_facts(adjusted, period, rise, area, rules)
            out.append(_resolved(current, period, available_on, facts, ctx))
    return out


def _adjusted(rates: Mapping[int, float], period: int, rules: SahmRules) -> dict[int, float]:
    """The rates with each calendar month's usual deviation taken out (past data only).

    Registered unemployment is seasonal (it peaks every summer): Sahm's rule is defined on
    seasonally adjusted rates. A month's seasonal effect is the mean, over up to
    ``seasonal_years`` earlier years, of that month's rate minus the mean of the 12 months around
    it (windows wholly in the past). Without two such years per month, nothing is adjusted and
    None is judged (the rule waits). With ``seasonal_years = 0`` the rates are used as they are.
    """
    if rules.seasonal_years == 0:
        return dict(rates)
    deviations: dict[int, list[float]] = {}
    first = period - 12 * rules.seasonal_years - 6
    for month in range(first, period - 5):
        window = [rates.get(p) for p in range(month - 6, month + 6)]
        value = rates.get(month)
        if value is None or any(v is None for v in window):
            continue
        centre = sum(v for v in window if v is not None) / 12
        deviations.setdefault(month % 12, []).append(value - centre)
    if len(deviations) < 12 or any(len(d) < 2 for d in deviations.values()):
        return {}
    effect = {m: sum(d) / len(d) for m, d in deviations.items()}
    return {p: r - effect[p % 12] for p, r in rates.items()}


def _average(rates: Mapping[int, float], end: int, months: int) -> float | None:
    values = [rates.get(p) for p in range(end - months + 1, end + 1)]
    if any(v is None for v in values):
        return None
    return sum(v for v in values if v is not None) / months


def _sahm_rise(rates: Mapping[int, float], period: int, rules: SahmRules) -> float | None:
    now = _average(rates, period, rules.average_months)
    earlier = [
        _average(rates, p, rules.average_months) for p in range(period - rules.low_months, period)
    ]
    lows = [v for v in earlier if v is not None]
    if now is None or len(lows) < rules.low_months:
        return None
    return now - min(lows)


def _sahm_facts(
    rates: Mapping[int, float], period: int, rise: float, area: str, rules: SahmRules
) -> TriggerFacts:
    now = _average(rates, period, rules.average_months) or 0.0
    return TriggerFacts(
        rule=TriggerRule.SAHM_RULE,
        criterion=criterion(TriggerRule.SAHM_RULE, rules.rise_pp, rules.low_months),
        source=SOURCES[TriggerRule.SAHM_RULE],
        subject=area,
        measured=round(rise, 4),
        threshold=rules.rise_pp,
        comparison="ge",
        window_from=period_str(period - rules.low_months - rules.average_months + 1),
        window_to=period_str(period),
        regions=(area,),
        figures=(("rate_3m", round(now, 4)), ("low_3m", round(now - rise, 4))),
    )


def _common_area(hierarchy: Hierarchy, areas: list[str]) -> str:
    """The narrowest area covering all of ``areas`` (the country if they share nothing)."""
    if not areas:
        return "SSS"
    chains = [(a, *hierarchy.ancestors(a)) for a in areas]
    for candidate in chains[0]:
        if all(candidate in chain for chain in chains[1:]):
            return candidate
    return "SSS"


def _alert(
    facts: TriggerFacts,
    area: str,
    sector: str | None,
    period: int,
    available_on: date,
    ctx: AlertContext,
    severity: Severity,
) -> Alert:
    kind = AlertKind.POLICY_TRIGGER
    subject = facts.subject
    if facts.rule is TriggerRule.EGF_SECTOR:
        # One division can meet the criterion in two units (regions) in the same month.
        subject += ":" + "+".join(facts.regions)
    group = f"{area}|{sector or '-'}|{facts.rule.value}:{subject}|{kind.value}"
    opened = period_str(period)
    where = ctx.area_name(area)
    return Alert(
        id=alert_id(group, opened),
        sequence=1,
        group=group,
        kind=AlertKind.POLICY_TRIGGER,
        polarity=Polarity.NEGATIVE,
        severity=severity,
        status=AlertStatus.OPEN,
        area=area,
        region=area,
        ely=ctx.hierarchy.ely_of(area),
        area_name=where,
        parents=ctx.hierarchy.ancestors(area),
        sector=sector,
        period=opened,
        opened_period=opened,
        available_on=available_on,
        evidence=(),
        history=(HistoryEntry(period=opened, status=AlertStatus.OPEN, severity=severity),),
        explanation=explanation(facts, where, area, met=True),
        trigger=facts,
    )


def _resolved(
    alert: Alert, period: int, available_on: date, facts: TriggerFacts, ctx: AlertContext
) -> Alert:
    entry = HistoryEntry(
        period=period_str(period), status=AlertStatus.RESOLVED, severity=alert.severity
    )
    return Alert.model_validate(
        {
            **alert.model_dump(exclude={"region", "ely"}),
            "sequence": alert.sequence + 1,
            "available_on": available_on,
            "status": AlertStatus.RESOLVED,
            "period": period_str(period),
            "resolved_period": period_str(period),
            "resolution": "quiet",
            "history": (*alert.history, entry)[-36:],
            "trigger": facts,
            "explanation": explanation(facts, alert.area_name, alert.area, met=False),
        }
    )


def snapshot(state: TriggerState) -> dict[str, Any]:
    """The watchers' state as JSON-safe data (part of the engine's checkpoint)."""
    return {
        "v": 1,
        "notices": {nid: list(astuple(n)) for nid, n in state.notices.items()},
        "clock": state.clock,
        "labour_force": dict(state.labour_force),
        "forces": {
            area: [[p, v] for p, v in sorted(values.items())]
            for area, values in state.forces.items()
        },
        "rates": {
            area: [[p, r] for p, r in sorted(rates.items())] for area, rates in state.rates.items()
        },
        "fired": [
            [rule.value, subject, [[start, end, sorted(regions)] for start, end, regions in spans]]
            for (rule, subject), spans in state.fired.items()
        ],
        "open": {area: alert.model_dump(mode="json") for area, alert in state.open.items()},
    }


def restore(data: Mapping[str, Any] | None) -> TriggerState:
    """The state :func:`snapshot` describes (an empty one for a checkpoint from before it)."""
    if data is None:
        return TriggerState()
    if data.get("v") != 1:
        raise ValueError(f"trigger state has version {data.get('v')!r}; this build reads 1")
    return TriggerState(
        notices={nid: _Noted(*row) for nid, row in data["notices"].items()},
        clock=data["clock"],
        labour_force={k: float(v) for k, v in data["labour_force"].items()},
        rates={area: {int(p): float(r) for p, r in rows} for area, rows in data["rates"].items()},
        forces={
            area: {int(p): float(v) for p, v in rows}
            for area, rows in data.get("forces", {}).items()
        },
        fired={
            (TriggerRule(rule), subject): [(a, b, frozenset(r)) for a, b, r in spans]
            for rule, subject, spans in data["fired"]
        },
        open={area: Alert.model_validate(item) for area, item in data["open"].items()},
    )
