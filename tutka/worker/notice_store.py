"""Where imported notices go: the notices topic (Kafka mode) or the embedded store.

Shared by ``tutka notices import`` and the room's upload, so that both send a notice the same
way: keyed by municipality (as ``tutka publish`` does, so a municipality's notices stay in
order), and in the embedded store as the JSON lines ``tutka replay`` reads.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tutka.config.settings import KafkaSettings
from tutka.models.events import LayoffNoticeFiled


def notices_topic(settings: KafkaSettings) -> str:
    """The notices topic's name (``tutka.notices.v1`` unless renamed in settings)."""
    from tutka.worker.topics import topics_for

    return topics_for(settings).of_type("layoff_notice")


def send_notices(producer: Any, topic: str, notices: Sequence[LayoffNoticeFiled]) -> None:
    """Send the notices with ``producer`` (a kafka-python producer) and wait for every ack."""
    futures = [
        producer.send(topic, key=n.municipality.encode(), value=n.model_dump_json().encode())
        for n in notices
    ]
    producer.flush()
    for future in futures:
        future.get(timeout=30)  # raises if the broker refused one: the caller reports failure


def publish_notices(settings: KafkaSettings, notices: list[LayoffNoticeFiled]) -> tuple[int, str]:
    """Send the notices to the notices topic keyed by municipality (as ``tutka publish`` does)."""
    from kafka import KafkaProducer

    from tutka.worker.topics import ensure_topics

    ensure_topics(settings)
    topic = notices_topic(settings)
    producer = KafkaProducer(bootstrap_servers=settings.bootstrap, acks="all", linger_ms=5)
    try:
        send_notices(producer, topic, notices)
    finally:
        producer.close()
    return len(notices), topic


def append_store(path: Path, notices: Sequence[LayoffNoticeFiled]) -> None:
    """Append the notices to the embedded store (JSON lines, as `tutka replay` reads them)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        for notice in notices:
            handle.write(json.dumps(notice.model_dump(mode="json"), ensure_ascii=False) + "\n")
