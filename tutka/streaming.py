"""The Kafka side of the command line: worker, publish, alerts tail, subscriptions."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import NoReturn

import click
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from tutka.cli.context import load_context
from tutka.config.settings import KafkaSettings, Settings
from tutka.inputs import Event, InputError
from tutka.models.alerts import Alert, AlertKind
from tutka.models.deadletter import DeadLetter
from tutka.models.events import LayoffNoticeFiled
from tutka.models.markers import EventType, ReleaseEnd
from tutka.models.subscriptions import (
    SUBSCRIPTION_CHANGE,
    Subscription,
    SubscriptionBook,
    SubscriptionRemoved,
    SubscriptionUpserted,
    check_scope,
    fold_changes,
)
from tutka.replay import load
from tutka.webhooks import check_webhook, subscription_key
from tutka.worker.intake import BATCH_EVENTS, Outgoing, RecordBatcher
from tutka.worker.markers import ReleaseCounter, partition_of
from tutka.worker.topics import Topics, TopicSpec, ensure_topics, topics_for

console = Console(highlight=False)
err = Console(stderr=True, highlight=False)
#: The key of :func:`publish`'s count of end-of-release markers.
MARKERS = "markers"


def _settings() -> Settings:
    try:
        return Settings()
    except ValueError as exc:
        raise click.ClickException(f"invalid TUTKA_ settings:\n{exc}") from exc


@click.command("worker")
@click.option("--loglevel", type=click.Choice(["crit", "error", "warn", "info", "debug"]),
              default="warn", show_default=True)  # fmt: skip
@click.pass_context
def worker_command(ctx: click.Context, loglevel: str) -> None:
    """Run the pipeline continuously as a faust-streaming worker on Kafka.

    Reads tutka.notices.v1, tutka.unemployment.v1 and tutka.vacancies.v1 (JSON events), writes
    alerts to tutka.alerts.v1, dead letters to tutka.deadletter.v1, and delivers subscriptions.
    Creates missing topics. Broker and tuning from TUTKA_KAFKA__* (e.g. TUTKA_KAFKA__BOOTSTRAP);
    start several workers with the same settings to share the partitions.
    """
    import faust

    from tutka.worker.app import build
    from tutka.worker.watchdog import infrastructure_cause

    context = load_context(ctx)
    try:
        app = build(context.settings, context.hierarchy, context.catalogue, context.sectors)
    except Exception as exc:
        if infrastructure_cause(exc) is None:
            raise click.ClickException(f"cannot start the worker: {exc}") from exc
        _infrastructure_exit(exc, "could not start")
    # The loop the watchdog's loop arm pings (build) is the one the worker runs.
    worker = faust.Worker(app, loop=app.loop, loglevel=loglevel, quiet=True)
    try:
        worker.execute_from_commandline()
    except SystemExit as ended:
        # Faust ends a crashed worker with status 1. The broker gone is no bug: status 70, as
        # the watchdog's, for the supervisor to start a fresh worker (STYLE.md §3).
        # Our agents and timers exit 70 themselves (tutka.worker.watchdog.exit_for_restart);
        # this is for an error of the broker that reached faust's own services.
        reason = worker.crash_reason or ended.__context__
        if reason is None or ended.code in (0, None) or infrastructure_cause(reason) is None:
            raise
        _infrastructure_exit(reason, "stopped")


def _infrastructure_exit(exc: BaseException, what: str) -> NoReturn:
    """End ``tutka worker`` with status 70 and a CRITICAL line naming the broker's error."""
    import logging

    from tutka.worker.watchdog import STALLED_EXIT, broker_unavailable, infrastructure_cause

    cause = infrastructure_cause(exc) or exc
    if not logging.getLogger().handlers:  # at start faust has not set logging up yet
        logging.basicConfig(format="[%(asctime)s] [%(process)s] [%(levelname)s] %(message)s")
    logging.getLogger("tutka.worker").critical(
        "the worker %s: %s: exiting for a restart", what, broker_unavailable(cause)
    )
    raise SystemExit(STALLED_EXIT) from exc


@click.command("publish")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--rate", type=float, default=0.0, show_default=True,
              help="Events per second (0 = as fast as the broker takes them).")  # fmt: skip
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@click.option("--batch", type=click.IntRange(1, 10_000), default=BATCH_EVENTS, show_default=True,
              help="Events per Kafka record: consecutive events for one partition travel as one "
              "batch record (far less work per event for the worker). 1 sends each event as a "
              "record of its own, as any other producer may.")  # fmt: skip
@click.option("--markers/--no-markers", default=False, show_default=True,
              help="After each release (availability date), an end-of-release marker on every "
              "partition, so the worker judges it at once (experimental, see the README)."
              )  # fmt: skip
def publish_command(
    paths: tuple[Path, ...], rate: float, batch: int, quiet: bool, markers: bool
) -> None:
    """Send the files `tutka replay` reads to the input topics, in availability order.

    Each event goes to the topic of its type (tutka.notices.v1, tutka.unemployment.v1,
    tutka.vacancies.v1) keyed by its area (a notice by its municipality), as JSON. Lines that
    are not valid events are not sent; they are counted and reported (replay them with
    `tutka replay --dead-letters` to see why).
    """
    settings = _settings().kafka
    try:
        records, dead = load(list(paths))
    except InputError as exc:
        raise click.ClickException(str(exc)) from exc
    ensure_topics(settings)
    events = [r.item for r in records if not isinstance(r.item, DeadLetter)]
    sent = publish(settings, events, rate, quiet, markers=markers, batch=batch)
    closing = sent.pop(MARKERS, 0)
    console.print(
        f"Published {sum(sent.values()):,} events to {settings.bootstrap} "
        f"({', '.join(f'{t} {n:,}' for t, n in sorted(sent.items()))}) and {closing:,} "
        f"end-of-release markers; {len(dead):,} invalid lines not sent."
    )


def publish(
    settings: KafkaSettings,
    events: Sequence[Event],
    rate: float,
    quiet: bool,
    *,
    markers: bool = False,
    dataset: str = "publish",
    batch: int = 1,
) -> Counter[str]:
    """Send ``events`` keyed by area to their topics; returns how many went to each topic.

    With ``markers``, every release (availability date) is followed by its end-of-release
    markers (:mod:`tutka.worker.markers`); ``MARKERS`` in the result counts them. With
    ``batch`` above 1, consecutive events for one partition go as batch records of up to that
    many (:mod:`tutka.worker.intake`).
    """
    producer = KafkaProducer(bootstrap_servers=settings.bootstrap, acks="all", linger_ms=5)
    columns = (
        TextColumn("[bold]publishing"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err, transient=True, disable=quiet) as bar:
        task = bar.add_task("publish", total=len(events))

        def progress(done: int) -> None:
            if done % 1000 == 0 or done == len(events):
                bar.update(task, completed=done)

        published = send_in_order(
            producer, topics_for(settings), events, rate,
            dataset=dataset if markers else None, batch=batch, progress=progress,
        )  # fmt: skip
    producer.flush()
    producer.close()
    return published.sent


@dataclass
class Published:
    """What :func:`send_in_order` handed to the producer."""

    #: Events per topic, and end-of-release markers under ``MARKERS``.
    sent: Counter[str] = field(default_factory=Counter)
    #: Kafka records (a batch record is one).
    records: int = 0
    #: Per availability date, when its closing record went (its last marker, else its last
    #: event): kafka-python stamps a record when it is handed to ``send``.
    closed_at: dict[date, float] = field(default_factory=dict)


def send_in_order(
    producer: KafkaProducer,
    names: Topics,
    events: Sequence[Event],
    rate: float,
    *,
    dataset: str | None,
    batch: int,
    progress: Callable[[int], None] = lambda _done: None,
) -> Published:
    """Hand ``events`` (in availability order) to ``producer``, keyed by area, at ``rate`` per
    second (0: at once); with a ``dataset``, each release is followed by its end-of-release
    markers under that publisher's name. A release's batched events are all out before its
    markers, and before each pause of a paced run, so batching adds no waiting.
    """
    partitions = partition_counts(producer, names)
    counter = ReleaseCounter(dataset, partitions) if dataset is not None else None
    batcher = batcher_for(batch, names, partitions)
    out = Published()

    def send(records: list[Outgoing]) -> None:
        for topic, partition, key, value in records:
            producer.send(topic, partition=partition, key=key, value=value)
        out.records += len(records)

    def close(closed: list[tuple[EventType, ReleaseEnd]]) -> None:
        if closed:
            send(batcher.flush())  # (a marker follows its partition's events)
        send([(names.of_type(kind), marker.partition, None, marker.model_dump_json().encode())
              for kind, marker in closed])  # fmt: skip
        out.sent[MARKERS] += len(closed)

    started = time.monotonic()
    for i, event in enumerate(events, start=1):
        key = event.municipality if isinstance(event, LayoffNoticeFiled) else event.area
        topic = names.of_type(event.type)
        if counter is not None:
            period = None if isinstance(event, LayoffNoticeFiled) else event.period
            close(counter.add(event.type, key.encode(), event.available_on, period))
        send(batcher.add(topic, key.encode(), event.model_dump_json().encode()))
        out.sent[topic] += 1
        if i == len(events) or events[i].available_on != event.available_on:
            # The release's last event: all of it out, and its markers now.
            send(batcher.flush())
            if counter is not None:
                close(counter.finish())
        out.closed_at[event.available_on] = time.time()
        if rate > 0:
            ahead = i / rate - (time.monotonic() - started)
            if ahead > 0:
                send(batcher.flush())  # (nothing held back while pausing)
                time.sleep(ahead)
        progress(i)
    if counter is not None:
        close(counter.finish())
    send(batcher.flush())
    if not out.sent[MARKERS]:
        del out.sent[MARKERS]
    return out


def batcher_for(batch: int, names: Topics, partitions: dict[EventType, int]) -> RecordBatcher:
    """A batcher for the input topics, placing each event where Kafka's partitioner would."""
    by_topic = {names.of_type(kind): count for kind, count in partitions.items()}
    return RecordBatcher(batch, lambda topic, key: partition_of(key, by_topic[topic]))


def partition_counts(producer: KafkaProducer, names: Topics) -> dict[EventType, int]:
    """How many partitions each input topic has (markers go to every one)."""
    kinds: tuple[EventType, ...] = ("layoff_notice", "unemployment", "vacancies")
    return {kind: len(producer.partitions_for(names.of_type(kind))) for kind in kinds}


@click.group("alerts")
def alerts_group() -> None:
    """Read alerts from Kafka."""


@alerts_group.command("tail")
@click.option("--subscription", help="Follow this subscription's topic instead of all alerts.")
@click.option("--from-beginning", is_flag=True, help="Start from the oldest alert kept.")
@click.option("--max", "limit", type=int, default=0, help="Stop after this many (0 = no limit).")
@click.option("--idle", type=float, default=0.0,
              help="Stop after this many seconds without alerts (0 = follow forever).")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print the alerts as JSON lines.")
@click.option("--lang", type=click.Choice(["fi", "sv", "en"]), default="en", show_default=True)
def tail_command(subscription: str | None, from_beginning: bool, limit: int, idle: float,
                 as_json: bool, lang: str) -> None:  # fmt: skip
    """Follow tutka.alerts.v1 (or a subscription) and print alerts readably."""
    settings = _settings().kafka
    names = topics_for(settings)
    topic = names.subscription(subscription) if subscription else names.alerts
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=settings.bootstrap,
        group_id=None,
        auto_offset_reset="earliest" if from_beginning else "latest",
        consumer_timeout_ms=int(idle * 1000) if idle > 0 else float("inf"),
    )
    shown = 0
    try:
        for record in consumer:
            if record.value is None:
                continue
            if as_json:
                click.echo(record.value.decode())
            else:
                console.print(describe(Alert.model_validate_json(record.value), lang))
            shown += 1
            if limit and shown >= limit:
                break
    except KeyboardInterrupt:
        pass
    finally:
        consumer.close()


#: Terminal colours: red and yellow for harm, green for good news, cyan for watch.
SEVERITY_STYLE = {
    "critical": "bold red",
    "warning": "yellow",
    "strong": "bold green",
    "notable": "green",
    "watch": "cyan",
}


def describe(alert: Alert, lang: str) -> str:
    style = SEVERITY_STYLE[alert.severity.value]
    place = getattr(alert.area_name, lang)
    return (
        f"[{style}]{alert.severity.value:<8}[/] {alert.status.value:<8} {alert.polarity.value:<8} "
        f"{alert.kind.value:<22} {place} ({alert.area}) {alert.period} "
        f"#{alert.sequence} {alert.id}\n"
        f"         {getattr(alert.explanation, lang)}"
    )


# -- subscriptions --------------------------------------------------------------------------------


@click.group("subscriptions")
def subscriptions_group() -> None:
    """Manage subscriptions (ELY centres subscribing to region × sector signals).

    Subscriptions are events on the compacted topic tutka.subscriptions.v1, so every worker sees
    the same set. An ELY centre's subscription may only cover areas under its ELY area unless it
    declares national scope.
    """


def _book(settings: KafkaSettings) -> SubscriptionBook:
    names = topics_for(settings)
    consumer = KafkaConsumer(
        bootstrap_servers=settings.bootstrap, group_id=None, auto_offset_reset="earliest",
        consumer_timeout_ms=2000,
    )  # fmt: skip
    tp = TopicPartition(names.subscriptions, 0)
    consumer.assign([tp])
    consumer.seek_to_beginning(tp)
    end = consumer.end_offsets([tp])[tp]
    changes = []
    for record in consumer:
        if record.value is not None:
            changes.append(SUBSCRIPTION_CHANGE.validate_json(record.value))
        if record.offset + 1 >= end:
            break
    consumer.close()
    return fold_changes(changes)


def _send_change(
    settings: KafkaSettings, key: str, change: SubscriptionUpserted | SubscriptionRemoved
) -> None:
    producer = KafkaProducer(bootstrap_servers=settings.bootstrap, acks="all")
    producer.send(
        topics_for(settings).subscriptions,
        key=key.encode(),
        value=change.model_dump_json().encode(),
    )
    producer.flush()
    producer.close()


@subscriptions_group.command("add")
@click.option("--id", "subscription_id", required=True, help="Slug, e.g. lappi-teollisuus.")
@click.option("--owner", required=True, help="ELY centre (ELY15) or a national body (TEM).")
@click.option(
    "--national", is_flag=True, help="National scope (required outside the owner's ELY area)."
)
@click.option("--area", "areas", multiple=True, help="Area code; includes everything under it.")
@click.option("--sector", "sectors", multiple=True, help="TOL 2008 section or code.")
@click.option("--occupation", "occupations", multiple=True, help="ISCO-08 code (prefix).")
@click.option("--kind", "kinds", multiple=True, type=click.Choice([k.value for k in AlertKind]))
@click.option("--polarity", type=click.Choice(["negative", "positive"]))
@click.option("--min-severity", default="watch",
              type=click.Choice(["watch", "warning", "critical"]),
              show_default=True)  # fmt: skip
@click.option("--webhook", help="Deliver by signed HTTP POST to this URL (default: a Kafka topic).")
@click.pass_context
def add_subscription(ctx: click.Context, subscription_id: str, owner: str, national: bool,
                     areas: tuple[str, ...], sectors: tuple[str, ...], occupations: tuple[str, ...],
                     kinds: tuple[str, ...], polarity: str | None, min_severity: str,
                     webhook: str | None) -> None:  # fmt: skip
    """Add (or replace) a subscription; refused with a clear error if it breaks its scope."""
    context = load_context(ctx)
    settings = context.settings
    book = _book(settings.kafka)
    revision = (book.revision(subscription_id) or 0) + (
        1 if book.revision(subscription_id) is not None else 0
    )
    try:
        subscription = Subscription.model_validate({
            "id": subscription_id, "owner": owner, "scope": "national" if national else "own",
            "filters": {"areas": areas, "sectors": sectors, "occupations": occupations,
                        "kinds": kinds, "polarity": polarity, "min_severity": min_severity},
            "delivery": {"type": "webhook", "url": webhook} if webhook else {"type": "kafka"},
            "created": date.today().isoformat(), "revision": revision,
        })  # fmt: skip
        check_scope(subscription, context.hierarchy)
        if webhook:
            check_webhook(subscription, settings.webhook)
    except (ValueError, ValidationError) as exc:
        raise click.ClickException(f"subscription refused: {exc}") from exc
    names = topics_for(settings.kafka)
    ensure_topics(settings.kafka)
    if subscription.topic is not None:
        ensure_topics(
            settings.kafka,
            [TopicSpec(names.subscription(subscription.id), settings.kafka.partitions, {})],
        )
    _send_change(settings.kafka, subscription.id, SubscriptionUpserted(subscription=subscription))
    console.print(f"Subscription {subscription.id} (revision {revision}) for {owner}: "
                  f"{'national' if national else 'own'} scope.")  # fmt: skip
    if subscription.topic is not None:
        console.print(f"  delivered to topic {names.subscription(subscription.id)}")
    else:
        key = subscription_key(settings.webhook, subscription.id).hex()
        console.print(f"  delivered to {webhook}; HMAC-SHA256 key for the receiver: {key}")


@subscriptions_group.command("list")
def list_subscriptions() -> None:
    """List the current subscriptions."""
    settings = _settings().kafka
    ensure_topics(settings)
    book = _book(settings)
    names = topics_for(settings)
    for subscription in sorted(book.subscriptions.values(), key=lambda s: s.id):
        f = subscription.filters
        where = (
            names.subscription(subscription.id)
            if subscription.topic
            else str(getattr(subscription.delivery, "url", ""))
        )
        console.print(
            f"{subscription.id:<24} {subscription.owner:<6} {subscription.scope:<8} "
            f"areas={','.join(f.areas) or '*'} sectors={','.join(f.sectors) or '*'} "
            f"kinds={','.join(k.value for k in f.kinds) or '*'} ≥{f.min_severity.value} → {where}"
        )
    if not book.subscriptions:
        console.print("No subscriptions.")


@subscriptions_group.command("remove")
@click.argument("subscription_id")
def remove_subscription(subscription_id: str) -> None:
    """Remove a subscription (its topic and delivered alerts stay)."""
    settings = _settings().kafka
    book = _book(settings)
    current = book.subscriptions.get(subscription_id)
    if current is None:
        raise click.ClickException(f"no subscription {subscription_id!r}")
    removal = SubscriptionRemoved(
        id=subscription_id, revision=current.revision + 1, removed=date.today()
    )
    _send_change(settings, subscription_id, removal)
    console.print(f"Subscription {subscription_id} removed.")
