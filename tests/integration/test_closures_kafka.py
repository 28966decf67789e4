"""Staff close a held alert in a room on Kafka; the worker resolves it (#15, #17).

One worker (``tutka worker``) and one room (``tutka room --kafka``) on the session's broker: the
room's close goes to ``tutka.closures.v1`` as a command naming no one, the worker applies it to
its engine and publishes the resolved version (``closed_by_staff``) on ``tutka.alerts.v1``, which
the room then shows. A payload on the closures topic that is not a command is a dead letter.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from kafka import KafkaProducer

from tests.integration.room import Room
from tests.integration.workers import publish_market, records, settle, versions, wait_until
from tutka.config.areas import load_hierarchy
from tutka.config.catalogue import load_catalogue
from tutka.config.sectors import localized_sector_names
from tutka.models.alerts import Alert, held_open
from tutka.replay import replay
from tutka.synthetic import generate, write


@pytest.fixture(scope="module")
def market(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Alert]]:
    directory = tmp_path_factory.mktemp("market")
    write(generate(seed=7, start="2016-01", end="2019-12"), directory)
    result = replay([directory], load_hierarchy(), load_catalogue(), localized_sector_names())
    return directory, result.alerts


def test_a_close_in_the_room_reaches_the_worker_and_resolves_the_alert(
    cluster: dict[str, Any], market: Any, kafka_bootstrap: str, tmp_path: Path
) -> None:
    directory, expected = market
    settings, names = cluster["settings"], cluster["topics"]
    latest = {a.id: a for a in expected}
    held = [a for a in latest.values() if held_open(a) and a.ely is None]
    assert held, "the market's nationwide downturn should leave a national alert held open"
    target = held[0]
    publish_market(settings, directory)
    cluster["start"]()
    settle(settings.bootstrap, names.alerts, len(expected))
    env = {
        "TUTKA_KAFKA__BOOTSTRAP": kafka_bootstrap,
        "TUTKA_KAFKA__NAMESPACE": settings.namespace,
        "TUTKA_KAFKA__PARTITIONS": "3",
        "TUTKA_ROOM__DATA_DIR": str(tmp_path / "unused"),
    }
    room = Room(["--kafka"], env, tmp_path / "room.log")
    try:
        room.wait_ready(timeout=90)
        detail = room.api("Demo admin", f"/api/alerts/{target.id}")
        assert detail["closable"] and detail["alert"]["sequence"] == target.sequence
        answer = httpx.post(
            f"{room.base}/api/alerts/{target.id}/case",
            json={"type": "closed", "reason": "new_normal_accepted"},
            headers=room.auth("Demo admin"),
            timeout=10,
        )
        assert answer.status_code == 201, answer.text

        def closed() -> Alert | None:
            found = [a for a in versions(settings.bootstrap, names.alerts) if a.id == target.id]
            last = max(found, key=lambda a: a.sequence)
            return last if last.resolution == "closed_by_staff" else None

        wait_until(lambda: closed() is not None, 60, "the closed version on the alerts topic")
        version = closed()
        assert version is not None and version.sequence == target.sequence + 1
        assert version.closure == "new_normal_accepted"
        assert "Demo" not in version.model_dump_json()  # no staff names leave the room
        (command,) = [json.loads(r.value) for r in records(settings.bootstrap, names.closures)]
        assert set(command) == {"schema_version", "type", "alert_id", "at", "reason"}
        wait_until(
            lambda: (
                room.api("Demo admin", f"/api/alerts/{target.id}")["alert"]["resolution"]
                == "closed_by_staff"
            ),
            30,
            "the room to show the closed alert",
        )
        # Not a command: a dead letter that keeps the payload; the worker carries on.
        producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
        producer.send(names.closures, key=target.id.encode(), value=b'{"reason":"x"}').get(10)
        producer.close()

        def dead() -> list[dict[str, Any]]:
            return [
                json.loads(r.value)
                for r in records(settings.bootstrap, names.deadletter)
                if json.loads(r.value)["origin"].get("topic") == names.closures
            ]

        wait_until(lambda: bool(dead()), 30, "the bad command's dead letter")
        assert dead()[0]["reason"] == "validation"
    finally:
        room.stop()
