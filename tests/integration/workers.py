"""Helpers for tests that run `tutka worker` processes against the session's broker."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kafka import KafkaConsumer, TopicPartition

from tutka.config.settings import KafkaSettings
from tutka.models.alerts import Alert
from tutka.streaming import MARKERS, publish
from tutka.worker.watchdog import STALLED_EXIT

MASTER_KEY = "integration-test-master-key-of-32-bytes+"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Worker:
    """A `tutka worker` process with its own log file, supervised the way compose supervises one.

    Compose (``restart: unless-stopped``) starts a fresh worker when one exits; a worker's
    watchdog exits with status 70 (``STALLED_EXIT``) when it finds the worker stuck, counting on
    that. So here too: a worker that exits 70 is started again at once with the same
    environment, its output appended to the same log after a line saying so, and ``restarts``
    counts it. Any other exit is not restarted and stays visible: ``process.poll()`` shows it and
    ``unexpected_exits`` lists it (the ``cluster`` fixture fails a test that had one). Once the
    test stops or kills the worker, nothing is restarted.
    """

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.log = log
        self.metrics_port = free_port()
        self.env = {**env, "TUTKA_METRICS__PORT": str(self.metrics_port),
                    "TUTKA_KAFKA__DATA_DIR": str(log.with_suffix(".data"))}  # fmt: skip
        log.write_text("")
        self.handle = log.open("a")  # O_APPEND: the processes' output and our lines interleave
        self.restarts = 0
        self.unexpected_exits: list[int] = []
        self._ended = False  # stopped or killed by the test
        self._lock = threading.Lock()
        self.process = self._spawn()
        self._supervisor = threading.Thread(target=self._supervise, daemon=True)
        self._supervisor.start()

    def _spawn(self) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "-m", "tutka", "worker", "--loglevel", "info"],
            env=self.env,
            stdout=self.handle,
            stderr=subprocess.STDOUT,
        )

    def _supervise(self) -> None:
        while True:
            code = self.process.wait()
            with self._lock:
                if self._ended:
                    return
                if code != STALLED_EXIT:
                    self.unexpected_exits.append(code)
                    return
                self.restarts += 1
                self.handle.write(f"--- test supervisor: the worker exited with status {code}; "
                                  f"restart {self.restarts}\n")  # fmt: skip
                self.handle.flush()
                self.process = self._spawn()

    def kill(self) -> None:
        with self._lock:
            self._ended = True
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        with self._lock:
            self._ended = True
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.kill()
        self._supervisor.join(timeout=5)
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
    wanted = {(a.id, a.sequence): a for a in expected}
    # Named, so that a failure says which versions and what they were about.
    missing = [describe(wanted[v]) for v in sorted(set(wanted) - set(counts))]
    extra = [describe(a) for a in got if (a.id, a.sequence) not in wanted]
    assert (missing, extra) == ([], []), f"missing: {missing}; not in replay: {extra}"
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


def describe(alert: Alert) -> str:
    return f"{alert.id} #{alert.sequence} {alert.status} {alert.group} on {alert.available_on}"


def publish_market(settings: KafkaSettings, directory: Path, batch: int = 1) -> int:
    from tutka.replay import load

    loaded, dead = load([directory])
    assert dead == []
    events = [r.item for r in loaded]
    sent = publish(settings, events, 0, True, batch=batch)  # type: ignore[arg-type]
    sent.pop(MARKERS, None)  # the end-of-release markers are not events
    return sum(sent.values())
