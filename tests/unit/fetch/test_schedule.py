"""``tutka fetch statfin --every``: notices a release within one interval, serves its metrics,
and stops cleanly on SIGTERM. A real process against our PxWeb server (no Kafka)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.pxweb import server, small_table
from tutka.cli.fetch import parse_duration


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def scrape(port: int) -> str:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as answer:
            return str(answer.read().decode())
    except OSError:
        return ""


@pytest.mark.slow
def test_every_fetches_each_release_serves_metrics_and_stops_on_sigterm(tmp_path: Path) -> None:
    px = server({"12r5": small_table()})
    px.hide_after("12r5", "2023-08")
    port = free_port()
    out = tmp_path / "out"
    env = {**os.environ, "TUTKA_FETCH__JITTER_SECONDS": "0", "TUTKA_FETCH__METRICS_PORT": str(port)}
    log = (tmp_path / "fetch.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "tutka", "fetch", "statfin", "--table", "12r5", "--base-url",
         px.url, "--out", str(out), "--every", "2s"],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        wait_for(lambda: 'kind="new",table="12r5"} 239.0' in scrape(port), 60, "the first fetch")
        assert "tutka_fetch_newest_period_age_seconds" in scrape(port)
        px.publish("12r5")
        wait_for(lambda: len(list(out.glob("*.jsonl"))) == 2, 30, "the release to be fetched")
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
        px.stop()
        log.close()
    text = (tmp_path / "fetch.log").read_text()
    assert "stopped" in text and "Traceback" not in text


@pytest.mark.parametrize(("text", "seconds"), [("6h", 21600), ("30m", 1800), ("1d", 86400),
                                                ("1h30m", 5400), ("90s", 90)])  # fmt: skip
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "6", "h", "6x", "0s", "6h foo"])
def test_bad_durations_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)
