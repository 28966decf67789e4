"""Notices lead, figures confirm: footprints, the verdict on them, structural or transient."""

from __future__ import annotations

import json
from datetime import date

import pytest

from tutka.config.areas import load_hierarchy
from tutka.config.catalogue import FootprintRules, KindFootprint, load_catalogue
from tutka.models.alerts import (
    Alert,
    AlertKind,
    AlertStatus,
    ChangeClass,
    HistoryEntry,
    Localized,
    Polarity,
    Severity,
    SignalEvidence,
    StoryStatus,
    alert_id,
)
from tutka.models.events import LayoffNoticeFiled
from tutka.streams.stories import StoryState, annotate, footprint, on_notice, restore, snapshot

HIERARCHY = load_hierarchy()
RULES = load_catalogue().footprint


def _notice(nid: str, persons: int, kind: str = "closure", municipality: str = "KU240",
            effective: date = date(2024, 3, 1),
            to: date | None = None) -> LayoffNoticeFiled:  # fmt: skip
    return LayoffNoticeFiled(
        notice_id=nid, employer="Perämeren Sellu Oy", business_id="0112038-9",
        municipality=municipality, sector="17", kind=kind, persons=persons,
        announced=date(2024, 1, 15), effective_from=effective, effective_to=to,
    )  # fmt: skip


def _alert(kind: AlertKind, area: str, period: str, excess: float = 0.0,
           opened: str | None = None, measure: str = "unemployed_jobseekers") -> Alert:  # fmt: skip
    group = f"{area}|-|-|{kind.value}"
    opened = opened or period
    evidence = (
        ()
        if kind is AlertKind.LAYOFF_NOTICES
        else (
            SignalEvidence(detector="relative_shift", series=f"{area}/{measure}", area=area,
                           measure=measure, period=period, value=1000 + excess, baseline=1000,
                           score=9, threshold=7, direction="up"),
        )
    )  # fmt: skip
    return Alert(
        id=alert_id(group, opened), sequence=1, group=group, kind=kind,
        polarity=Polarity.NEGATIVE, severity=Severity.WARNING, status=AlertStatus.OPEN,
        area=area, region=area, ely=HIERARCHY.ely_of(area), area_name=Localized(
            fi="Kemi", sv="Kemi", en="Kemi"), parents=HIERARCHY.ancestors(area), period=period,
        opened_period=opened, available_on=date(2024, 1, 15), evidence=evidence,
        history=(HistoryEntry(period=opened, status=AlertStatus.OPEN, severity=Severity.WARNING),),
        explanation=Localized(fi="", sv="", en=""),
    )  # fmt: skip


def test_footprint_of_a_closure_arrives_then_leaves() -> None:
    kind = KindFootprint(share=0.7, lag=1, spread=2, half_life=9.0)
    start, values = footprint(kind, 300, effective=100, until=None, horizon=18)
    assert start == 101
    assert values[0] == pytest.approx(105) and values[1] == pytest.approx(
        105 + 105 * 0.5 ** (1 / 9)
    )
    assert max(values) == values[1] and values[-1] < values[1] / 2


def test_a_temporary_layoff_stays_until_it_ends() -> None:
    kind = RULES.kinds[_notice("x", 1, "temporary_layoff").kind]
    _, values = footprint(kind, 100, effective=10, until=12, horizon=6)
    assert values == (80.0, 80.0, 80.0, 0.0, 0.0, 0.0)


def _story_state(*notices: LayoffNoticeFiled) -> StoryState:
    state = StoryState()
    for notice in notices:
        on_notice(state, notice, RULES)
    return state


def test_the_notice_alert_shows_the_band_and_is_pending() -> None:
    state = _story_state(_notice("a", 300))
    alert = annotate(state, _alert(AlertKind.LAYOFF_NOTICES, "SK192", "2024-01"), HIERARCHY, RULES)
    story = alert.story
    assert story is not None and story.status is StoryStatus.PENDING
    assert story.change_class is ChangeClass.STRUCTURAL
    assert story.footprint[0].period == "2024-04" and len(story.footprint) == 18
    assert story.expected == max(m.expected for m in story.footprint)
    assert (story.low, story.high) == (
        round(story.expected * 0.5, 1),
        round(story.expected * 1.5, 1),
    )
    assert "Waiting for the figures" in story.explanation.en
    assert "Odottaa lukuja" in story.explanation.fi


@pytest.mark.parametrize(
    ("excess", "status"),
    [(200.0, StoryStatus.CONFIRMED), (50.0, StoryStatus.ABSORBED), (600.0, StoryStatus.EXCEEDS)],
)
def test_the_figure_alert_joins_the_notice_story_with_a_verdict(
    excess: float, status: StoryStatus
) -> None:
    state = _story_state(_notice("a", 300))
    notice_alert = annotate(
        state, _alert(AlertKind.LAYOFF_NOTICES, "SK192", "2024-01"), HIERARCHY, RULES
    )
    figure = annotate(state, _alert(AlertKind.UNEMPLOYMENT, "KU240", "2024-05", excess), HIERARCHY,
                      RULES)  # fmt: skip
    story = figure.story
    assert story is not None and story.status is status
    assert story.id == notice_alert.id and story.linked == (notice_alert.id,)
    assert story.observed == excess
    assert story.low <= story.expected <= story.high
    words = {StoryStatus.CONFIRMED: "confirm", StoryStatus.ABSORBED: "found work",
             StoryStatus.EXCEEDS: "hidden shock"}  # fmt: skip
    assert words[status] in story.explanation.en
    assert json.loads(figure.model_dump_json())["story"]["status"] == status.value


def test_classes_structural_transient_undetermined() -> None:
    layoffs = _story_state(_notice("t", 400, "temporary_layoff", to=date(2024, 8, 31)))
    wave = annotate(layoffs, _alert(AlertKind.UNEMPLOYMENT, "KU240", "2024-04", 300), HIERARCHY,
                    RULES)  # fmt: skip
    assert wave.story is not None and wave.story.change_class is ChangeClass.TRANSIENT
    lonely = annotate(StoryState(), _alert(AlertKind.UNEMPLOYMENT, "KU240", "2024-04", 300),
                      HIERARCHY, RULES)  # fmt: skip
    assert lonely.story is not None and lonely.story.status is None
    assert lonely.story.change_class is ChangeClass.UNDETERMINED
    lasting = annotate(StoryState(), _alert(AlertKind.UNEMPLOYMENT, "KU240", "2025-04", 300,
                                            opened="2024-04"), HIERARCHY, RULES)  # fmt: skip
    assert lasting.story is not None and lasting.story.change_class is ChangeClass.STRUCTURAL
    reversed_ = lasting.model_copy(update={"resolution": "reversed", "story": None})
    back = annotate(StoryState(), reversed_, HIERARCHY, RULES)
    assert back.story is not None and back.story.change_class is ChangeClass.TRANSIENT


def test_notices_elsewhere_or_too_small_do_not_explain() -> None:
    state = _story_state(_notice("a", 300, municipality="KU091"), _notice("b", 10))
    alert = annotate(state, _alert(AlertKind.UNEMPLOYMENT, "KU240", "2024-05", 200), HIERARCHY,
                     RULES)  # fmt: skip
    assert alert.story is not None and alert.story.status is None  # 7 expected < 20


def test_positive_and_trigger_alerts_are_left_alone_and_state_round_trips() -> None:
    state = _story_state(_notice("a", 300))
    positive = _alert(AlertKind.UNEMPLOYMENT, "KU240", "2024-05", 200).model_copy(
        update={"polarity": Polarity.POSITIVE}
    )
    assert annotate(state, positive, HIERARCHY, RULES) is positive
    again = restore(json.loads(json.dumps(snapshot(state))))
    assert again == state
    assert isinstance(RULES, FootprintRules)
