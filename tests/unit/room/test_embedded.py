"""The embedded room runs the same pipeline as ``tutka replay``: the same alerts, live."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.factories import SHIPPED
from tutka.config.catalogue import load_catalogue
from tutka.config.sectors import localized_sector_names
from tutka.config.settings import RoomSettings, Settings
from tutka.replay import replay
from tutka.room.service import embedded
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
