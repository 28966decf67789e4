"""Webhook lanes: one queue and one sender per webhook subscription, so that a slow or dead
receiver holds up its own alerts only.

The delivery agent hands each matching alert to its subscription's lane and moves on at once. A
lane sends its alerts in order; while its receiver keeps failing (connection refused, timeouts,
5xx, 429) it keeps the alert at its head and tries again after a pause, for up to
``patience_seconds``, then parks it on the delivery dead-letter topic and goes on. A lane holds
at most ``backlog`` alerts: one more is parked at once, never dropped and never unbounded.
Everything waiting is counted (``tutka_webhook_backlog``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Final

from tutka.models.subscriptions import Subscription
from tutka.webhooks import DeliveryResult

log = logging.getLogger("tutka.delivery")

#: Sends one alert once (with its own short retries); the lane decides about the long wait.
Send = Callable[[Subscription, bytes], Awaitable[DeliveryResult]]
#: Parks one alert on the dead-letter topic, with the reason.
Park = Callable[[Subscription, bytes, str], Awaitable[None]]
#: Pause between rounds while a receiver is down (each round is ``max_attempts`` tries).
ROUND_PAUSE_SECONDS: Final = 5.0


@dataclass
class _Lane:
    queue: asyncio.Queue[tuple[Subscription, bytes]]
    task: asyncio.Task[None]


@dataclass
class WebhookLanes:
    """The lanes of one worker, created on a subscription's first alert."""

    send: Send
    park: Park
    backlog: int
    patience_seconds: float
    on_backlog: Callable[[int], None] = lambda _n: None
    pause_seconds: float = ROUND_PAUSE_SECONDS
    clock: Callable[[], float] = time.monotonic
    parked_full: int = 0
    #: Alerts offered and not yet delivered or parked (queued or being sent).
    pending: int = 0
    _lanes: dict[str, _Lane] = field(default_factory=dict)

    def offer(self, subscription: Subscription, body: bytes) -> bool:
        """Queue ``body`` for ``subscription``; False when its lane is full (the caller parks)."""
        lane = self._lanes.get(subscription.id)
        if lane is None or lane.task.done():
            queue: asyncio.Queue[tuple[Subscription, bytes]] = asyncio.Queue(self.backlog)
            task = asyncio.get_running_loop().create_task(
                self._run(queue), name=f"webhook-lane-{subscription.id}"
            )
            lane = self._lanes[subscription.id] = _Lane(queue, task)
        try:
            lane.queue.put_nowait((subscription, body))
        except asyncio.QueueFull:
            self.parked_full += 1
            return False
        self.pending += 1
        self.on_backlog(self.waiting)
        return True

    @property
    def waiting(self) -> int:
        """Alerts queued in every lane (not counting those being sent)."""
        return sum(lane.queue.qsize() for lane in self._lanes.values())

    async def drained(self, timeout: float) -> bool:
        """Wait until every lane is empty and idle (tests, shutdown); True if it happened."""
        deadline = self.clock() + timeout
        while self.clock() < deadline:
            if self.pending == 0:
                return True
            await asyncio.sleep(0.05)
        return False

    async def close(self) -> None:
        for lane in self._lanes.values():
            lane.task.cancel()
        await asyncio.gather(*(lane.task for lane in self._lanes.values()), return_exceptions=True)

    async def _run(self, queue: asyncio.Queue[tuple[Subscription, bytes]]) -> None:
        while True:
            subscription, body = await queue.get()
            try:
                await self._deliver(subscription, body)
            except Exception:  # a bug in one delivery must not end the lane
                log.exception("webhook lane %s failed on an alert", subscription.id)
                await self.park(subscription, body, "the delivery failed unexpectedly")
            finally:
                self.pending -= 1
                self.on_backlog(self.waiting)

    async def _deliver(self, subscription: Subscription, body: bytes) -> None:
        started = self.clock()
        while True:
            result = await self.send(subscription, body)
            if result.delivered:
                return
            left = self.patience_seconds - (self.clock() - started)
            if result.permanent or left <= 0:
                await self.park(subscription, body, result.model_dump_json())
                return
            await asyncio.sleep(min(self.pause_seconds, left))
