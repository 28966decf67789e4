"""The engine end to end on a tiny seeded market: decode → detect → judge → alert."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime

import pytest

from tutka.config.catalogue import Catalogue, OutlierRules, load_catalogue
from tutka.models.alerts import (
    HELD_STRUCTURAL,
    NEW_NORMAL,
    Alert,
    AlertKind,
    AlertStatus,
    ChangeClass,
    Polarity,
    held_open,
)
from tutka.models.closures import StaffClosure
from tutka.models.codes import period_index
from tutka.streams.engine import Engine, Rejection
from tutka.streams.ordering import ordering_key

from .helpers import small_hierarchy
from .market import START, figures, notice

H = small_hierarchy()
# Multivariate outliers need many areas; this market has a handful (tested elsewhere).
CATALOGUE = load_catalogue().model_copy(update={"outlier": OutlierRules(levels=())})
SHIFT = 72  # months after START


def run(events) -> tuple[Engine, list]:  # type: ignore[no-untyped-def]
    engine = Engine(H, CATALOGUE)
    return engine, engine.run(sorted(events, key=ordering_key))


def alerts(outputs) -> dict[str, Alert]:  # type: ignore[no-untyped-def]
    latest: dict[str, Alert] = {}
    for out in outputs:
        if isinstance(out, Alert):
            latest[out.id] = out
    return latest


def opened(outputs, kind: AlertKind = AlertKind.UNEMPLOYMENT) -> list[tuple[str, str, int]]:  # type: ignore[no-untyped-def]
    return sorted(
        (a.area, a.polarity.value, period_index(a.opened_period) - START)
        for a in alerts(outputs).values()
        if a.kind is kind
    )


def test_a_quiet_market_raises_no_unemployment_alert() -> None:
    _, outputs = run(figures())
    assert opened(outputs) == []


def test_a_local_jump_is_reported_where_it_happened() -> None:
    jump = lambda area, t: 1.4 if area == "KU240" and t >= SHIFT else 1.0  # noqa: E731
    _, outputs = run(figures(unemployment=jump))
    found = opened(outputs)
    assert [a for a in found if a[0] != "KU240"] == []
    assert [(area, polarity) for area, polarity, _ in found] == [("KU240", "negative")]
    assert SHIFT <= found[0][2] <= SHIFT + 2
    alert = next(a for a in alerts(outputs).values() if a.area == "KU240")
    assert "SK192" in alert.also_in  # the sub-region's rise is this town's
    assert alert.explanation.fi and alert.explanation.sv and alert.explanation.en


def test_a_nationwide_shock_is_reported_once_as_national() -> None:
    shock = lambda area, t: 1.4 if t >= SHIFT else 1.0  # noqa: E731
    _, outputs = run(figures(unemployment=shock))
    negative = [a for a in opened(outputs) if a[1] == "negative"]
    assert [a[0] for a in negative] == ["SSS"]
    assert SHIFT <= negative[0][2] <= SHIFT + 2


def test_a_hiring_surge_is_positive_structural_change() -> None:
    vac = lambda area, t: 1.8 if area == "KU240" and t >= SHIFT else 1.0  # noqa: E731
    unemp = lambda area, t: 0.8 if area == "KU240" and t >= SHIFT else 1.0  # noqa: E731
    _, outputs = run(figures(unemployment=unemp, vacancies=vac))
    kinds = {(a.kind, a.area, a.polarity) for a in alerts(outputs).values()}
    assert (AlertKind.UNEMPLOYMENT, "KU240", Polarity.POSITIVE) in kinds
    assert all(p is Polarity.POSITIVE for k, area, p in kinds if area == "KU240")
    # Vacancy counts are watched nationally by default (README's ablation) ...
    assert not any(k is AlertKind.VACANCIES and area == "KU240" for k, area, _ in kinds)


def test_vacancies_can_be_watched_locally_by_the_share_detector() -> None:
    data = CATALOGUE.model_dump()
    rule = next(r for r in data["series"] if r["name"] == "vacancies")
    rule["detectors"] = ["relative_shift", *rule["detectors"]]
    rule["levels"]["relative_shift"] = ["KU"]
    catalogue = Catalogue.model_validate(data)
    vac = lambda area, t: 1.8 if area == "KU240" and t >= SHIFT else 1.0  # noqa: E731
    engine = Engine(H, catalogue)
    outputs = engine.run(sorted(figures(vacancies=vac), key=ordering_key))
    kinds = {(a.kind, a.area, a.polarity) for a in alerts(outputs).values()}
    assert (AlertKind.VACANCIES, "KU240", Polarity.POSITIVE) in kinds


def test_a_temporary_wave_that_recovers_is_one_story() -> None:
    wave = lambda area, t: 1.5 if area == "KU240" and SHIFT <= t < SHIFT + 6 else 1.0  # noqa: E731
    _, outputs = run(figures(unemployment=wave))
    local = [
        a
        for a in alerts(outputs).values()
        if a.area == "KU240" and a.kind is AlertKind.UNEMPLOYMENT
    ]
    assert [a.polarity for a in local] == [Polarity.NEGATIVE]
    assert local[0].status is AlertStatus.RESOLVED


@pytest.mark.slow
def test_same_input_same_alerts_and_exact_duplicates_change_nothing() -> None:
    jump = lambda area, t: 1.4 if area == "KU240" and t >= SHIFT else 1.0  # noqa: E731
    events = figures(unemployment=jump)
    _, once = run(events)
    _, again = run(events)
    engine, doubled = run([e for e in events for _ in range(2)])
    assert once == again == doubled
    assert engine.stats.figures["duplicate"] == len(events)


def test_order_within_a_release_does_not_matter() -> None:
    jump = lambda area, t: 1.4 if area == "KU240" and t >= SHIFT else 1.0  # noqa: E731
    events = figures(unemployment=jump)
    shuffled = events[:]
    random.Random(3).shuffle(shuffled)
    shuffled.sort(key=lambda e: e.published)  # availability order, any order within a day
    engine = Engine(H, CATALOGUE)
    assert engine.run(shuffled) == run(events)[1]


def test_a_revised_figure_replaces_the_first_and_is_judged_again() -> None:
    spike_at = START + SHIFT
    events = figures()
    spike = next(
        e
        for e in events
        if e.area == "KU240"
        and e.measure.value == "unemployed_jobseekers"
        and period_index(e.period) == spike_at
    )
    bad = spike.model_copy(update={"value": spike.value * 3})
    events = [bad if e is spike else e for e in events]
    revision = spike.model_copy(update={"revision": 1, "published": date(2018, 3, 1)})
    # Revision 0 again, arriving after revision 1: older than what we have, so ignored.
    stale = spike.model_copy(update={"value": 1.0, "published": date(2018, 3, 2)})
    engine, outputs = run([*events, revision, stale])
    local = [
        a
        for a in alerts(outputs).values()
        if a.area == "KU240" and a.kind is AlertKind.UNEMPLOYMENT
    ]
    assert local, "the tripled figure should have raised an alert"
    assert local[0].opened_period == "2018-01"
    assert (local[0].status, local[0].resolution) == (AlertStatus.RESOLVED, "withdrawn")
    assert engine.stats.figures["revised"] >= 1 and engine.stats.figures["stale"] == 1
    assert (
        engine.series[
            next(k for k in engine.series if str(k) == "KU240/unemployed_jobseekers")
        ].value(spike_at)
        == spike.value
    )


def test_an_area_outside_the_hierarchy_is_rejected_not_crashed() -> None:
    events = figures(months=2)
    outsider = events[0].model_copy(update={"area": "KU999"})
    engine, outputs = run([*events, outsider])
    rejections = [o for o in outputs if isinstance(o, Rejection)]
    assert [r.error_type for r in rejections] == ["unknown_area"]
    assert "KU999" in rejections[0].summary
    assert engine.stats.figures["rejected"] == 1


def _burst(kind: str = "dismissal") -> list:  # type: ignore[type-arg]
    background = [
        notice(f"bg-{m}", date(2012 + m // 12, m % 12 + 1, 10), 8, sector="47")
        for m in range(0, 36, 2)
    ]
    burst = [
        notice(f"mill-{i}", date(2015, 3, 2 + i), 180).model_copy(update={"kind": kind})
        for i in range(3)
    ]
    later = [notice(f"later-{m}", date(2015 + (7 + m) // 12, (7 + m) % 12 + 1, 3), 5, sector="47")
             for m in range(0, 12, 3)]  # fmt: skip
    return [*background, *burst, *later]


def test_a_burst_of_dismissals_alerts_at_once_and_is_held_open_as_structural() -> None:
    engine, outputs = run(_burst())
    found = [a for a in alerts(outputs).values() if a.kind is AlertKind.LAYOFF_NOTICES]
    assert [(a.area, a.sector) for a in found] == [("SK192", "C")]
    first = next(o for o in outputs if isinstance(o, Alert))
    assert first.available_on == date(2015, 3, 2) and first.notice_persons == 180
    held = found[0]
    assert held.notice_persons == 540 and held.notice_count == 3
    assert {n.employer for n in held.notices} == {"Perämeren Sellu Oy"}
    # Permanent job losses: quiet from 2015-08 on, yet open (noted once) until staff close it.
    assert held.story is not None and held.story.change_class is ChangeClass.STRUCTURAL
    assert held.status is AlertStatus.UPDATED and held.history[-1].period == "2015-08"
    assert held.history[-1].note == HELD_STRUCTURAL and held_open(held)
    assert held in engine.open_alerts()  # beside the EGF criteria the notices met
    at = datetime(2016, 9, 1, tzinfo=UTC)
    (closed,) = engine.close(StaffClosure(alert_id=held.id, at=at, reason="structural_handled"))
    assert (closed.status, closed.resolution, closed.closure) == (
        AlertStatus.RESOLVED, "closed_by_staff", "structural_handled",
    )  # fmt: skip
    assert closed.sequence == held.sequence + 1 and closed.resolved_period == "2016-05"
    assert closed.explanation.fi.startswith("Henkilöstö sulki hälytyksen: rakennemuutos käsitelty")
    assert closed.explanation.en.startswith("Closed by staff: the structural change")
    assert [a for a in engine.open_alerts() if a.kind is AlertKind.LAYOFF_NOTICES] == []


def test_a_burst_of_temporary_layoffs_resolves_when_quiet() -> None:
    _, outputs = run(_burst("temporary_layoff"))
    (found,) = [a for a in alerts(outputs).values() if a.kind is AlertKind.LAYOFF_NOTICES]
    assert found.story is not None and found.story.change_class is ChangeClass.TRANSIENT
    assert (found.status, found.resolution) == (AlertStatus.RESOLVED, "quiet")
    assert found.resolved_period == "2015-08"


def test_staff_close_a_held_alert_once_and_anything_else_changes_nothing() -> None:
    jump = lambda area, t: 1.4 if area == "KU240" and t >= SHIFT else 1.0  # noqa: E731
    engine, _ = run(figures(unemployment=jump))
    (held,) = [a for a in engine.open_alerts() if a.area == "KU240"]
    assert held.history[-1].note == NEW_NORMAL and held_open(held)
    at = datetime(2024, 1, 2, tzinfo=UTC)
    close = StaffClosure(alert_id=held.id, at=at, reason="new_normal_accepted")
    (closed,) = engine.close(close)
    assert (closed.id, closed.sequence, closed.resolution) == (
        held.id, held.sequence + 1, "closed_by_staff",
    )  # fmt: skip
    assert closed.history[-1].note == "closed by staff: new_normal_accepted"
    assert closed.explanation.sv.startswith("Personalen stängde larmet: den nya normalnivån")
    assert held not in engine.open_alerts()
    # Redelivered, unknown: nothing, counted.
    assert engine.close(close) == []
    assert engine.close(close.model_copy(update={"alert_id": "al-0000000000000000"})) == []
    assert engine.stats.closures == {"closed": 1, "resolved": 1, "unknown": 1}


def test_an_alert_still_moving_is_not_closed() -> None:
    jump = lambda area, t: 1.4 if area == "KU240" and t >= SHIFT else 1.0  # noqa: E731
    engine = Engine(H, CATALOGUE)
    events = sorted(figures(months=SHIFT + 4, unemployment=jump), key=ordering_key)
    outputs = engine.run(events)
    (moving,) = [a for a in alerts(outputs).values() if a.area == "KU240"]
    assert not held_open(moving)
    at = datetime(2024, 1, 2, tzinfo=UTC)
    assert engine.close(StaffClosure(alert_id=moving.id, at=at, reason="false_alarm")) == []
    assert engine.stats.closures == {"not_held": 1}


@pytest.mark.parametrize("persons", [5, 30])
def test_small_notices_in_a_quiet_area_are_not_a_crisis(persons: int) -> None:
    _, outputs = run([notice("small", date(2015, 3, 2), persons)])
    assert alerts(outputs) == {}
