"""The backtest's scoring rules on small hand-built alarm lists, each figure worked out by hand.

Months are availability months (the month a statement could be read); ``m("2022-09")`` is one.
"""

from __future__ import annotations

from datetime import date

import pytest

from tests.factories import alert
from tutka.evaluation.backtest import (
    Alarm,
    BacktestRules,
    Detection,
    EventsFileError,
    LabelledEvent,
    Scorecard,
    ScoredData,
    Shock,
    alarms_from_alerts,
    episodes,
    parse_events,
    score,
)
from tutka.models.alerts import AlertKind, AlertStatus, Polarity
from tutka.models.areas import Area, Hierarchy
from tutka.models.codes import period_index as m

NEG, POS = Polarity.NEGATIVE, Polarity.POSITIVE
HEADER = "event_id,regions,reference_month,polarity,confidence,what\n"
NO_SHOCKS = BacktestRules(shocks=())


def hierarchy() -> Hierarchy:
    """Country; ELY01 = MK01 = SK011 = KU091; ELY15 = MK19 with SK192 = {KU240, KU851}."""
    rows = [
        ("SSS", None), ("ELY01", "SSS"), ("MK01", "ELY01"), ("SK011", "MK01"),
        ("KU091", "SK011"), ("ELY15", "SSS"), ("MK19", "ELY15"), ("SK192", "MK19"),
        ("KU240", "SK192"), ("KU851", "SK192"),
    ]  # fmt: skip
    return Hierarchy(Area(code, code, code, code, parent) for code, parent in rows)


H = hierarchy()
#: Four years of data: periods 2019-01…2022-12, available 2019-02…2023-01 (48 months).
DATA = ScoredData.of(H.areas, "2019-01", "2022-12")


def event(
    regions: str = "KU240", ref: str = "2021-06", polarity: Polarity = NEG, event_id: str = "e1"
) -> LabelledEvent:
    return LabelledEvent(
        event_id=event_id,
        regions=regions,  # type: ignore[arg-type]  # split by the validator
        reference_month=ref,
        polarity=polarity,
        confidence="high",
    )


def alarm(
    area: str, raised: str | tuple[str, ...], last: str | None = None, polarity: Polarity = NEG
) -> Alarm:
    months = (raised,) if isinstance(raised, str) else raised
    return Alarm(area, polarity, tuple(m(p) for p in months), m(last or months[-1]))


def run(
    alarms: list[Alarm],
    events: tuple[LabelledEvent, ...] = (),
    rules: BacktestRules = NO_SHOCKS,
    data: ScoredData = DATA,
) -> Scorecard:
    return score(events, H, data, {"detectors": alarms}, rules)


def detection(card: Scorecard, region: int = 0, event_no: int = 0) -> Detection:
    return card.events[event_no].regions[region].detections["detectors"]


# -- detection -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raised", "delay"),
    [("2021-03", -3), ("2021-02", None), ("2021-06", 0), ("2022-06", 12), ("2022-07", None)],
)
def test_the_window_runs_from_three_months_before_to_twelve_after(
    raised: str, delay: int | None
) -> None:
    found = detection(run([alarm("KU240", raised)], (event(),)))
    assert (found.direct_delay, found.covered_delay) == (delay, delay)


def test_the_earliest_raise_in_the_window_gives_the_delay_and_early_warnings_are_negative() -> None:
    alarms = [alarm("KU240", "2021-08"), alarm("KU240", "2021-04"), alarm("KU240", "2020-01")]
    assert detection(run(alarms, (event(),))).direct_delay == -2


def test_an_alarm_on_a_containing_region_of_the_event_covers_it_but_is_not_direct() -> None:
    card = run([alarm("SSS", "2021-07"), alarm("SK192", "2021-09")], (event("KU240;SSS"),))
    found = detection(card)
    assert (found.direct_delay, found.covered_delay, found.covered_by) == (None, 1, "SSS")
    summary = card.summary["detectors"]
    assert (summary.recall.all, summary.recall_direct.all) == (1.0, 0.5)


def test_an_alarm_on_a_broader_area_where_the_event_is_not_visible_does_not_cover_it() -> None:
    # The event lists only the town: a national alert in the window is something else.
    found = detection(run([alarm("SSS", "2021-07")], (event(),)))
    assert (found.direct_delay, found.covered_delay) == (None, None)


def test_an_alarm_within_the_region_or_beside_it_does_not_detect_it() -> None:
    card = run([alarm("KU240", "2021-06"), alarm("MK01", "2021-06")], (event("MK19"),))
    assert detection(card).covered_delay is None
    assert card.summary["detectors"].recall.all == 0.0


def test_only_the_events_polarity_detects_it() -> None:
    card = run([alarm("KU240", "2021-06", polarity=POS)], (event(),))
    assert detection(card).covered_delay is None
    assert detection(run([alarm("KU240", "2021-06", polarity=POS)], (event(polarity=POS),)))


def test_an_alarm_live_since_before_the_window_detects_only_when_it_raises_again() -> None:
    quiet = alarm("KU240", "2020-06", last="2021-12")
    assert detection(run([quiet], (event(),))).covered_delay is None
    escalated = alarm("KU240", ("2020-06", "2021-07"), last="2021-12")
    assert detection(run([escalated], (event(),))).covered_delay == 1


def test_recall_counts_pairs_and_events_with_medians_of_delays() -> None:
    events = (
        event("KU240;KU851;MK19", "2021-06", event_id="closure"),
        event("KU091", "2020-01", POS, event_id="surge"),
    )
    alarms = [alarm("KU240", "2021-05"), alarm("MK19", "2021-09"), alarm("KU091", "2019-01")]
    card = run(alarms, events)
    summary = card.summary["detectors"]
    # closure: KU240 at -1 (direct), KU851 only through MK19 at +3, MK19 at +3; surge missed.
    assert (summary.pairs.negative, summary.pairs.positive) == (3, 1)
    assert (summary.detected.all, summary.detected_direct.all) == (3, 2)
    assert summary.recall.negative == 1.0 and summary.recall.positive == 0.0
    assert summary.recall.all == 0.75
    assert summary.median_delay_months.negative == 3.0
    assert summary.median_delay_months.positive is None
    assert summary.event_median_delay_months.all == -1.0
    assert (summary.events_detected.all, summary.event_recall.all) == (1, 0.5)
    closure = card.events[0].summary["detectors"]
    assert (closure.regions_detected, closure.regions_detected_direct) == (3, 2)
    assert (closure.first_delay, closure.median_delay) == (-1, 3.0)


def test_regions_without_data_are_marked_unobserved() -> None:
    data = ScoredData.of(["SSS", "MK19"], "2019-01", "2022-12")
    rows = run([], (event("KU240;MK19"),), data=data).events[0].regions
    assert [(r.region, r.level, r.observed) for r in rows] == [
        ("KU240", "KU", False),
        ("MK19", "MK", True),
    ]


# -- false alarms ----------------------------------------------------------------------------------


def test_episodes_bridge_gaps_of_two_months_but_not_three() -> None:
    assert episodes([1, 4], gap=2) == [(1, 4)]
    assert episodes([1, 5], gap=2) == [(1, 1), (5, 5)]
    bridged = [alarm("KU851", "2019-05"), alarm("KU851", "2019-08")]  # June, July empty
    split = [alarm("KU851", "2019-05"), alarm("KU851", "2019-09")]  # June-August empty
    assert run(bridged).summary["detectors"].false_alarms["negative"].episodes == 1
    assert run(split).summary["detectors"].false_alarms["negative"].episodes == 2


def test_a_long_alarm_is_one_episode_and_counts_per_area_and_polarity() -> None:
    alarms = [
        alarm("KU851", "2019-05", last="2020-04"),
        alarm("KU091", "2019-06"),
        alarm("KU091", "2019-06", polarity=POS),
    ]
    false = run(alarms).summary["detectors"].false_alarms
    assert (false["negative"].episodes, false["positive"].episodes) == (2, 1)
    assert false["negative"].by_level["KU"].episodes == 2
    assert false["negative"].by_level["SK"].episodes == 0


def test_area_years_are_the_scored_areas_months_of_data_over_twelve() -> None:
    # 10 areas x 48 months; one alarm -> 1 / 40 area-years = 2.5 per 100.
    false = run([alarm("KU851", "2019-05")]).summary["detectors"].false_alarms["negative"]
    assert (false.area_years, false.per_100_area_years) == (40.0, 2.5)
    assert false.by_level["KU"].area_years == 12.0  # three municipalities
    assert false.by_level["SSS"].area_years == 4.0


def test_shock_months_excuse_alarms_and_leave_the_exposure() -> None:
    rules = BacktestRules(shocks=(Shock.parse("2020-01:2020-12"),))
    alarms = [
        alarm("KU851", "2020-03", last="2021-05"),  # raised in the shock: all of it explained
        alarm("KU091", "2019-11", last="2020-02"),  # before it: one episode, shock part dropped
        alarm("KU091", "2021-01"),  # after the shock: its months do not join the two episodes
    ]
    false = run(alarms, rules=rules).summary["detectors"].false_alarms["negative"]
    assert false.episodes == 2
    assert false.area_years == 10 * 36 / 12


def test_event_windows_excuse_the_region_the_areas_within_it_and_those_containing_it() -> None:
    rules = NO_SHOCKS
    window = [alarm(area, "2021-04") for area in ("SK192", "KU240", "KU851", "SSS", "KU091")]
    false = run(window, (event("SK192"),), rules).summary["detectors"].false_alarms["negative"]
    # Only KU091, in another ELY area, is unrelated to an event in SK192.
    assert false.episodes == 1 and false.by_level["KU"].episodes == 1
    # The window (16 months) leaves the exposure of SSS, ELY15, MK19, SK192, KU240, KU851.
    assert false.area_years == (10 * 48 - 6 * 16) / 12


def test_a_window_excuses_only_its_own_polarity() -> None:
    card = run([alarm("KU240", "2021-06", polarity=POS)], (event(),))
    assert card.summary["detectors"].false_alarms["positive"].episodes == 1


def test_an_alarm_raised_in_a_window_is_explained_with_its_tail() -> None:
    late = alarm("KU240", "2022-05", last="2022-11")  # the window ends 2022-06
    early = alarm("KU240", "2021-01", last="2021-05")  # raised before it: its months count
    false = run([late, early], (event(),)).summary["detectors"].false_alarms["negative"]
    assert false.episodes == 1


def test_months_outside_the_data_do_not_count() -> None:
    outside = alarm("KU240", "2018-01", last="2018-12")
    assert run([outside]).summary["detectors"].false_alarms["negative"].episodes == 0


def test_every_source_is_scored_alike_side_by_side() -> None:
    alarms = [alarm("KU240", "2021-07")]
    card = score((event(),), H, DATA, {"a": alarms, "b": []}, NO_SHOCKS)
    assert card.sources == ("a", "b")
    row = card.events[0].regions[0]
    assert row.detections["a"].covered_delay == 1 and row.detections["b"].covered_delay is None
    assert card.summary["a"].alarms == 1 and card.summary["b"].alarms == 0


# -- alerts as alarms ------------------------------------------------------------------------------


def test_an_alert_is_live_from_availability_until_its_resolution_is_read() -> None:
    opened = alert(
        "KU240", period="2023-03", opened_period="2023-03", available_on=date(2023, 4, 25)
    )
    updated = opened.model_copy(
        update={"status": AlertStatus.UPDATED, "sequence": 2, "period": "2023-05"}
    )
    resolved = opened.model_copy(
        update={"status": AlertStatus.RESOLVED, "sequence": 3, "resolved_period": "2023-08"}
    )
    [found] = alarms_from_alerts([opened, updated, resolved], end=m("2024-01"))
    # Opened with March figures (read in April), updated with May's (June); the August release
    # resolved it, read in September: live April-August.
    assert (found.area, found.polarity) == ("KU240", NEG)
    assert found.raised == (m("2023-04"), m("2023-06"))
    assert found.last == m("2023-08")


def test_a_notice_alert_is_read_in_the_month_announced_and_an_open_one_lasts_to_the_end() -> None:
    notice = alert(
        "SK192",
        kind=AlertKind.LAYOFF_NOTICES,
        period="2023-03",
        opened_period="2023-03",
        available_on=date(2023, 3, 14),
    )
    later = notice.model_copy(
        update={"status": AlertStatus.UPDATED, "sequence": 2, "period": "2023-04"}
    )
    [found] = alarms_from_alerts([notice, later], end=m("2023-12"))
    assert found.raised == (m("2023-03"), m("2023-04"))
    assert found.last == m("2023-12")


def test_alerts_become_one_alarm_each() -> None:
    first = alert("KU240")
    other = alert("KU851")
    assert sorted(a.area for a in alarms_from_alerts([first, other, first], end=m("2024-01"))) == [
        "KU240",
        "KU851",
    ]


def test_an_alarm_refuses_raises_out_of_order_or_after_it_ended() -> None:
    with pytest.raises(ValueError, match="in order"):
        Alarm("KU240", NEG, (5, 3), 8)
    with pytest.raises(ValueError, match="before its last raise"):
        Alarm("KU240", NEG, (5, 9), 8)


# -- the events file -------------------------------------------------------------------------------


def test_events_parse_with_quoted_text_and_several_regions() -> None:
    text = HEADER + 'kemi,SK192;KU240,2022-09,negative,high,"Closure, 544 persons"\n\n'
    [parsed] = parse_events(text, H.areas)
    assert parsed.regions == ("SK192", "KU240")
    assert (parsed.reference_month, parsed.polarity, parsed.what) == (
        "2022-09",
        NEG,
        "Closure, 544 persons",
    )


@pytest.mark.parametrize(
    ("row", "line", "field", "fragment"),
    [
        ("e,KU240,2022-9,negative,high,x", 3, "reference_month", "YYYY-MM"),
        ("e,KU240,2022-09,bad,high,x", 3, "polarity", "negative"),
        ("e,KU240,2022-09,negative,sure,x", 3, "confidence", "high"),
        ("e,KX240,2022-09,negative,high,x", 3, "regions", "KU###"),
        ("e,KU240;KU240,2022-09,negative,high,x", 3, "regions", "repeat KU240"),
        ("e,KU999,2022-09,negative,high,x", 3, "regions", "not in the area hierarchy"),
        ("e,KU240;,2022-09,negative,high,x", 3, "regions", "area code ''"),
        ("ok,KU240,2022-09,negative,high", 3, None, "expected 6 fields"),
        ("ok,KU240,2022-09,negative,high,x", 3, "event_id", "repeats line 2"),
        (",KU240,2022-09,negative,high,x", 3, "event_id", "at least 1 character"),
    ],
)
def test_a_bad_row_is_named_by_line_and_field(
    row: str, line: int, field: str | None, fragment: str
) -> None:
    text = HEADER + "ok,KU240,2022-09,negative,high,fine\n" + row + "\n"
    with pytest.raises(EventsFileError) as caught:
        parse_events(text, H.areas)
    assert (caught.value.line, caught.value.field) == (line, field)
    assert fragment in str(caught.value)
    assert str(caught.value).startswith(f"line {line}")


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "empty"),
        ("event_id,regions,reference_month,polarity,confidence\n", "missing what"),
        (HEADER.replace("what", "what,what"), "repeated what"),
    ],
)
def test_a_bad_header_is_line_one(text: str, fragment: str) -> None:
    with pytest.raises(EventsFileError, match=fragment) as caught:
        parse_events(text)
    assert caught.value.line == 1


def test_extra_columns_such_as_sources_are_ignored() -> None:
    text = (
        "event_id,source,regions,reference_month,polarity,confidence,what\n"
        'kemi,"https://example.org/a;https://example.org/b",KU240,2022-09,negative,high,closure\n'
    )
    (event,) = parse_events(text)
    assert (event.event_id, event.regions, event.what) == ("kemi", ("KU240",), "closure")


def test_shock_periods_and_rules_are_validated() -> None:
    assert Shock.parse("2008-10:2010-06").months == range(m("2008-10"), m("2010-06") + 1)
    with pytest.raises(ValueError, match="2008-10:2010-06"):
        Shock.parse("2008-10")
    with pytest.raises(ValueError, match="before it starts"):
        Shock.parse("2010-06:2008-10")
    with pytest.raises(ValueError):
        BacktestRules(before=-1)
    assert [s.start for s in BacktestRules().shocks] == ["2008-10", "2020-03"]
