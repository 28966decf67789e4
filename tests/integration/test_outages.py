"""Outages downstream of the worker (issue #14): Alertmanager and a webhook receiver are down
for a while. The worker keeps up with its input, what waits for them stays bounded and counted,
and once they are back they get everything.
"""

from __future__ import annotations

import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import httpx
from kafka import KafkaProducer

from tests.integration.programs import alertmanager_config, start_alertmanager, wait_for
from tests.integration.test_worker import HIERARCHY, market  # noqa: F401 (a fixture)
from tests.integration.workers import free_port, publish_market, settle
from tutka.models.alerts import Alert, AlertStatus
from tutka.models.subscriptions import Subscription, SubscriptionUpserted, matches
from tutka.streams import alertmanager as am

#: How long both stay down after the worker has published every alert version.
OUTAGE_SECONDS = 10.0
#: Alertmanager's queue in the worker: smaller than the number of alert versions, so it fills.
AM_QUEUE = 20


class Receiver(BaseHTTPRequestHandler):
    got: ClassVar[list[tuple[str, int]]] = []

    def do_POST(self) -> None:
        alert = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).got.append((alert["id"], alert["sequence"]))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def metric(port: int, name: str, labels: str = "") -> float:
    """The sum of ``name``'s samples whose labels contain ``labels``."""
    body = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    pattern = rf"^{name}(\{{[^}}]*\}})? (\S+)$"
    return sum(float(m.group(2)) for m in re.finditer(pattern, body, re.M)
               if labels in (m.group(1) or ""))  # fmt: skip


def test_alertmanager_and_a_webhook_receiver_down_for_a_while_get_everything_after_recovery(
    cluster: dict[str, Any],
    market: tuple[Path, list[Alert]],  # noqa: F811
    tmp_path: Path,
) -> None:
    directory, expected = market
    settings, names = cluster["settings"], cluster["topics"]
    am_port, hook_port = free_port(), free_port()
    subscription = Subscription.model_validate(
        {"id": "satakunta-hook", "owner": "ELY03", "created": "2024-01-01",
         "filters": {"kinds": ["unemployment", "layoff_notices"]},
         "delivery": {"type": "webhook", "url": f"http://127.0.0.1:{hook_port}/hook"}}
    )  # fmt: skip
    want = {(a.id, a.sequence) for a in expected if matches(subscription, a, HIERARCHY)}
    assert len(want) >= 5
    producer = KafkaProducer(bootstrap_servers=settings.bootstrap, acks="all")
    change = SubscriptionUpserted(subscription=subscription).model_dump_json().encode()
    producer.send(names.subscriptions, key=subscription.id.encode(), value=change)
    producer.flush()
    publish_market(settings, directory)
    backlog = len(want)  # room for every alert of the outage: none need be parked
    worker = cluster["start"](
        TUTKA_ALERTMANAGER__URLS=f"http://127.0.0.1:{am_port}",
        TUTKA_ALERTMANAGER__RESEND_SECONDS="5",
        TUTKA_ALERTMANAGER__QUEUE_SIZE=str(AM_QUEUE),
        TUTKA_ALERTMANAGER__BACKOFF_SECONDS="0.05",
        TUTKA_WEBHOOK__BACKLOG=str(backlog),
        TUTKA_WEBHOOK__PATIENCE_SECONDS="600",
    )
    # 1. Both down: the worker still publishes every version, at its own pace.
    started = time.monotonic()
    settle(settings.bootstrap, names.alerts, len(expected))
    caught_up = time.monotonic() - started
    time.sleep(OUTAGE_SECONDS)
    waiting = metric(worker.metrics_port, "tutka_webhook_backlog")
    failed = metric(worker.metrics_port, "tutka_alertmanager_posts_total", 'outcome="failed"')
    dropped = metric(worker.metrics_port, "tutka_alertmanager_dropped_total")
    assert 0 < waiting <= backlog, waiting  # bounded, and counted
    # Alertmanager's side: a bounded queue (AM_QUEUE); what cannot be posted is counted (failed
    # batches, updates dropped from a full queue) and the next sync re-posts the open picture.
    assert failed > 0
    # 2. Both back.
    Receiver.got = []
    server = ThreadingHTTPServer(("127.0.0.1", hook_port), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    alertmanager = start_alertmanager(alertmanager_config("http://127.0.0.1:9"),
                                      tmp_path / "alertmanager", port=am_port)  # fmt: skip
    try:
        alertmanager.wait_ready()
        wait_for(lambda: set(Receiver.got) >= want, 120, "every webhook delivery")
        assert set(Receiver.got) == want
        latest: dict[str, Alert] = {}
        for alert in expected:
            latest[alert.id] = alert
        open_ids = {i for i, a in latest.items() if a.status != AlertStatus.RESOLVED}

        def firing() -> set[str]:
            return {a["labels"]["alert_id"] for a in alertmanager.get("/api/v2/alerts")
                    if a["labels"]["alertname"] == am.ALERTNAME
                    and a["status"]["state"] == "active"}  # fmt: skip

        wait_for(lambda: firing() == open_ids, 60, "the open picture in Alertmanager")
        assert metric(worker.metrics_port, "tutka_webhook_backlog") == 0
        parked = metric(worker.metrics_port, "tutka_subscription_deliveries_total")
        print(
            f"outage: {len(expected)} alert versions published in {caught_up:.0f} s with "
            f"Alertmanager and the receiver down; {waiting:.0f} webhook deliveries waiting "
            f"(bound {backlog}); {failed:.0f} Alertmanager posts failed and {dropped:.0f} updates "
            f"dropped (queue {AM_QUEUE}), then re-synced; after "
            f"recovery {len(set(Receiver.got))}/{len(want)} delivered, {len(open_ids)} open "
            f"alerts in Alertmanager ({parked:.0f} deliveries counted)"
        )
    finally:
        server.shutdown()
        alertmanager.stop()
