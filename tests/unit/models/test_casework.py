"""Case work folds: later assignments and assessments win, notes accumulate, repeats are ignored."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from tutka.models.casework import (
    MAX_LOG,
    Acknowledged,
    ActionLinked,
    Assigned,
    CaseAction,
    CaseEvent,
    Marked,
    Noted,
    apply_case_event,
)

ALERT = "al-0123456789abcdef"
T0 = datetime(2024, 3, 4, 9, 0, tzinfo=UTC)


def event(n: int, action: CaseAction, actor: str = "aino") -> CaseEvent:
    return CaseEvent(id=f"e{n}", alert_id=ALERT, actor=actor, at=T0 + timedelta(minutes=n),
                     action=action)  # fmt: skip


def test_the_first_acknowledgement_stands_and_later_ones_are_logged() -> None:
    state = apply_case_event(None, event(1, Acknowledged(), "aino"))
    state = apply_case_event(state, event(2, Acknowledged(), "ville"))
    assert (state.acknowledged_by, state.acknowledged_at) == ("aino", T0 + timedelta(minutes=1))
    assert [e.actor for e in state.log] == ["aino", "ville"]


def test_assignment_and_assessment_are_replaced_notes_and_actions_accumulate() -> None:
    steps = [
        Assigned(assignee="Aino"), Marked(assessment="expected"), Noted(text="eka"),
        Assigned(assignee="Elinkeinotiimi"), Marked(assessment="false_alarm"), Noted(text="toka"),
        ActionLinked(title="Muutosturva", url="https://example.fi/a"),
    ]  # fmt: skip
    state = None
    for n, step in enumerate(steps):
        state = apply_case_event(state, event(n, step))
    assert state is not None
    assert (state.assignee, state.assessment) == ("Elinkeinotiimi", "false_alarm")
    assert [n.text for n in state.notes] == ["eka", "toka"]
    assert state.actions[0].url == "https://example.fi/a"
    assert state.updated_at == T0 + timedelta(minutes=6)


@given(st.lists(st.integers(min_value=0, max_value=5), min_size=1, max_size=30))
def test_redelivered_events_change_nothing(order: list[int]) -> None:
    events = [event(n, Noted(text=f"note {n}")) for n in range(6)]
    state = None
    for n in order:
        state = apply_case_event(state, events[n])
    assert state is not None
    first_seen = list(dict.fromkeys(order))
    assert [n.text for n in state.notes] == [f"note {n}" for n in first_seen]


def test_the_log_is_bounded() -> None:
    state = None
    for n in range(MAX_LOG + 20):
        state = apply_case_event(state, event(n, Noted(text="x")))
    assert (
        state is not None and len(state.log) == MAX_LOG and state.log[-1].id == f"e{MAX_LOG + 19}"
    )


def test_an_event_for_another_alert_is_refused() -> None:
    state = apply_case_event(None, event(1, Acknowledged()))
    other = event(2, Acknowledged()).model_copy(update={"alert_id": "al-ffffffffffffffff"})
    with pytest.raises(ValueError, match="not al-0123456789abcdef"):
        apply_case_event(state, other)


@pytest.mark.parametrize(
    "fields",
    [
        {"at": datetime(2024, 3, 4, 9, 0)},  # no time zone: ambiguous across instances
        {"alert_id": "al-XYZ"},
        {"actor": ""},
        {"id": "has space"},
        {"action": {"type": "note", "text": "\x1b[31mred"}},
    ],
)
def test_malformed_case_events_are_refused(fields: dict[str, object]) -> None:
    valid = {
        "id": "e1",
        "alert_id": ALERT,
        "actor": "aino",
        "at": T0,
        "action": {"type": "acknowledged"},
    }
    with pytest.raises(ValidationError):
        CaseEvent.model_validate({**valid, **fields})
