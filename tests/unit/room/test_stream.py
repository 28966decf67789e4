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
    try:
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
    except httpx.TransportError:
        # The server closing the stream under a page that has stopped listening is the normal
        # end of a test; before that, the failure is the test's (it never sees its events).
        if not stop.is_set():
            raise


def next_event(events: queue.Queue[tuple[str, Any]], kind: str) -> dict[str, Any]:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        name, data = events.get(timeout=10)
        if name == kind:
            return data  # type: ignore[no-any-return]
    raise AssertionError(f"no {kind} event")


class Pages:
    """Open pages (one reader thread each): stopped and joined when the test is over.

    A reader still inside ``iter_lines`` when the server shuts down would otherwise fail after
    its test has ended, and that thread exception would be reported against a later test.
    """

    def __init__(self, base: str) -> None:
        self.base = base
        self.stop = threading.Event()
        self.threads: list[threading.Thread] = []

    def listen(self, who: str) -> queue.Queue[tuple[str, Any]]:
        events: queue.Queue[tuple[str, Any]] = queue.Queue()
        thread = threading.Thread(
            target=read_events, args=(self.base, who, events, self.stop), daemon=True
        )
        thread.start()
        self.threads.append(thread)
        assert events.get(timeout=10) == ("status", 200)
        assert next_event(events, "hello")["user"] == who
        return events

    def close(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=10)
            assert not thread.is_alive(), "a page kept reading after the room stopped"


@contextmanager
def room_with_pages(service: Service) -> Iterator[tuple[str, Pages]]:
    """A serving room and its pages; the room stops first, then every page is joined."""
    with serving(service) as base:
        pages = Pages(base)
        try:
            yield base, pages
        finally:
            pages.stop.set()
    pages.close()


def test_a_new_alert_and_case_work_reach_open_pages_in_scope_only(service: Service) -> None:
    with room_with_pages(service) as (base, pages):
        lappi = pages.listen("lappi")
        uusimaa = pages.listen("uusimaa")
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


def test_the_stream_refuses_a_request_without_a_token(service: Service) -> None:
    with serving(service) as base:
        assert httpx.get(f"{base}/api/stream", timeout=5).status_code == 401


@pytest.mark.parametrize("n", [3])
def test_a_page_that_falls_behind_is_told_to_resync(service: Service, n: int) -> None:
    from tutka.room import state as room_state

    original = room_state.QUEUE_SIZE
    room_state.QUEUE_SIZE = n
    try:
        with room_with_pages(service) as (_, pages):
            events = pages.listen("admin")
            for i in range(40):  # faster than the page reads, into a queue of three
                service.state.add_alert(_version(i))
            assert next_event(events, "resync") == {}
    finally:
        room_state.QUEUE_SIZE = original


def _version(i: int) -> Alert:
    return alert("KU240", sequence=1, sector=f"{10 + i}")
