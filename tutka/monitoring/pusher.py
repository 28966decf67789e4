"""Posting alerts to Alertmanager without ever holding up the stream.

The runner (the faust worker's event loop, or a replay) calls :meth:`AlertmanagerPusher.submit`
for every alert version and :meth:`AlertmanagerPusher.sync` with the engine's open alerts every
``resend_seconds``. Both only put work on a bounded queue; a background thread posts it to every
configured Alertmanager (``POST /api/v2/alerts``), retrying failures with exponential backoff
(tenacity) and counting them. If Alertmanager is down for long the queue fills and updates are
dropped — counted — and the next :meth:`sync` re-posts the whole open picture, so nothing stays
wrong for longer than a resend interval after Alertmanager comes back. Open alerts carry an
``endsAt`` four resend intervals ahead: if Muutostutka itself stops, they expire rather than fire
for ever.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

import httpx
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from tutka.config.settings import AlertmanagerSettings
from tutka.models.alerts import Alert, AlertStatus
from tutka.monitoring.metrics import Metrics
from tutka.streams import alertmanager as am

log = logging.getLogger("tutka.alertmanager")

#: Alerts per POST: Alertmanager takes lists; this keeps one request well under its body limit.
BATCH = 200
_STOP = object()
#: A queued alert: ("firing" | "resolved", the postableAlert).
Item = tuple[str, dict[str, Any]]


class AlertmanagerPusher:
    """Submit alert versions from one thread; a daemon thread posts them."""

    def __init__(
        self,
        settings: AlertmanagerSettings,
        metrics: Metrics | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.settings = settings
        self.metrics = metrics
        self.clock = clock
        self.urls = [str(url).rstrip("/") + "/api/v2/alerts" for url in settings.urls]
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=settings.queue_size)
        #: The label set each firing alert was last posted with (runner thread only).
        self._firing: dict[str, am.Labels] = {}
        self._thread: threading.Thread | None = None
        self._idle = threading.Event()
        self._idle.set()

    @property
    def enabled(self) -> bool:
        return bool(self.urls)

    # -- the runner's side ----------------------------------------------------------------------

    def submit(self, alert: Alert) -> None:
        """Post this version of ``alert`` (and resolve its previous label set if it changed)."""
        if not self.enabled:
            return
        now = self.clock()
        link = self.settings.link_base
        resolved = alert.status == AlertStatus.RESOLVED
        item = am.postable(alert, now, self.settings.hold_seconds, link)
        payload: list[Item] = [("resolved" if resolved else "firing", item)]
        previous = self._firing.get(alert.id)
        if previous is not None and previous != item["labels"]:
            payload.append(("resolved", am.resolution(previous, alert, now, link)))
        if resolved:
            self._firing.pop(alert.id, None)
        else:
            self._firing[alert.id] = item["labels"]
        self._put(payload)

    def sync(self, open_alerts: Iterable[Alert]) -> None:
        """Re-post every open alert; resolve those posted as firing that are no longer open."""
        if not self.enabled:
            return
        now = self.clock()
        link = self.settings.link_base
        current = {alert.id: alert for alert in open_alerts}
        payload: list[Item] = []
        for alert in current.values():
            item = am.postable(alert, now, self.settings.hold_seconds, link)
            previous = self._firing.get(alert.id)
            if previous is not None and previous != item["labels"]:
                payload.append(("resolved", am.resolution(previous, alert, now, link)))
            self._firing[alert.id] = item["labels"]
            payload.append(("firing", item))
        for alert_id, stale in list(self._firing.items()):
            if alert_id not in current:
                # Closed while we were not watching (e.g. state restored from a checkpoint).
                ended = {"labels": stale, "startsAt": am.iso(now), "endsAt": am.iso(now)}
                payload.append(("resolved", ended))
                del self._firing[alert_id]
        for start in range(0, len(payload), BATCH):
            self._put(payload[start : start + BATCH])

    def forget(self) -> None:
        """This runner no longer owns the alerts (a rebalance): the new owner posts them."""
        self._firing.clear()

    def _put(self, payload: list[Item]) -> None:
        try:
            self._queue.put_nowait(payload)
            self._idle.clear()
        except queue.Full:
            if self.metrics is not None:
                self.metrics.alertmanager_dropped.inc(len(payload))

    # -- the posting thread --------------------------------------------------------------------

    def start(self) -> AlertmanagerPusher:
        if self.enabled and self._thread is None:
            self._thread = threading.Thread(target=self._run, name="alertmanager", daemon=True)
            self._thread.start()
        return self

    def drain(self, timeout: float = 30.0) -> bool:
        """Wait until everything submitted so far was posted (or given up); True if it was."""
        if self._thread is None:
            return True
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._queue.empty() and self._idle.wait(timeout=0.05):
                return True
        return False

    def stop(self, timeout: float = 30.0) -> None:
        if self._thread is None:
            return
        self.drain(timeout)
        self._queue.put(_STOP)
        self._thread.join(timeout)
        self._thread = None

    def _run(self) -> None:
        with httpx.Client(timeout=self.settings.timeout_seconds) as client:
            while True:
                item = self._queue.get()
                if item is _STOP:
                    return
                batch = list(item)
                # Coalesce what queued up meanwhile into one request (up to a batch).
                while len(batch) < BATCH and not self._queue.empty():
                    more = self._queue.get_nowait()
                    if more is _STOP:
                        self._post_everywhere(client, batch)
                        return
                    batch.extend(more)
                self._post_everywhere(client, batch)
                if self._queue.empty():
                    self._idle.set()

    def _post_everywhere(self, client: httpx.Client, batch: list[Item]) -> None:
        body = [item for _, item in batch]
        for url in self.urls:
            ok = self._post(client, url, body)
            if self.metrics is not None:
                self.metrics.alertmanager_posts.labels(outcome="ok" if ok else "failed").inc()
                if ok:
                    for state, _ in batch:
                        self.metrics.alertmanager_alerts.labels(state=state).inc()

    def _post(self, client: httpx.Client, url: str, batch: list[dict[str, Any]]) -> bool:
        retrying = Retrying(
            stop=stop_after_attempt(self.settings.max_attempts),
            wait=wait_exponential(multiplier=self.settings.backoff_seconds, max=30),
            retry=retry_if_exception_type(httpx.HTTPError),
            before_sleep=self._count_retry,
            reraise=True,
        )
        try:
            for attempt in retrying:
                with attempt:
                    response = client.post(url, json=batch)
                    if response.status_code >= 500 or response.status_code == 429:
                        response.raise_for_status()
            if response.status_code >= 400:
                # A 400 is our fault and will not get better by retrying: say what was refused.
                log.error("Alertmanager %s refused %s alerts: %s %s", url, len(batch),
                          response.status_code, response.text[:300])  # fmt: skip
                return False
            return True
        except httpx.HTTPError as exc:
            log.warning("posting %s alerts to %s failed: %s", len(batch), url, exc)
            return False

    def _count_retry(self, _state: Any) -> None:
        if self.metrics is not None:
            self.metrics.alertmanager_retries.inc()
