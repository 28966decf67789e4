"""Every Prometheus metric of Muutostutka, defined once behind a factory (STYLE.md §6).

:func:`create_metrics` registers the metrics on the registry it is given (a fresh one per worker or
test, never the process-wide default), so two runners in one process do not collide and a test
sees only what it produced. Runners report through the methods of :class:`Metrics`; nothing else
in the code base creates a metric.

Cardinality is bounded by construction. Labels take values from closed sets — event source,
outcome, detector, alert kind, polarity, severity, ELY area (15 + national), delivery channel —
or pass through :class:`BoundedLabel`, which maps anything past a fixed number of distinct values
to ``other``. No label ever carries a series, an area below ELY level, a notice or an alert id:
the number of series does not grow with the number of municipalities watched.

The alert counters are split in two (by kind × polarity × severity, and by ELY area × polarity)
rather than carrying all five labels at once: their product would be ~3,000 potential series for
a question nobody asks of a counter; the open-alert gauges answer the per-area question.
"""

from __future__ import annotations

import platform
import threading
import time
from collections import Counter as Tally
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from importlib.metadata import PackageNotFoundError, version
from typing import Final

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    disable_created_metrics,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from tutka.models.alerts import Alert, Polarity
from tutka.streams.engine import EngineStats

#: The label value for a national alert's ELY area (it has none).
NATIONAL: Final = "SSS"
#: Event sources: the three input streams, and ``unknown`` for a payload whose type is unreadable.
SOURCES: Final = ("layoff_notice", "unemployment", "vacancies", "closures", "unknown")
#: Seconds; from sub-millisecond core steps to a minute behind a busy broker.
LATENCY_BUCKETS: Final = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0
)  # fmt: skip
#: Distinct values a free-text label (an error type) may take before the rest become ``other``.
MAX_LABEL_VALUES: Final = 32


class BoundedLabel:
    """Maps label values to themselves until ``limit`` distinct ones were seen, then to ``other``.

    >>> label = BoundedLabel(2)
    >>> [label("a"), label("b"), label("c"), label("a")]
    ['a', 'b', 'other', 'a']
    """

    def __init__(self, limit: int = MAX_LABEL_VALUES) -> None:
        self.limit = limit
        self.seen: set[str] = set()
        self._lock = threading.Lock()

    def __call__(self, value: str) -> str:
        with self._lock:
            if value in self.seen:
                return value
            if len(self.seen) < self.limit:
                self.seen.add(value)
                return value
        return "other"


@dataclass(frozen=True, slots=True)
class PictureRow:
    """Open alerts of one ELY area (or the country) and polarity."""

    ely: str
    polarity: str
    count: int
    max_severity: int


def picture(open_alerts: Iterable[Alert], elys: Iterable[str]) -> list[PictureRow]:
    """Open-alert counts and highest severity per ELY area and polarity, zeros included.

    Every ELY area of the hierarchy gets a row for both polarities, so a Grafana table of the
    country is complete even where nothing is happening (0 = no open alert, 1 watch … 3 critical).
    """
    counts: Tally[tuple[str, str]] = Tally()
    worst: dict[tuple[str, str], int] = {}
    for alert in open_alerts:
        key = (alert.ely or NATIONAL, alert.polarity.value)
        counts[key] += 1
        worst[key] = max(worst.get(key, 0), alert.severity.rank)
    areas = sorted({*elys, NATIONAL, *(ely for ely, _ in counts)})
    keys = [(ely, polarity.value) for ely in areas for polarity in Polarity]
    return [PictureRow(ely, pol, counts[(ely, pol)], worst.get((ely, pol), 0)) for ely, pol in keys]


class PictureCollector(Collector):
    """The open-alert gauges, from a snapshot swapped in whole by the runner.

    The runner computes the snapshot on its own thread (where the engine lives) and replaces it
    atomically; a scrape on the HTTP server's thread reads whichever snapshot is current, never a
    half-updated one.
    """

    def __init__(self) -> None:
        self._rows: tuple[PictureRow, ...] = ()
        self._open: tuple[tuple[str, str, str, int], ...] = ()
        self._live = False

    def update(self, open_alerts: list[Alert], elys: Iterable[str]) -> None:
        by_kind: Tally[tuple[str, str, str]] = Tally(
            (a.kind.value, a.polarity.value, a.severity.value) for a in open_alerts
        )
        self._open = tuple((k, p, s, n) for (k, p, s), n in sorted(by_kind.items()))
        self._rows = tuple(picture(open_alerts, elys))
        self._live = True

    def clear(self) -> None:
        """This runner no longer owns the picture (another worker does): expose nothing."""
        self._rows, self._open, self._live = (), (), False

    def collect(self) -> Iterator[GaugeMetricFamily]:
        rows, by_kind, live = self._rows, self._open, self._live
        opened = GaugeMetricFamily(
            "tutka_open_alerts",
            "Alerts open now, by kind, polarity and severity",
            labels=["kind", "polarity", "severity"],
        )
        for kind, polarity, severity, n in by_kind:
            opened.add_metric([kind, polarity, severity], n)
        count = GaugeMetricFamily(
            "tutka_picture_open_alerts",
            "Alerts open now per ELY area (SSS: national) and polarity",
            labels=["ely", "polarity"],
        )
        worst = GaugeMetricFamily(
            "tutka_picture_max_severity",
            "Highest severity open per ELY area and polarity (0 none, 1 watch, 2 warning, "
            "3 critical)",
            labels=["ely", "polarity"],
        )
        for row in rows:
            count.add_metric([row.ely, row.polarity], row.count)
            worst.add_metric([row.ely, row.polarity], row.max_severity)
        owner = GaugeMetricFamily(
            "tutka_picture_owner",
            "1 if this process holds the engine whose picture it exposes (sum over workers is 1)",
        )
        owner.add_metric([], 1 if live else 0)
        yield opened
        yield count
        yield worst
        yield owner


@dataclass
class _EngineMark:
    """What of an engine's cumulative stats has been turned into counters already."""

    engine_id: int = 0
    evaluations: Tally[str] = field(default_factory=Tally)
    signals: Tally[str] = field(default_factory=Tally)
    figures: Tally[str] = field(default_factory=Tally)
    notices: Tally[str] = field(default_factory=Tally)
    closures: Tally[str] = field(default_factory=Tally)


class Metrics:
    """The metrics of one runner (worker or replay) on one registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self._error_types = BoundedLabel()
        self._detectors = BoundedLabel()
        self._mark = _EngineMark()
        self.events = Counter(
            "tutka_events_consumed_total",
            "Input events consumed, by source and outcome (valid or dead_letter)",
            ["source", "outcome"],
            registry=registry,
        )
        self.dead_letters = Counter(
            "tutka_dead_letters_total",
            "Payloads sent to the dead-letter topic, by source, stage and error type",
            ["source", "reason", "error_type"],
            registry=registry,
        )
        self.latency = Histogram(
            "tutka_processing_latency_seconds",
            "From the input record's arrival to the end of its processing by the core",
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.core_batch = Histogram(
            "tutka_core_batch_seconds",
            "Time the core took for one batch of records of the ordered stream (engine and sends; "
            "the checkpoint after it not included): the event loop waits meanwhile",
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.release_alerts = Histogram(
            "tutka_release_alerts_seconds",
            "From the core taking the record that completed a release (its markers and events in) "
            "to the release's alerts sent: judging it (close_release) and publishing",
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.checkpoint_seconds = Histogram(
            "tutka_checkpoint_seconds",
            "Time to write one engine checkpoint (the core waits meanwhile)",
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.lag = Gauge(
            "tutka_consumer_lag_messages",
            "Records waiting in the partitions this worker is assigned, per topic",
            ["topic"],
            registry=registry,
        )
        self.evaluations = Counter(
            "tutka_detector_evaluations_total",
            "Observations assessed, by detector",
            ["detector"],
            registry=registry,
        )
        self.signals = Counter(
            "tutka_detector_signals_total",
            "Observations a detector found anomalous, by detector",
            ["detector"],
            registry=registry,
        )
        self.figures = Counter(
            "tutka_figures_total",
            "Figures (unemployment, vacancies) by what the engine did with them",
            ["outcome"],
            registry=registry,
        )
        self.notices = Counter(
            "tutka_notices_total",
            "Layoff notices by what the engine did with them",
            ["outcome"],
            registry=registry,
        )
        self.closures = Counter(
            "tutka_staff_closures_total",
            "Staff closures the engine received, by outcome: closed, or a no-op (unknown, "
            "resolved, not_held)",
            ["outcome"],
            registry=registry,
        )
        self.alerts = Counter(
            "tutka_alerts_total",
            "Alert versions published, by status (open/updated/resolved), kind, polarity, severity",
            ["status", "kind", "polarity", "severity"],
            registry=registry,
        )
        self.alerts_by_ely = Counter(
            "tutka_alerts_by_ely_total",
            "Alert versions published, by status, ELY area (SSS: national) and polarity",
            ["status", "ely", "polarity"],
            registry=registry,
        )
        self.deliveries = Counter(
            "tutka_subscription_deliveries_total",
            "Alerts delivered to subscriptions, by channel (kafka/webhook) and outcome",
            ["channel", "outcome"],
            registry=registry,
        )
        self.webhook_retries = Counter(
            "tutka_webhook_retries_total",
            "Webhook attempts after the first one",
            registry=registry,
        )
        self.webhook_backlog = Gauge(
            "tutka_webhook_backlog",
            "Alerts waiting in the webhook lanes (slow or unreachable receivers)",
            registry=registry,
        )
        self.alertmanager_posts = Counter(
            "tutka_alertmanager_posts_total",
            "Batches posted to Alertmanager, by outcome (ok/failed)",
            ["outcome"],
            registry=registry,
        )
        self.alertmanager_alerts = Counter(
            "tutka_alertmanager_alerts_total",
            "Alerts posted to Alertmanager, by state (firing/resolved)",
            ["state"],
            registry=registry,
        )
        self.alertmanager_retries = Counter(
            "tutka_alertmanager_retries_total",
            "Alertmanager posts retried after a failure",
            registry=registry,
        )
        self.alertmanager_dropped = Counter(
            "tutka_alertmanager_dropped_total",
            "Alertmanager updates dropped because the send queue was full (healed by the next "
            "re-post of open alerts)",
            registry=registry,
        )
        self.series = Gauge(
            "tutka_series_tracked",
            "Series the engine keeps state for",
            registry=registry,
        )
        self.gaps = Counter(
            "tutka_gap_records_total",
            "Records faust did not hand to an agent (it drops, and acknowledges, records fetched "
            "before a rebalance), read from the broker directly; by topic",
            ["topic"],
            registry=registry,
        )
        self.copies = Counter(
            "tutka_core_copies_skipped_total",
            "Events and markers the core skipped as copies of ones it had folded in: the ingest "
            "reads input again after a restart (at least once), the core takes each once",
            registry=registry,
        )
        self.checkpoints = Counter(
            "tutka_checkpoints_total",
            "Engine checkpoints written",
            registry=registry,
        )
        self.checkpoint_bytes = Gauge(
            "tutka_checkpoint_bytes",
            "Size of the last engine checkpoint (compressed)",
            registry=registry,
        )
        self.latest_period = Gauge(
            "tutka_latest_period_timestamp_seconds",
            "Start of the latest month the engine has processed, per stream (figures, notices): "
            "did this month's release arrive?",
            ["source"],
            registry=registry,
        )
        self.latest_release = Gauge(
            "tutka_latest_release_timestamp_seconds",
            "Publication day of the latest monthly release the engine has seen (figures)",
            ["source"],
            registry=registry,
        )
        self.build = Info("tutka_build", "Version of Muutostutka and Python", registry=registry)
        self.build.info({"version": _package_version(), "python": platform.python_version()})
        self.picture = PictureCollector()
        registry.register(self.picture)
        #: ``events``' children by (source, outcome) (:meth:`_event`).
        self._events: dict[tuple[str, str], Counter] = {}
        self._prime()

    def _prime(self) -> None:
        """Expose the closed label sets at zero, so a rate() has a start and a rule a series."""
        for source in SOURCES:
            for outcome in ("valid", "dead_letter"):
                self.events.labels(source=source, outcome=outcome)
        for channel in ("kafka", "webhook"):
            for outcome in ("delivered", "failed"):
                self.deliveries.labels(channel=channel, outcome=outcome)
        for outcome in ("ok", "failed"):
            self.alertmanager_posts.labels(outcome=outcome)
        for outcome in ("closed", "unknown", "resolved", "not_held"):
            self.closures.labels(outcome=outcome)
        for state in ("firing", "resolved"):
            self.alertmanager_alerts.labels(state=state)

    # -- input --------------------------------------------------------------------------------

    def consumed(self, source: str, count: int = 1) -> None:
        self._event(_source(source), "valid").inc(count)

    def dead_lettered(self, source: str, reason: str, error_type: str) -> None:
        """A payload went to the dead-letter topic (counted as consumed, too)."""
        source = _source(source)
        self._event(source, "dead_letter").inc()
        self.dead_letters.labels(
            source=source, reason=reason, error_type=self._error_types(error_type)
        ).inc()

    def _event(self, source: str, outcome: str) -> Counter:
        """``events``' child for (source, outcome), looked up once: called for every event.

        prometheus_client's ``labels()`` validates and joins its arguments on every call (a few
        per cent of a worker's time); the children it returns stay the same. Bounded: ``source``
        and ``outcome`` come from closed sets.
        """
        key = (source, outcome)
        child = self._events.get(key)
        if child is None:
            child = self._events[key] = self.events.labels(source=source, outcome=outcome)
        return child

    def processed(self, seconds: float) -> None:
        self.latency.observe(max(0.0, seconds))

    def set_lag(self, lag: Mapping[str, int]) -> None:
        for topic, n in lag.items():
            self.lag.labels(topic=topic).set(max(0, n))

    # -- engine -------------------------------------------------------------------------------

    def freshness(self, figures: int | None, notices: int | None, published: date | None) -> None:
        """The latest months processed (month indexes) and the latest release's day."""
        for source, month in (("figures", figures), ("notices", notices)):
            if month is not None:
                start = datetime(month // 12, month % 12 + 1, 1, tzinfo=UTC)
                self.latest_period.labels(source=source).set(start.timestamp())
        if published is not None:
            day = datetime(published.year, published.month, published.day, tzinfo=UTC)
            self.latest_release.labels(source="figures").set(day.timestamp())

    def sync_engine(self, stats: EngineStats, series: int, engine_id: int) -> None:
        """Turn the growth of the engine's cumulative stats into counter increments.

        A restored engine (a checkpoint loaded after a restart or a rebalance) starts its stats
        from zero again; the records it re-reads are then counted a second time, as processing
        is at-least-once.
        """
        if engine_id != self._mark.engine_id:
            self._mark = _EngineMark(engine_id=engine_id)
        mark = self._mark
        _advance(self.evaluations, "detector", stats.evaluations, mark.evaluations, self._detectors)
        _advance(self.signals, "detector", stats.signals, mark.signals, self._detectors)
        _advance(self.figures, "outcome", stats.figures, mark.figures, None)
        _advance(self.notices, "outcome", stats.notices, mark.notices, None)
        _advance(self.closures, "outcome", stats.closures, mark.closures, None)
        self.series.set(series)

    # -- alerts -------------------------------------------------------------------------------

    def published(self, alert: Alert) -> None:
        self.alerts.labels(
            status=alert.status.value,
            kind=alert.kind.value,
            polarity=alert.polarity.value,
            severity=alert.severity.value,
        ).inc()
        self.alerts_by_ely.labels(
            status=alert.status.value, ely=alert.ely or NATIONAL, polarity=alert.polarity.value
        ).inc()

    def show_picture(self, open_alerts: list[Alert], elys: Iterable[str]) -> None:
        self.picture.update(open_alerts, elys)

    # -- delivery -----------------------------------------------------------------------------

    def delivered(self, channel: str, ok: bool, retries: int = 0) -> None:
        self.deliveries.labels(channel=channel, outcome="delivered" if ok else "failed").inc()
        if retries:
            self.webhook_retries.inc(retries)

    def checkpointed(self, size: int, seconds: float = 0.0) -> None:
        self.checkpoints.inc()
        self.checkpoint_bytes.set(size)
        self.checkpoint_seconds.observe(max(0.0, seconds))

    def gap_read(self, topic: str, count: int) -> None:
        self.gaps.labels(topic=topic).inc(count)

    def copies_skipped(self, count: int) -> None:
        self.copies.inc(count)

    def core_batch_done(self, seconds: float) -> None:
        self.core_batch.observe(max(0.0, seconds))

    def release_judged(self, seconds: float) -> None:
        """A release completed by its markers was judged and its alerts sent, ``seconds`` after
        the core took the record that completed it."""
        self.release_alerts.observe(max(0.0, seconds))


def create_metrics(registry: CollectorRegistry | None = None) -> Metrics:
    """All of Muutostutka's metrics on ``registry`` (a fresh one when not given)."""
    # ``*_created`` companions would double the series count for a value nobody graphs.
    disable_created_metrics()  # type: ignore[no-untyped-call]
    return Metrics(registry if registry is not None else CollectorRegistry(auto_describe=True))


def _source(source: str) -> str:
    return source if source in SOURCES else "unknown"


def _advance(
    counter: Counter,
    label: str,
    now: Mapping[str, int],
    seen: Tally[str],
    bound: BoundedLabel | None,
) -> None:
    for name, total in now.items():
        step = total - seen[name]
        if step > 0:
            value = bound(name) if bound is not None else name
            counter.labels(**{label: value}).inc(step)
            seen[name] = total


def _package_version() -> str:
    try:
        return version("muutostutka")
    except PackageNotFoundError:  # running from a source tree that was not installed
        return "unknown"


#: Why a fetch failed: the reasons :class:`tutka.fetch.client.FetchError` and the runner give.
FETCH_FAILURES: Final = (
    "timeout", "rate_limited", "http_5xx", "http_4xx", "not_found", "connection", "decode",
    "layout", "state", "publish", "other",
)  # fmt: skip
#: What a fetched figure was.
FETCH_FIGURE_KINDS: Final = ("new", "revised", "late")


class FetchMetrics:
    """The metrics of ``tutka fetch`` (live sources), one series per configured table.

    The table label is bounded by the tables file (two by default). The age of the newest month
    is computed when scraped, so it keeps growing between fetches as a source goes stale.
    """

    def __init__(self, registry: CollectorRegistry, tables: Iterable[str] = ()) -> None:
        self.registry = registry
        self.last_success = Gauge(
            "tutka_fetch_last_success_timestamp_seconds",
            "When a fetch of the table last succeeded (Unix time)",
            ["table"],
            registry=registry,
        )
        self.newest_age = Gauge(
            "tutka_fetch_newest_period_age_seconds",
            "Time since the end of the newest month the table has (grows until the next release)",
            ["table"],
            registry=registry,
        )
        self.periods = Counter(
            "tutka_fetch_periods_total",
            "Months fetched that were new",
            ["table"],
            registry=registry,
        )
        self.figures = Counter(
            "tutka_fetch_figures_total",
            "Figures delivered, by kind (new, revised, late: first figure of a known month)",
            ["table", "kind"],
            registry=registry,
        )
        self.revisions = Counter(
            "tutka_fetch_revisions_total",
            "Revised figures delivered (a changed value of a month already delivered)",
            ["table"],
            registry=registry,
        )
        self.failures = Counter(
            "tutka_fetch_failures_total",
            "Fetches that failed, by reason",
            ["table", "reason"],
            registry=registry,
        )
        self.requests = Counter(
            "tutka_fetch_requests_total",
            "HTTP requests to the source, by outcome (ok, or the reason it was retried or failed)",
            ["table", "outcome"],
            registry=registry,
        )
        self.duration = Gauge(
            "tutka_fetch_duration_seconds",
            "How long the table's last fetch took",
            ["table"],
            registry=registry,
        )
        self._newest: dict[str, float] = {}
        self._reasons = BoundedLabel(len(FETCH_FAILURES))
        for table in tables:
            self._prime(table)

    def _prime(self, table: str) -> None:
        for reason in FETCH_FAILURES:
            self.failures.labels(table=table, reason=reason)
        for kind in FETCH_FIGURE_KINDS:
            self.figures.labels(table=table, kind=kind)
        self.periods.labels(table=table)
        self.revisions.labels(table=table)

    def succeeded(self, table: str, when: float, seconds: float) -> None:
        self.last_success.labels(table=table).set(when)
        self.duration.labels(table=table).set(seconds)

    def newest_period_ended(self, table: str, when: float) -> None:
        """The newest month of the table ended at ``when`` (Unix time); the age follows it."""
        if table not in self._newest:
            self.newest_age.labels(table=table).set_function(
                lambda: max(0.0, time.time() - self._newest[table])
            )
        self._newest[table] = when

    def delivered(self, table: str, new_periods: int, figures: Mapping[str, int]) -> None:
        if new_periods:
            self.periods.labels(table=table).inc(new_periods)
        for kind in FETCH_FIGURE_KINDS:
            if figures.get(kind):
                self.figures.labels(table=table, kind=kind).inc(figures[kind])
        if figures.get("revised"):
            self.revisions.labels(table=table).inc(figures["revised"])

    def failed(self, table: str, reason: str) -> None:
        reason = reason if reason in FETCH_FAILURES else "other"
        self.failures.labels(table=table, reason=self._reasons(reason)).inc()

    def requested(self, table: str, outcomes: Mapping[str, int]) -> None:
        for outcome, n in outcomes.items():
            if n:
                self.requests.labels(table=table, outcome=self._reasons(outcome)).inc(n)


def create_fetch_metrics(
    registry: CollectorRegistry | None = None, tables: Iterable[str] = ()
) -> FetchMetrics:
    """The metrics of ``tutka fetch`` on ``registry`` (a fresh one when not given)."""
    disable_created_metrics()  # type: ignore[no-untyped-call]
    return FetchMetrics(registry if registry is not None else CollectorRegistry(), tables)
