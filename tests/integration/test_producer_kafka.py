"""The producer's metadata (tutka.worker.producer): a send to a brand-new topic must not strand
the batches already waiting for other topics.

The stall of ``test_subscribers_get_exactly_what_their_filters_match`` (a worker that did nothing
for minutes after creating a subscription's topic): aiokafka's producer tracked none of the topics
it had sent to, the first send to the new topic narrowed its metadata to that topic alone, and
the batch waiting for the alerts topic lost its leader for good; the broker's request log showed
thousands of metadata requests a second. Here the same with aiokafka alone, on the real broker.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer

from tutka.worker.producer import TrackingProducer

#: Longer than the batch's linger: a batch not sent by then is stranded.
PATIENCE_SECONDS = 6.0


async def a_send_to_a_new_topic_while_a_batch_waits(
    bootstrap: str, producer_type: type[Any], waiting: str, create: Callable[[str], str]
) -> bool:
    """Whether the batch waiting for ``waiting`` is delivered after a send to a new topic."""
    producer = producer_type(bootstrap_servers=bootstrap, linger_ms=1000)
    await producer.start()
    try:
        # Tracking no topic yet, the client refreshes the metadata of every topic: ``waiting``
        # is known before the first send to it, as the worker's topics were.
        await producer.client.force_metadata_update()
        pending = await producer.send(waiting, b"an alert")  # lingers in a batch for 1 s
        new = create("sub")  # a subscription's topic, created by the admin client meanwhile
        await producer.send(new, b"its first delivery")
        try:
            await asyncio.wait_for(asyncio.shield(pending), PATIENCE_SECONDS)
        except TimeoutError:
            return False
        return True
    finally:
        with contextlib.suppress(TimeoutError):  # a stranded producer cannot flush
            await asyncio.wait_for(producer.stop(), 5)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("producer", "delivered"),
    [
        # The upstream bug the worker works around: when this case fails, aiokafka has fixed it.
        pytest.param(AIOKafkaProducer, False, id="plain-aiokafka-strands-the-batch"),
        pytest.param(TrackingProducer, True, id="the-worker-s-producer-delivers-it"),
    ],
)
def test_a_batch_waiting_while_a_new_topic_is_first_sent_to(
    kafka_bootstrap: str, new_topic: Any, producer: type[AIOKafkaProducer], delivered: bool
) -> None:
    waiting = new_topic("alerts")
    assert (
        asyncio.run(
            a_send_to_a_new_topic_while_a_batch_waits(kafka_bootstrap, producer, waiting, new_topic)
        )
        is delivered
    )
