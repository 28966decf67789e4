"""Staff close a held alert in the room: the case records who, the engine resolves it (#15, #17).

The room's embedded pipeline holds a real engine; the close reaches it as a command that names
no one (:class:`~tutka.models.closures.StaffClosure`) and its resolved version comes back into
the picture as ``closed_by_staff``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.unit.room.conftest import auth, sample_alerts, users
from tests.unit.streams.helpers import small_hierarchy
from tests.unit.streams.market import figures
from tutka.config.catalogue import OutlierRules, load_catalogue
from tutka.config.sectors import localized_sector_names
from tutka.config.settings import WebhookSettings
from tutka.models.alerts import Alert, held_open
from tutka.room.api import create_app
from tutka.room.service import PipelineCloser, Service, keep_journals_in
from tutka.room.state import Status
from tutka.streams.engine import Engine
from tutka.streams.ordering import ordering_key

H = small_hierarchy()
CATALOGUE = load_catalogue().model_copy(update={"outlier": OutlierRules(levels=())})
SHIFT = 72  # months after the market's start


class Room:
    def __init__(self, data_dir: Path) -> None:
        self.service = Service(H, Status(mode="test", source="test"), localized_sector_names())
        self.closer = PipelineCloser(self.service)
        keep_journals_in(self.service, data_dir)
        self.engine = Engine(H, CATALOGUE)
        jump = lambda area, t: 1.4 if area == "KU240" and t >= SHIFT else 1.0  # noqa: E731
        for event in sorted(figures(unemployment=jump), key=ordering_key):
            for out in self.engine.process(event):
                if isinstance(out, Alert):
                    self.service.state.add_alert(out)
        self.service.state.add_alert(sample_alerts().kemi)  # open and moving: not closable
        self.service.state.set_ready(True, "test data")
        (self.held,) = [a for a in self.engine.open_alerts() if a.area == "KU240"]


@pytest.fixture(scope="module")
def room(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Room]:
    room = Room(tmp_path_factory.mktemp("room"))
    yield room
    room.service.close()


@pytest.fixture(scope="module")
def client(room: Room) -> Iterator[TestClient]:
    with TestClient(create_app(room.service, users(), WebhookSettings())) as client:
        yield client


CLOSE = {"type": "closed", "reason": "new_normal_accepted", "note": "Tehdas ei palaa."}


def test_only_staff_who_work_cases_in_scope_may_close(room: Room, client: TestClient) -> None:
    url = f"/api/alerts/{room.held.id}/case"
    assert client.get(f"/api/alerts/{room.held.id}", headers=auth("lappi")).json()["closable"]
    assert client.post(url, json=CLOSE, headers=auth("lappi-viewer")).status_code == 403
    assert client.post(url, json=CLOSE, headers=auth("uusimaa")).status_code == 404
    moving = sample_alerts().kemi.id
    refused = client.post(f"/api/alerts/{moving}/case", json=CLOSE, headers=auth("lappi"))
    assert refused.status_code == 409 and "held open" in refused.json()["detail"]
    bad = client.post(url, json={"type": "closed", "reason": "bored"}, headers=auth("lappi"))
    assert bad.status_code == 422
    assert room.service.state.case(room.held.id) is None  # nothing recorded
    assert room.closer.queue.empty()


def test_a_close_is_recorded_and_the_engine_resolves_the_alert(
    room: Room, client: TestClient
) -> None:
    url = f"/api/alerts/{room.held.id}/case"
    answer = client.post(url, json=CLOSE, headers=auth("lappi"))
    assert answer.status_code == 201, answer.text
    case = answer.json()
    assert (case["closed"], case["closed_by"]) == ("new_normal_accepted", "lappi")
    assert [n["text"] for n in case["notes"]] == ["Tehdas ei palaa."]
    # The command names no one; the pipeline thread applies it between events.
    (command,) = [room.closer.queue.get_nowait()]
    assert command.model_dump().keys() == {"schema_version", "type", "alert_id", "at", "reason"}
    room.closer.queue.put(command)
    room.closer.drain(room.engine)
    detail = client.get(f"/api/alerts/{room.held.id}", headers=auth("lappi")).json()
    closed = detail["alert"]
    assert (closed["status"], closed["resolution"], closed["closure"]) == (
        "resolved", "closed_by_staff", "new_normal_accepted",
    )  # fmt: skip
    assert closed["sequence"] == room.held.sequence + 1
    assert closed["explanation"]["fi"].startswith("Henkilöstö sulki hälytyksen: uusi normaali")
    assert "lappi" not in str(closed)  # the alert names no staff
    picture = client.get("/api/alerts", headers=auth("lappi")).json()
    assert room.held.id not in {a["id"] for a in picture if a["status"] != "resolved"}
    assert detail["closable"] is False and not held_open(Alert.model_validate(closed))
    again = client.post(url, json=CLOSE, headers=auth("national"))
    assert again.status_code == 409  # resolved now: nothing more to close
    metric = room.service.metrics.registry.get_sample_value(
        "tutka_room_staff_closures_total", {"outcome": "closed"}
    )
    assert metric == 1.0
