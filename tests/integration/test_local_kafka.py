"""The local Kafka broker and the integration fixtures, against real brokers (no mocks)."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner
from kafka import KafkaConsumer, KafkaProducer

from tutka.dev.local_kafka import (
    CACHE_ENV,
    HOST,
    KafkaSetupError,
    KafkaStartError,
    LocalKafka,
    free_port,
    is_listening,
    probe,
)

ReadTopic = Callable[..., list[Any]]
NewTopic = Callable[..., str]


def _cache_dir() -> Path | None:
    # The same jar cache as the session broker: a second broker must not download again.
    cache = os.environ.get(CACHE_ENV)
    return Path(cache) if cache else None


def _port(address: str) -> int:
    return int(address.rsplit(":", 1)[1])


def _alive(pid: int) -> bool:
    """Whether the process exists and has not exited (a zombie has, whoever reaps it)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def _bindable(port: int) -> bool:
    """Whether a new server could listen on the port (as Kafka would: with SO_REUSEADDR)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
        return True


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[LocalKafka]:
    """A second broker (not started) in its own home; always stopped and deleted afterwards."""
    broker = LocalKafka(
        tmp_path / "own", port=0, controller_port=0, cache_dir=_cache_dir(), stop_with_parent=True
    )
    try:
        yield broker
    finally:
        broker.clean()


def _produce(bootstrap: str, topic: str, records: list[tuple[str, dict[str, Any]]]) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    try:
        for key, value in records:
            producer.send(topic, key=key.encode(), value=json.dumps(value).encode()).get(timeout=30)
    finally:
        producer.close()


def test_everything_here_is_marked_integration(request: pytest.FixtureRequest) -> None:
    assert request.node.get_closest_marker("integration") is not None


def test_topic_prefix_is_unique_and_a_valid_dataset_key(topic_prefix: str) -> None:
    from tutka.config.settings import KafkaSettings

    assert KafkaSettings(dataset=topic_prefix).dataset == topic_prefix
    assert re.fullmatch(r"it-topic-prefix-is-uni-[0-9a-f]{8}", topic_prefix)


def test_produce_and_consume_round_trip(
    kafka_bootstrap: str, new_topic: NewTopic, read_topic: ReadTopic, topic_prefix: str
) -> None:
    topic = new_topic("events", partitions=3)
    sent = [(f"area-{i % 4}", {"seq": i}) for i in range(12)]
    _produce(kafka_bootstrap, topic, sent)

    # Without a group, from the beginning: everything, in order within each key.
    records = read_topic(topic, min_records=len(sent))
    assert len(records) == len(sent)
    by_key: dict[str, list[int]] = {}
    for record in records:
        by_key.setdefault(record.key.decode(), []).append(json.loads(record.value)["seq"])
    assert by_key == {f"area-{k}": [i for i in range(12) if i % 4 == k] for k in range(4)}
    assert {r.partition for r in records} <= {0, 1, 2}

    # As a consumer group, as the faust worker consumes: the group coordinator works too.
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=kafka_bootstrap,
        group_id=f"{topic_prefix}-group",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    try:
        seen: list[int] = []
        deadline = time.monotonic() + 30
        while len(seen) < len(sent) and time.monotonic() < deadline:
            for chunk in consumer.poll(timeout_ms=500).values():
                seen.extend(json.loads(r.value)["seq"] for r in chunk)
        consumer.commit()
        assert sorted(seen) == list(range(12))
        committed = sum(consumer.committed(tp) or 0 for tp in consumer.assignment())
        assert committed == len(sent)
    finally:
        consumer.close()


def test_a_second_broker_starts_idempotently_and_stops_cleanly(
    kafka_bootstrap: str, own_broker: LocalKafka, read_topic: ReadTopic, topic_prefix: str
) -> None:
    assert own_broker.status()["running"] is False
    address = own_broker.start(timeout=120)
    port = _port(address)
    assert address.startswith(f"{HOST}:") and address != kafka_bootstrap

    status = own_broker.status()
    pid = status["pid"]
    assert pid is not None and _alive(pid)
    assert status["running"] and own_broker.is_running()
    assert (status["bootstrap"], status["port"], status["formatted"]) == (address, port, True)
    assert status["controller_port"] not in (None, port)
    assert own_broker.pid_file.read_text().strip() == str(pid)

    # Idempotent, also through another object on the same home (a second `tutka dev kafka start`).
    assert own_broker.start() == address
    same_home = LocalKafka(own_broker.home, port=0, controller_port=0, cache_dir=_cache_dir())
    assert same_home.start() == address
    assert own_broker.status()["pid"] == pid
    with pytest.raises(KafkaStartError, match="already runs"):
        LocalKafka(own_broker.home, port=free_port(), controller_port=0).start()

    # It is a real, independent broker; the session's broker is untouched by it.
    topic = f"{topic_prefix}-own"
    _produce(address, topic, [("k", {"on": "second"})])
    assert [r.value for r in read_topic(topic, bootstrap=address)] == [b'{"on": "second"}']
    assert probe(kafka_bootstrap)["brokers"]

    started = time.monotonic()
    assert own_broker.stop() is True
    assert time.monotonic() - started < 30, "SIGTERM should be enough; SIGKILL was needed"
    assert not _alive(pid) and not Path(f"/proc/{pid}").exists()
    assert not is_listening(port) and _bindable(port)
    assert not own_broker.pid_file.exists()
    assert own_broker.status()["running"] is False and own_broker.status()["bootstrap"] is None
    assert own_broker.stop() is False
    assert probe(kafka_bootstrap)["brokers"]


def test_restart_keeps_data_and_ignores_a_stale_pid_file(
    own_broker: LocalKafka, read_topic: ReadTopic, topic_prefix: str
) -> None:
    first = own_broker.start(timeout=120)
    topic = f"{topic_prefix}-kept"
    _produce(first, topic, [("k", {"n": 1})])
    own_broker.stop()

    # A pid file naming a live process that is not this home's broker: it must not count as
    # running, and must never be signalled.
    bystander = subprocess.Popen(["sleep", "60"])
    try:
        own_broker.pid_file.write_text(f"{bystander.pid}\n")
        assert not own_broker.is_running()
        second = own_broker.start(timeout=120)
        assert bystander.poll() is None
        assert own_broker.status()["pid"] != bystander.pid
        assert [r.value for r in read_topic(topic, bootstrap=second)] == [b'{"n": 1}']
        own_broker.stop()
        assert bystander.poll() is None
    finally:
        bystander.kill()
        bystander.wait()


def test_a_broker_that_dies_fails_loudly_with_its_log(own_broker: LocalKafka) -> None:
    own_broker.start(timeout=120)
    own_broker.stop()
    meta = own_broker.data_dir / "meta.properties"
    meta.write_text(meta.read_text().replace("node.id=1", "node.id=7"))

    with pytest.raises(KafkaStartError) as failure:
        own_broker.start(timeout=60)
    message = str(failure.value)
    assert "not running" in message and "last lines of" in message
    assert "node.id" in message or "node id" in message  # Kafka's own words, from kafka.log
    assert not own_broker.is_running() and not own_broker.pid_file.exists()


def test_a_test_broker_dies_with_the_process_that_started_it(tmp_path: Path) -> None:
    # What a pytest killed by SIGKILL (a CI timeout) would leave behind: nothing.
    home = tmp_path / "orphan"
    cache = _cache_dir()
    script = textwrap.dedent(
        f"""
        import sys
        from pathlib import Path
        from tutka.dev.local_kafka import LocalKafka
        cache = {str(cache) if cache else None!r}
        broker = LocalKafka(Path({str(home)!r}), port=0, controller_port=0,
                            cache_dir=Path(cache) if cache else None, stop_with_parent=True)
        broker.start(timeout=120)
        print(broker.status()["pid"], flush=True)
        sys.stdin.read()  # until killed
        """
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", script],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert parent.stdout is not None and parent.stderr is not None
        line = parent.stdout.readline()
        if not line.strip():
            pytest.fail(f"the helper process did not start a broker:\n{parent.stderr.read()}")
        pid = int(line)
        assert _alive(pid)
        parent.kill()
        parent.wait(timeout=10)
        deadline = time.monotonic() + 30
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(pid), "the broker outlived the process that started it"
    finally:
        parent.kill()
        parent.wait()
        for stream in (parent.stdin, parent.stdout, parent.stderr):
            if stream is not None:
                stream.close()
        LocalKafka(home).clean()  # stops it if the assertion above failed


def test_missing_java_or_maven_is_a_clear_error(tmp_path: Path) -> None:
    home = tmp_path / "home"
    no_java = LocalKafka(home, port=0, controller_port=0, java=str(tmp_path / "no-such-java"))
    with pytest.raises(KafkaSetupError, match=r"Java \(java\) not found: .*no-such-java"):
        no_java.start()
    assert not no_java.is_running() and not home.exists()

    # Maven is only needed while the jar cache is empty.
    no_mvn = LocalKafka(
        home, port=0, controller_port=0, cache_dir=tmp_path / "libs", mvn="no-such-mvn"
    )
    with pytest.raises(KafkaSetupError, match=r"Maven \(mvn\) not found: 'no-such-mvn'"):
        no_mvn.start()
    assert not (tmp_path / "libs").exists() and not home.exists()


def test_unwritable_jar_cache_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")  # even root cannot create a directory below a file
    broker = LocalKafka(
        tmp_path / "home", port=0, controller_port=0, cache_dir=blocker / "kafka" / "libs"
    )
    with pytest.raises(KafkaSetupError, match=r"cannot write the Kafka jar cache .*TUTKA_DEVKAFKA"):
        broker.start()
    assert not broker.is_running()


def test_unreachable_maven_central_is_a_clear_error(tmp_path: Path) -> None:
    # Real Maven with an empty local repository and a mirror on a closed loopback port: exactly
    # what a machine without access to Maven Central sees.
    settings = tmp_path / "settings.xml"
    settings.write_text(
        "<settings><mirrors><mirror><id>nowhere</id><mirrorOf>*</mirrorOf>"
        f"<url>http://{HOST}:{free_port()}/</url></mirror></mirrors></settings>"
    )
    broker = LocalKafka(
        tmp_path / "home",
        port=0,
        controller_port=0,
        cache_dir=tmp_path / "cache" / "libs",
        maven_args=["-s", str(settings), f"-Dmaven.repo.local={tmp_path / 'm2'}"],
    )
    with pytest.raises(KafkaSetupError, match="Maven Central is not reachable") as failure:
        broker.start()
    assert "Connection refused" in str(failure.value)  # Maven's own words are kept
    assert not (tmp_path / "cache" / "libs").exists()  # no half-filled cache left behind
    assert list((tmp_path / "cache").iterdir()) == []


def test_read_topic_waits_for_a_topic_without_creating_it(
    kafka_admin: Any, read_topic: ReadTopic, topic_prefix: str
) -> None:
    missing = f"{topic_prefix}-never"
    with pytest.raises(pytest.fail.Exception, match="did not appear"):
        read_topic(missing, timeout=1.0)
    assert missing not in kafka_admin.list_topics()


def test_the_cli_starts_reports_stops_and_cleans(tmp_path: Path) -> None:
    from tutka.cli import cli  # here, so that the rest of this file does not depend on it
    from tutka.dev.cli import kafka_group

    dev = cli.get_command(click.Context(cli), "dev")
    assert isinstance(dev, click.Group)
    assert dev.get_command(click.Context(dev), "kafka") is kafka_group
    home = tmp_path / "cli"
    cache = _cache_dir()
    env = {CACHE_ENV: str(cache)} if cache else {}
    runner = CliRunner()
    start = ["dev", "kafka", "start", "--port", "0", "--controller-port", "0", "--home", str(home)]
    try:
        started = runner.invoke(cli, start, env=env)
        assert started.exit_code == 0, started.output
        address = started.stdout.strip()  # stdout is the address alone, for $(...)
        assert re.fullmatch(rf"{re.escape(HOST)}:\d+", address)
        assert f"export TUTKA_KAFKA__BOOTSTRAP={address}" in started.stderr
        again = runner.invoke(cli, start, env=env)
        assert again.stdout.strip() == address and "already running" in again.stderr

        status = runner.invoke(cli, ["dev", "kafka", "status", "--json", "--home", str(home)])
        assert status.exit_code == 0
        report = json.loads(status.stdout)
        assert report["running"] and report["bootstrap"] == address
        assert probe(address)["brokers"][0]["port"] == _port(address)

        stopped = runner.invoke(cli, ["dev", "kafka", "stop", "--home", str(home)])
        assert stopped.exit_code == 0 and "Stopped" in stopped.stderr
        assert not is_listening(_port(address))
        assert runner.invoke(cli, ["dev", "kafka", "status", "--home", str(home)]).exit_code == 1

        cleaned = runner.invoke(cli, ["dev", "kafka", "clean", "--home", str(home)])
        assert cleaned.exit_code == 0 and not home.exists()
    finally:
        LocalKafka(home).clean()
