"""``tutka fetch statfin``: Statistics Finland's PxWeb tables into files or the input topics."""

from __future__ import annotations

import logging
import random
import re
import signal
import threading
from pathlib import Path
from types import FrameType

import click
from rich.console import Console

from tutka.cli.context import load_context

console = Console(highlight=False)
err = Console(stderr=True, highlight=False)
_DURATION = re.compile(r"([0-9]+(?:\.[0-9]+)?)\s*([smhd])")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> float:
    """``6h``, ``30m``, ``1d``, ``90s`` (or a sum: ``1h30m``) in seconds.

    >>> parse_duration("6h"), parse_duration("1h30m")
    (21600.0, 5400.0)
    """
    parts = _DURATION.findall(text.strip().lower())
    if not parts or "".join(n + u for n, u in parts) != re.sub(r"\s+", "", text.strip().lower()):
        raise ValueError(f"{text!r} is not a duration such as 6h, 30m, 1d or 1h30m")
    seconds = sum(float(n) * _UNITS[u] for n, u in parts)
    if seconds <= 0:
        raise ValueError(f"a duration must be positive, got {text!r}")
    return seconds


class _Duration(click.ParamType):
    name = "DURATION"

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        if isinstance(value, float):
            return value
        try:
            return parse_duration(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


@click.group("fetch")
def fetch_group() -> None:
    """Fetch live sources into the stream (incrementally, with revisions)."""


@fetch_group.command("statfin")
@click.option("--base-url", help="PxWeb v1 API root with language, e.g. "
              "https://pxdata.stat.fi/PxWeb/api/v1/fi (env TUTKA_FETCH__BASE_URL).")  # fmt: skip
@click.option("--table", "tables", multiple=True,
              help="Table id from the tables file (repeatable). Default: TUTKA_FETCH__TABLES, "
              "12r5 and 12ti.")  # fmt: skip
@click.option("--tables", "tables_file", type=click.Path(exists=True, dir_okay=False,
              path_type=Path), help="Tables file (TOML) describing the tables; default: the "
              "shipped tutka/config/statfin.toml (env TUTKA_FETCH__TABLES_FILE).")  # fmt: skip
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Write the figures as JSON-lines files here (the default; "
              "TUTKA_FETCH__OUT_DIR, tutka-out/fetch). `tutka replay DIR` reads them.")  # fmt: skip
@click.option("--publish", is_flag=True, help="Publish to the worker's input topics on Kafka "
              "(TUTKA_KAFKA__BOOTSTRAP) instead of writing files.")  # fmt: skip
@click.option("--lookback", type=click.IntRange(0, 120),
              help="Months before the newest asked again for revisions (TUTKA_FETCH__LOOKBACK_"
              "MONTHS, 6).")  # fmt: skip
@click.option("--state-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Where the tables' fetch state lives (default: DIR/.fetch-state for files, "
              "TUTKA_FETCH__STATE_DIR/kafka-<namespace> for --publish).")  # fmt: skip
@click.option("--every", type=_Duration(), help="Keep running: fetch every DURATION (6h, 30m, "
              "1d) plus up to TUTKA_FETCH__JITTER_SECONDS; stop cleanly on SIGTERM.")  # fmt: skip
@click.option("--metrics-port", type=click.IntRange(0, 65535),
              help="Serve /metrics here (default with --every: TUTKA_FETCH__METRICS_PORT, 9482; "
              "0: off).")  # fmt: skip
@click.option("--metrics-textfile", type=click.Path(dir_okay=False, path_type=Path),
              help="After each run, write the metrics here (node_exporter's textfile collector, "
              "for cron).")  # fmt: skip
@click.option(
    "--rate",
    type=click.FloatRange(min=0),
    default=0.0,
    help="--publish: events per second at most (0: as fast as Kafka takes them).",
)
@click.option("--markers/--no-markers", default=True, show_default=True,
              help="--publish: follow each release with its end-of-release markers on every "
              "input partition, so the worker judges it at once rather than after a quiet "
              "spell.")  # fmt: skip
@click.option("--pause-before-publish", type=click.FloatRange(min=0), default=0.0, hidden=True,
              help="Testing: sleep between recording a batch and delivering it.")  # fmt: skip
@click.pass_context
def statfin_command(ctx: click.Context, base_url: str | None, tables: tuple[str, ...],
                    tables_file: Path | None, out_dir: Path | None, publish: bool,
                    lookback: int | None, state_dir: Path | None, every: float | None,
                    metrics_port: int | None, metrics_textfile: Path | None, rate: float,
                    markers: bool, pause_before_publish: float) -> None:  # fmt: skip
    """Read Statistics Finland's PxWeb tables (12r5, 12ti, …) into the stream.

    Each run asks a table only for the months that may have changed (the last --lookback months
    and anything new), and delivers new months as new figures, changed values as revisions
    (revision + 1, the replaced value in previous_value) and unchanged ones as nothing. Delivery
    is exactly once in effect: a run killed at any point and run again sends every figure once.
    Queries stay under the service's cell limit and request rate, and back off on 429.
    """
    from prometheus_client import start_http_server, write_to_textfile

    from tutka.config.sources import load_tables
    from tutka.fetch.client import FetchError, PxWebClient
    from tutka.fetch.runner import Fetcher, TableReport
    from tutka.fetch.sinks import FileSink, KafkaSink, Sink
    from tutka.monitoring.metrics import create_fetch_metrics

    context = load_context(ctx)
    settings = context.settings
    updates: dict[str, object] = {}
    if lookback is not None:
        updates["lookback_months"] = lookback
    fetch = settings.fetch.model_copy(update=updates)
    try:
        catalogue = load_tables(tables_file or fetch.tables_file)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    chosen = list(tables) or fetch.tables
    unknown = [t for t in chosen if t not in catalogue]
    if unknown:
        raise click.ClickException(
            f"no table {', '.join(unknown)} in the tables file (it has {', '.join(catalogue)}); "
            "describe it there (README, 'Live sources') or pass --tables FILE"
        )
    sink: Sink
    if publish:
        namespace = settings.kafka.namespace.rstrip(".") or "default"
        sink = KafkaSink(settings.kafka, rate=rate, markers=markers)
        where = state_dir or fetch.state_dir / f"kafka-{namespace}"
        destination = f"Kafka {settings.kafka.bootstrap}"
    else:
        directory = out_dir or fetch.out_dir
        sink = FileSink(directory)
        where = state_dir or directory / ".fetch-state"
        destination = str(directory)
    metrics = create_fetch_metrics(tables=chosen)
    port = metrics_port if metrics_port is not None else (fetch.metrics_port if every else 0)
    if port:
        try:
            start_http_server(port, addr=settings.metrics.host, registry=metrics.registry)
        except OSError as exc:
            raise click.ClickException(f"cannot serve metrics on port {port}: {exc}") from exc
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    stop = threading.Event()
    _on_signals(stop)

    def run_once() -> list[TableReport]:
        reports = []
        with PxWebClient(fetch, base_url) as client:
            try:
                client.configure()
            except FetchError as exc:
                for table in chosen:
                    metrics.failed(table, exc.reason)
                err.print(f"[red]cannot reach {client.base}:[/] {exc}")
                return [TableReport(t, "failed", str(exc), exc.reason) for t in chosen]
            fetcher = Fetcher(fetch, client, sink, context.hierarchy, where, metrics,
                              pause_before_delivery=pause_before_publish,
                              say=lambda m: err.print(m))  # fmt: skip
            for table in chosen:
                if stop.is_set():
                    break
                report = fetcher.run(table, catalogue[table])
                reports.append(report)
                style = {"ok": "", "skipped": "yellow", "failed": "red"}[report.status]
                console.print(f"[{style}]{report.line()}[/]" if style else report.line())
        if metrics_textfile is not None:
            write_to_textfile(str(metrics_textfile), metrics.registry)
        return reports

    err.print(f"Fetching {', '.join(chosen)} from {base_url or fetch.base_url} into {destination}")
    if every is None:
        reports = run_once()
        if any(r.status == "failed" for r in reports):
            ctx.exit(1)
        return
    while not stop.is_set():
        run_once()
        wait = every + random.uniform(0, fetch.jitter_seconds)
        err.print(f"next fetch in {wait / 3600:.2f} h")
        stop.wait(wait)
    err.print("stopped")


def _on_signals(stop: threading.Event) -> None:
    """SIGTERM/SIGINT end the loop after the table being fetched (its state stays consistent)."""

    def handler(signum: int, frame: FrameType | None) -> None:
        if stop.is_set():
            raise SystemExit(128 + signum)  # a second signal: stop now (the batch is recorded)
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
