"""Notices lead, figures confirm: expected inflow, one story per change, structural or transient.

Each layoff notice becomes an expected *footprint*: extra people in the unemployment register of
its municipality month by month (``[footprint]`` in the catalogue: per kind a share of the
persons, a lag after the notice takes effect, a spread of arrivals and a half-life of leaving;
temporary layoffs stay until they end). The stage annotates alerts as they leave the engine:

- a **notice alert** gets the footprint of its month's notices as a band (expected, low, high)
  and the status *pending*;
- a **negative figure alert** (unemployment, temporary layoffs) on an area whose notices imply at
  least ``min_expected`` people in its month is linked to those notice alerts (the same story
  id) and judged: *confirmed* when the figures' excess is within the band, *absorbed* below it,
  *exceeds* above it;
- every negative alert is classed *structural*, *transient* or *undetermined*, with the reason.

The notice alert hears the verdict too: each notice alert with a story is *watched* until its
footprint's horizon has passed. When a figure alert joins its story with a verdict, or the horizon
passes without one (*no rise seen*), :func:`verdicts` and :func:`expire` name the notice alerts
to publish again (a new version, see :mod:`tutka.streams.stages.stories`), and every later
version of the notice alert carries the verdict.

Pure and event-time; state is bounded (a footprint is dropped once its horizon has passed, a
watch :data:`WATCH_GRACE` months after it).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any, Final

from tutka.config.catalogue import FootprintRules, KindFootprint
from tutka.models.alerts import (
    MAX_HISTORY,
    Alert,
    AlertKind,
    ChangeClass,
    FootprintMonth,
    Localized,
    Polarity,
    Story,
    StoryStatus,
)
from tutka.models.areas import Hierarchy
from tutka.models.codes import period_index, period_str, tol_section
from tutka.models.events import LayoffNoticeFiled, NoticeKind
from tutka.streams.explain import LANGS, fmt_number, month_phrase

#: Months a watch on a notice alert is kept after its horizon (later versions keep the verdict).
WATCH_GRACE: Final = 12
#: The verdicts a figure alert gives a notice alert's story.
TOLD: Final = frozenset({StoryStatus.CONFIRMED, StoryStatus.ABSORBED, StoryStatus.EXCEEDS})

#: Figure alerts whose excess the notices can explain, and the measure each is judged on.
FIGURE_KINDS: Final = {
    AlertKind.UNEMPLOYMENT: "unemployed_jobseekers",
    AlertKind.TEMPORARY_LAYOFFS: "full_time_laid_off",
}


@dataclass(frozen=True, slots=True)
class Print:
    """One notice's footprint: extra people in the register from ``start``, month by month."""

    notice_id: str
    municipality: str
    section: str
    announced: int
    start: int
    values: tuple[float, ...]
    persons: int
    permanent: bool

    def at(self, month: int) -> float:
        """The expected extra people in ``month`` (0 outside the horizon)."""
        i = month - self.start
        return self.values[i] if 0 <= i < len(self.values) else 0.0


@dataclass(frozen=True, slots=True)
class Watch:
    """A notice alert waiting for the figures' verdict, and the verdict told so far."""

    group: str
    #: The last month of its footprint: the figures have had their chance by then.
    until: int
    #: The notice alert's story as last published before any verdict (pending).
    story: Story
    status: StoryStatus = StoryStatus.PENDING
    observed: float | None = None
    expected: float = 0.0
    low: float = 0.0
    high: float = 0.0
    #: The figure alert that gave the verdict (None for "no rise seen").
    figure: str | None = None


@dataclass(slots=True)
class StoryState:
    """Footprints of recent notices by id, the notice alert each went into, and the watches."""

    prints: dict[str, Print] = field(default_factory=dict)
    story_of: dict[str, str] = field(default_factory=dict)
    clock: int | None = None
    #: Notice alerts (by id) whose story is still open or whose verdict later versions repeat.
    watch: dict[str, Watch] = field(default_factory=dict)


def footprint(
    kind: KindFootprint, persons: int, effective: int, until: int | None, horizon: int
) -> tuple[int, tuple[float, ...]]:
    """A notice's expected extra people per month: (first month, values over ``horizon``).

    >>> from tutka.config.catalogue import KindFootprint
    >>> start, values = footprint(KindFootprint(share=0.5, lag=1, spread=2, half_life=0), 100,
    ...                           effective=0, until=None, horizon=5)
    >>> start, [round(v) for v in values]
    (1, [25, 50, 50, 50, 50])
    >>> footprint(KindFootprint(share=1.0, duration=2, permanent=False), 10, 0, None, 4)[1]
    (10.0, 10.0, 0.0, 0.0)
    """
    start = effective + kind.lag
    values = [0.0] * horizon
    if not kind.permanent:
        end = until if until is not None else effective + kind.duration - 1
        for i in range(horizon):
            if start + i <= end:
                values[i] = kind.share * persons
        return start, tuple(values)
    arrival = kind.share * persons / kind.spread
    for j in range(min(kind.spread, horizon)):
        for i in range(j, horizon):
            age = i - j
            stay = 0.5 ** (age / kind.half_life) if kind.half_life > 0 else 1.0
            values[i] += arrival * stay
    return start, tuple(values)


def on_notice(state: StoryState, notice: LayoffNoticeFiled, rules: FootprintRules) -> None:
    """Record the notice's footprint (a revision replaces it); forget expired ones."""
    announced = period_index(notice.period)
    if state.clock is None or announced > state.clock:
        state.clock = announced
        for nid in [n for n, p in state.prints.items() if p.start + len(p.values) < announced]:
            del state.prints[nid]
            state.story_of.pop(nid, None)
    kind = rules.kinds.get(notice.kind)
    if kind is None or kind.share == 0:
        state.prints.pop(notice.notice_id, None)
        return
    effective = period_index(f"{notice.effective_from:%Y-%m}")
    until = None if notice.effective_to is None else period_index(f"{notice.effective_to:%Y-%m}")
    start, values = footprint(kind, notice.persons, effective, until, rules.horizon)
    state.prints[notice.notice_id] = Print(
        notice_id=notice.notice_id,
        municipality=notice.municipality,
        section=tol_section(notice.sector),
        announced=announced,
        start=start,
        values=values,
        persons=notice.persons,
        permanent=notice.kind in (NoticeKind.DISMISSAL, NoticeKind.CLOSURE),
    )


def annotate(
    state: StoryState,
    alert: Alert,
    hierarchy: Hierarchy,
    rules: FootprintRules,
    link: bool = True,
) -> Alert:
    """The alert with its story (unchanged if it has none: positive, triggers, outliers).

    ``link``: remember which notice alert each notice went into (as alerts are emitted); False
    for a read-only look (introspection must not change what later alerts say).
    """
    if alert.polarity is not Polarity.NEGATIVE or alert.kind is AlertKind.POLICY_TRIGGER:
        return alert
    month = period_index(alert.period)
    if alert.kind is AlertKind.LAYOFF_NOTICES:
        return _notice_alert(state, alert, hierarchy, rules, link)
    if alert.kind not in FIGURE_KINDS and alert.kind is not AlertKind.LONG_TERM_UNEMPLOYMENT:
        return alert
    prints = [
        p
        for p in _under(state.prints.values(), alert.area, hierarchy)
        if p.announced <= month and (alert.sector in (None, p.section))
    ]
    expected = sum(p.at(month) for p in prints)
    if alert.kind not in FIGURE_KINDS or expected < rules.min_expected:
        return alert.model_copy(update={"story": _figure_only_story(alert)})
    story = _figure_story(alert, [p for p in prints if p.at(month) > 0], expected, state, rules)
    return alert.model_copy(update={"story": story})


def _notice_alert(
    state: StoryState, alert: Alert, hierarchy: Hierarchy, rules: FootprintRules, link: bool
) -> Alert:
    """A notice alert with the footprint of its notices, and the verdict once there is one."""
    opened, month = period_index(alert.opened_period), period_index(alert.period)
    prints = [
        p
        for p in _under(state.prints.values(), alert.area, hierarchy)
        if opened <= p.announced <= month and (alert.sector in (None, p.section))
    ]
    watch = state.watch.get(alert.id)
    if prints:
        story = _notice_story(alert, prints, rules)
        if link:
            for p in prints:
                state.story_of.setdefault(p.notice_id, alert.id)
            watch = _watch(state, alert, story)
    elif watch is not None:
        # Its notices' footprints are forgotten (past their horizon): the story as last told.
        story = watch.story
    else:
        return alert
    if watch is not None and watch.status is not StoryStatus.PENDING:
        story = _told(story, watch)
    return alert.model_copy(update={"story": story})


def _watch(state: StoryState, alert: Alert, story: Story) -> Watch:
    until = (
        period_index(story.footprint[-1].period) if story.footprint else period_index(alert.period)
    )
    old = state.watch.get(alert.id)
    if old is None:
        watch = Watch(group=alert.group, until=until, story=story)
    else:
        watch = replace(old, until=max(until, old.until), story=story)
    state.watch[alert.id] = watch
    return watch


def verdicts(state: StoryState, figure: Alert) -> list[str]:
    """The notice alerts a figure alert's verdict changes (to publish again), noting it.

    A notice alert hears a verdict once; a later figure alert of its story with another verdict
    (the rise kept growing past the band) is told again. Nothing for a figure alert without a
    verdict (pending, no notices) or a notice alert no longer watched.
    """
    story = figure.story
    if story is None or story.status not in TOLD or figure.kind not in FIGURE_KINDS:
        return []
    out = []
    for notice_alert in story.linked:
        watch = state.watch.get(notice_alert)
        if watch is None or watch.status is story.status:
            continue
        state.watch[notice_alert] = replace(
            watch,
            status=story.status,
            observed=story.observed,
            expected=story.expected,
            low=story.low,
            high=story.high,
            figure=figure.id,
        )
        out.append(notice_alert)
    return out


def expire(state: StoryState, clock: int) -> list[str]:
    """The notice alerts whose horizon passed before ``clock`` with no verdict: no rise seen.

    Watches :data:`WATCH_GRACE` months past their horizon are forgotten (bounded state).
    """
    if not any(_due(watch, clock) for watch in state.watch.values()):
        return []  # the common case (it runs for every event): nothing to sort and walk
    out = []
    for notice_alert, watch in sorted(state.watch.items()):
        if watch.until + WATCH_GRACE < clock:
            del state.watch[notice_alert]
        elif watch.until < clock and watch.status is StoryStatus.PENDING:
            state.watch[notice_alert] = replace(watch, status=StoryStatus.NO_RISE)
            out.append(notice_alert)
    return out


def _due(watch: Watch, clock: int) -> bool:
    """Whether :func:`expire` at ``clock`` forgets ``watch`` or gives it its verdict."""
    return watch.until + WATCH_GRACE < clock or (
        watch.until < clock and watch.status is StoryStatus.PENDING
    )


def _told(story: Story, watch: Watch) -> Story:
    """A notice alert's story with the verdict the figures gave it."""
    if watch.status is StoryStatus.NO_RISE:
        explanation = _no_rise(story)
        observed = None
    else:
        observed = watch.observed
        explanation = _verdict(watch.status, observed, watch.expected, watch.low, watch.high)
    return story.model_copy(
        update={"status": watch.status, "observed": observed, "explanation": explanation}
    )


def _no_rise(story: Story) -> Localized:
    texts = {}
    for lang in LANGS:
        e, lo, hi = (fmt_number(x, lang) for x in (story.expected, story.low, story.high))
        texts[lang] = {
            "fi": f"Ilmoitusten perusteella odotettiin enimmillään noin {e} ({lo}–{hi}) "
            "työtöntä lisää, mutta luvuissa ei näkynyt nousua: irtisanotut lienevät "
            "työllistyneet.",
            "sv": f"Enligt anmälningarna väntades som mest cirka {e} ({lo}–{hi}) fler "
            "arbetslösa, men siffrorna visade ingen ökning: de uppsagda har troligen fått "
            "arbete.",
            "en": f"The notices implied about {e} ({lo}–{hi}) more unemployed at most, but "
            "the figures showed no rise: those laid off have likely found work.",
        }[lang]
    return Localized(**texts)


def _under(prints: Iterable[Print], area: str, hierarchy: Hierarchy) -> list[Print]:
    return [
        p for p in prints if p.municipality == area or area in hierarchy.ancestors(p.municipality)
    ]


def _band(rules: FootprintRules, expected: float) -> tuple[float, float]:
    return round(expected * rules.low, 1), round(expected * rules.high, 1)


def _class(prints: list[Print], rules: FootprintRules) -> tuple[ChangeClass, Localized]:
    persons = sum(p.persons for p in prints)
    permanent = sum(p.persons for p in prints if p.permanent)
    share = permanent / persons if persons else 0.0
    n = {lang: (fmt_number(permanent, lang), fmt_number(persons, lang)) for lang in LANGS}
    if share >= rules.structural_share:
        return ChangeClass.STRUCTURAL, Localized(
            fi=f"pysyviä irtisanomisia ja lopettamisia {n['fi'][0]} / {n['fi'][1]} henkilöä",
            sv=f"permanenta uppsägningar och nedläggningar {n['sv'][0]} av {n['sv'][1]} personer",
            en=f"permanent dismissals and closures: {n['en'][0]} of {n['en'][1]} people",
        )
    return ChangeClass.TRANSIENT, Localized(
        fi=f"enimmäkseen lomautuksia, jotka palaavat: pysyviä {n['fi'][0]} / {n['fi'][1]}",
        sv=f"mest permitteringar som återgår: permanenta {n['sv'][0]} av {n['sv'][1]}",
        en=f"mostly temporary layoffs, which return: permanent {n['en'][0]} of {n['en'][1]}",
    )


def _months(prints: list[Print], first: int, rules: FootprintRules) -> tuple[FootprintMonth, ...]:
    out = []
    for month in range(first, first + min(rules.horizon, MAX_HISTORY)):
        expected = sum(p.at(month) for p in prints)
        low, high = _band(rules, expected)
        out.append(FootprintMonth(period=period_str(month), expected=round(expected, 1),
                                  low=low, high=high))  # fmt: skip
    return tuple(out)


def _notice_story(alert: Alert, prints: list[Print], rules: FootprintRules) -> Story:
    first = min(p.start for p in prints)
    months = _months(prints, first, rules)
    peak = max(months, key=lambda m: m.expected)
    change_class, evidence = _class(prints, rules)
    where = alert.area_name
    texts = {}
    for lang in LANGS:
        mid, low, high = (fmt_number(x, lang) for x in (peak.expected, peak.low, peak.high))
        when = month_phrase(period_index(peak.period), lang)
        start = month_phrase(first, lang)
        name = getattr(where, lang)
        texts[lang] = {
            "fi": f"Ilmoitusten perusteella työttömiä tulee alueella {name} lisää "
            f"{start} alkaen, enimmillään noin {mid} ({low}–{high}) {when}. Odottaa lukuja.",
            "sv": f"Enligt anmälningarna ökar de arbetslösa i {name} från och med "
            f"{start.removeprefix('i ')}, som mest med cirka {mid} ({low}–{high}) {when}. "
            "Väntar på siffrorna.",
            "en": f"From the notices, unemployment in {name} should rise from "
            f"{start.removeprefix('in ')}, by about {mid} ({low}–{high}) at most {when}. "
            "Waiting for the figures.",
        }[lang]
    return Story(
        id=alert.id,
        status=StoryStatus.PENDING,
        change_class=change_class,
        class_evidence=evidence,
        expected=peak.expected,
        low=peak.low,
        high=peak.high,
        notice_count=len(prints),
        notice_persons=sum(p.persons for p in prints),
        permanent_persons=sum(p.persons for p in prints if p.permanent),
        footprint=months,
        explanation=Localized(**texts),
    )


def _observed(alert: Alert) -> float | None:
    measure = FIGURE_KINDS.get(alert.kind)
    own = [e for e in alert.evidence if e.area == alert.area and e.measure == measure]
    latest = [e for e in own if e.period == alert.period] or own
    if not latest:
        return None
    return round(max(e.value - e.baseline for e in latest), 1)


def _figure_story(
    alert: Alert, prints: list[Print], expected: float, state: StoryState, rules: FootprintRules
) -> Story:
    observed = _observed(alert)
    low, high = _band(rules, expected)
    if observed is None:
        status = StoryStatus.PENDING
    elif observed < low:
        status = StoryStatus.ABSORBED
    elif observed > high:
        status = StoryStatus.EXCEEDS
    else:
        status = StoryStatus.CONFIRMED
    change_class, evidence = _class(prints, rules)
    if alert.kind is AlertKind.TEMPORARY_LAYOFFS:
        change_class, evidence = ChangeClass.TRANSIENT, _TEMPORARY
    linked = tuple(
        sorted({state.story_of[p.notice_id] for p in prints if p.notice_id in state.story_of})
    )
    return Story(
        id=linked[0] if linked else alert.id,
        status=status,
        change_class=change_class,
        class_evidence=evidence,
        expected=round(expected, 1),
        low=low,
        high=high,
        observed=observed,
        notice_count=len(prints),
        notice_persons=sum(p.persons for p in prints),
        permanent_persons=sum(p.persons for p in prints if p.permanent),
        footprint=_months(prints, period_index(alert.opened_period) - 3, rules),
        linked=linked,
        explanation=_verdict(status, observed, expected, low, high),
    )


_TEMPORARY: Final = Localized(
    fi="kokoaikaiset lomautukset palaavat töihin",
    sv="heltidspermitterade återgår till arbetet",
    en="people on full-time temporary layoff return to work",
)


def _figure_only_story(alert: Alert) -> Story:
    """A negative figure alert no notice explains: classed from its own course only."""
    opened, now = period_index(alert.opened_period), period_index(alert.period)
    if alert.kind is AlertKind.TEMPORARY_LAYOFFS or alert.resolution == "reversed":
        change_class = ChangeClass.TRANSIENT
        evidence = _TEMPORARY if alert.kind is AlertKind.TEMPORARY_LAYOFFS else _REVERSED
    elif now - opened >= 12:
        change_class, evidence = ChangeClass.STRUCTURAL, _LASTING
    else:
        change_class, evidence = ChangeClass.UNDETERMINED, _UNKNOWN
    return Story(
        id=alert.id,
        status=None,
        change_class=change_class,
        class_evidence=evidence,
        expected=0.0,
        low=0.0,
        high=0.0,
        observed=_observed(alert),
        explanation=_NO_NOTICES,
    )


_REVERSED: Final = Localized(
    fi="muutos palautui", sv="förändringen återgick", en="the change reversed"
)
_LASTING: Final = Localized(
    fi="muutos on kestänyt vuoden", sv="förändringen har bestått ett år",
    en="the change has lasted a year",
)  # fmt: skip
_UNKNOWN: Final = Localized(
    fi="ei ilmoituksia eikä vielä vuoden kestoa",
    sv="inga anmälningar och ännu inte ett år",
    en="no notices, and not yet a year old",
)
_NO_NOTICES: Final = Localized(
    fi="Mikään ilmoitus ei selitä muutosta.",
    sv="Ingen anmälan förklarar förändringen.",
    en="No notice explains this change.",
)


def _verdict(
    status: StoryStatus, observed: float | None, expected: float, low: float, high: float
) -> Localized:
    texts: dict[str, str] = {}
    for lang in LANGS:
        o = fmt_number(observed or 0.0, lang)
        e, lo, hi = (fmt_number(x, lang) for x in (expected, low, high))
        texts[lang] = {
            StoryStatus.CONFIRMED: {
                "fi": f"Luvut vahvistavat ilmoitukset: työttömiä {o} tavallista enemmän, "
                f"ilmoitusten perusteella odotettiin {e} ({lo}–{hi}).",
                "sv": f"Siffrorna bekräftar anmälningarna: {o} fler arbetslösa än vanligt, "
                f"enligt anmälningarna väntades {e} ({lo}–{hi}).",
                "en": f"The figures confirm the notices: {o} more unemployed than usual, "
                f"{e} ({lo}–{hi}) expected from the notices.",
            },
            StoryStatus.ABSORBED: {
                "fi": f"Nousu jäi ilmoituksia pienemmäksi ({o}, odotettiin {e}, {lo}–{hi}): "
                "moni irtisanottu on löytänyt työtä, hyvä merkki alueen työmarkkinoista.",
                "sv": f"Ökningen blev mindre än anmälningarna ({o}, väntat {e}, {lo}–{hi}): "
                "många uppsagda har fått arbete, ett gott tecken för områdets arbetsmarknad.",
                "en": f"The rise is smaller than the notices implied ({o}, expected {e}, "
                f"{lo}–{hi}): many have found work, a good sign for the local market.",
            },
            StoryStatus.EXCEEDS: {
                "fi": f"Nousu on suurempi kuin ilmoitukset selittävät ({o}, odotettiin {e}, "
                f"{lo}–{hi}): taustalla voi olla piilevä shokki, esimerkiksi alihankkijat.",
                "sv": f"Ökningen är större än anmälningarna förklarar ({o}, väntat {e}, "
                f"{lo}–{hi}): en dold chock, till exempel underleverantörer.",
                "en": f"The rise is larger than the notices explain ({o}, expected {e}, "
                f"{lo}–{hi}): a hidden shock, e.g. subcontractors.",
            },
            StoryStatus.PENDING: {
                "fi": f"Ilmoitusten perusteella odotetaan {e} ({lo}–{hi}); liian aikaista sanoa.",
                "sv": f"Enligt anmälningarna väntas {e} ({lo}–{hi}); för tidigt att säga.",
                "en": f"{e} ({lo}–{hi}) expected from the notices; too early to tell.",
            },
        }[status][lang]
    return Localized(**texts)


def snapshot(state: StoryState) -> dict[str, Any]:
    """The stage's state as JSON-safe data (part of the engine's checkpoint)."""
    return {
        "v": 1,
        "clock": state.clock,
        "prints": {
            nid: [
                p.municipality,
                p.section,
                p.announced,
                p.start,
                list(p.values),
                p.persons,
                p.permanent,
            ]
            for nid, p in state.prints.items()
        },
        "story_of": dict(state.story_of),
        "watch": {
            nid: [
                w.group,
                w.until,
                w.story.model_dump(mode="json"),
                w.status.value,
                w.observed,
                w.expected,
                w.low,
                w.high,
                w.figure,
            ]
            for nid, w in state.watch.items()
        },
    }


def restore(data: Any) -> StoryState:
    """The state :func:`snapshot` describes (empty for a checkpoint from before it)."""
    if data is None:
        return StoryState()
    return StoryState(
        prints={
            nid: Print(nid, m, s, a, st, tuple(v), p, perm)
            for nid, (m, s, a, st, v, p, perm) in data["prints"].items()
        },
        story_of=dict(data["story_of"]),
        clock=data["clock"],
        # Checkpoints from before the watches have none: their notice alerts stay pending.
        watch={
            nid: Watch(g, u, Story.model_validate(st), StoryStatus(s), o, e, lo, hi, f)
            for nid, (g, u, st, s, o, e, lo, hi, f) in data.get("watch", {}).items()
        },
    )
