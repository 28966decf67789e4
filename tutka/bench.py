"""``tutka bench``: speed figures, never test assertions. Run it, read the table, report them.

``tutka bench replay`` — the embedded pipeline (``tutka replay``, and so ``tutka backtest``) over
a synthetic market of many series: observations per second and peak memory. It writes the
market first (see :func:`write_market`), or takes a directory of input files.

``tutka bench kafka`` — throughput and latency through a real broker, beside a no-op faust agent:

* **throughput** — events per second from the first publish to the last event folded in, with
  everything published as fast as the broker takes it (one worker);
* **latency** — with events published at a steady rate below capacity: for every alert that
  opens, the time from the publication of the last event of the data that opened it to the
  alert's arrival on ``tutka.alerts.v1`` (p50 / p99);
* the same two figures for a **no-op faust agent** that forwards each input record unchanged,
  so the overhead of the pipeline itself can be told from faust's and the broker's.
"""

from __future__ import annotations

import csv
import functools
import json
import multiprocessing
import os
import statistics
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
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from rich.console import Console
from rich.table import Table

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
from tutka.models.markers import EventType, ReleaseEnd
from tutka.replay import ReplayResult, replay
from tutka.streaming import partition_counts
from tutka.streams.ordering import ordering_key
from tutka.synthetic import generate, plan, synthetic_hierarchy, write_plan
from tutka.worker.markers import ReleaseCounter
from tutka.worker.topics import Topics, ensure_topics

console = Console(highlight=False)


@dataclass
class Figures:
    name: str
    events: int
    seconds: float
    latency_p50: float | None = None
    latency_p99: float | None = None

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0


def _send_all(
    bootstrap: str, names: Topics, events: Sequence[Event], rate: float, markers: bool = True
) -> dict[date, float]:
    """Publish in availability order; returns, per availability date, when its last event went.

    With ``markers``, each release is followed by its end-of-release markers (as ``tutka
    publish`` sends them).
    """
    producer = KafkaProducer(
        bootstrap_servers=bootstrap, acks=1, linger_ms=5, batch_size=256 * 1024
    )
    counter = ReleaseCounter("bench", partition_counts(producer, names)) if markers else None

    def close(closed: list[tuple[EventType, ReleaseEnd]]) -> None:
        for kind, marker in closed:
            producer.send(names.of_type(kind), partition=marker.partition,
                          value=marker.model_dump_json().encode())  # fmt: skip

    last_sent: dict[date, float] = {}
    started = time.monotonic()
    for i, event in enumerate(events, start=1):
        key = event.municipality if isinstance(event, LayoffNoticeFiled) else event.area
        value = event.model_dump_json().encode()
        if counter is not None:
            period = None if isinstance(event, LayoffNoticeFiled) else event.period
            close(counter.add(event.type, key.encode(), event.available_on, period))
        producer.send(names.of_type(event.type), key=key.encode(), value=value)
        if counter is not None and (
            i == len(events) or events[i].available_on != event.available_on
        ):
            close(counter.finish())  # the release's last event: its markers at once
        last_sent[event.available_on] = time.time()
        if rate > 0:
            ahead = i / rate - (time.monotonic() - started)
            if ahead > 0:
                time.sleep(ahead)
    if counter is not None:
        close(counter.finish())
    producer.flush()
    producer.close()
    return last_sent


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
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    deadline = time.monotonic() + timeout
    try:
        while not consumer.partitions_for_topic(topic) and time.monotonic() < deadline:
            time.sleep(0.5)
        tps = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        out: list[Any] = []
        quiet_since = time.monotonic()
        while time.monotonic() < deadline:
            got = consumer.poll(timeout_ms=500)
            for batch in got.values():
                out.extend(batch)
            if got:
                quiet_since = time.monotonic()
            elif (out and time.monotonic() - quiet_since >= stop_after_idle) or not alive():
                break
        return out
    finally:
        consumer.close()


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


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
) -> Figures:
    """``workers`` workers, one namespace; ``rate`` 0 measures throughput, otherwise latency.

    Without ``markers`` a release is judged when the next one begins (or after ``idle``
    seconds of quiet); with them, as soon as its markers and events are in. Several workers
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
    try:
        time.sleep(12 + 8 * (workers - 1))  # the workers join their group before the clock
        started = time.time()
        last_sent = _send_all(bootstrap, names, events, rate, markers)
        alerts = _tail(bootstrap, names.alerts, stop_after_idle=idle + 15, timeout=3600,
                       alive=lambda: all(w.poll() is None for w in spawned))  # fmt: skip
    finally:
        crashed = any(w.poll() is not None for w in spawned)
        for worker in spawned:
            worker.terminate()
        for worker in spawned:
            worker.wait(timeout=60)
    if crashed or not alerts:
        raise click.ClickException(
            f"the worker {'exited' if crashed else 'produced no alerts'}; see {workdir}"
        )
    # Without markers the final alerts wait for the quiet-stream flush: not processing time.
    finished = max(r.timestamp for r in alerts) / 1000 - (0 if markers else idle)
    latencies = []
    for record in alerts:
        alert = Alert.model_validate_json(record.value)
        if alert.sequence == 1 and alert.available_on in last_sent:
            latencies.append(record.timestamp / 1000 - last_sent[alert.available_on])
    return Figures(
        "tutka worker",
        len(events),
        finished - started,
        _percentile(latencies, 50),
        _percentile(latencies, 99),
    )


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
    bootstrap: str, events: Sequence[Event], rate: float, workdir: Path, markers: bool = True
) -> Figures:
    namespace = f"bench-{uuid.uuid4().hex[:8]}."
    settings = KafkaSettings(bootstrap=bootstrap, namespace=namespace)
    names = Topics(namespace)
    ensure_topics(settings)
    script = workdir / "noop.py"
    script.write_text(NOOP_APP, encoding="utf-8")
    args = [sys.executable, str(script), namespace, bootstrap, str(workdir / "noop-data")]
    worker = _spawn(args, dict(os.environ), workdir / f"noop-{namespace}log")
    try:
        time.sleep(12)
        started = time.time()
        _send_all(bootstrap, names, events, rate, markers)
        forwarded = _tail(bootstrap, f"{namespace}noop.out", stop_after_idle=10, timeout=3600)
        inputs = [r for name in names.inputs for r in _tail(bootstrap, name, 2, 120)]
    finally:
        worker.terminate()
        worker.wait(timeout=60)
    sent_at = {(r.key, r.value): r.timestamp for r in inputs}
    latencies = [
        (r.timestamp - sent_at[(r.key, r.value)]) / 1000
        for r in forwarded
        if (r.key, r.value) in sent_at
    ]
    finished = max(r.timestamp for r in forwarded) / 1000
    return Figures("no-op faust agent", len(events), finished - started,
                   _percentile(latencies, 50), _percentile(latencies, 99))  # fmt: skip


@click.command("kafka")
@click.option("--occupations", default=120, show_default=True,
              help="Occupation breakdowns per municipality (120 ≈ 10 000 series).")  # fmt: skip
@click.option("--start", default="2021-01", show_default=True)
@click.option("--end", default="2023-12", show_default=True)
@click.option("--latency-rate", default=1000.0, show_default=True,
              help="Events per second for the latency runs (below capacity).")  # fmt: skip
@click.option("--latency-events", default=60_000, show_default=True,
              help="How many of the events the paced latency runs publish.")  # fmt: skip
@click.option(
    "--markers/--no-markers",
    default=True,
    show_default=True,
    help="End-of-release markers after each release (as `tutka publish` sends).",
)
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 8),
              help="tutka worker processes sharing the input partitions.")  # fmt: skip
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
    only: str,
) -> None:
    """Events/s and publish→alert latency through Kafka, beside a no-op faust agent.

    Uses TUTKA_KAFKA__BOOTSTRAP if set, else starts a local broker for the run.
    """
    run = run_kafka_bench(
        occupations, start, end, latency_rate, latency_events, markers, only, workers
    )
    table = Table(title=f"Kafka end to end, {len(run.events):,} events, {run.series:,} series")
    for column in ("", "events/s (full speed)", f"latency p50 @ {latency_rate:.0f}/s",
                   f"latency p99 @ {latency_rate:.0f}/s"):  # fmt: skip
        table.add_column(column, justify="right")
    for name, throughput, paced in run.rows:
        table.add_row(name, f"{throughput.rate:,.0f}", _seconds(paced.latency_p50),
                      _seconds(paced.latency_p99))  # fmt: skip
    console.print(table)


def _seconds(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f} s"


@dataclass
class KafkaRun:
    """The events published, how many series they make, and per agent its two runs."""

    events: list[Event]
    series: int
    #: (agent, the full-speed run, the run paced at the latency rate)
    rows: list[tuple[str, Figures, Figures]]


def run_kafka_bench(
    occupations: int,
    start: str,
    end: str,
    latency_rate: float,
    latency_events: int,
    markers: bool = True,
    only: str = "both",
    workers: int = 1,
) -> KafkaRun:
    """The demo's market through a broker, per agent at full speed and then paced.

    Uses TUTKA_KAFKA__BOOTSTRAP if set, else starts a local broker for the run.
    """
    data = generate(seed=7, start=start, end=end, occupations=occupations)
    events = sorted(data.events, key=ordering_key)
    figures = [e for e in events if not isinstance(e, LayoffNoticeFiled)]
    series = len({(e.area, e.measure, e.sector, e.occupation) for e in figures})
    console.print(f"{len(events):,} events, {series:,} series, {start}…{end}")
    with tempfile.TemporaryDirectory(prefix="tutka-bench-") as tmp:
        workdir = Path(tmp)
        bootstrap = os.environ.get("TUTKA_KAFKA__BOOTSTRAP")
        broker = None if bootstrap else LocalKafka(workdir / "kafka", port=0, controller_port=0)
        if broker is not None:
            bootstrap = broker.start(timeout=120)
        assert bootstrap is not None
        try:
            rows = []
            several = functools.partial(run_worker_bench, workers=workers)
            runs: list[tuple[str, Callable[..., Figures]]] = [
                ("no-op faust agent", run_noop_bench),
                ("tutka worker" if workers == 1 else f"tutka worker × {workers}", several),
            ]
            wanted = {"both": (0, 1), "noop": (0,), "worker": (1,)}[only]
            runs = [runs[i] for i in wanted]
            for name, run in runs:
                throughput = run(bootstrap, events, 0, workdir, markers=markers)
                paced = run(bootstrap, events[:latency_events], latency_rate, workdir,
                            markers=markers)  # fmt: skip
                rows.append((name, throughput, paced))
                console.print(f"{name}: done")
        finally:
            if broker is not None:
                broker.clean()
    return KafkaRun(events, series, rows)


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
