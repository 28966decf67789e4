"""``tutka dev kafka start|stop|status|clean``: the local broker of :mod:`tutka.dev.local_kafka`."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

import click

from tutka.dev.local_kafka import (
    CACHE_ENV,
    KAFKA_VERSION,
    KafkaError,
    LocalKafka,
    default_home,
)

_home_option = click.option(
    "--home",
    type=click.Path(file_okay=False, path_type=Path),
    default=default_home,
    show_default=".kafka in the repository",
    help="Directory of the broker's data, server.properties, kafka.pid and kafka.log.",
)


def _echo_err(message: str) -> None:
    click.echo(message, err=True)


def _guard(action: Callable[[], None]) -> None:
    """Run ``action``, turning our errors into a one-line-per-problem exit (no traceback)."""
    try:
        action()
    except (KafkaError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc


@click.group("kafka")
def kafka_group() -> None:
    """A local single-node Kafka broker (KRaft, 127.0.0.1 only) for development and tests.

    The first start fetches the Kafka jars with Maven into a cache (needs java, mvn and access to
    Maven Central) and formats the storage; later starts take a few seconds. The broker runs in
    the background until `tutka dev kafka stop`. Point the worker at it with

        export TUTKA_KAFKA__BOOTSTRAP=$(tutka dev kafka start)
    """


@kafka_group.command("start")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=9092,
    show_default=True,
    help="Client port on 127.0.0.1 (0: any free port). 9092 matches the default "
    "TUTKA_KAFKA__BOOTSTRAP.",
)
@click.option(
    "--controller-port",
    type=click.IntRange(0, 65535),
    default=9093,
    show_default=True,
    help="KRaft controller port on 127.0.0.1 (0: any free port).",
)
@_home_option
@click.option(
    "--cache-dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar=CACHE_ENV,
    show_envvar=True,
    help="Where the Kafka jars are cached [default: .cache/kafka/<version>/libs in the repo].",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=1),
    default=60.0,
    show_default=True,
    help="Seconds to wait for the broker to answer (a first jar download is not counted).",
)
def kafka_start(
    port: int, controller_port: int, home: Path, cache_dir: Path | None, timeout: float
) -> None:
    """Start the broker (if not running) and print its bootstrap address on stdout.

    Running it again while the broker runs just prints the address. Everything else goes to
    stderr, so `export TUTKA_KAFKA__BOOTSTRAP=$(tutka dev kafka start)` works.
    """

    def run() -> None:
        kafka = LocalKafka(home, port, controller_port, cache_dir=cache_dir)
        was_running = kafka.is_running()
        if not was_running:
            _echo_err(f"Starting Kafka {KAFKA_VERSION} in {kafka.home} ...")
        started = time.monotonic()
        address = kafka.start(timeout=timeout)
        pid = kafka.status()["pid"]
        if was_running:
            _echo_err(f"Kafka is already running (pid {pid}).")
        else:
            _echo_err(f"Kafka is up in {time.monotonic() - started:.1f} s (pid {pid}).")
        _echo_err(f"  export TUTKA_KAFKA__BOOTSTRAP={address}")
        _echo_err(f"  log: {kafka.log_file}    stop: tutka dev kafka stop --home {kafka.home}")
        click.echo(address)

    _guard(run)


@kafka_group.command("stop")
@_home_option
@click.option(
    "--timeout",
    type=click.FloatRange(min=0),
    default=30.0,
    show_default=True,
    help="Seconds to wait after SIGTERM before SIGKILL.",
)
def kafka_stop(home: Path, timeout: float) -> None:
    """Stop the broker: SIGTERM, then SIGKILL after --timeout. The data is kept."""

    def run() -> None:
        kafka = LocalKafka(home)
        if kafka.stop(timeout=timeout):
            _echo_err(f"Stopped the Kafka broker of {kafka.home}.")
        else:
            _echo_err(f"No Kafka broker is running in {kafka.home}.")

    _guard(run)


@kafka_group.command("status")
@_home_option
@click.option("--json", "as_json", is_flag=True, help="Print the full status as JSON.")
def kafka_status(home: Path, as_json: bool) -> None:
    """Print the bootstrap address if the broker runs; exit 1 if it does not.

    With --json: running, pid, bootstrap, ports, home, log, formatted and version.
    """
    status = LocalKafka(home).status()
    if as_json:
        click.echo(json.dumps(status, indent=2))
    elif status["running"]:
        click.echo(status["bootstrap"])
        _echo_err(f"Kafka {status['version']} running (pid {status['pid']}), log {status['log']}")
    else:
        _echo_err(f"No Kafka broker is running in {status['home']}.")
    if not status["running"]:
        sys.exit(1)


@kafka_group.command("clean")
@_home_option
def kafka_clean(home: Path) -> None:
    """Stop the broker and delete its data, config, pid and log (the jar cache is kept)."""

    def run() -> None:
        kafka = LocalKafka(home)
        kafka.clean()
        _echo_err(f"Removed the Kafka broker and data of {kafka.home}.")

    _guard(run)


@click.command("pxweb")
@click.option(
    "--data",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=Path("../shared/data/fi"),
    show_default=True,
    help="Directory of Statistics Finland's long CSVs (tyonv_12r5_*.csv, tyonv_12ti_*.csv.gz).",
)
@click.option("--port", type=click.IntRange(0, 65535), default=8099, show_default=True)
@click.option("--municipalities", is_flag=True, help="12r5 from the municipal development set.")
@click.option(
    "--hide-after",
    metavar="YYYY-MM",
    help="Publish 12r5 only up to this month (the next month appears every --release seconds).",
)
@click.option(
    "--release",
    type=click.FloatRange(min=0),
    default=0.0,
    help="With --hide-after: seconds between monthly releases (0: never).",
)
def pxweb_command(
    data: Path, port: int, municipalities: bool, hide_after: str | None, release: float
) -> None:
    """A PxWeb-compatible server on 127.0.0.1 with tables built from Statistics Finland CSVs.

    Serves 12r5 and 12ti (from 2022 on, to start quickly) at
    http://127.0.0.1:PORT/PxWeb/api/v1/fi/StatFin/tyonv/12r5.px, so that `tutka fetch statfin
    --base-url http://127.0.0.1:PORT/PxWeb/api/v1/fi` works without the internet. Ctrl-C stops.
    """
    from tutka.dev.pxweb import PxWebServer, shared_tables

    tables = shared_tables(data, municipalities=municipalities)
    server = PxWebServer(tables, port=port)
    if hide_after:
        server.hide_after("12r5", hide_after)
    server.start()
    click.echo(server.url)
    try:
        while True:
            time.sleep(release or 3600)
            if release and hide_after:
                click.echo(f"published 12r5 {server.publish('12r5')}", err=True)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
