"""The live stream: a change reaches every open page in scope, and no page out of scope."""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
import uvicorn

from tests.factories import alert
from tests.unit.room.conftest import auth, users
from tutka.config.settings import WebhookSettings
from tutka.models.alerts import Alert
from tutka.room.api import create_app
from tutka.room.service import Service


@contextmanager
def serving(service: Service) -> Iterator[str]:
    config = uvicorn.Config(create_app(service, users(), WebhookSettings()), host="127.0.0.1",
                            port=0, log_level="warning", timeout_graceful_shutdown=1)  # fmt: skip
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the room did not start"
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def read_events(
    base: str, who: str, into: queue.Queue[tuple[str, Any]], stop: threading.Event
) -> None:
    with httpx.stream("GET", f"{base}/api/stream", headers=auth(who), timeout=30) as response:
        into.put(("status", response.status_code))
        event = ""
        for line in response.iter_lines():
            if stop.is_set():
                return
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:"):
                into.put((event, json.loads(line.split(":", 1)[1])))


def next_event(events: queue.Queue[tuple[str, Any]], kind: str) -> dict[str, Any]:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        name, data = events.get(timeout=10)
        if name == kind:
            return data  # type: ignore[no-any-return]
    raise AssertionError(f"no {kind} event")


def listen(base: str, who: str, stop: threading.Event) -> queue.Queue[tuple[str, Any]]:
    events: queue.Queue[tuple[str, Any]] = queue.Queue()
    threading.Thread(target=read_events, args=(base, who, events, stop), daemon=True).start()
    assert events.get(timeout=10) == ("status", 200)
    assert next_event(events, "hello")["user"] == who
    return events


def test_a_new_alert_and_case_work_reach_open_pages_in_scope_only(service: Service) -> None:
    stop = threading.Event()
    with serving(service) as base:
        lappi = listen(base, "lappi", stop)
        uusimaa = listen(base, "uusimaa", stop)
        rovaniemi = alert("KU698", sequence=1)
        service.state.add_alert(rovaniemi)
        message = next_event(lappi, "alert")
        assert (message["id"], message["change"]) == (rovaniemi.id, "opened")
        assert time.time() * 1000 - message["emitted"] < 10_000
        httpx.post(f"{base}/api/alerts/{rovaniemi.id}/case", headers=auth("lappi"),
                   json={"type": "acknowledged"}).raise_for_status()  # fmt: skip
        case = next_event(lappi, "case")
        assert (case["alert_id"], case["event"]) == (rovaniemi.id, "acknowledged")
        # Uusimaa's page hears nothing of Lapland: the next thing it gets is its own alert.
        helsinki = alert("KU091")
        service.state.add_alert(helsinki)
        assert next_event(uusimaa, "alert")["id"] == helsinki.id
        stop.set()


def test_the_stream_refuses_a_request_without_a_token(service: Service) -> None:
    with serving(service) as base:
        assert httpx.get(f"{base}/api/stream", timeout=5).status_code == 401


@pytest.mark.parametrize("n", [3])
def test_a_page_that_falls_behind_is_told_to_resync(service: Service, n: int) -> None:
    from tutka.room import state as room_state

    stop = threading.Event()
    original = room_state.QUEUE_SIZE
    room_state.QUEUE_SIZE = n
    try:
        with serving(service) as base:
            events = listen(base, "admin", stop)
            for i in range(40):  # faster than the page reads, into a queue of three
                service.state.add_alert(_version(i))
            assert next_event(events, "resync") == {}
            stop.set()
    finally:
        room_state.QUEUE_SIZE = original


def _version(i: int) -> Alert:
    return alert("KU240", sequence=1, sector=f"{10 + i}")
