"""``tutka bench``: speed figures, never test assertions. Run it, read the table, report them.

``tutka bench replay`` — the embedded pipeline (``tutka replay``, and so ``tutka backtest``) over
a synthetic market of many series: observations per second and peak memory. It writes the
market first (see :func:`write_market`), or takes a directory of input files.

``tutka bench kafka`` — throughput and latency through a real broker, beside a no-op faust agent:

* **throughput** — events per second from the first publish to the last event folded in, with
  everything published as fast as the broker takes it (one worker);
* **latency** — the market's earlier events at full speed (a warm-up, until the worker has
  caught up: lag 0), then its last ones at a steady rate below capacity: for every release of
  that paced part, the time from the publication of its last end-of-release marker to the
  publication of the worker's :class:`~tutka.models.markers.ReleaseJudged` for it on
  ``tutka.releases.v1`` (judged, its alerts out), alert or not: n, p50, p90, p99, max
  (:mod:`tutka.bench_latency`);
* the same two figures for a **no-op faust agent** that forwards each input record unchanged
  (its latency per paced record), so the overhead of the pipeline itself can be told from
  faust's and the broker's.
"""

from __future__ import annotations

import csv
import functools
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import click
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from rich.console import Console
from rich.table import Table

from tutka.bench_latency import Latency, paced_start, release_waits, summarise
from tutka.cli.context import load_context
from tutka.config.areas import load_hierarchy
from tutka.config.catalogue import Catalogue
from tutka.config.settings import KafkaSettings
from tutka.dev.local_kafka import LocalKafka
from tutka.inputs import Event
from tutka.models.alerts import Alert
from tutka.models.areas import Hierarchy, level_depth
from tutka.models.codes import period_index, period_str
from tutka.models.events import LayoffNoticeFiled
from tutka.models.markers import ReleaseJudged
from tutka.replay import ReplayResult, replay
from tutka.streaming import Published, send_in_order
from tutka.streams.ordering import ordering_key
from tutka.synthetic import generate, plan, synthetic_hierarchy, write_plan
from tutka.worker.intake import BATCH_EVENTS
from tutka.worker.topics import Topics, ensure_topics

console = Console(highlight=False)


@dataclass
class Figures:
    name: str
    events: int
    seconds: float
    latency: Latency | None = None
    #: What one latency is (``RELEASE``, ``RECORD`` or ``FIRST_ALERT``).
    measured: str = ""

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0

    @property
    def latency_p50(self) -> float | None:
        return None if self.latency is None else self.latency.p50

    @property
    def latency_p99(self) -> float | None:
        return None if self.latency is None else self.latency.p99


#: A paced release: its last marker published → the worker's ``ReleaseJudged`` for it published.
RELEASE = "release"
#: A paced record: published → forwarded by the no-op agent.
RECORD = "record"
#: Without markers (no ``ReleaseJudged``): an alert's first version, from its release's last event.
FIRST_ALERT = "first alert"
#: The publisher name the bench's markers give (``ReleaseJudged.dataset``).
BENCH_DATASET = "bench"


def _send_all(
    bootstrap: str,
    names: Topics,
    events: Sequence[Event],
    rate: float,
    markers: bool = True,
    batch: int = 1,
) -> Published:
    """Publish in availability order, as ``tutka publish`` does (with ``markers``, each release
    is followed by its end-of-release markers, and its last marker is its last record;
    ``batch``: events per record, as ``tutka publish --batch`` sends them)."""
    producer = KafkaProducer(
        bootstrap_servers=bootstrap, acks=1, linger_ms=5, batch_size=256 * 1024
    )
    dataset = BENCH_DATASET if markers else None
    published = send_in_order(producer, names, events, rate, dataset=dataset, batch=batch)
    producer.flush()
    producer.close()
    return published


class Tail:
    """Records of some topics from their beginning, read as they arrive (the bench's view)."""

    def __init__(self, bootstrap: str, topics: Sequence[str]) -> None:
        self.topics = list(topics)
        self.consumer = KafkaConsumer(
            bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False
        )
        self.assigned = False
        self.records: list[Any] = []

    def _assign(self) -> bool:
        parts = {t: self.consumer.partitions_for_topic(t) for t in self.topics}
        if not all(parts.values()):
            return False
        tps = [TopicPartition(t, p) for t, ps in parts.items() for p in ps or ()]
        self.consumer.assign(tps)
        self.consumer.seek_to_beginning(*tps)
        self.assigned = True
        return True

    def until(
        self,
        done: Callable[[list[Any]], bool],
        timeout: float,
        idle: float | None = None,
        alive: Callable[[], bool] = lambda: True,
    ) -> bool:
        """Read until ``done`` (called with each new batch of records) says so: True; False
        after ``timeout`` seconds, ``idle`` seconds without a record (once one came), or when
        ``alive`` says the producing process has exited."""
        deadline = time.monotonic() + timeout
        quiet_since = time.monotonic()
        while time.monotonic() < deadline:
            if not self.assigned and not self._assign():
                time.sleep(0.5)
                continue
            got = [r for batch in self.consumer.poll(timeout_ms=500).values() for r in batch]
            if got:
                self.records.extend(got)
                quiet_since = time.monotonic()
                if done(got):
                    return True
            elif (idle is not None and self.records and time.monotonic() - quiet_since >= idle) or (
                not alive()
            ):
                return False
        return False

    def close(self) -> None:
        self.consumer.close()


def _tail(
    bootstrap: str,
    topic: str,
    stop_after_idle: float,
    timeout: float,
    alive: Callable[[], bool] = lambda: True,
) -> list[Any]:
    """Records of ``topic`` as they arrive, until none came for ``stop_after_idle`` seconds.

    Stops early, with what it has, when ``alive`` says the producing process has exited.
    """
    tail = Tail(bootstrap, [topic])
    try:
        tail.until(lambda _: False, timeout, stop_after_idle, alive)
        return tail.records
    finally:
        tail.close()


def _group_lag(bootstrap: str, group: str, topics: Sequence[str]) -> int:
    """Records of ``topics`` the consumer group ``group`` has not committed yet."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    consumer = KafkaConsumer(bootstrap_servers=bootstrap)
    try:
        committed = admin.list_group_offsets({group: None}).get(group, {})
        tps = [TopicPartition(t, p) for t in topics for p in consumer.partitions_for_topic(t) or ()]
        ends = consumer.end_offsets(tps)
        return sum(
            max(0, end - (committed[tp].offset if tp in committed else 0))
            for tp, end in ends.items()
        )
    finally:
        consumer.close()
        admin.close()


def _wait_caught_up(
    bootstrap: str, group: str, topics: Sequence[str], alive: Callable[[], bool], timeout: float
) -> None:
    """Wait until ``group`` has committed every record of ``topics`` (lag 0); say so if not."""
    deadline = time.monotonic() + timeout
    lag = _group_lag(bootstrap, group, topics)
    while lag > 0 and alive() and time.monotonic() < deadline:
        time.sleep(0.5)
        lag = _group_lag(bootstrap, group, topics)
    if lag > 0:
        console.print(f"[yellow]warm-up: lag still {lag:,} after {timeout:.0f} s; pacing anyway")


def _judged(record: Any) -> ReleaseJudged:
    return ReleaseJudged.model_validate_json(record.value)


def _spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(args, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)


def _env(
    bootstrap: str, namespace: str, idle: float, workdir: Path, data: str = "worker-data"
) -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "TUTKA_KAFKA__BOOTSTRAP": bootstrap,
        "TUTKA_KAFKA__NAMESPACE": namespace,
        "TUTKA_KAFKA__IDLE_SECONDS": str(idle),
        "TUTKA_KAFKA__CHECKPOINT_SECONDS": "30",
        "TUTKA_METRICS__PORT": "0",
        "TUTKA_KAFKA__DATA_DIR": str(workdir / data),
    })  # fmt: skip
    return env


def run_worker_bench(
    bootstrap: str,
    events: Sequence[Event],
    rate: float,
    workdir: Path,
    idle: float = 3.0,
    markers: bool = True,
    workers: int = 1,
    warmup: Sequence[Event] = (),
    batch: int = 1,
) -> Figures:
    """``workers`` workers, one namespace; ``rate`` 0 measures throughput, otherwise latency.

    ``warmup`` (the history before ``events``) is published first at full speed; once the
    worker has judged its last release and its consumer group has committed everything (lag
    0), ``events`` follow at ``rate``. With ``markers``, the latency is each of their releases'
    (:mod:`tutka.bench_latency`); without, a release is judged when the next one begins (or
    after ``idle`` seconds of quiet) and no release is acknowledged, so the latency falls back
    to the first version of each alert, from the last event of its release. Several workers
    share the input partitions (ingest); one of them holds the dataset's core.
    """
    namespace = f"bench-{uuid.uuid4().hex[:8]}."
    settings = KafkaSettings(bootstrap=bootstrap, namespace=namespace)
    names = Topics(namespace)
    ensure_topics(settings)
    spawned = []
    for i in range(workers):
        env = _env(bootstrap, namespace, idle, workdir, f"worker-data-{i}")
        spawned.append(_spawn([sys.executable, "-m", "tutka", "worker"], env,
                              workdir / f"worker-{namespace}{i}.log"))  # fmt: skip

    def alive() -> bool:
        return all(w.poll() is None for w in spawned)

    judged = Tail(bootstrap, [names.releases])
    days: set[date] = set()

    def judged_through(wanted: set[date]) -> Callable[[list[Any]], bool]:
        def done(records: list[Any]) -> bool:
            days.update(j.published for j in map(_judged, records) if j.dataset == BENCH_DATASET)
            return wanted <= days

        return done

    try:
        time.sleep(12 + 8 * (workers - 1))  # the workers join their group before the clock
        if warmup:
            history = _send_all(bootstrap, names, warmup, 0, markers, batch)
            if markers:
                judged.until(judged_through({max(history.closed_at)}), 3600, alive=alive)
            _wait_caught_up(bootstrap, names.app_id, [*names.inputs, names.events], alive,
                            timeout=120)  # fmt: skip
        started = time.time()
        sent = _send_all(bootstrap, names, events, rate, markers, batch)
        if markers:
            judged.until(judged_through(set(sent.closed_at)), 3600, idle + 60, alive)
        alerts = _tail(bootstrap, names.alerts, stop_after_idle=2 if markers else idle + 15,
                       timeout=3600, alive=alive)  # fmt: skip
    finally:
        judged.close()
        crashed = any(w.poll() is not None for w in spawned)
        for worker in spawned:
            worker.terminate()
        for worker in spawned:
            worker.wait(timeout=60)
    if crashed or not (judged.records if markers else alerts):
        what = "judged no release" if markers else "produced no alerts"
        raise click.ClickException(f"the worker {'exited' if crashed else what}; see {workdir}")
    paced = set(sent.closed_at)
    if markers:
        # The last release of the run judged: every event folded in and its alerts out.
        acks = [r for r in judged.records if _judged(r).published in paced]
        finished = max(r.timestamp for r in acks + alerts) / 1000
        waits, missing = release_waits(
            sent.closed_at, ((_judged(r).published, r.timestamp / 1000) for r in judged.records)
        )
        return Figures("tutka worker", len(events), finished - started,
                       summarise(waits, missing) if rate > 0 else None, RELEASE)  # fmt: skip
    # Without markers the final alerts wait for the quiet-stream flush: not processing time.
    finished = max(r.timestamp for r in alerts) / 1000 - idle
    latencies = []
    for record in alerts:
        alert = Alert.model_validate_json(record.value)
        if alert.sequence == 1 and alert.available_on in paced:
            latencies.append(record.timestamp / 1000 - sent.closed_at[alert.available_on])
    return Figures("tutka worker", len(events), finished - started,
                   summarise(latencies) if rate > 0 else None, FIRST_ALERT)  # fmt: skip


NOOP_APP = """
import faust, sys
ns = sys.argv[1]
app = faust.App(ns + "noop", broker="kafka://" + sys.argv[2], store="memory://", web_enabled=False,
                consumer_auto_offset_reset="earliest", autodiscover=False,
                datadir=sys.argv[3])
raw = dict(key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw")
names = [ns + t for t in ("tutka.notices.v1", "tutka.unemployment.v1", "tutka.vacancies.v1")]
inputs = app.topic(*names, **raw)
out = app.topic(ns + "noop.out", **raw)

@app.agent(inputs)
async def forward(stream):
    async for event in stream.events():
        await out.send(key=event.key, value=event.value)

faust.Worker(app, loglevel="warn", quiet=True).execute_from_commandline()
"""


def run_noop_bench(
    bootstrap: str,
    events: Sequence[Event],
    rate: float,
    workdir: Path,
    markers: bool = True,
    warmup: Sequence[Event] = (),
) -> Figures:
    """The no-op agent over ``events`` at ``rate`` (0: full speed), after ``warmup`` as the
    worker's; its latency is each paced record's, from its publication to its forwarding."""
    namespace = f"bench-{uuid.uuid4().hex[:8]}."
    settings = KafkaSettings(bootstrap=bootstrap, namespace=namespace)
    names = Topics(namespace)
    ensure_topics(settings)
    script = workdir / "noop.py"
    script.write_text(NOOP_APP, encoding="utf-8")
    args = [sys.executable, str(script), namespace, bootstrap, str(workdir / "noop-data")]
    worker = _spawn(args, dict(os.environ), workdir / f"noop-{namespace}log")
    forwarded = Tail(bootstrap, [f"{namespace}noop.out"])

    def alive() -> bool:
        return worker.poll() is None

    def reached(count: int) -> Callable[[list[Any]], bool]:
        return lambda _: len(forwarded.records) >= count

    try:
        time.sleep(12)
        before = 0
        if warmup:
            before = _send_all(bootstrap, names, warmup, 0, markers).records
            forwarded.until(reached(before), 3600, alive=alive)
            _wait_caught_up(bootstrap, f"{namespace}noop", names.inputs, alive, timeout=120)
        started = time.time()
        sent = _send_all(bootstrap, names, events, rate, markers)
        forwarded.until(reached(before + sent.records), 3600, idle=10, alive=alive)
        inputs = [r for name in names.inputs for r in _tail(bootstrap, name, 2, 120)]
    finally:
        forwarded.close()
        worker.terminate()
        worker.wait(timeout=60)
    if not forwarded.records:
        raise click.ClickException(f"the no-op agent forwarded nothing; see {workdir}")
    sent_at = {(r.key, r.value): r.timestamp for r in inputs}
    paced_from = started * 1000
    latencies = [
        (r.timestamp - sent_at[(r.key, r.value)]) / 1000
        for r in forwarded.records
        if sent_at.get((r.key, r.value), -1) >= paced_from
    ]
    finished = max(r.timestamp for r in forwarded.records) / 1000
    return Figures("no-op faust agent", len(events), finished - started,
                   summarise(latencies) if rate > 0 else None, RECORD)  # fmt: skip


@click.command("kafka")
@click.option("--occupations", default=120, show_default=True,
              help="Occupation breakdowns per municipality (120 ≈ 10 000 series).")  # fmt: skip
@click.option("--start", default="2021-01", show_default=True)
@click.option("--end", default="2023-12", show_default=True)
@click.option("--latency-rate", default=1000.0, show_default=True,
              help="Events per second for the latency runs (below capacity).")  # fmt: skip
@click.option("--latency-events", default=120_000, show_default=True,
              help="How many of the last events the paced latency runs publish (after the "
              "earlier ones at full speed): 192 releases of the default market.")  # fmt: skip
@click.option(
    "--markers/--no-markers",
    default=True,
    show_default=True,
    help="End-of-release markers after each release (as `tutka publish` sends).",
)
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 8),
              help="tutka worker processes sharing the input partitions.")  # fmt: skip
@click.option("--batch", default=BATCH_EVENTS, show_default=True, type=click.IntRange(1, 10_000),
              help="Events per input record the bench publishes for the tutka worker, as "
              "`tutka publish --batch` (1: a record per event; the no-op agent always gets "
              "that).")  # fmt: skip
@click.option(
    "--only",
    type=click.Choice(["both", "noop", "worker"]),
    default="both",
    show_default=True,
    help="Run only the no-op agent or only the tutka worker.",
)
def bench_kafka(
    occupations: int,
    start: str,
    end: str,
    latency_rate: float,
    latency_events: int,
    markers: bool,
    workers: int,
    batch: int,
    only: str,
) -> None:
    """Events/s and latency per release through Kafka, beside a no-op faust agent.

    Uses TUTKA_KAFKA__BOOTSTRAP if set, else starts a local broker for the run.
    """
    run = run_kafka_bench(
        occupations, start, end, latency_rate, latency_events, markers, only, workers, batch
    )
    table = Table(
        title=f"Kafka end to end, {len(run.events):,} events, {run.series:,} series",
        caption=HOW_MEASURED,
        caption_justify="left",
    )
    table.add_column("")
    for column in ("events/s (full speed)", f"n @ {latency_rate:,.0f}/s", "p50", "p90", "p99",
                   "max"):  # fmt: skip
        table.add_column(column, justify="right")
    for name, throughput, paced in run.rows:
        latency = paced.latency
        if latency is None:
            table.add_row(name, f"{throughput.rate:,.0f}", "–", "–", "–", "–", "–")
            continue
        n = f"{latency.n:,} {_plural(paced.measured, latency.n)}"
        if latency.missing:
            n += f" ({latency.missing:,} never answered)"
        spread = (latency.p50, latency.p90, latency.p99, latency.max)
        table.add_row(name, f"{throughput.rate:,.0f}", n, *map(_seconds, spread))
    console.print(table)


#: What the latency columns are, under the table.
HOW_MEASURED = (
    "Latency: the paced part (the last --latency-events events, at --latency-rate) follows the "
    "earlier events, published at full speed until the agent has caught up (lag 0). "
    "tutka worker: per release (an availability date: a month's figures, a day's notices), from "
    "the publication of its last end-of-release marker to that of the worker's ReleaseJudged "
    "for it on tutka.releases.v1 (sent once the release is judged and its alerts are out; a "
    "release with no alert counts too). Without markers: per alert, its first version from its "
    "release's last event. No-op agent: per record, published → forwarded. Kafka timestamps "
    "and the bench's clock, one machine."
)


def _plural(measured: str, n: int) -> str:
    return measured if n == 1 else f"{measured}s"


def _seconds(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f} s"


@dataclass
class KafkaRun:
    """The events published, how many series they make, and per agent its two runs."""

    events: list[Event]
    series: int
    #: (agent, the full-speed run, the run paced at the latency rate)
    rows: list[tuple[str, Figures, Figures]]
    #: Where the paced part of ``events`` begins (the rest is its warm-up).
    paced_from: int = 0

    @property
    def paced(self) -> list[Event]:
        return self.events[self.paced_from :]


def run_kafka_bench(
    occupations: int,
    start: str,
    end: str,
    latency_rate: float,
    latency_events: int,
    markers: bool = True,
    only: str = "both",
    workers: int = 1,
    batch: int = BATCH_EVENTS,
) -> KafkaRun:
    """The demo's market through a broker, per agent at full speed and then paced.

    The paced run publishes the market's last ``latency_events`` events (from the start of a
    release) at ``latency_rate``, after the earlier ones at full speed (its warm-up). Uses
    TUTKA_KAFKA__BOOTSTRAP if set, else starts a local broker for the run.
    """
    data = generate(seed=7, start=start, end=end, occupations=occupations)
    events = sorted(data.events, key=ordering_key)
    figures = [e for e in events if not isinstance(e, LayoffNoticeFiled)]
    series = len({(e.area, e.measure, e.sector, e.occupation) for e in figures})
    split = paced_start(events, latency_events)
    paced = events[split:]
    releases = len({e.available_on for e in paced})
    console.print(f"{len(events):,} events, {series:,} series, {start}…{end}")
    if paced:
        console.print(
            f"paced: the last {len(paced):,} events ({releases:,} releases, "
            f"{paced[0].available_on}…{paced[-1].available_on}) at {latency_rate:,.0f}/s, "
            f"after {split:,} at full speed"
        )
    with tempfile.TemporaryDirectory(prefix="tutka-bench-") as tmp:
        workdir = Path(tmp)
        bootstrap = os.environ.get("TUTKA_KAFKA__BOOTSTRAP")
        broker = None if bootstrap else LocalKafka(workdir / "kafka", port=0, controller_port=0)
        if broker is not None:
            bootstrap = broker.start(timeout=120)
        assert bootstrap is not None
        try:
            rows = []
            several = functools.partial(run_worker_bench, workers=workers, batch=batch)
            name = "tutka worker" if workers == 1 else f"tutka worker × {workers}"
            if batch > 1:
                name += f", {batch} events per record"
            runs: list[tuple[str, Callable[..., Figures]]] = [
                ("no-op faust agent", run_noop_bench),
                (name, several),
            ]
            wanted = {"both": (0, 1), "noop": (0,), "worker": (1,)}[only]
            runs = [runs[i] for i in wanted]
            for name, run in runs:
                throughput = run(bootstrap, events, 0, workdir, markers=markers)
                paced_run = run(bootstrap, paced, latency_rate, workdir, markers=markers,
                                warmup=events[:split])  # fmt: skip
                rows.append((name, throughput, paced_run))
                console.print(f"{name}: done")
        finally:
            if broker is not None:
                broker.clean()
    return KafkaRun(events, series, rows, split)


# -- replay ---------------------------------------------------------------------------------------


def write_areas(hierarchy: Hierarchy, path: Path) -> None:
    """The hierarchy as an areas file (``tutka --areas FILE``), broadest areas first."""
    codes = sorted(hierarchy.areas, key=lambda code: (level_depth(code), code))
    with path.open("w", encoding="utf-8", newline="") as handle:
        out = csv.writer(handle, lineterminator="\n")
        out.writerow(["code", "name_fi", "name_sv", "name_en", "parent"])
        for code in codes:
            a = hierarchy.areas[code]
            out.writerow([a.code, a.name_fi, a.name_sv, a.name_en, a.parent or ""])


def _write_market(
    areas_file: Path, seed: int, start: str, end: str, occupations: int, out: Path
) -> None:
    """Plan and write the market (in a child process, so its memory is not the replay's)."""
    market = plan(seed, start, end, load_hierarchy(areas_file), occupations)
    write_plan(market, out)


def write_market(
    directory: Path, areas_file: Path, seed: int, start: str, end: str, occupations: int
) -> Path:
    """The synthetic market (the demo's injected events included) in ``directory``.

    The generator streams the figures to the files (:func:`tutka.synthetic.write_plan`); it
    runs in a child process all the same, so the replay's peak memory is the replay's own.
    """
    child = multiprocessing.get_context("spawn").Process(
        target=_write_market, args=(areas_file, seed, start, end, occupations, directory)
    )
    child.start()
    child.join()
    if child.exitcode != 0:
        raise click.ClickException(f"writing {directory} failed (exit code {child.exitcode})")
    return directory


@dataclass(frozen=True)
class ReplayFigures:
    observations: int
    series: int
    tracked: int
    events: int
    seconds: float
    cpu_seconds: float
    peak_rss_mb: float
    alerts: int

    @property
    def rate(self) -> float:
        return self.observations / self.seconds if self.seconds > 0 else 0.0

    @property
    def cpu_rate(self) -> float:
        return self.observations / self.cpu_seconds if self.cpu_seconds > 0 else 0.0

    @classmethod
    def of(cls, result: ReplayResult, cpu_seconds: float) -> ReplayFigures:
        tracked = len(result.engine.series)
        derived = sum(1 for key in result.engine.series if key.measure == "tightness")
        return cls(
            observations=result.observations,
            series=tracked - derived,
            tracked=tracked,
            events=sum(result.engine.stats.events.values()),
            seconds=result.seconds,
            cpu_seconds=cpu_seconds,
            peak_rss_mb=result.peak_rss_mb,
            alerts=len(result.latest()),
        )


def run_replay_bench(
    paths: Sequence[Path], hierarchy: Hierarchy, catalogue: Catalogue
) -> ReplayFigures:
    """``tutka replay`` over ``paths``, in this process; wall and CPU time, peak memory."""
    cpu = time.process_time()
    result = replay(paths, hierarchy, catalogue)
    return ReplayFigures.of(result, time.process_time() - cpu)


def _market(
    areas_path: Path | None,
    base: Path,
    municipalities: int,
    occupations: int,
    months: int,
    end: str,
    seed: int,
) -> tuple[Hierarchy, list[Path]]:
    """Write the synthetic market (and its areas file, unless one was given) under ``base``."""
    areas_file = areas_path
    if areas_file is None:
        areas_file = base / "areas.csv"
        try:
            write_areas(synthetic_hierarchy(municipalities), areas_file)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--municipalities") from exc
    hierarchy = load_hierarchy(areas_file)
    start = period_str(period_index(end) - months + 1)
    console.print(
        f"Writing {len(hierarchy.of_level('KU'))} municipalities' market with {occupations} "
        f"occupations, {start}…{end} ({months} months), to {base} …"
    )
    started = time.perf_counter()
    market = write_market(base / "market", areas_file, seed, start, end, occupations)
    manifest = json.loads((market / "manifest.json").read_text(encoding="utf-8"))
    size = sum(f.stat().st_size for f in market.iterdir())
    console.print(
        f"  {sum(manifest['counts'].values()):,} events, {size / 2**30:.1f} GiB, "
        f"{time.perf_counter() - started:.0f} s"
    )
    return hierarchy, [market]


@click.command("replay")
@click.argument("data", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("--municipalities", default=400, show_default=True,
              help="Municipalities in the synthetic market (the shipped 39 plus invented ones; "
              "at most 999). Ignored with the global --areas.")  # fmt: skip
@click.option("--occupations", default=120, show_default=True,
              help="Occupation breakdowns per municipality (two measures each).")  # fmt: skip
@click.option("--months", default=120, show_default=True, help="Months of figures.")
@click.option("--end", default="2024-12", show_default=True, help="Last month (YYYY-MM).")
@click.option("--seed", default=7, show_default=True)
@click.option("--workdir", type=click.Path(file_okay=False, path_type=Path),
              help="Write the market here and keep it (default: a temporary one).")  # fmt: skip
@click.pass_context
def bench_replay(
    ctx: click.Context,
    data: tuple[Path, ...],
    municipalities: int,
    occupations: int,
    months: int,
    end: str,
    seed: int,
    workdir: Path | None,
) -> None:
    """Observations/s and peak memory of `tutka replay` on a large synthetic market.

    The defaults, 400 municipalities x 120 occupations x 2 measures plus 10 measures for each
    of the 542 areas, are 101 420 series x 120 months: 12 million observations. With DATA
    (files or directories), replays those instead. The replay runs in this process; the
    market is written by a child process first, so its memory is not counted.
    """
    context = load_context(ctx)
    if months < 1:
        raise click.BadParameter("must be at least 1", param_hint="--months")
    with ExitStack() as stack:
        if workdir is None:
            base = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="tutka-bench-")))
        else:
            base = workdir
            base.mkdir(parents=True, exist_ok=True)
        hierarchy, paths = context.hierarchy, list(data)
        if not paths:
            hierarchy, paths = _market(context.areas_path, base, municipalities, occupations,
                                       months, end, seed)  # fmt: skip
        console.print("Replaying …")
        figures = run_replay_bench(paths, hierarchy, context.catalogue)
    if workdir is not None and not data:
        console.print(f"The market is kept in {workdir}.")
    table = Table(title="tutka replay (in process, one core)", show_header=False)
    table.add_column("")
    table.add_column("", justify="right")
    table.add_row("observations", f"{figures.observations:,}")
    table.add_row("series", f"{figures.series:,} ({figures.tracked:,} with derived tightness)")
    table.add_row("events", f"{figures.events:,} (observations and notices)")
    table.add_row("seconds", f"{figures.seconds:,.1f} ({figures.cpu_seconds:,.1f} CPU)")
    table.add_row("observations/s", f"{figures.rate:,.0f} ({figures.cpu_rate:,.0f} per CPU second)")
    table.add_row("peak RSS", f"{figures.peak_rss_mb:,.0f} MiB")
    table.add_row("alerts", f"{figures.alerts:,}")
    console.print(table)
    console.print(
        "[dim]Wall-clock seconds from opening the files to the last alert: scanning, decoding, "
        "ordering and the pipeline.[/dim]"
    )
