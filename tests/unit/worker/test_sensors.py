"""Faust's Prometheus sensor with its label children cached: the same series, the same values."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from faust.sensors.prometheus import FaustMetrics, PrometheusMonitor
from faust.types import TP
from prometheus_client import CollectorRegistry

from tutka.worker.sensors import CachedPrometheusMonitor


def samples(registry: CollectorRegistry) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for metric in registry.collect()
        for s in metric.samples
        if not s.name.endswith(("_bucket", "_sum", "_count", "_created"))
    }


class Stream:
    """What the sensor reads of a faust stream."""

    def __init__(self, shortlabel: str) -> None:
        self.shortlabel = shortlabel
        self.task_owner = self  # an agent's task, as faust keys it (weakly)


def drive(monitor: PrometheusMonitor) -> None:
    """Records in, events through two streams, records out; a rebalance; more of the same."""
    streams = [Stream(f"Stream: Topic: tutka.{name}.v1") for name in ("notices", "events")]
    for round_ in range(2):
        if round_:
            monitor.on_rebalance_start(SimpleNamespace(rebalancing_count=1))  # type: ignore[arg-type]
        for offset in range(5):
            for tp in (TP("tutka.notices.v1", 0), TP("tutka.notices.v1", 1), TP("a.b", 0)):
                message = SimpleNamespace(time_in=None)
                monitor.on_message_in(tp, offset + 10 * round_, message)  # type: ignore[arg-type]
                stream = streams[offset % 2]
                monitor.on_stream_event_in(tp, offset, stream, None)  # type: ignore[arg-type]
                monitor.on_send_initiated(None, tp.topic, None, 1, 2)  # type: ignore[arg-type]


def test_the_cached_sensor_exports_what_faust_s_own_does_across_a_rebalance() -> None:
    registries: list[CollectorRegistry] = []
    for kind in (PrometheusMonitor, CachedPrometheusMonitor):
        registry = CollectorRegistry()
        monitor: Any = kind(FaustMetrics.create(registry, "tutka_faust"))
        drive(monitor)
        registries.append(registry)
    stock, cached = (samples(r) for r in registries)
    assert cached == stock
    # After the rebalance cleared them, the partitions' offsets and the topics' counts are
    # exported again, from the second round only.
    key = ("tutka_faust_messages_received_per_topics_partition",
           (("partition", "1"), ("topic", "tutka.notices.v1")))  # fmt: skip
    assert cached[key] == 14
    assert cached[("tutka_faust_messages_received_per_topic_total", (("topic", "a.b"),))] == 5
    assert cached[("tutka_faust_topic_messages_sent_total", (("topic", "topic.a.b"),))] == 5
    assert cached[("tutka_faust_total_events_total", ())] == 30
