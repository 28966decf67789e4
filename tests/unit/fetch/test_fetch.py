"""A table fetched from our PxWeb server: incremental runs, revisions, the API's limits, failures.

The server (:mod:`tutka.dev.pxweb`) runs on 127.0.0.1 with a small synthetic 12r5 (no shared
data): the country, an ELY area and two regions, three measures, 2022-01…2023-10.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from tests.pxweb import server, settings, small_table
from tutka.config.areas import load_hierarchy
from tutka.config.sources import load_tables
from tutka.dev.pxweb import PxWebServer
from tutka.fetch.client import FetchError, PxWebClient
from tutka.fetch.runner import Fetcher, TableReport
from tutka.fetch.sinks import FileSink
from tutka.fetch.store import Pending, TableStore
from tutka.monitoring.metrics import create_fetch_metrics

R5 = load_tables()["12r5"]
HIERARCHY = load_hierarchy()
ALL = 4 * 3 * 22 - 1  # areas × measures × months, less one suppressed cell


@pytest.fixture
def px() -> Iterator[PxWebServer]:
    s = server({"12r5": small_table()})
    yield s
    s.stop()


class Run:
    """Fetches 12r5 from ``px`` into ``tmp/out`` with its state in ``tmp/state``."""

    def __init__(self, px: PxWebServer, tmp: Path, really_sleep: bool = False) -> None:
        self.px, self.out, self.state = px, tmp / "out", tmp / "state"
        self.sleeps: list[float] = []
        self.really_sleep = really_sleep
        self.metrics = create_fetch_metrics(CollectorRegistry(), ["12r5"])

    def __call__(self, sink: Any = None, **overrides: Any) -> TableReport:
        fetch = settings(self.px.url, **overrides)
        with PxWebClient(fetch, sleep=self._sleep) as client:
            client.configure()
            fetcher = Fetcher(fetch, client, sink or FileSink(self.out), HIERARCHY, self.state,
                              self.metrics)  # fmt: skip
            return fetcher.run("12r5", R5)

    def _sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        if self.really_sleep:
            time.sleep(seconds)

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(line) for path in sorted(self.out.glob("*.jsonl"))
                for line in path.read_text().splitlines()]  # fmt: skip

    def metric(self, name: str, **labels: str) -> float | None:
        return self.metrics.registry.get_sample_value(name, {"table": "12r5", **labels})


@pytest.fixture
def run(px: PxWebServer, tmp_path: Path) -> Run:
    return Run(px, tmp_path)


def test_a_first_fetch_delivers_every_figure_once(run: Run, px: PxWebServer) -> None:
    report = run()
    assert report.status == "ok", report.message
    assert (report.delivered, report.counts["new_periods"], report.queries) == (ALL, 22, 1)
    assert [m for m, *_ in px.log] == ["GET", "GET", "POST"]  # ?config, metadata, one query
    events = run.events()
    assert len(events) == ALL == len({(e["area"], e["measure"], e["period"]) for e in events})
    first = events[0]
    assert (first["type"], first["area"], first["period"], first["published"], first["source"]) == (
        "unemployment", "SSS", "2022-01", "2022-02-25", "statfin-12r5")  # fmt: skip
    assert run.metric("tutka_fetch_figures_total", kind="new") == ALL
    assert run.metric("tutka_fetch_periods_total") == 22
    assert (run.metric("tutka_fetch_newest_period_age_seconds") or 0) > 0
    assert (run.metric("tutka_fetch_last_success_timestamp_seconds") or 0) > 0


def test_nothing_new_delivers_nothing(run: Run, px: PxWebServer) -> None:
    run()
    files = sorted(run.out.iterdir())
    report = run()
    assert (report.status, report.delivered, report.events) == ("ok", 0, 0)
    assert report.periods_asked == 6  # the look-back: months that may have been revised
    assert sorted(run.out.iterdir()) == files


def test_next_month_is_fetched_alone_when_published(run: Run, px: PxWebServer) -> None:
    px.hide_after("12r5", "2023-08")
    first = run()
    assert first.latest == "2023-08"
    px.publish("12r5")
    report = run()
    assert (report.counts["new_periods"], report.delivered, report.latest) == (1, 12, "2023-09")
    assert {e["period"] for e in run.events()[first.delivered :]} == {"2023-09"}


def test_a_revised_month_becomes_exactly_one_revision(run: Run, px: PxWebServer) -> None:
    run()
    old = px.revise("12r5", {"Alue": "MK19", "Tiedot": "TYOTTOMATLOPUSSA",
                             "Kuukausi": "2023-09"}, 9999.0)  # fmt: skip
    report = run()
    assert (report.counts["revised"], report.delivered) == (1, 1)
    revision = run.events()[-1]
    assert (revision["area"], revision["period"], revision["value"]) == ("MK19", "2023-09", 9999)
    assert (revision["revision"], revision["previous_value"]) == (1, old)
    assert run().delivered == 0  # and only once
    assert run.metric("tutka_fetch_revisions_total") == 1


def test_429_is_retried_after_the_servers_retry_after(run: Run, px: PxWebServer) -> None:
    px.fail_next(2, status=429, retry_after=0.7, method="POST")
    report = run()
    assert report.status == "ok" and report.requests["rate_limited"] == 2
    assert [status for _, _, status, _ in px.log].count(429) == 2
    assert run.sleeps.count(0.7) == 2


@pytest.mark.slow
def test_a_stalled_answer_is_retried_then_given_up_with_a_reason(run: Run, px: PxWebServer
                                                                 ) -> None:  # fmt: skip
    px.stall_next(1, 1.5, method="POST")
    assert run(timeout_seconds=0.5).status == "ok"
    px.stall_next(2, 1.5, method="POST")
    report = run(timeout_seconds=0.5, max_attempts=2)
    assert (report.status, report.reason) == ("failed", "timeout")
    assert "no answer within 0.5 s, 2 times" in report.message
    assert run.metric("tutka_fetch_failures_total", reason="timeout") == 1


def test_queries_stay_under_the_servers_cell_limit(tmp_path: Path) -> None:
    px = server({"12r5": small_table()}, max_values=40)
    try:
        run = Run(px, tmp_path)
        report = run()
        cells = [c for m, _, status, c in px.log if m == "POST"]
        assert report.status == "ok" and report.delivered == ALL
        assert len(cells) == report.queries > 1 and max(cells) <= 40
    finally:
        px.stop()


@pytest.mark.slow
def test_the_request_rate_stays_under_the_servers_limit(tmp_path: Path) -> None:
    px = server({"12r5": small_table()}, max_values=40, max_calls=3, time_window=1.0)
    try:
        run = Run(px, tmp_path, really_sleep=True)
        report = run()
        assert report.status == "ok" and report.requests["rate_limited"] == 0
        assert all(status == 200 for _, _, status, _ in px.log)
        assert sum(run.sleeps) >= (len(px.log) - 3) / 3 - 0.01  # waited for tokens
    finally:
        px.stop()


def test_a_changed_layout_fails_the_table_with_the_reason(run: Run, px: PxWebServer) -> None:
    px.rename_variable("12r5", "Alue", "Alueet")
    report = run()
    assert (report.status, report.reason) == ("failed", "layout")
    assert "no variable 'Alue'" in report.message and "Alueet" in report.message
    assert run.metric("tutka_fetch_failures_total", reason="layout") == 1


class Crashing(FileSink):
    """Stops (like a killed process) before or after delivering the batch."""

    def __init__(self, directory: Path, after: bool) -> None:
        super().__init__(directory)
        self.after = after

    def deliver(self, pending: Pending, batch: Path) -> int:
        if self.after:
            super().deliver(pending, batch)
        raise FetchError("publish", "crashed")


@pytest.mark.parametrize("after", [False, True], ids=["before-delivery", "after-delivery"])
def test_a_crash_around_delivery_is_finished_by_the_next_run(
    run: Run, px: PxWebServer, after: bool
) -> None:
    px.hide_after("12r5", "2023-08")
    assert run(sink=Crashing(run.out, after)).status == "failed"
    assert TableStore(run.state, "12r5").pending() is not None
    px.publish("12r5")  # and the table moved on meanwhile
    report = run()
    assert report.recovered == (0 if after else ALL - 24)
    events = run.events()
    keys = [(e["area"], e["measure"], e["period"], e["revision"]) for e in events]
    assert len(keys) == len(set(keys)) == ALL - 12


def test_a_table_being_fetched_elsewhere_is_skipped(run: Run) -> None:
    with TableStore(run.state, "12r5").locked():
        report = run()
    assert report.status == "skipped" and "being fetched by pid" in report.message
    assert run().status == "ok"


def test_the_server_limits_tighten_the_settings(px: PxWebServer) -> None:
    with PxWebClient(settings(px.url, max_cells=1_000_000, max_calls=50)) as client:
        limits = client.configure()
    assert (limits.max_cells, limits.max_calls) == (100_000, 30)


def test_a_wrong_path_is_a_clear_failure(px: PxWebServer, tmp_path: Path) -> None:
    with PxWebClient(settings(px.url)) as client, pytest.raises(FetchError) as caught:
        client.metadata("StatFin/tyonv/nope.px")
    assert caught.value.reason == "not_found" and "check the table's path" in str(caught.value)


def test_the_read_back_sees_the_events_of_batch_records_too() -> None:
    """The Kafka sink's read-back (what already arrived) looks into batch records, so a figure
    `tutka publish` sent in one is not sent again."""
    from tutka.fetch.sinks import IDENTITY_FIELDS, identities, identity

    first = dict.fromkeys(IDENTITY_FIELDS, "a")
    second = dict.fromkeys(IDENTITY_FIELDS, "b")
    assert identities(first) == [identity(first)]
    assert identities({"type": "events", "events": [first, 7, second]}) == [
        identity(first),
        identity(second),
    ]
    assert identities([first]) == [] and identities("text") == []
    assert identity(first) != identity(second)
