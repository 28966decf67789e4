"""Issue #14, item 7: the case-note journal. Each test is named after the failure it guards
against."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from tests.unit.room.conftest import Alerts, auth, make_service, users
from tutka.config.settings import WebhookSettings
from tutka.room.api import create_app
from tutka.room.service import Service


def notes_after_restart(data_dir: Path, alerts: Alerts) -> tuple[list[str], int]:
    again = make_service(data_dir)
    try:
        case = again.state.case(alerts.kemi.id)
        notes = [n.text for n in case.notes] if case is not None else []
        return notes, again.state.status.dead_letters
    finally:
        again.close()


def test_note_after_a_torn_last_line_survives_a_restart(
    client: TestClient, service: Service, alerts: Alerts, tmp_path: Path
) -> None:
    url = f"/api/alerts/{alerts.kemi.id}/case"
    first = client.post(url, headers=auth("lappi"), json={"type": "note", "text": "ensimmäinen"})
    assert first.status_code == 201
    journal = tmp_path / "room" / "casenotes.jsonl"
    with journal.open("ab") as handle:  # a crash in the middle of a write
        handle.write(b'{"schema_version":1,"id":"torn","alert_id":"al-')
    second = client.post(url, headers=auth("lappi"), json={"type": "note", "text": "toinen"})
    assert second.status_code == 201
    notes, dead = notes_after_restart(tmp_path / "room", alerts)
    assert notes == ["ensimmäinen", "toinen"]
    assert dead == 1  # the fragment: set aside and counted, not merged with the note


def test_torn_last_line_is_ended_when_the_journal_opens(tmp_path: Path, alerts: Alerts) -> None:
    data_dir = tmp_path / "room"
    data_dir.mkdir()
    (data_dir / "casenotes.jsonl").write_bytes(b'{"schema_version":1,"id":"to')
    service = make_service(data_dir)
    try:
        service.state.add_alert(alerts.kemi)
        with TestClient(create_app(service, users(), WebhookSettings())) as client:
            posted = client.post(
                f"/api/alerts/{alerts.kemi.id}/case",
                headers=auth("lappi"),
                json={"type": "note", "text": "heti käynnistyksen jälkeen"},
            )
            assert posted.status_code == 201
    finally:
        service.close()
    notes, dead = notes_after_restart(data_dir, alerts)
    assert (notes, dead) == (["heti käynnistyksen jälkeen"], 1)


def test_retry_with_the_same_idempotency_key_does_not_duplicate_a_note(
    client: TestClient, alerts: Alerts, tmp_path: Path
) -> None:
    url = f"/api/alerts/{alerts.kemi.id}/case"
    body = {"type": "note", "text": "soitettu työnantajalle"}
    keyed = {**auth("lappi"), "Idempotency-Key": "note-7f3a"}
    answers = [client.post(url, headers=keyed, json=body) for _ in range(3)]
    assert {a.status_code for a in answers} == {201}
    case = client.get(f"{url}", headers=auth("lappi")).json()
    assert [n["text"] for n in case["notes"]] == ["soitettu työnantajalle"]
    # Another key (a new note with the same words) is a new note; so is one without a key.
    client.post(url, headers={**auth("lappi"), "Idempotency-Key": "note-7f3b"}, json=body)
    client.post(url, headers=auth("lappi"), json=body)
    case = client.get(f"{url}", headers=auth("lappi")).json()
    assert len(case["notes"]) == 3
    lines = (tmp_path / "room" / "casenotes.jsonl").read_text().splitlines()
    assert len(lines) == 3


def test_idempotency_keys_of_different_people_do_not_collide(
    client: TestClient, alerts: Alerts
) -> None:
    url = f"/api/alerts/{alerts.kemi.id}/case"
    for who in ("lappi", "admin"):
        headers = {**auth(who), "Idempotency-Key": "same"}
        assert client.post(url, headers=headers, json={"type": "note", "text": who}).is_success
    case = client.get(url, headers=auth("admin")).json()
    assert sorted(n["text"] for n in case["notes"]) == ["admin", "lappi"]


def test_a_malformed_idempotency_key_is_refused(client: TestClient, alerts: Alerts) -> None:
    headers = {**auth("lappi"), "Idempotency-Key": "x" * 200}
    response = client.post(
        f"/api/alerts/{alerts.kemi.id}/case", headers=headers, json={"type": "acknowledged"}
    )
    assert response.status_code == 422
