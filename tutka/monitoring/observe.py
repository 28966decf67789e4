"""What a runner shows the monitoring stack: the ``/metrics`` endpoint and the Alertmanager push.

One :class:`Observer` per runner (a worker, a replay). The runner reports to it from its own
thread — events consumed, alert versions emitted and published — and calls :meth:`refresh`
now and then; the observer turns that into metrics (``tutka.monitoring.metrics``) and Alertmanager
posts (``tutka.monitoring.pusher``). Neither ever blocks the stream: the metrics endpoint is served
from a thread of prometheus-client, the posts from the pusher's thread.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CollectorRegistry, start_http_server

from tutka.config.settings import AlertmanagerSettings, MetricsSettings
from tutka.models.alerts import Alert
from tutka.models.areas import Hierarchy
from tutka.monitoring.metrics import Metrics, create_metrics
from tutka.monitoring.pusher import AlertmanagerPusher
from tutka.streams.engine import Engine

log = logging.getLogger("tutka.observe")


@dataclass
class Observer:
    metrics: Metrics
    pusher: AlertmanagerPusher
    elys: tuple[str, ...]
    resend_seconds: float
    server: Any = None
    #: When the open alerts were last re-posted (monotonic seconds).
    last_sync: float = field(default=0.0)

    @classmethod
    def create(
        cls,
        hierarchy: Hierarchy,
        metrics: MetricsSettings | None,
        alertmanager: AlertmanagerSettings,
        registry: CollectorRegistry | None = None,
    ) -> Observer:
        """Metrics on a fresh registry (served when ``metrics`` has a port), pusher started."""
        collected = create_metrics(registry)
        server = None
        if metrics is not None and metrics.port:
            server, _ = start_http_server(metrics.port, metrics.host, collected.registry)
            log.info("metrics on http://%s:%s/metrics", metrics.host, metrics.port)
        pusher = AlertmanagerPusher(alertmanager, collected).start()
        elys = hierarchy.of_level("ELY")
        return cls(collected, pusher, elys, alertmanager.resend_seconds, server)

    # -- reports from the runner ---------------------------------------------------------------

    def emitted(self, alert: Alert) -> None:
        """The engine produced this alert version (perhaps again, after a restore)."""
        self.pusher.submit(alert)

    def published(self, alert: Alert) -> None:
        """This alert version went out (once per version: counted here)."""
        self.metrics.published(alert)

    def refresh(self, engine: Engine, force_sync: bool = False) -> None:
        """Bring the engine's counters and the open-alert picture up to date; re-post if due."""
        self.metrics.sync_engine(engine.stats, len(engine.series), id(engine))
        pending = engine.state.pending
        self.metrics.freshness(
            engine.state.clock_figures if pending is None else pending.period,
            engine.state.clock_notices,
            None if pending is None else pending.available_on,
        )
        open_alerts = engine.open_alerts()
        self.metrics.show_picture(open_alerts, self.elys)
        due = time.monotonic() - self.last_sync >= self.resend_seconds
        if self.pusher.enabled and (due or force_sync):
            self.pusher.sync(open_alerts)
            self.last_sync = time.monotonic()

    def release(self) -> None:
        """Another runner owns the engine now: stop exposing or re-posting its picture."""
        self.metrics.picture.clear()
        self.pusher.forget()

    def close(self, drain_seconds: float = 30.0) -> None:
        self.pusher.stop(drain_seconds)
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None
