"""Two situation rooms on a real Kafka broker (``tutka room --kafka``): alerts from the worker's
topic reach an open page live, case work and subscriptions made in one room show in the other,
and a bad case note goes to the dead-letter topic. Prints the new-alert-to-page time (``-s``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from selenium.webdriver.common.by import By

from tests.factories import alert
from tests.integration.room import Room, chromium, screenshot, wait_for
from tutka.models.alerts import Alert


@pytest.fixture
def rooms(cluster: dict[str, Any], kafka_bootstrap: str, tmp_path: Path) -> Iterator[list[Room]]:
    env = {
        "TUTKA_KAFKA__BOOTSTRAP": kafka_bootstrap,
        "TUTKA_KAFKA__NAMESPACE": cluster["settings"].namespace,
        "TUTKA_KAFKA__PARTITIONS": "3",
        "TUTKA_ROOM__DATA_DIR": str(tmp_path / "unused"),
    }
    started = [Room(["--kafka"], env, tmp_path / f"room-{i}.log") for i in range(2)]
    try:
        for room in started:
            room.wait_ready(timeout=90)
        yield started
    finally:
        for room in started:
            room.stop()
        for room in started:
            assert "Traceback" not in room.text(), room.text()[-4000:]


LAPPI = "Demo analyst (Lappi)"


def _ms(times: list[float]) -> str:
    return ", ".join(f"{t:.0f}" for t in times)


def produce(bootstrap: str, topic: str, key: str, value: bytes) -> None:
    from kafka import KafkaProducer

    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    producer.send(topic, key=key.encode(), value=value).get(timeout=10)
    producer.close()


def wait_api(room: Room, path: str, ok: Any, timeout: float = 20) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = room.api("Demo admin", path)
        if ok(body):
            return body
        time.sleep(0.1)
    raise AssertionError(f"{path} never satisfied the condition: {body}")


def test_an_alert_on_the_topic_appears_in_an_open_page(
    rooms: list[Room], cluster: dict[str, Any], kafka_bootstrap: str
) -> None:
    room = rooms[0]
    driver = chromium()
    try:
        driver.get(f"{room.base}/#token={room.tokens['Demo admin']}")
        wait_for(
            driver, lambda d: d.find_element(By.ID, "status").get_attribute("data-ready") == "true"
        )
        wait_for(
            driver,
            lambda d: d.execute_script("return window.tutkaRoom && window.tutkaRoom.firstRenderMs"),
        )
        times = []
        for n, area in enumerate(("KU240", "KU091", "MK19")):
            new: Alert = alert(area, sector=f"{20 + n}")
            sent = time.perf_counter()
            produce(
                kafka_bootstrap, cluster["topics"].alerts, new.group, new.model_dump_json().encode()
            )
            row = f'#alerts tr[data-alert-id="{new.id}"]'
            wait_for(driver, lambda d, row=row: d.find_elements(By.CSS_SELECTOR, row), timeout=20)
            times.append((time.perf_counter() - sent) * 1000)
        page = driver.execute_script("return window.tutkaRoom.latencies")
        print(
            f"\nnew alert to page (produce → row in the DOM): {_ms(times)} ms; "
            f"room → DOM: {_ms(page)} ms"
        )
        assert len(page) >= 1
        screenshot(driver, "08-kafka-new-alerts")
    finally:
        driver.quit()


def test_case_work_and_subscriptions_are_shared_by_every_room(
    rooms: list[Room], cluster: dict[str, Any], kafka_bootstrap: str, read_topic: Any
) -> None:
    first, second = rooms
    new = alert("KU240", sector="17")
    produce(kafka_bootstrap, cluster["topics"].alerts, new.group, new.model_dump_json().encode())
    for room in rooms:
        wait_api(room, "/api/alerts", lambda body: new.id in {a["id"] for a in body})
    response = httpx.post(
        f"{first.base}/api/alerts/{new.id}/case",
        headers=first.auth(LAPPI),
        json={"type": "assigned", "assignee": "Kemin tiimi"},
        timeout=10,
    )
    assert response.status_code == 201, response.text
    case = wait_api(second, f"/api/alerts/{new.id}/case", lambda body: body["assignee"] is not None)
    assert (case["assignee"], case["log"][0]["actor"]) == ("Kemin tiimi", "Demo analyst (Lappi)")
    # The Lapland analyst of the second room cannot touch Uusimaa's alert.
    helsinki = alert("KU091")
    produce(
        kafka_bootstrap,
        cluster["topics"].alerts,
        helsinki.group,
        helsinki.model_dump_json().encode(),
    )
    wait_api(second, "/api/alerts", lambda body: helsinki.id in {a["id"] for a in body})
    refused = httpx.post(f"{second.base}/api/alerts/{helsinki.id}/case",
                         headers=second.auth("Demo analyst (Lappi)"), json={"type": "acknowledged"},
                         timeout=10)  # fmt: skip
    # Outside the analyst's scope is "not found", as an unknown alert is (no existence leak).
    assert refused.status_code == 404

    made = httpx.put(
        f"{first.base}/api/subscriptions/lappi-paperi",
        headers=first.auth(LAPPI),
        json={"filters": {"sectors": ["17"]}},
        timeout=10,
    )
    assert made.status_code == 200, made.text
    listed = wait_api(second, "/api/subscriptions", lambda body: len(body) == 1)
    assert listed[0]["owner"] == "ELY15"
    changes = read_topic(cluster["topics"].subscriptions, min_records=1)
    assert json.loads(changes[-1].value)["subscription"]["id"] == "lappi-paperi"


def test_a_bad_case_note_on_the_topic_goes_to_the_dead_letter_topic(
    rooms: list[Room], cluster: dict[str, Any], kafka_bootstrap: str, read_topic: Any
) -> None:
    produce(
        kafka_bootstrap, cluster["topics"].casenotes, "al-0123456789abcdef", b'{"type": "nonsense"'
    )
    letters = read_topic(cluster["topics"].deadletter, min_records=2)  # one per room
    for record in letters:
        letter = json.loads(record.value)
        assert letter["origin"]["topic"] == cluster["topics"].casenotes
        assert letter["raw"] == '{"type": "nonsense"' and letter["reason"] == "validation"
    for room in rooms:
        assert wait_api(room, "/api/status", lambda body: body["dead_letters"] >= 1)
