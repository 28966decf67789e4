"""`tutka worker` on a real Kafka broker: the same alerts as `tutka replay`, whatever happens.

Each test runs real worker processes (`tutka worker`) against the session's broker, in its own
topic namespace, on a small synthetic market (2016–2019: a layoff wave, a nationwide downturn).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from datetime import date
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from kafka import KafkaConsumer, KafkaProducer
from kafka.admin import KafkaAdminClient
from kafka.coordinator.assignors.abstract import AbstractPartitionAssignor
from kafka.protocol.consumer.metadata import (
    ConsumerProtocolAssignment,
    ConsumerProtocolSubscription,
)

from tests.integration.workers import (
    MASTER_KEY,
    assert_same_alerts,
    publish_market,
    records,
    settle,
    versions,
    wait_until,
)
from tutka.config.areas import load_hierarchy
from tutka.config.catalogue import load_catalogue
from tutka.config.sectors import localized_sector_names
from tutka.models.alerts import Alert
from tutka.models.markers import ReleaseJudged
from tutka.models.subscriptions import Subscription, SubscriptionUpserted, matches
from tutka.replay import replay
from tutka.streaming import publish
from tutka.synthetic import generate, write
from tutka.webhooks import derive_key
from tutka.worker.intake import BATCH_EVENTS

HIERARCHY = load_hierarchy()
Version = tuple[str, int]


@pytest.fixture(scope="module")
def market(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Alert]]:
    """The synthetic data set, and every alert version `tutka replay` emits for it."""
    directory = tmp_path_factory.mktemp("market")
    write(generate(seed=7, start="2016-01", end="2019-12"), directory)
    result = replay([directory], HIERARCHY, load_catalogue(), localized_sector_names())
    assert len(result.alerts) >= 20, "the scenario should raise a fair number of alerts"
    return directory, result.alerts


# -- 1. end to end --------------------------------------------------------------------------------


def test_the_worker_publishes_exactly_what_replay_produces(
    cluster: dict[str, Any], market: Any
) -> None:
    directory, expected = market
    settings, names = cluster["settings"], cluster["topics"]
    # In batch records (the other tests send a record per event: both shapes are held to the
    # replay's alerts).
    assert publish_market(settings, directory, batch=BATCH_EVENTS) > 50_000
    cluster["start"]()
    got = settle(settings.bootstrap, names.alerts, len(expected))
    assert_same_alerts(got, expected)
    # Alerts are keyed by their group, so one group's story stays in one partition, in order.
    for record in records(settings.bootstrap, names.alerts):
        assert record.key.decode() == json.loads(record.value)["group"]


def test_a_release_with_its_markers_is_judged_without_waiting_for_quiet(
    cluster: dict[str, Any], market: Any
) -> None:
    """Published up to the release that opens the first alert, and no further: with
    ``idle_seconds`` at 600 only the publisher's end-of-release markers can close that release
    (no later release begins, the stream is not quiet long enough), and its alert comes out."""
    directory, expected = market
    settings, names = cluster["settings"], cluster["topics"]
    wanted = publish_first_release(settings, directory, expected)
    cluster["start"](TUTKA_KAFKA__IDLE_SECONDS="600")
    got = assert_first_release(settings, names, wanted, expected)
    # Every release, closed by its markers, is acknowledged once, in order, after its alerts:
    # together they account for every alert version published.
    last = min(a.available_on for a in expected)

    def acknowledged() -> list[ReleaseJudged]:
        out = records(settings.bootstrap, names.releases)
        return [ReleaseJudged.model_validate_json(r.value) for r in out]

    wait_until(lambda: any(j.published == last for j in acknowledged()), 60, "its acknowledgement")
    judged = acknowledged()
    days = [j.published for j in judged]
    assert days == sorted(set(days)) and days[-1] == last and len(days) > 12
    assert sum(j.alerts for j in judged) == len(got)
    assert judged[-1].alerts >= len(wanted) and all(j.events > 0 for j in judged)


def publish_first_release(settings: Any, directory: Path, expected: list[Alert]) -> set[Version]:
    """The events up to the release that opens the first alert, with their markers; its alerts."""
    from tutka.replay import load
    from tutka.streams.ordering import ordering_key

    first = min(expected, key=lambda a: a.available_on)
    loaded, _ = load([directory])
    events = sorted((r.item for r in loaded), key=ordering_key)  # type: ignore[arg-type]
    upto = [e for e in events if e.available_on <= first.available_on]
    assert len(upto) < len(events)
    sent = publish(settings, upto, 0, True, markers=True)
    assert sent["markers"] > 0
    return {(a.id, 1) for a in expected if a.available_on == first.available_on}


def assert_first_release(
    settings: Any, names: Any, wanted: set[Version], expected: list[Alert]
) -> list[Alert]:
    """The first release's alerts come out, each once and as replay makes them."""
    wait_until(lambda: wanted <= {(a.id, a.sequence) for a in versions(settings.bootstrap,
               names.alerts)}, 240, "the alerts of the last release published")  # fmt: skip
    got = versions(settings.bootstrap, names.alerts)
    assert_same_alerts(got, [a for a in expected if (a.id, a.sequence) in {
        (g.id, g.sequence) for g in got}])  # fmt: skip
    return got


# -- 2. bad input ----------------------------------------------------------------------------------


def test_bad_input_becomes_dead_letters_and_good_events_are_unaffected(
    cluster: dict[str, Any], market: Any
) -> None:
    directory, expected = market
    settings, names = cluster["settings"], cluster["topics"]
    from tutka.replay import load

    loaded, _ = load([directory])
    events = [r.item for r in loaded]
    half = len(events) // 2
    publish(settings, events[:half], 0, True)  # type: ignore[arg-type]
    good = events[half]
    bad = {
        "garbage": (names.vacancies, b"\x00\xff not even text \xfe"),
        "not_json": (names.unemployment, b'{"type": "unemployment", "area": '),
        "wrong_schema": (names.unemployment, _json({"type": "unemployment", "colour": "red"})),
        "personal": (names.notices, _json({**_notice(), "employer": "Matti 131052-308T"})),
        "nan": (names.vacancies, _nan_vacancy()),
        "wrong_topic": (names.notices, good.model_dump_json().encode()),
        "unknown_area": (names.unemployment, _unknown_area()),
    }  # fmt: skip
    producer = KafkaProducer(bootstrap_servers=settings.bootstrap, acks="all")
    sent = {}
    for name, (topic, payload) in bad.items():
        meta = producer.send(topic, key=b"bad", value=payload).get(timeout=30)
        sent[name] = (meta.topic, meta.partition, meta.offset)
    producer.flush()
    publish(settings, events[half:], 0, True)  # type: ignore[arg-type]
    cluster["start"]()
    got = settle(settings.bootstrap, names.alerts, len(expected))
    assert_same_alerts(got, expected)
    letters = [json.loads(r.value) for r in records(settings.bootstrap, names.deadletter)]
    by_origin = {(d["origin"]["topic"], d["origin"]["partition"], d["origin"]["offset"]): d
                 for d in letters if d["origin"]["topic"] != names.events}  # fmt: skip
    for name, origin in sent.items():
        if name == "unknown_area":
            continue  # valid on its face: the engine rejects it (checked below)
        assert origin in by_origin, f"{name} missing from the dead-letter topic"
        letter = by_origin[origin]
        assert letter["summary"] and letter["error_type"], letter
    assert by_origin[sent["garbage"]]["reason"] == "decode"
    assert by_origin[sent["garbage"]]["raw_encoding"] == "base64"
    assert by_origin[sent["not_json"]]["error_type"] == "json_invalid"
    assert by_origin[sent["wrong_schema"]]["reason"] == "validation"
    assert by_origin[sent["personal"]]["error_type"] == "personal_data"
    assert "131052-308T" not in json.dumps(by_origin[sent["personal"]])
    assert by_origin[sent["wrong_topic"]]["error_type"] in ("wrong_topic",)
    assert by_origin[sent["nan"]]["reason"] in ("decode", "validation")
    engine_rejections = [d for d in letters if d["origin"]["topic"] == names.events]
    assert [d["error_type"] for d in engine_rejections] == ["unknown_area"]
    assert len(letters) == len(bad), "each bad record exactly once"


def _json(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload).encode()


def _notice() -> dict[str, Any]:
    return {
        "type": "layoff_notice", "notice_id": "bad-1", "employer": "X Oy",
        "business_id": "0112038-9", "municipality": "KU240", "sector": "C", "kind": "dismissal",
        "persons": 5, "announced": "2018-03-01", "effective_from": "2018-04-01",
    }  # fmt: skip


def _nan_vacancy() -> bytes:
    return (b'{"type":"vacancies","area":"MK19","period":"2018-01","measure":"open_at_month_end",'
            b'"value":NaN,"published":"2018-02-26"}')  # fmt: skip


def _unknown_area() -> bytes:
    return (b'{"type":"unemployment","area":"KU999","period":"2018-01",'
            b'"measure":"unemployed_jobseekers","value":5,"published":"2018-02-26"}')  # fmt: skip


# -- 3. kill -9 halfway -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("batch", "share"),
    [(1, 1 / 3), (BATCH_EVENTS, 3 / 4)],
    ids=["a record per event, killed at a third", "batch records, killed at three quarters"],
)
def test_a_killed_worker_is_replaced_without_losing_or_repeating_alerts(
    cluster: dict[str, Any], market: Any, batch: int, share: float
) -> None:
    """The second worker restores the first's checkpoint, reads the rest of the ordered stream
    and the alerts published since, and its ingest reads the input again from the last
    committed offset: copies the core must skip. With batch records the ingest has run far
    ahead of the core by then (its copies are of notices the engine has since forgotten)."""
    directory, expected = market
    settings, names = cluster["settings"], cluster["topics"]
    publish_market(settings, directory, batch=batch)
    first = cluster["start"]("first")
    wait_until(lambda: len(versions(settings.bootstrap, names.alerts)) >= len(expected) * share,
               180, "part of the alerts", poll=0.2)  # fmt: skip
    first.kill()
    published_before = len(versions(settings.bootstrap, names.alerts))
    assert published_before < len(expected), "the worker was not killed halfway"
    assert "core restored at offset -1" in first.text()
    second = cluster["start"]("second")
    got = settle(settings.bootstrap, names.alerts, len(expected))
    assert_same_alerts(got, expected)
    assert "core restored at offset" in second.text()
    assert "core restored at offset -1" not in second.text(), "no checkpoint was used"


# -- 4. two workers, one stops ---------------------------------------------------------------------


def test_two_workers_share_the_partitions_and_one_takes_over(
    cluster: dict[str, Any], market: Any, kafka_bootstrap: str
) -> None:
    directory, expected = market
    settings, names = cluster["settings"], cluster["topics"]
    one, two = cluster["start"]("one"), cluster["start"]("two")
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    try:

        def members() -> int:
            described = admin.describe_groups([names.app_id]).get(names.app_id, {})
            return len(described.get("members", []))

        wait_until(lambda: members() == 2, 90, "both workers in the group")
    finally:
        admin.close()
    publish_market(settings, directory)
    wait_until(lambda: len(versions(settings.bootstrap, names.alerts)) >= len(expected) // 3,
               180, "a third of the alerts", poll=0.2)  # fmt: skip
    owner = one if "core restored" in one.text() else two
    owner.stop()  # a clean stop: the group rebalances to the other worker
    got = settle(settings.bootstrap, names.alerts, len(expected))
    assert_same_alerts(got, expected)
    survivor = two if owner is one else one
    assert "core restored at offset" in survivor.text()


# -- 4b. a worker frozen at start ------------------------------------------------------------------


class StandStill(AbstractPartitionAssignor):
    """Speaks faust's assignment protocol (by name), so it can join a worker's group; gives out
    nothing. A member that stops polling after it joined never rejoins a rebalance, and the broker
    holds every other member's join until the rebalance timeout (here: until the member leaves)."""

    name = "faust"
    version = 0
    assigned = threading.Event()

    @classmethod
    def assign(cls, cluster: Any, members: Any) -> dict[str, ConsumerProtocolAssignment]:
        return {m.member_id: ConsumerProtocolAssignment(cls.version, [], b"") for m in members}

    @classmethod
    def metadata(cls, topics: Any) -> ConsumerProtocolSubscription:
        return ConsumerProtocolSubscription(cls.version, sorted(topics), b"")

    @classmethod
    def on_assignment(cls, assignment: Any, generation: Any = None) -> None:
        cls.assigned.set()


def test_a_worker_frozen_at_start_is_restarted_and_loses_and_repeats_nothing(
    cluster: dict[str, Any], market: Any
) -> None:
    """The start arm of the watchdog and the supervisor's restart, end to end.

    A member that joined the worker's group and then stands still holds the worker's rebalance
    (the worker waits in its group join), as a freeze would: nothing is ever read. With
    ``TUTKA_KAFKA__START_SECONDS`` at 10 the watchdog ends the worker with status 70 and the
    supervising ``Worker`` starts a fresh one, as compose would. Once the member leaves, the fresh
    worker publishes the alerts of what was published (a release and its markers, as in the test
    above), each once and as replay makes them.
    """
    directory, expected = market
    settings, names = cluster["settings"], cluster["topics"]
    wanted = publish_first_release(settings, directory, expected)
    member = KafkaConsumer(
        names.closures,
        bootstrap_servers=settings.bootstrap,
        group_id=names.app_id,
        partition_assignment_strategy=[StandStill],
        max_poll_interval_ms=180_000,  # the broker's wait for it to rejoin (the rebalance timeout)
        enable_auto_commit=False,
    )
    try:
        StandStill.assigned.clear()
        wait_until(lambda: bool(member.poll(timeout_ms=200) is not None)
                   and StandStill.assigned.is_set(), 60, "the member in the group")  # fmt: skip
        worker = cluster["start"](TUTKA_KAFKA__START_SECONDS="10", TUTKA_KAFKA__IDLE_SECONDS="600")
        wait_until(lambda: worker.restarts >= 1, 120, "the watchdog's exit and a restart")
        text = worker.text()
        assert "worker stalled (a rebalance began" in text
        assert "the group join has not gone through" in text
        # Where it stood, for the next real freeze: here, aiokafka's join held by the broker.
        assert "where the worker stood:" in text and "in perform_group_join" in text
        assert versions(settings.bootstrap, names.alerts) == [], "it should not have read"
    finally:
        member.close()  # leaves the group: the fresh worker's join goes through
    got = assert_first_release(settings, names, wanted, expected)
    assert worker.unexpected_exits == []
    print(f"frozen start: {worker.restarts} restart(s), {len(got)} alert versions, exactly once")


# -- 5. subscriptions ---------------------------------------------------------------------------


class Receiver(BaseHTTPRequestHandler):
    """A webhook receiver that checks the HMAC signature the way a subscriber would."""

    key: ClassVar[bytes] = b""
    got: ClassVar[list[Version]] = []
    bad: ClassVar[list[str]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        header = self.headers["X-Tutka-Signature"]
        fields = dict(part.split("=", 1) for part in header.split(","))
        mac = hmac.new(self.key, f"{fields['t']}.".encode() + body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(mac, fields["v1"]):
            type(self).bad.append(header)
            self.send_response(401)
        else:
            alert = json.loads(body)
            assert self.headers["X-Tutka-Alert-Id"] == alert["id"]
            type(self).got.append((alert["id"], alert["sequence"]))
            self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def test_subscribers_get_exactly_what_their_filters_match(
    cluster: dict[str, Any], market: Any
) -> None:
    directory, expected = market
    settings, names = cluster["settings"], cluster["topics"]
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    Receiver.key, Receiver.got, Receiver.bad = derive_key(MASTER_KEY, "satakunta-hook"), [], []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    subscriptions = [
        Subscription.model_validate(s)
        for s in (
            {"id": "satakunta", "owner": "ELY03", "delivery": {"type": "kafka"},
             "created": "2024-01-01"},
            {"id": "satakunta-hook", "owner": "ELY03", "created": "2024-01-01",
             "filters": {"kinds": ["unemployment", "layoff_notices"]},
             "delivery": {"type": "webhook", "url": url}},
            {"id": "national-critical", "owner": "TEM", "scope": "national",
             "created": "2024-01-01",
             "filters": {"polarity": "negative", "min_severity": "critical"},
             "delivery": {"type": "kafka"}},
            # Breaks the scope rule (written past the CLI, which would refuse it): gets nothing.
            {"id": "sneaky", "owner": "ELY15", "created": "2024-01-01",
             "filters": {"areas": ["SSS"]}, "delivery": {"type": "kafka"}},
        )
    ]  # fmt: skip
    producer = KafkaProducer(bootstrap_servers=settings.bootstrap, acks="all")
    for subscription in subscriptions:
        change = SubscriptionUpserted(subscription=subscription)
        producer.send(names.subscriptions, key=subscription.id.encode(),
                      value=change.model_dump_json().encode())  # fmt: skip
    producer.flush()
    publish_market(settings, directory)
    cluster["start"]()
    settle(settings.bootstrap, names.alerts, len(expected))
    try:
        for subscription in subscriptions[:3]:
            want = {(a.id, a.sequence) for a in expected if matches(subscription, a, HIERARCHY)}
            assert want, f"the scenario should give {subscription.id} something"
            if subscription.topic is not None:
                topic = names.subscription(subscription.id)
                got = [(a.id, a.sequence) for a in versions(settings.bootstrap, topic)]
            else:
                wait_until(partial(_at_least, Receiver.got, len(want)), 60, "webhook deliveries")
                got = list(Receiver.got)
            assert sorted(got) == sorted(want), subscription.id
        assert Receiver.bad == []
        assert versions(settings.bootstrap, names.subscription("sneaky")) == []
    finally:
        server.shutdown()
    parked = records(settings.bootstrap, names.delivery_deadletter)
    assert parked == []


def test_a_webhook_that_keeps_failing_parks_its_alerts(
    cluster: dict[str, Any], market: Any
) -> None:
    directory, expected = market
    settings, names = cluster["settings"], cluster["topics"]
    dead_port = _unused_port()
    subscription = Subscription.model_validate({
        "id": "down", "owner": "ELY03", "created": date(2024, 1, 1).isoformat(),
        "delivery": {"type": "webhook", "url": f"http://127.0.0.1:{dead_port}/hook"},
    })  # fmt: skip
    producer = KafkaProducer(bootstrap_servers=settings.bootstrap, acks="all")
    producer.send(
        names.subscriptions,
        key=b"down",
        value=SubscriptionUpserted(subscription=subscription).model_dump_json().encode(),
    )
    producer.flush()
    publish_market(settings, directory)
    cluster["start"]()
    settle(settings.bootstrap, names.alerts, len(expected))
    want = {(a.id, a.sequence) for a in expected if matches(subscription, a, HIERARCHY)}

    def parked_count() -> int:
        return len(records(settings.bootstrap, names.delivery_deadletter))

    wait_until(lambda: parked_count() >= len(want), 120, "parked deliveries")
    parked = [json.loads(r.value) for r in records(settings.bootstrap, names.delivery_deadletter)]
    assert {(p["alert"]["id"], p["alert"]["sequence"]) for p in parked} == want
    assert all(p["result"]["outcome"] == "failed" and p["result"]["attempts"] >= 1 for p in parked)


def _at_least(items: list[Version], count: int) -> bool:
    return len(items) >= count


def _unused_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
