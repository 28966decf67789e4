"""``tutka bench room``: how fast the room answers and how fast a new alert reaches open pages.

The room runs in this process on a free port with synthetic alerts spread over the shipped
areas; real HTTP requests measure the API, and real live streams (one thread each) measure the
time from an alert entering the room to its message arriving at every stream. (The browser's
share, the re-fetch and render, is measured by the browser tests.)
"""

from __future__ import annotations

import json
import random
import socket
import statistics
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

import click
import httpx
from rich.console import Console
from rich.table import Table

from tutka.config.areas import load_hierarchy
from tutka.config.sectors import localized_sector_names
from tutka.config.settings import RoomUser, WebhookSettings
from tutka.memory import peak_rss_mb
from tutka.models.alerts import (
    Alert,
    AlertKind,
    AlertStatus,
    HistoryEntry,
    Localized,
    Polarity,
    Severity,
    alert_id,
)
from tutka.models.areas import Hierarchy
from tutka.room.api import create_app
from tutka.room.service import Service
from tutka.room.state import Status
from tutka.room.tokens import ephemeral_users

console = Console(highlight=False)


def synthetic_alert(hierarchy: Hierarchy, rng: random.Random, n: int) -> Alert:
    areas = [code for code in hierarchy.areas if code != "SSS"]
    area = rng.choice(areas)
    kind = rng.choice(list(AlertKind))
    severity = rng.choice(list(Severity))
    group = f"{area}|{n}|-|{kind.value}"
    name = hierarchy.areas[area]
    return Alert.model_validate(dict(
        id=alert_id(group, "2024-06"), sequence=1, group=group, kind=kind,
        polarity=rng.choice(list(Polarity)), severity=severity,
        status=rng.choice([AlertStatus.OPEN, AlertStatus.OPEN, AlertStatus.RESOLVED]),
        area=area, area_name=Localized(fi=name.name_fi, sv=name.name_sv, en=name.name_en),
        parents=hierarchy.ancestors(area), period="2024-06", opened_period="2024-06",
        available_on=date(2024, 7, 20), evidence=(),
        history=(HistoryEntry(period="2024-06", status="open", severity=severity),),
        explanation=Localized(fi="muutos", sv="förändring", en="change"),
    ))  # fmt: skip


@contextmanager
def _serving(service: Service, users: list[RoomUser]) -> Iterator[str]:
    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app = create_app(service, users, WebhookSettings())
    server = uvicorn.Server(
        uvicorn.Config(
            app, host="127.0.0.1", port=port, log_level="error", timeout_graceful_shutdown=1
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _timed(client: httpx.Client, path: str, headers: dict[str, str], n: int) -> list[float]:
    times = []
    for _ in range(n):
        started = time.perf_counter()
        client.get(path, headers=headers).raise_for_status()
        times.append((time.perf_counter() - started) * 1000)
    return times


def _stream(base: str, headers: dict[str, str], arrivals: list[float], ready: threading.Event,
            stop: threading.Event) -> None:  # fmt: skip
    try:
        with httpx.stream("GET", f"{base}/api/stream", headers=headers, timeout=60) as response:
            for line in response.iter_lines():
                if line.startswith("data:") and '"user"' in line:
                    ready.set()
                elif line.startswith("data:") and '"alert"' in line:
                    message = json.loads(line[5:])
                    arrivals.append(time.time() * 1000 - message["emitted"])
                if stop.is_set():
                    return
    except httpx.TransportError:
        # The room shutting down under a stream that is done measuring ends it; before that,
        # a lost stream is an error of the benchmark.
        if not stop.is_set():
            raise


def _row(table: Table, what: str, values: list[float]) -> None:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    table.add_row(what, f"{len(values)}", f"{statistics.median(values):.1f}", f"{p95:.1f}",
                  f"{ordered[-1]:.1f}")  # fmt: skip


@click.command("room")
@click.option("--alerts", "n_alerts", default=5000, show_default=True, help="Alerts in the room.")
@click.option("--streams", default=50, show_default=True, help="Open live streams (pages).")
@click.option("--new", "n_new", default=40, show_default=True, help="New alerts sent to them.")
@click.option("--requests", default=30, show_default=True, help="Requests per API figure.")
def bench_room(n_alerts: int, streams: int, n_new: int, requests: int) -> None:
    """API response times and new-alert-to-stream latency of the situation room."""
    hierarchy = load_hierarchy()
    rng = random.Random(7)
    service = Service(hierarchy, Status(mode="bench", source="synthetic"), localized_sector_names())
    started = time.perf_counter()
    for n in range(n_alerts):
        service.state.add_alert(synthetic_alert(hierarchy, rng, n))
    loaded = time.perf_counter() - started
    service.state.set_ready(True)
    users, tokens = ephemeral_users()
    national = {"Authorization": f"Bearer {tokens['Demo admin']}"}
    lappi = {"Authorization": f"Bearer {tokens['Demo analyst (Lappi)']}"}
    table = Table(title=f"situation room: {n_alerts:,} alerts, {streams} live streams")
    for column in ("what", "n", "median ms", "p95 ms", "max ms"):
        table.add_column(column, justify="right" if column != "what" else "left")
    with _serving(service, users) as base, httpx.Client(base_url=base, timeout=30) as client:
        some = service.state.alerts()[0].id
        _row(
            table,
            "GET /api/picture (national, open)",
            _timed(client, "/api/picture", national, requests),
        )
        _row(
            table,
            "GET /api/picture (ELY15, all)",
            _timed(client, "/api/picture?status=all", lappi, requests),
        )
        _row(
            table, "GET /api/alerts/{id}", _timed(client, f"/api/alerts/{some}", national, requests)
        )
        arrivals: list[float] = []
        stop = threading.Event()
        threads = []
        for _ in range(streams):
            ready = threading.Event()
            thread = threading.Thread(target=_stream, args=(base, national, arrivals, ready, stop),
                                      daemon=True)  # fmt: skip
            thread.start()
            ready.wait(10)
            threads.append(thread)
        for n in range(n_new):
            service.state.add_alert(synthetic_alert(hierarchy, rng, n_alerts + n))
            time.sleep(0.05)
        deadline = time.monotonic() + 10
        while len(arrivals) < streams * n_new and time.monotonic() < deadline:
            time.sleep(0.05)
        stop.set()
        _row(table, "new alert → every live stream", arrivals)
    for thread in threads:  # the room has stopped, so every stream has ended
        thread.join(timeout=10)
    console.print(table)
    console.print(
        f"loaded {n_alerts:,} alerts in {loaded:.2f} s; {len(arrivals):,} of "
        f"{streams * n_new:,} stream messages arrived; peak memory {peak_rss_mb():.0f} MiB"
    )
