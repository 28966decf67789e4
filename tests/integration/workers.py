"""Helpers for tests that run `tutka worker` processes against the session's broker."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kafka import KafkaConsumer, TopicPartition

from tutka.config.settings import KafkaSettings
from tutka.models.alerts import Alert
from tutka.streaming import MARKERS, publish

MASTER_KEY = "integration-test-master-key-of-32-bytes+"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Worker:
    """A `tutka worker` process with its own log file."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.log = log
        self.metrics_port = free_port()
        env = {**env, "TUTKA_METRICS__PORT": str(self.metrics_port),
               "TUTKA_KAFKA__DATA_DIR": str(log.with_suffix(".data"))}  # fmt: skip
        self.handle = log.open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tutka", "worker", "--loglevel", "info"],
            env=env,
            stdout=self.handle,
            stderr=subprocess.STDOUT,
        )

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.kill()
        self.handle.close()

    def text(self) -> str:
        return self.log.read_text(errors="replace")


def records(bootstrap: str, topic: str) -> list[Any]:
    """Every record of ``topic`` now, without a consumer group."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    try:
        parts = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in parts]
        if not tps:
            return []
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        ends = consumer.end_offsets(tps)
        out: list[Any] = []
        while any(consumer.position(tp) < ends[tp] for tp in tps):
            for batch in consumer.poll(timeout_ms=500).values():
                out.extend(batch)
        return sorted(out, key=lambda r: (r.partition, r.offset))
    finally:
        consumer.close()


def versions(bootstrap: str, topic: str) -> list[Alert]:
    return [Alert.model_validate_json(r.value) for r in records(bootstrap, topic) if r.value]


def wait_until(condition: Callable[[], bool], timeout: float, what: str, poll: float = 0.5) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(poll)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def settle(bootstrap: str, topic: str, expected: int, timeout: float = 240) -> list[Alert]:
    """Wait for ``expected`` alert versions, then a little longer: nothing more may come."""
    wait_until(lambda: len(versions(bootstrap, topic)) >= expected, timeout, f"{expected} alerts")
    time.sleep(8)
    return versions(bootstrap, topic)


def assert_same_alerts(got: list[Alert], expected: list[Alert]) -> None:
    counts = Counter((a.id, a.sequence) for a in got)
    duplicated = sorted(v for v, n in counts.items() if n > 1)
    assert duplicated == [], f"alert versions published twice: {duplicated}"
    assert set(counts) == {(a.id, a.sequence) for a in expected}
    by_version = {(a.id, a.sequence): a for a in expected}
    for alert in got:
        want = by_version[(alert.id, alert.sequence)].model_dump()
        have = alert.model_dump()
        differs = {k: (have[k], want[k]) for k in want if have[k] != want[k]}
        assert differs == {}, f"{alert.id} #{alert.sequence} differs from replay: {differs}"
    # Per alert, its versions come in order on the topic (one group, one partition).
    for alert_id in {a.id for a in got}:
        sequences = [a.sequence for a in got if a.id == alert_id]
        assert sequences == sorted(sequences)


def publish_market(settings: KafkaSettings, directory: Path) -> int:
    from tutka.replay import load

    loaded, dead = load([directory])
    assert dead == []
    sent = publish(settings, [r.item for r in loaded], 0, True)  # type: ignore[misc]
    sent.pop(MARKERS, None)  # the end-of-release markers are not events
    return sum(sent.values())
