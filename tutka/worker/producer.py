"""The worker's Kafka producer: every topic it sends to stays in its metadata.

aiokafka's client refreshes the metadata of the topics it *tracks*, or of every topic while it
tracks none; each refresh replaces what it knew. A producer's send tracks its topic only if the
topic is unknown at that moment, so a worker whose first refreshes covered every topic tracks
none of the topics it sends to (alerts, events, the changelog). The first send to a brand-new
topic (a Kafka subscription's, created a moment before) tracks that topic alone: the next refresh
asks for it alone, and every other topic drops out of the metadata. A batch already waiting for
one of them (an alert the core awaits) then has no leader, and the sender asks for metadata again
at once — for the new topic only — in a loop without end: thousands of requests a second, nothing
sent, the core waiting for its alert, faust's commit waiting for the producer. Nothing is logged.

Seen in CI as a worker that did nothing for minutes after creating a subscription's topic
(``tests/integration/test_worker.py::test_subscribers_get_exactly_what_their_filters_match``,
4 runs in 18 here; the broker's request log showed the loop), and reproduced with
aiokafka alone (``tests/integration/test_producer_kafka.py``). :class:`TrackingProducer` tracks
every topic before its first send, so a refresh never drops a topic the producer has a batch for.
"""

from __future__ import annotations

from typing import Any

from aiokafka import AIOKafkaProducer
from faust.transport.drivers.aiokafka import Producer as AIOKafkaTransportProducer


class TrackingProducer(AIOKafkaProducer):  # type: ignore[misc]
    """An aiokafka producer whose client tracks each topic before the first send to it."""

    def __init__(self, **settings: Any) -> None:
        super().__init__(**settings)
        self.tracked: set[str] = set()

    async def send(self, topic: str, *args: Any, **kwargs: Any) -> Any:
        if topic not in self.tracked:
            self.client.add_topic(topic)  # a known topic: one refresh, with it tracked
            self.tracked.add(topic)
        return await super().send(topic, *args, **kwargs)


class Producer(AIOKafkaTransportProducer):
    """Faust's Kafka producer, making a :class:`TrackingProducer`."""

    @property
    def _producer_type(self) -> type[Any]:
        return TrackingProducer
