"""`tutka fetch statfin --publish` on the session's real Kafka broker: every figure exactly once.

The fetcher runs as a real process against our PxWeb server (a thread of this test process on
127.0.0.1) and is killed with SIGKILL between fetching and publishing, and in the middle of
publishing; run again, it leaves every figure on the input topics exactly once (counted by
source, series, period and revision). Then the issue's whole path: fetch → topics → `tutka
worker` → alerts, the same as replaying the downloaded CSV.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.workers import assert_same_alerts, records, settle, wait_until
from tests.pxweb import server, shared_12r5_csv, shared_table, small_table
from tutka.config.areas import load_hierarchy
from tutka.config.catalogue import load_catalogue
from tutka.config.sectors import localized_sector_names
from tutka.config.settings import KafkaSettings
from tutka.dev.pxweb import PxWebServer
from tutka.fetch.sinks import identity
from tutka.models.markers import ReleaseEnd
from tutka.replay import replay
from tutka.worker.topics import Topics, ensure_topics

CELLS = 4 * 3  # areas × measures: the figures of a month of the small table


class Fetch:
    """`tutka fetch statfin --publish` processes for one namespace and state directory."""

    def __init__(self, bootstrap: str, namespace: str, url: str, tmp: Path) -> None:
        self.url, self.tmp = url, tmp
        self.state = tmp / "state"
        self.env = {**os.environ, "TUTKA_KAFKA__BOOTSTRAP": bootstrap,
                    "TUTKA_KAFKA__NAMESPACE": namespace, "TUTKA_KAFKA__PARTITIONS": "3",
                    "TUTKA_FETCH__BACKOFF_SECONDS": "0.1"}  # fmt: skip
        self.runs = 0

    def start(self, *extra: str) -> tuple[subprocess.Popen[bytes], Path]:
        self.runs += 1
        log = self.tmp / f"fetch-{self.runs}.log"
        command = [
            *(sys.executable, "-m", "tutka", "fetch", "statfin", "--publish", "--table", "12r5"),
            *("--base-url", self.url, "--state-dir", str(self.state), *extra),
        ]
        handle = log.open("wb")
        process = subprocess.Popen(command, env=self.env, stdout=handle, stderr=subprocess.STDOUT)
        return process, log

    def run(self, *extra: str) -> str:
        process, log = self.start(*extra)
        assert process.wait(timeout=300) == 0, log.read_text()
        text = log.read_text()
        assert "Traceback" not in text, text
        return " ".join(text.split())


def figures(bootstrap: str, topics: Topics) -> list[dict[str, Any]]:
    out = []
    for topic in (topics.unemployment, topics.vacancies):
        for record in records(bootstrap, topic):
            payload = json.loads(record.value)
            if payload["type"] == "release_end":  # an end-of-release marker, not a figure
                marker = ReleaseEnd.model_validate(payload)
                assert (marker.partition, marker.dataset) == (record.partition, "12r5")
                continue
            assert record.key.decode() == payload["area"]  # keyed as the worker expects
            assert topics.of_type(payload["type"]) == topic
            out.append(payload)
    return out


def exactly_once(payloads: list[dict[str, Any]]) -> Counter[tuple[object, ...]]:
    counts = Counter(identity(p) for p in payloads)
    repeated = {k: n for k, n in counts.items() if n > 1}
    assert repeated == {}, f"figures published more than once: {list(repeated)[:5]}"
    return counts


def kill(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)


@pytest.fixture
def namespace(kafka_bootstrap: str, topic_prefix: str) -> tuple[KafkaSettings, Topics]:
    settings = KafkaSettings(bootstrap=kafka_bootstrap, namespace=f"{topic_prefix}.")
    ensure_topics(settings)
    return settings, Topics(settings.namespace)


@pytest.fixture
def px() -> Iterator[PxWebServer]:
    s = server({"12r5": small_table()})
    yield s
    s.stop()


def test_killed_between_fetch_and_publish_and_mid_publish_every_figure_lands_once(
    namespace: tuple[KafkaSettings, Topics], px: PxWebServer, tmp_path: Path
) -> None:
    settings, topics = namespace
    fetch = Fetch(settings.bootstrap, settings.namespace, px.url, tmp_path)
    px.hide_after("12r5", "2023-06")
    months = 18
    expected = months * CELLS - 1  # one suppressed cell

    # 1. Killed after fetching and recording the batch, before a single figure is sent.
    process, log = fetch.start("--pause-before-publish", "60")
    wait_until(lambda: "figures to deliver" in log.read_text(), 120, "the batch to be recorded")
    kill(process)
    assert figures(settings.bootstrap, topics) == []

    # 2. The next run finishes that batch slowly; killed in the middle of it.
    px.publish("12r5")  # meanwhile the table moved on: 2023-07 is out
    process, log = fetch.start("--rate", "40")
    wait_until(lambda: len(figures(settings.bootstrap, topics)) >= 40, 120, "some figures")
    kill(process)
    partial = len(figures(settings.bootstrap, topics))
    assert 40 <= partial < expected, partial
    exactly_once(figures(settings.bootstrap, topics))

    # 3. Run again to the end: the rest of the batch, then the new month.
    output = fetch.run()
    assert "finished the batch of an interrupted run" in output
    counts = exactly_once(figures(settings.bootstrap, topics))
    assert len(counts) == expected + CELLS

    # 4. Nothing new: nothing published. A revision and a new month: exactly those.
    before = len(figures(settings.bootstrap, topics))
    assert "0 delivered" in fetch.run()
    assert len(figures(settings.bootstrap, topics)) == before
    px.revise("12r5", {"Alue": "MK19", "Tiedot": "TYOTTOMATLOPUSSA", "Kuukausi": "2023-05"}, 1.0)
    px.publish("12r5")
    assert "1 revised" in fetch.run()
    payloads = figures(settings.bootstrap, topics)
    counts = exactly_once(payloads)
    assert len(counts) == expected + 2 * CELLS + 1
    revision = [p for p in payloads if p["revision"] == 1]
    assert [(p["area"], p["period"], p["value"]) for p in revision] == [("MK19", "2023-05", 1.0)]
    assert revision[0]["previous_value"] is not None


def test_two_fetchers_at_once_publish_every_figure_once(
    namespace: tuple[KafkaSettings, Topics], px: PxWebServer, tmp_path: Path
) -> None:
    settings, topics = namespace
    fetch = Fetch(settings.bootstrap, settings.namespace, px.url, tmp_path)
    started = [fetch.start("--rate", "50") for _ in range(2)]
    for process, log in started:
        assert process.wait(timeout=300) == 0, log.read_text()
    logs = " ".join(" ".join(log.read_text().split()) for _, log in started)
    # The second stood aside (or, had it come after the first, found nothing new).
    assert "being fetched by pid" in logs or "0 delivered" in logs
    assert len(exactly_once(figures(settings.bootstrap, topics))) == 22 * CELLS - 1


@pytest.mark.shared_data
def test_fetch_to_topics_to_worker_gives_the_alerts_of_the_csv(
    cluster: dict[str, Any], tmp_path: Path
) -> None:
    csv = shared_12r5_csv()
    if not csv.exists():
        pytest.skip(f"shared data file {csv} is absent")
    expected = replay([csv], load_hierarchy(), load_catalogue(), localized_sector_names()).alerts
    settings, names = cluster["settings"], cluster["topics"]
    px = server({"12r5": shared_table("12r5")})
    try:
        started = time.monotonic()
        output = Fetch(settings.bootstrap, settings.namespace, px.url, tmp_path).run()
        assert "23,112 delivered" in output, output
        print(f"\nfetch 12r5 (23,112 figures) to Kafka: {time.monotonic() - started:.1f} s")
    finally:
        px.stop()
    # The fetcher follows each release with its end-of-release markers (the default): the
    # worker judges a release as soon as it is in, and still gives exactly the CSV's alerts.
    released = {
        ReleaseEnd.model_validate_json(r.value).published
        for topic in (names.unemployment, names.vacancies)
        for r in records(settings.bootstrap, topic)
        if json.loads(r.value)["type"] == "release_end"
    }
    assert len(released) >= 200  # 12r5: a release a month since 2006, each with its markers
    cluster["start"]()
    got = settle(settings.bootstrap, names.alerts, len(expected))
    assert_same_alerts(got, expected)
