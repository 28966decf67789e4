"""Subscription delivery: each alert on ``tutka.alerts.v1`` to the subscriptions it matches.

The set of subscriptions is the compacted topic ``tutka.subscriptions.v1`` folded into a
:class:`~tutka.models.subscriptions.SubscriptionBook`; every worker reads all of it (a timer follows
the topic), so any worker can deliver any alert. Delivery is at-least-once: a receiver deduplicates
on ``X-Tutka-Alert-Id`` + ``X-Tutka-Alert-Sequence`` (a Kafka subscriber on the alert's id and
sequence). Each webhook subscription has its own lane (:mod:`tutka.worker.lanes`), so a slow or
dead receiver holds up only its own alerts. A webhook that keeps failing does not lose the alert:
it is parked, with the reason, on ``tutka.deliveries.deadletter.v1``.

Nothing here blocks the event loop: a subscription's topic is created by kafka-python's
synchronous admin client in a thread, with a bounded wait (:func:`ensure_topics_in_thread`). The
broker gone (an infrastructure error) ends the worker with status 70 for its supervisor to restart
it; the alert being delivered is read again by the fresh worker (at-least-once).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import faust
from aiokafka import AIOKafkaConsumer
from aiokafka.structs import TopicPartition

from tutka.config.settings import Settings
from tutka.models.alerts import Alert
from tutka.models.areas import Hierarchy
from tutka.models.subscriptions import (
    SUBSCRIPTION_CHANGE,
    KafkaDelivery,
    ScopeError,
    Subscription,
    SubscriptionBook,
    apply_change,
    check_scope,
    matches,
)
from tutka.monitoring.metrics import Metrics
from tutka.webhooks import DeliveryResult, deliver, subscription_key, webhook_client
from tutka.worker.lanes import WebhookLanes
from tutka.worker.topics import TopicSpec, ensure_topics_in_thread, topics_for
from tutka.worker.watchdog import exit_for_restart, exit_if_infrastructure

log = logging.getLogger("tutka.delivery")

# Faust derived this agent name from module path + function when it was first deployed; spelled
# out, it stays the same wherever the module lives (see AGENT_INGEST in app.py).
AGENT_DELIVER = "streams.kafka.delivery.deliver_alerts"  # persisted name
#: The longest one reading of the subscriptions topic may take (it takes milliseconds).
FOLLOW_TIMEOUT_SECONDS = 60.0


@dataclass
class Deliveries:
    """The worker's view of the subscriptions and what it has delivered."""

    book: SubscriptionBook = field(default_factory=SubscriptionBook)
    position: int = 0
    topics_created: set[str] = field(default_factory=set)
    outcomes: Counter[str] = field(default_factory=Counter)
    lanes: WebhookLanes | None = None


def install(
    app: faust.App, settings: Settings, hierarchy: Hierarchy, metrics: Metrics
) -> Deliveries:
    """Add the delivery agent and the subscription follower to ``app``."""
    names = topics_for(settings.kafka)
    state = Deliveries()
    raw: dict[str, Any] = {
        "key_type": bytes,
        "value_type": bytes,
        "key_serializer": "raw",
        "value_serializer": "raw",
    }
    alerts = app.topic(names.alerts, **raw)
    parked = app.topic(names.delivery_deadletter, **raw)
    client = webhook_client(settings.webhook)

    async def send(subscription: Subscription, body: bytes) -> DeliveryResult:
        key = subscription_key(settings.webhook, subscription.id)
        result = await deliver(client, subscription, body, key, settings.webhook, time.time)
        state.outcomes[f"webhook_{result.outcome}"] += 1
        metrics.delivered("webhook", ok=result.delivered, retries=max(0, result.attempts - 1))
        return result

    lanes = WebhookLanes(
        send,
        lambda subscription, body, reason: _park(subscription, body, reason),
        backlog=settings.webhook.backlog,
        patience_seconds=settings.webhook.patience_seconds,
        on_backlog=metrics.webhook_backlog.set,
    )
    state.lanes = lanes

    @app.agent(alerts, name=AGENT_DELIVER)
    async def deliver_alerts(stream: Any) -> None:
        async for event in stream.events():
            if not event.value:
                continue
            try:
                await _deliver(event.key, event.value)
            except Exception as exc:
                # The broker, not the alert: the worker ends (status 70) before faust
                # acknowledges the alert, and a fresh one reads it again. (A crashed agent alone
                # would be restarted by faust past it.)
                exit_if_infrastructure(exc, "the delivery agent")
                raise

    async def _deliver(key: bytes | None, value: bytes) -> None:
        alert = Alert.model_validate_json(value)
        for subscription in list(state.book.subscriptions.values()):
            if not _allowed(subscription, hierarchy, state) or not matches(
                subscription, alert, hierarchy
            ):
                continue
            if isinstance(subscription.delivery, KafkaDelivery):
                topic = names.subscription(subscription.id)
                if topic not in state.topics_created:
                    spec = TopicSpec(topic, settings.kafka.partitions, {})
                    await ensure_topics_in_thread(settings.kafka, [spec])
                    state.topics_created.add(topic)
                await app.topic(topic, **raw).send(key=key, value=value)
                state.outcomes["kafka_delivered"] += 1
                metrics.delivered("kafka", ok=True)
                continue
            await _webhook(subscription, alert, value)

    async def _webhook(subscription: Subscription, alert: Alert, body: bytes) -> None:
        """Hand the alert to the subscription's lane (it sends; this agent goes on at once)."""
        try:
            subscription_key(settings.webhook, subscription.id)
            problem = None if lanes.offer(subscription, body) else "the lane's backlog is full"
        except ValueError as exc:
            problem = str(exc)
        if problem is not None:
            result_json = json.dumps(
                {"subscription_id": subscription.id, "alert_id": alert.id,
                 "alert_sequence": alert.sequence, "outcome": "failed", "attempts": 0,
                 "error": problem, "permanent": True}
            )  # fmt: skip
            await _park(subscription, body, result_json)
            metrics.delivered("webhook", ok=False)

    async def _park(subscription: Subscription, body: bytes, result_json: str) -> None:
        state.outcomes["parked"] += 1
        record = {"subscription": subscription.id, "result": json.loads(result_json),
                  "alert": json.loads(body)}  # fmt: skip
        await parked.send(key=subscription.id.encode(), value=json.dumps(record).encode())

    @app.timer(interval=1.0)
    async def follow_subscriptions() -> None:
        # The broker's errors end the worker with status 70 (exit_for_restart); any other
        # error crashes the app (faust's timers) with status 1: a bug.
        try:
            await asyncio.wait_for(
                _follow(settings.kafka.bootstrap, names.subscriptions, state),
                FOLLOW_TIMEOUT_SECONDS,
            )
        except TimeoutError:
            took = f"{FOLLOW_TIMEOUT_SECONDS:.0f} s"
            exit_for_restart(
                f"reading {names.subscriptions} took over {took}: the broker is unavailable"
            )
        except Exception as exc:
            exit_if_infrastructure(exc, f"reading {names.subscriptions}")
            raise

    return state


def _allowed(subscription: Subscription, hierarchy: Hierarchy, state: Deliveries) -> bool:
    """A subscription that breaks the scope rule (written around the CLI) delivers nothing."""
    try:
        check_scope(subscription, hierarchy)
    except ScopeError as exc:
        if state.outcomes[f"refused:{subscription.id}"] == 0:
            log.warning("subscription %s refused: %s", subscription.id, exc)
        state.outcomes[f"refused:{subscription.id}"] += 1
        return False
    return True


async def _follow(bootstrap: str, topic: str, state: Deliveries) -> None:
    """Fold the subscription changes that arrived since the last call into the book."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    try:
        await consumer.start()  # inside: a start that fails still closes what it opened
        tp = TopicPartition(topic, 0)
        end = (await consumer.end_offsets([tp]))[tp]
        if end <= state.position:
            return
        consumer.assign([tp])
        consumer.seek(tp, state.position)
        while await consumer.position(tp) < end:
            batch = await consumer.getmany(tp, timeout_ms=1000)
            for record in batch.get(tp, []):
                if record.value is not None:
                    state.book, outcome = apply_change(
                        state.book, SUBSCRIPTION_CHANGE.validate_json(record.value)
                    )
                    state.outcomes[f"change_{outcome}"] += 1
        state.position = end
    finally:
        await consumer.stop()
