"""The embedded room runs the same pipeline as ``tutka replay``: the same alerts, live."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.factories import SHIPPED
from tutka.config.catalogue import load_catalogue
from tutka.config.sectors import localized_sector_names
from tutka.config.settings import RoomSettings, Settings
from tutka.replay import replay
from tutka.room.service import Service, embedded
from tutka.synthetic import generate, write


@pytest.mark.slow
def test_the_embedded_room_holds_what_a_replay_finds(tmp_path: Path) -> None:
    data = tmp_path / "data"
    write(generate(seed=3, start="2016-01", end="2020-12", hierarchy=SHIPPED), data)
    catalogue, sectors = load_catalogue(None), localized_sector_names()
    expected = replay([data], SHIPPED, catalogue, sectors).latest()
    assert expected, "the synthetic market should raise alerts"
    settings = Settings(_env_file=None, room=RoomSettings(data_dir=tmp_path / "room"))  # type: ignore[call-arg]
    service = embedded(settings, SHIPPED, catalogue, sectors, lambda: [data], "test", 0.0)
    try:
        deadline = time.monotonic() + 120
        while not service.state.status.ready:
            assert service.state.status.error is None, service.state.status.error
            assert time.monotonic() < deadline, "the pipeline did not finish"
            time.sleep(0.1)
        got = {a.id: a for a in service.state.alerts()}
        assert got == expected
        opened = [c.entry.alert_id for c in service.state.timeline() if c.entry.change == "opened"]
        assert set(opened) == set(expected)
        assert service.state.status.as_of is not None and service.state.status.as_of >= "2021-01"
        assert len(service.state.series) > 100  # figures recorded for the charts
    finally:
        service.close()


def _wait(predicate: Callable[[], bool], what: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def test_an_uploaded_notice_becomes_an_alert_and_stays_after_a_restart(tmp_path: Path) -> None:
    """Embedded mode: the upload goes to the store and through the replay's engine, so its
    alert is in the picture at once; the next start reads the store again."""
    from fastapi.testclient import TestClient

    from tests.notice_sheets import csv_bytes, good_row
    from tests.unit.room.conftest import auth, users
    from tutka.config.settings import WebhookSettings
    from tutka.room.api import create_app

    data = tmp_path / "data"
    data.mkdir()
    row = good_row(0, 240)
    row[5], row[6], row[8], row[9] = "irtisanominen", 650, "1.3.2025", ""
    (data / "figures.jsonl").write_text("", encoding="utf-8")
    catalogue, sectors = load_catalogue(None), localized_sector_names()
    settings = Settings(_env_file=None, room=RoomSettings(data_dir=tmp_path / "room"))  # type: ignore[call-arg]

    def egf(service: Service) -> list[str]:
        return [a.area for a in service.state.alerts() if a.kind == "policy_trigger"]

    service = embedded(settings, SHIPPED, catalogue, sectors, lambda: [data], "test", 0.0)
    try:
        _wait(lambda: service.state.status.ready, "the pipeline did not finish")
        assert egf(service) == []
        with TestClient(create_app(service, users(), WebhookSettings())) as client:
            response = client.post(
                "/api/notices/imports", params={"filename": "kemi.csv"},
                content=csv_bytes([row]), headers={**auth("lappi"), "Idempotency-Key": "kemi-0001"},
            )  # fmt: skip
            assert response.status_code == 200 and response.json()["accepted"] == 1
            _wait(lambda: bool(egf(service)), "no EGF alert from the uploaded notice")
            picture = client.get("/api/picture", headers=auth("lappi")).json()
            assert "policy_trigger" in {a["kind"] for a in picture["alerts"]}
    finally:
        service.close()
    assert (tmp_path / "room" / "notices.jsonl").is_file()
    again = embedded(settings, SHIPPED, catalogue, sectors, lambda: [data], "test", 0.0)
    try:
        _wait(lambda: again.state.status.ready, "the second start did not finish")
        assert again.state.status.error is None
        assert egf(again) == egf(service)
    finally:
        again.close()
