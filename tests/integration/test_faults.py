"""Faults of the world around the worker (issue #14): the broker goes away mid-stream.

The broker here is the test's own (a second local KRaft broker on fixed ports, so that it comes
back at the same address): the session's broker is shared by the other tests and stays up.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.workers import (
    MASTER_KEY,
    Worker,
    assert_same_alerts,
    publish_market,
    settle,
    versions,
    wait_until,
)
from tutka.config.areas import load_hierarchy
from tutka.config.catalogue import load_catalogue
from tutka.config.sectors import localized_sector_names
from tutka.config.settings import KafkaSettings
from tutka.dev.local_kafka import CACHE_ENV, LocalKafka, free_ports
from tutka.models.alerts import Alert
from tutka.replay import replay
from tutka.synthetic import generate, write
from tutka.worker.topics import Topics, ensure_topics

#: How long the broker stays away: longer than the worker's session timeout (8 s).
OUTAGE_SECONDS = 15.0


@pytest.fixture
def market(tmp_path: Path) -> tuple[Path, list[Alert]]:
    directory = tmp_path / "market"
    write(generate(seed=7, start="2016-01", end="2019-12"), directory)
    result = replay([directory], load_hierarchy(), load_catalogue(), localized_sector_names())
    return directory, result.alerts


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[LocalKafka]:
    port, controller_port = free_ports(2)
    cache = os.environ.get(CACHE_ENV)
    broker = LocalKafka(
        tmp_path / "kafka", port=port, controller_port=controller_port,
        cache_dir=Path(cache) if cache else None, stop_with_parent=True,
    )  # fmt: skip
    broker.start(timeout=120)
    try:
        yield broker
    finally:
        broker.clean()


def test_broker_stopped_and_restarted_mid_stream_loses_and_repeats_no_alert(
    own_broker: LocalKafka, market: tuple[Path, list[Alert]], tmp_path: Path
) -> None:
    directory, expected = market
    bootstrap = own_broker.bootstrap
    assert bootstrap is not None
    settings = KafkaSettings(bootstrap=bootstrap, namespace="fault.", partitions=3)
    names = Topics(settings.namespace)
    env = {**os.environ,
           "TUTKA_KAFKA__BOOTSTRAP": bootstrap, "TUTKA_KAFKA__NAMESPACE": settings.namespace,
           "TUTKA_KAFKA__PARTITIONS": "3", "TUTKA_KAFKA__IDLE_SECONDS": "4",
           "TUTKA_KAFKA__CHECKPOINT_SECONDS": "2", "TUTKA_KAFKA__SESSION_TIMEOUT_SECONDS": "8",
           "TUTKA_KAFKA__STALL_SECONDS": "30",
           "TUTKA_WEBHOOK__SIGNING_KEY": MASTER_KEY}  # fmt: skip
    ensure_topics(settings)
    publish_market(settings, directory)
    workers = [Worker(env, tmp_path / "worker-0.log")]
    try:
        wait_until(lambda: len(versions(bootstrap, names.alerts)) >= len(expected) // 3,
                   300, "a third of the alerts", poll=0.2)  # fmt: skip
        assert own_broker.stop(timeout=30), "the broker was not running"
        time.sleep(OUTAGE_SECONDS)
        assert own_broker.start(timeout=120) == bootstrap
        before = len(versions(bootstrap, names.alerts))
        assert before < len(expected), "the broker was not stopped mid-stream"
        # A worker that exits (the broker gone, or its watchdog found it hung) does so with
        # status 70, and the Worker restarts it as its supervisor would (compose: restart:
        # unless-stopped). Any other status is a crash: the worker was not restarted, and the
        # test fails on it below (it once exited 1: faust crashed on the broker's error).
        deadline = time.monotonic() + 300
        worker = workers[0]
        while len(versions(bootstrap, names.alerts)) < len(expected):
            assert time.monotonic() < deadline, f"timed out after 300 s waiting for {len(expected)}"
            assert worker.unexpected_exits == [], f"exit status {worker.unexpected_exits}"
            time.sleep(1)
        got = settle(bootstrap, names.alerts, len(expected), timeout=60)
        assert_same_alerts(got, expected)  # every version exactly once: 0 lost, 0 duplicated
        assert worker.unexpected_exits == []
        # Whether the outage ends the worker depends on what it was doing when the broker went
        # (its clients retry; reading the subscriptions gives up): riding the outage out is as
        # good, so only how it ended, if it did, is checked.
        text = worker.text()
        exits = text.count("the worker exited with status 70")
        assert exits == worker.restarts
        named = text.count("the broker is unavailable (")
        print(
            f"broker fault: {len(expected)} alert versions, {before} before the restart, "
            f"{1 + worker.restarts} worker process(es) ({worker.restarts} restarted after status "
            f"70, {named} of them naming the broker unavailable), 0 lost, 0 duplicated"
        )
    except AssertionError as exc:
        logs = "\n".join(f"--- {w.log.name}\n{w.text()[-3000:]}" for w in workers)
        raise AssertionError(f"{exc}\n{logs}\n--- broker\n{own_broker.log_tail(30)}") from exc
    finally:
        for worker in workers:
            worker.stop()
