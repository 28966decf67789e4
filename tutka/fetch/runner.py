"""One fetch of one table, start to commit; and the runs of every configured table.

A run, under the table's lock:

1. finish any batch a crashed run left in flight (deliver what did not arrive, commit);
2. read the table's metadata and check its layout (:mod:`tutka.fetch.layout`);
3. ask for the months that may have changed (:func:`~tutka.fetch.plan.periods_to_ask`) in
   queries below the cell limit, diff each complete month against the state
   (:class:`~tutka.fetch.diff.Differ`) and write the figures to the batch file;
4. record the batch in flight, deliver it, commit the new state.

Nothing new: nothing is delivered (the state is still committed, e.g. a newly kept month).
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from tutka.config.settings import FetchSettings
from tutka.config.sources import TableSpec
from tutka.fetch.client import FetchError, PxWebClient
from tutka.fetch.diff import Differ, TableState, cell_key
from tutka.fetch.jsonstat import Dataset
from tutka.fetch.layout import Layout, LayoutError, resolve
from tutka.fetch.plan import periods_to_ask, split
from tutka.fetch.sinks import Sink
from tutka.fetch.store import Busy, Pending, StateError, TableStore
from tutka.models.areas import Hierarchy
from tutka.models.codes import period_after
from tutka.monitoring.metrics import FetchMetrics

log = logging.getLogger("tutka.fetch")


@dataclass
class TableReport:
    """What one run of one table did."""

    table: str
    status: str = "ok"  # ok, skipped (busy), failed
    message: str = ""
    reason: str = ""
    periods_asked: int = 0
    queries: int = 0
    requests: Counter[str] = field(default_factory=Counter)
    counts: Counter[str] = field(default_factory=Counter)
    delivered: int = 0
    recovered: int = 0
    latest: str | None = None
    seconds: float = 0.0

    @property
    def events(self) -> int:
        return self.counts["new"] + self.counts["revised"] + self.counts["late"]

    def line(self) -> str:
        if self.status != "ok":
            return f"{self.table}: {self.status}: {self.message}"
        c = self.counts
        parts = [
            f"{self.table}: {self.periods_asked} months asked in {self.queries} queries "
            f"({sum(self.requests.values())} requests, {self.seconds:.1f} s)",
            f"{c['new_periods']} new months, {c['new']:,} new figures, {c['revised']:,} "
            f"revised, {c['late']:,} late; {c['unchanged_periods']} months unchanged",
            f"{self.delivered:,} delivered",
        ]
        if self.recovered:
            parts.append(f"{self.recovered:,} delivered from an interrupted run")
        if self.latest:
            parts.append(f"newest month {self.latest}")
        return "; ".join(parts)


@dataclass
class Fetcher:
    """Everything a run needs besides the table: settings, client, sink, hierarchy, metrics."""

    settings: FetchSettings
    client: PxWebClient
    sink: Sink
    hierarchy: Hierarchy
    #: Where the tables' states live: one directory per destination (see the CLI).
    state_dir: Path
    metrics: FetchMetrics | None = None
    #: Seconds to wait between writing the batch and delivering it (fault-injection tests).
    pause_before_delivery: float = 0.0
    today: Callable[[], date] = lambda: datetime.now(UTC).date()
    say: Callable[[str], None] = lambda message: log.info("%s", message)

    def store(self, table: str) -> TableStore:
        return TableStore(self.state_dir, table)

    def run(self, table: str, spec: TableSpec) -> TableReport:
        """One table, start to commit; failures are reported, never raised."""
        report = TableReport(table)
        started = time.monotonic()
        before = Counter(self.client.requests)
        try:
            with self.store(table).locked():
                self._run(table, spec, report)
        except Busy as exc:
            report.status, report.message = "skipped", str(exc)
        except LayoutError as exc:
            report.status, report.reason, report.message = "failed", "layout", str(exc)
        except StateError as exc:
            report.status, report.reason, report.message = "failed", "state", str(exc)
        except FetchError as exc:
            report.status, report.reason, report.message = "failed", exc.reason, str(exc)
        except OSError as exc:  # the state directory or the output directory
            report.status, report.reason = "failed", "state"
            report.message = f"cannot write the fetch state or its output: {exc}"
        report.seconds = time.monotonic() - started
        report.requests = Counter(self.client.requests)
        report.requests.subtract(before)
        report.requests = +report.requests
        self._observe(report)
        return report

    def _observe(self, report: TableReport) -> None:
        m = self.metrics
        if m is None:
            return
        m.requested(report.table, report.requests)
        if report.status == "failed":
            m.failed(report.table, report.reason)
            return
        if report.status != "ok":
            return
        m.succeeded(report.table, time.time(), report.seconds)
        m.delivered(report.table, report.counts["new_periods"], report.counts)
        if report.latest is not None:
            ended = period_after(report.latest)
            m.newest_period_ended(
                report.table, datetime(ended.year, ended.month, ended.day, tzinfo=UTC).timestamp()
            )

    def _run(self, table: str, spec: TableSpec, report: TableReport) -> None:
        store = self.store(table)
        state, pending = store.validate(spec.source)
        if pending is not None and pending.sink != self.sink.name:
            raise StateError(
                f"the last run of table {table} stopped while delivering to {pending.sink}; "
                f"finish it there first (run again with the same destination)"
            )
        if pending is not None:
            report.recovered = self.sink.deliver(pending, store.batch_path)
            store.commit(pending.state)
            state = pending.state
            self.say(
                f"{table}: finished the batch of an interrupted run "
                f"({report.recovered:,} of {pending.events:,} events were still to send)"
            )
        store.discard()
        layout = resolve(table, spec, self.client.metadata(spec.path), self.hierarchy.__contains__)
        if layout.skipped_areas:
            self.say(f"{table}: {len(layout.skipped_areas)} area codes of other kinds not fetched "
                     f"({', '.join(layout.skipped_areas[:5])}…)")  # fmt: skip
        lookback = self.settings.lookback_months
        periods = periods_to_ask(layout.periods, state.periods, state.latest, lookback)
        queries = split(layout.selection(periods), self.client.limits.max_cells, layout.time)
        report.periods_asked, report.queries = len(periods), len(queries)
        differ = Differ(state, self.today(), lookback)
        events = self._fetch(spec, layout, queries, differ, store.batch_path)
        next_state = differ.finish().model_copy(update={"layout": layout.fingerprint})
        report.counts = differ.counts
        report.latest = next_state.latest
        if events == 0:
            if next_state != state:
                store.commit(next_state)
            store.discard()
            return
        next_state = next_state.model_copy(update={"batches": state.batches + 1})
        where = self.sink.prepare(spec.source, next_state.batches)
        store.begin(Pending(events=events, sink=self.sink.name, state=next_state, **where))
        self.say(f"{table}: {events:,} figures to deliver ({self.sink.name})")
        if self.pause_before_delivery > 0:
            time.sleep(self.pause_before_delivery)
        report.delivered = self.sink.deliver(store.pending() or _missing(), store.batch_path)
        store.commit(next_state)

    def _fetch(
        self,
        spec: TableSpec,
        layout: Layout,
        queries: list[dict[str, list[str]]],
        differ: Differ,
        batch: Path,
    ) -> int:
        """Run the queries, diff each month once complete; the figures go to ``batch``."""
        remaining: Counter[str] = Counter()
        for query in queries:
            remaining.update(layout.months[code] for code in query[layout.time])
        months: dict[str, dict[str, float]] = {}
        written = 0
        with batch.open("w", encoding="utf-8") as out:
            for query in queries:
                dataset = self.client.query(spec.path, query)
                for period, key, value in _cells(layout, dataset):
                    months.setdefault(period, {})[key] = value
                for code in query[layout.time]:
                    period = layout.months[code]
                    remaining[period] -= 1
                    if remaining[period] == 0:
                        for figure in differ.period(period, months.pop(period, {})):
                            out.write(figure.model_dump_json())
                            out.write("\n")
                            written += 1
        return written


def _cells(layout: Layout, dataset: Dataset) -> list[tuple[str, str, float]]:
    ids = dataset.ids
    try:
        t, a, m = ids.index(layout.time), ids.index(layout.area), ids.index(layout.measure)
    except ValueError as exc:
        message = f"the answer lacks a dimension it was asked for: {exc}"
        raise FetchError("decode", message) from None
    o = ids.index(layout.occupation) if layout.occupation in ids else None
    s = ids.index(layout.sector) if layout.sector in ids else None
    out = []
    for codes, value in dataset.cells():
        if value is None:
            continue  # suppressed or not available: no figure
        try:
            key = cell_key(
                layout.areas[codes[a]],
                layout.measures[codes[m]].value,
                layout.occupations[codes[o]] if o is not None else None,
                layout.sectors[codes[s]] if s is not None else None,
            )
            out.append((layout.months[codes[t]], key, value))
        except KeyError as exc:
            message = f"the answer has a code it was not asked for: {exc}"
            raise FetchError("decode", message) from None
    return out


def _missing() -> Pending:
    raise StateError(
        "the batch in flight vanished during the run: is another fetcher using the same state "
        "directory without the lock (a network file system)?"
    )


def initial_state(table: str, spec: TableSpec) -> TableState:
    return TableState(table=table, source=spec.source)
