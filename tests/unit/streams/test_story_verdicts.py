"""The notice alert hears the verdict: re-sent when the figures confirm, absorb or exceed it.

A dismissal burst in Kemi (KU240) in March 2015 and, from May 2015, unemployment there lifted by
a factor: the notice alert is *pending* until the figure alert joins its story, then published
again (one version later, same id) with the figures' verdict; with no rise it hears *no rise
seen* once its footprint's horizon has passed. Replayed or restored from a snapshot anywhere, the
alerts are the same.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from tutka.models.alerts import (
    HELD_STRUCTURAL,
    VERDICT_NOTE,
    Alert,
    AlertKind,
    AlertStatus,
    StoryStatus,
    held_open,
)
from tutka.models.closures import StaffClosure
from tutka.models.events import LayoffNoticeFiled
from tutka.streams.engine import Engine, Event, Output
from tutka.streams.ordering import ordering_key
from tutka.streams.picture import changes
from tutka.streams.stories import StoryState, restore, snapshot

from .market import figures, notice
from .test_engine import CATALOGUE, H
from .test_state import run_split


def _events(lift: float, persons: int, months: int, later: bool = False) -> list[Event]:
    jump = lambda area, t: lift if area == "KU240" and t >= 40 else 1.0  # noqa: E731
    background = [
        notice(f"bg-{m}", date(2012 + m // 12, m % 12 + 1, 10), 8, sector="47")
        for m in range(0, 36, 2)
    ]
    burst = [notice(f"mill-{i}", date(2015, 3, 2 + i), persons) for i in range(3)]
    # A small notice elsewhere in August moves the notice clock: the quiet burst resolves.
    tail: list[LayoffNoticeFiled] = (
        [notice("later", date(2015, 8, 3), 5, sector="47")] if later else []
    )
    return sorted([*figures(months=months, unemployment=jump), *background, *burst, *tail],
                  key=ordering_key)  # fmt: skip


def _notice_versions(out: list[Output]) -> list[Alert]:
    return [o for o in out if isinstance(o, Alert) and o.kind is AlertKind.LAYOFF_NOTICES]


@pytest.mark.parametrize(
    ("lift", "persons", "status"),
    [
        (1.3, 180, StoryStatus.CONFIRMED),
        (1.15, 320, StoryStatus.ABSORBED),
        (1.6, 180, StoryStatus.EXCEEDS),
    ],
)
def test_the_notice_alert_is_sent_again_with_the_figures_verdict(
    lift: float, persons: int, status: StoryStatus
) -> None:
    out = Engine(H, CATALOGUE).run(_events(lift, persons, months=44))
    versions = _notice_versions(out)
    assert len({a.id for a in versions}) == 1
    assert [a.sequence for a in versions] == list(range(1, len(versions) + 1))
    told = next(i for i, a in enumerate(versions) if a.story and a.story.status is not
                StoryStatus.PENDING)  # fmt: skip
    assert told >= 1 and all(a.story and a.story.status is StoryStatus.PENDING
                             for a in versions[:told])  # fmt: skip
    again = versions[told]
    assert again.story is not None and again.story.status is status
    assert again.status is AlertStatus.UPDATED and again.history[-1].note == VERDICT_NOTE.format(
        status=status.value
    )
    # Right after the figure alert that gave the verdict, in the same story.
    at = out.index(again)
    figure = out[at - 1]
    assert isinstance(figure, Alert) and figure.kind is AlertKind.UNEMPLOYMENT
    assert figure.story is not None and figure.story.status is status
    assert figure.story.linked == (again.id,) and figure.story.id == again.id
    assert again.story.observed == figure.story.observed
    words = {StoryStatus.CONFIRMED: ("confirm", "vahvistavat", "bekräftar"),
             StoryStatus.ABSORBED: ("found work", "työtä", "arbete"),
             StoryStatus.EXCEEDS: ("hidden shock", "shokki", "dold")}[status]  # fmt: skip
    text = again.story.explanation
    assert words[0] in text.en and words[1] in text.fi and words[2] in text.sv
    # Told once: later figure versions with the same verdict do not send it again.
    assert sum(1 for a in versions if a.story and a.story.status is status) == len(versions[told:])
    assert [a.history[-1].note for a in versions].count(again.history[-1].note) == 1


def test_no_rise_seen_once_the_horizon_has_passed_and_the_hold_stays() -> None:
    out = Engine(H, CATALOGUE).run(_events(1.0, 180, months=60, later=True))
    assert not any(
        isinstance(o, Alert) and o.kind is AlertKind.UNEMPLOYMENT and o.area == "KU240" for o in out
    )
    versions = _notice_versions(out)
    last = versions[-1]
    assert [a.sequence for a in versions] == list(range(1, len(versions) + 1))
    # Permanent dismissals are a structural change: held open until staff close it.
    assert versions[-2].history[-1].note == HELD_STRUCTURAL and held_open(versions[-2])
    assert versions[-2].story is not None and versions[-2].story.status is StoryStatus.PENDING
    assert last.status is AlertStatus.UPDATED and last.resolution is None
    assert last.story is not None and last.story.status is StoryStatus.NO_RISE
    assert last.history[-1].note == "figures: no_rise"
    # The verdict is a note on the alert: the hold stands, so staff can still close it.
    assert held_open(last)
    # The footprint runs April 2015 to September 2016: the verdict comes with the next month.
    assert last.story.footprint[-1].period == "2016-09"
    assert last.history[-1].period == "2016-10"
    assert "no rise" in last.story.explanation.en and "nousua" in last.story.explanation.fi
    assert "ingen ökning" in last.story.explanation.sv
    # The room's timeline: the verdict is no change of state.
    assert changes(versions[-2], last) == []


@pytest.mark.parametrize("split_at", ["2015-05", "2015-09"])
def test_restart_from_a_snapshot_tells_the_same_story(split_at: str) -> None:
    events = _events(1.3, 180, months=48)
    split = next(i for i, e in enumerate(events) if str(getattr(e, "period", "")) >= split_at)
    whole, split_out = run_split(events, Engine(H, CATALOGUE), split)
    assert whole == split_out
    assert any(a.story and a.story.status is StoryStatus.CONFIRMED for a in _notice_versions(whole))


def test_an_older_stories_checkpoint_restores_without_watches() -> None:
    data = snapshot(StoryState())
    del data["watch"]
    assert restore(data) == StoryState()


def test_staff_can_close_a_held_notice_alert_after_its_verdict() -> None:
    engine = Engine(H, CATALOGUE)
    last = _notice_versions(engine.run(_events(1.0, 180, months=60, later=True)))[-1]
    assert last.history[-1].note == "figures: no_rise"
    at = datetime(2020, 1, 2, tzinfo=UTC)
    closed = [
        o
        for o in engine.close(StaffClosure(alert_id=last.id, at=at, reason="structural_handled"))
        if isinstance(o, Alert)
    ]
    assert [(a.id, a.status, a.resolution) for a in closed] == [
        (last.id, AlertStatus.RESOLVED, "closed_by_staff")
    ]
    assert closed[0].sequence == last.sequence + 1
