"""The shared monitoring stack, for real: Debian's Prometheus and Alertmanager on 127.0.0.1.

1. Prometheus scrapes a running `tutka worker` and returns its series with non-zero values.
2. A rule of ``config/rules/`` fires (dead letters) and another goes pending (worker down).
3. Alerts pushed by the project appear in Alertmanager with the right labels, disappear when the
   core resolves them, and are routed (and inhibited) by ``config/alertmanager.yml``.
4. The worker's /metrics stays under a fixed number of series.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from kafka import KafkaProducer

from tests.factories import alert
from tests.integration.programs import (
    Program,
    alertmanager_config,
    prometheus_config,
    start_alertmanager,
    start_prometheus,
    wait_for,
)
from tests.integration.workers import publish_market, versions
from tests.receiver import PostRecorder
from tests.unit.monitoring.test_metrics import SERIES_BOUND
from tutka.config.areas import load_hierarchy
from tutka.config.catalogue import load_catalogue
from tutka.config.sectors import localized_sector_names
from tutka.config.settings import AlertmanagerSettings
from tutka.models.alerts import Alert, AlertKind, AlertStatus, Polarity, Severity
from tutka.monitoring.observe import Observer
from tutka.replay import load
from tutka.streams import alertmanager as am
from tutka.streams.engine import Engine
from tutka.synthetic import generate, write

pytestmark = pytest.mark.integration
HIERARCHY = load_hierarchy()


def scalar(prometheus: Program, query: str) -> float | None:
    """The single value of an instant query (None when it has no result)."""
    result = prometheus.get("/api/v1/query", query=query)["data"]["result"]
    return float(result[0]["value"][1]) if result else None


def rule_alerts(prometheus: Program, name: str) -> list[dict[str, Any]]:
    return [a for a in prometheus.get("/api/v1/alerts")["data"]["alerts"]
            if a["labels"]["alertname"] == name]  # fmt: skip


BAD_PAYLOADS = [
    b"\xff\xfe not even utf-8",
    b'{"type": "unemployment", "area": "KU240"}',
    b'{"type": "unemployment", "area": "KU240", "period": "2019-01", "measure": '
    b'"unemployed_jobseekers", "value": NaN, "published": "2019-02-20", "revision": 0}',
]


def test_prometheus_scrapes_the_worker_and_the_health_rules_fire(
    cluster: dict[str, Any], alertmanager: tuple[Program, Hooks], tmp_path: Path
) -> None:
    settings, names = cluster["settings"], cluster["topics"]
    manager, hooks = alertmanager
    worker = cluster["start"](TUTKA_ALERTMANAGER__URLS=manager.url)
    config = prometheus_config(
        [f"127.0.0.1:{worker.metrics_port}"], [manager.url.removeprefix("http://")]
    )
    prometheus = start_prometheus(config, tmp_path / "prometheus")
    try:
        wait_for(lambda: scalar(prometheus, 'up{job="tutka-worker"}') == 1, 120, "a scraped worker")
        # The closed label sets are exposed at zero before any input: rates have a start.
        wait_for(lambda: scalar(prometheus, 'tutka_events_consumed_total{outcome="dead_letter",'
                                'source="unemployment"}') == 0, 30, "primed counters")  # fmt: skip

        market = tmp_path / "market"
        write(generate(seed=7, start="2018-01", end="2019-12"), market)
        sent = publish_market(settings, market)
        producer = KafkaProducer(bootstrap_servers=settings.bootstrap)
        for payload in BAD_PAYLOADS:
            producer.send(names.unemployment, key=b"KU240", value=payload)
        producer.flush()
        producer.close()

        valid = 'sum(tutka_events_consumed_total{outcome="valid"})'
        wait_for(lambda: scalar(prometheus, valid) == sent, 240, f"{sent} events consumed")
        dead = 'sum(tutka_events_consumed_total{outcome="dead_letter",source="unemployment"})'
        wait_for(lambda: scalar(prometheus, dead) == len(BAD_PAYLOADS), 60, "dead letters")

        def settled() -> list[Alert] | None:
            """The alert versions on the topic, once the metrics agree with them."""
            published = versions(settings.bootstrap, names.alerts)
            latest = {a.id: a for a in published}
            still = sum(1 for a in latest.values() if a.status.value != "resolved")
            agree = (
                published
                and scalar(prometheus, "sum(tutka_alerts_total)") == len(published)
                and scalar(prometheus, "sum(tutka_picture_open_alerts)") == still
                and scalar(
                    prometheus, f'sum(tutka_consumer_lag_messages{{topic="{names.events}"}})'
                )
                == 0
            )
            return published if agree else None

        # The core finishes after ingest; the topic and the metrics must come to agree.
        published = wait_for(settled, 240, "the metrics to agree with the alerts published")
        opened = sum(1 for a in published if a.status.value == "open")
        assert scalar(prometheus, 'sum(tutka_alerts_total{status="open"})') == opened
        for query in (
            "sum(tutka_detector_evaluations_total)",
            "sum(tutka_detector_signals_total)",
            "tutka_series_tracked",
            "tutka_processing_latency_seconds_count",
            "tutka_checkpoints_total",
            "tutka_picture_owner",
            'tutka_build_info{version!=""}',
            "sum(tutka_faust_messages_received_total)",
        ):
            assert (scalar(prometheus, query) or 0) > 0, query
        for topic in (*names.inputs, names.events):
            lag = f'sum(tutka_consumer_lag_messages{{topic="{topic}"}})'
            assert scalar(prometheus, lag) == 0, f"{topic}: everything was processed"
        latest = {a.id: a for a in published}
        still = {i for i, a in latest.items() if a.status.value != "resolved"}
        assert len(still) >= 1, "the market should leave alerts open"

        # 2. a health rule fires on the dead letters, as shipped in config/rules/
        firing = wait_for(
            lambda: [a for a in rule_alerts(prometheus, "TutkaDeadLetters")
                     if a["state"] == "firing"], 60, "TutkaDeadLetters firing",
        )  # fmt: skip
        assert firing[0]["labels"]["source"] == "unemployment"
        assert float(firing[0]["value"]) >= len(BAD_PAYLOADS) - 0.5
        # ... and reaches the operators through Alertmanager's routing tree
        wait_for(lambda: any(r == "operations" and a["labels"]["alertname"] == "TutkaDeadLetters"
                             for r, n in hooks.got for a in n["alerts"]), 60,
                 "TutkaDeadLetters at the operations receiver")  # fmt: skip

        # 3. the worker pushed its open alerts to Alertmanager (resolved ones are gone)
        wait_for(lambda: set(active(manager)) == still, 60,
                 "the worker's open alerts in Alertmanager")  # fmt: skip

        # 4. cardinality guard on the live endpoint (ours; faust's grow with partitions only)
        body = httpx.get(f"http://127.0.0.1:{worker.metrics_port}/metrics").text
        ours = [line for line in body.splitlines()
                if line.startswith("tutka_") and not line.startswith("tutka_faust_")]  # fmt: skip
        assert 0 < len(ours) <= SERIES_BOUND
        assert len(body.splitlines()) <= 3 * SERIES_BOUND

        # and a stopped worker makes TutkaWorkerDown pending (it fires after 2 minutes)
        worker.stop()
        wait_for(lambda: rule_alerts(prometheus, "TutkaWorkerDown"), 60, "TutkaWorkerDown")
    finally:
        prometheus.stop()


# -- Alertmanager ---------------------------------------------------------------------------------


class Hooks(PostRecorder):
    """Alertmanager's webhook receivers, one path per receiver name."""

    @property
    def got(self) -> list[tuple[str, dict[str, Any]]]:
        return [(path.strip("/"), note) for path, note in self.posts]

    def areas_by_receiver(self) -> set[tuple[str, str, str]]:
        return {(receiver, a["labels"]["area"], a["status"])
                for receiver, note in self.got for a in note["alerts"]}  # fmt: skip


@pytest.fixture
def alertmanager(tmp_path: Path) -> Iterator[tuple[Program, Hooks]]:
    hooks = Hooks()
    program = start_alertmanager(alertmanager_config(hooks.url), tmp_path / "alertmanager")
    yield program, hooks
    program.stop()
    hooks.close()


def active(program: Program) -> dict[str, dict[str, Any]]:
    """Alertmanager's structural-change alerts that are not resolved, by alert id."""
    return {a["labels"]["alert_id"]: a for a in program.get("/api/v2/alerts")
            if a["labels"]["alertname"] == am.ALERTNAME}  # fmt: skip


def observer_for(program: Program) -> Observer:
    settings = AlertmanagerSettings(urls=[program.url], backoff_seconds=0.05)
    return Observer.create(HIERARCHY, None, settings)


def test_alerts_appear_in_alertmanager_and_disappear_when_the_core_resolves_them(
    alertmanager: tuple[Program, Hooks], tmp_path: Path
) -> None:
    program, _ = alertmanager
    write(generate(seed=7, start="2016-01", end="2019-12"), tmp_path)
    records, _ = load([tmp_path])
    events = [r.item for r in records]
    engine = Engine(HIERARCHY, load_catalogue(), localized_sector_names())
    observer = observer_for(program)

    emitted: dict[str, Alert] = {}

    def run(batch: list[Any]) -> None:
        for event in batch:
            for output in engine.process(event):
                if isinstance(output, Alert):
                    observer.emitted(output)
                    emitted[output.id] = output

    # First part: up to the first moment several alerts are open at once.
    half = next(i for i in range(500, len(events), 500)
                if run(events[i - 500 : i]) or len(engine.open_alerts()) >= 3)  # fmt: skip
    assert observer.pusher.drain(30)
    open_then = {a.id: emitted[a.id] for a in engine.open_alerts()}
    shown = wait_for(lambda: (s := active(program)) and set(s) == set(open_then) and s, 30,
                     "Alertmanager to show the open alerts")  # fmt: skip
    for alert_id, item in shown.items():
        assert item["labels"] == am.labels(open_then[alert_id])
        assert item["annotations"]["description_fi"] == open_then[alert_id].explanation.fi
        assert item["status"]["state"] in ("active", "suppressed")

    run(events[half:])
    for output in engine.flush():
        if isinstance(output, Alert):
            observer.emitted(output)
    assert observer.pusher.drain(30)
    open_now = {a.id for a in engine.open_alerts()}
    closed = set(open_then) - open_now
    assert closed, "some alert open at half time should have been resolved since"
    wait_for(lambda: set(active(program)) == open_now, 30, "resolved alerts to disappear")
    assert observer.metrics.alertmanager_posts.labels(outcome="failed")._value.get() == 0
    observer.close()


def test_alertmanager_routes_by_ely_area_and_a_national_alert_inhibits_the_areas_below(
    alertmanager: tuple[Program, Hooks],
) -> None:
    program, hooks = alertmanager
    observer = observer_for(program)
    crafted = [
        alert("SSS", kind=AlertKind.VACANCIES),
        alert("KU240", kind=AlertKind.VACANCIES),  # inhibited by the national vacancies alert
        alert("KU240", severity=Severity.CRITICAL),  # Lapland, critical negative: duty too
        alert("KU905", polarity=Polarity.POSITIVE),  # Pohjanmaa
        alert("KU491"),  # Etelä-Savo: the shared queue
    ]
    # The national alert first: Alertmanager inhibits at notification time, and the shipped
    # group_wait (2 min) leaves it ample time; the test's 1 s does not, so let it land first.
    observer.emitted(crafted[0])
    assert observer.pusher.drain(30)
    wait_for(lambda: crafted[0].id in active(program), 30, "the national alert")
    for item in crafted[1:]:
        observer.emitted(item)
    assert observer.pusher.drain(30)
    expected = {
        ("national-desk", "SSS", "firing"),
        ("ely-lappi", "KU240", "firing"),
        ("ely-lappi-duty", "KU240", "firing"),
        ("ely-pohjanmaa", "KU905", "firing"),
        ("ely-shared", "KU491", "firing"),
    }
    wait_for(lambda: expected <= hooks.areas_by_receiver(), 60, "notifications to the receivers")
    state = active(program)
    inhibited = state[crafted[1].id]["status"]
    assert inhibited["state"] == "suppressed" and inhibited["inhibitedBy"]
    assert state[crafted[2].id]["status"]["state"] == "active"
    time.sleep(3)  # group_wait is 1 s here: anything routed would have arrived by now
    notified = {(receiver, a["labels"]["alert_id"]) for receiver, n in hooks.got
                for a in n["alerts"]}  # fmt: skip
    assert not any(alert_id == crafted[1].id for _, alert_id in notified), hooks.got

    # Resolution reaches the receivers that asked for it (send_resolved: true).
    observer.emitted(crafted[4].model_copy(update={"status": AlertStatus.RESOLVED, "sequence": 2}))
    assert observer.pusher.drain(30)
    wait_for(lambda: ("ely-shared", "KU491", "resolved") in hooks.areas_by_receiver(), 60,
             "the resolution of KU491")  # fmt: skip
    observer.close()
