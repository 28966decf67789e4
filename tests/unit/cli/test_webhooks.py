"""Webhook signing and delivery (tutka/webhooks.py), against a real HTTP receiver on 127.0.0.1.

The receiver checks every request's HMAC on its own (plain ``hmac``/``hashlib``, not the module
under test), so a bug shared by signer and verifier cannot hide.
"""

from __future__ import annotations

import asyncio
import doctest
import hashlib
import hmac
import json
import socket
import threading
import time
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass, field
from datetime import date
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar

import httpx
import pytest
from pydantic import SecretStr

import tutka.webhooks
from tutka.config.settings import WebhookSettings
from tutka.models.alerts import Alert, AlertStatus, HistoryEntry, Localized, alert_id
from tutka.models.subscriptions import Subscription
from tutka.webhooks import (
    DeliveryResult,
    check_webhook_signing,
    deliver,
    derive_key,
    signature,
    signature_header,
    subscription_key,
    verify,
)

MASTER = "test-master-key-not-for-production-0123456789"
NOW = 1_700_000_000.0
T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def settings(**overrides: Any) -> WebhookSettings:
    values: dict[str, Any] = {
        "signing_key": SecretStr(MASTER),
        "timeout_seconds": 2.0,
        "max_attempts": 3,
        "backoff_seconds": 0.01,
        "backoff_max_seconds": 30.0,
    }
    values.update(overrides)
    return WebhookSettings(**values)


def alert_json(sequence: int = 2) -> bytes:
    alert = Alert.model_validate(
        {
            "id": alert_id("KU240|C|layoff_notices", "2023-10"),
            "sequence": sequence,
            "group": "KU240|C|layoff_notices",
            "kind": "layoff_notices",
            "polarity": "negative",
            "severity": "warning",
            "status": AlertStatus.UPDATED,
            "area": "KU240",
            "area_name": Localized(fi="Kemi", sv="Kemi", en="Kemi"),
            "parents": ("SK192", "MK19", "ELY15", "SSS"),
            "sector": "C",
            "period": "2023-11",
            "opened_period": "2023-10",
            "available_on": date(2023, 10, 2),
            "evidence": (),
            "history": (HistoryEntry(period="2023-10", status="open", severity="warning"),),
            "explanation": Localized(fi="Irtisanomisia", sv="Uppsägningar", en="Dismissals"),
        }
    )
    return alert.model_dump_json().encode()


def webhook(url: str, sid: str = "lappi-paper") -> Subscription:
    return Subscription.model_validate(
        {
            "id": sid,
            "owner": "ELY15",
            "delivery": {"type": "webhook", "url": url},
            "created": "2024-01-15",
        }
    )


def independent_key(master: str, sid: str) -> bytes:
    return hmac.new(master.encode(), b"tutka-webhook:" + sid.encode(), hashlib.sha256).digest()


# ---------------------------------------------------------------------------------------------
# A scripted receiver


@dataclass(frozen=True)
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b"ok"
    delay: float = 0.0


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: bytes
    signed: bool


class Receiver:
    """Answers each POST with the next scripted reply (then 200), recording what arrived."""

    def __init__(self, master: str = MASTER) -> None:
        self.master = master
        self.script: list[Reply] = []
        self.received: list[Received] = []
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        # A short poll interval: shutdown() waits for the serving loop to notice.
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}/hooks/tutka"

    def reply(self, *replies: Reply) -> None:
        self.script.extend(replies)

    def _checks(self, headers: dict[str, str], body: bytes) -> bool:
        parts = dict(p.split("=", 1) for p in headers.get("X-Tutka-Signature", "").split(","))
        key = independent_key(self.master, headers.get("X-Tutka-Subscription", ""))
        expected = hmac.new(key, parts.get("t", "").encode() + b"." + body, hashlib.sha256)
        return hmac.compare_digest(expected.hexdigest(), parts.get("v1", ""))

    def _next(self, headers: dict[str, str], body: bytes) -> Reply:
        signed = self._checks(headers, body)
        with self._lock:
            self.received.append(Received(headers, body, signed))
            if not signed:
                return Reply(401, body=b"bad signature")
            return self.script.pop(0) if self.script else Reply()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                reply = receiver._next(dict(self.headers.items()), body)
                time.sleep(reply.delay)
                try:
                    self.send_response(reply.status)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(reply.body)))
                    self.end_headers()
                    self.wfile.write(reply.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test): nothing to answer

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep test output clean

        return Handler

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as running:
        yield running


class Sleeps:
    """Records the waits asked for, without waiting them (Retry-After may ask for minutes)."""

    def __init__(self) -> None:
        self.asked: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.asked.append(seconds)
        await asyncio.sleep(0)


def send(
    url: str,
    config: WebhookSettings | None = None,
    *,
    body: bytes | None = None,
    clock: Iterator[float] | None = None,
    sleep: Sleeps | None = None,
    sid: str = "lappi-paper",
) -> DeliveryResult:
    config = config if config is not None else settings()
    ticks = clock if clock is not None else iter(lambda: NOW, None)

    async def go() -> DeliveryResult:
        async with httpx.AsyncClient() as client:
            kwargs: dict[str, Any] = {} if sleep is None else {"sleep": sleep}
            return await deliver(
                client,
                webhook(url, sid),
                alert_json() if body is None else body,
                subscription_key(config, sid),
                config,
                lambda: next(ticks),
                **kwargs,
            )

    return run(go())


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


# ---------------------------------------------------------------------------------------------
# Keys and signatures


def test_the_key_is_hmac_of_the_master_over_the_context_and_id() -> None:
    assert derive_key(MASTER, "lappi-paper") == independent_key(MASTER, "lappi-paper")
    assert derive_key(SecretStr(MASTER), "lappi-paper") == derive_key(MASTER, "lappi-paper")
    assert derive_key(MASTER, "lappi-paper") != derive_key(MASTER, "lappi-all")
    assert derive_key(MASTER, "lappi-paper") != derive_key(MASTER + "x", "lappi-paper")


def test_an_empty_master_key_is_refused() -> None:
    with pytest.raises(ValueError, match="TUTKA_WEBHOOK__SIGNING_KEY"):
        derive_key("", "lappi-paper")
    with pytest.raises(ValueError, match="TUTKA_WEBHOOK__SIGNING_KEY"):
        derive_key(SecretStr(""), "lappi-paper")


def test_the_signature_covers_the_timestamp_and_the_body() -> None:
    key, body = derive_key(MASTER, "lappi-paper"), alert_json()
    expected = hmac.new(key, b"1700000000." + body, hashlib.sha256).hexdigest()
    assert signature(key, body, 1_700_000_000) == expected
    assert signature_header(key, body, 1_700_000_000) == f"t=1700000000,v1={expected}"


def test_a_signature_round_trips() -> None:
    key, body = derive_key(MASTER, "lappi-paper"), alert_json()
    header = signature_header(key, body, int(NOW))
    assert verify(key, body, header, now=NOW)
    assert verify(key, body, header, now=NOW + 300)  # the edge of the window
    assert verify(key, body, header, now=NOW - 300)  # clocks differ both ways


def test_a_tampered_body_is_rejected() -> None:
    key, body = derive_key(MASTER, "lappi-paper"), alert_json()
    header = signature_header(key, body, int(NOW))
    tampered = body.replace(b'"warning"', b'"critical"', 1)
    assert tampered != body
    assert not verify(key, tampered, header, now=NOW)


def test_a_wrong_key_is_rejected() -> None:
    body = alert_json()
    header = signature_header(derive_key(MASTER, "lappi-paper"), body, int(NOW))
    assert not verify(derive_key(MASTER, "lappi-all"), body, header, now=NOW)
    assert not verify(
        derive_key("another-master-key-of-at-least-32-bytes", "lappi-paper"), body, header, now=NOW
    )


def test_a_stale_or_future_timestamp_is_rejected() -> None:
    key, body = derive_key(MASTER, "lappi-paper"), alert_json()
    header = signature_header(key, body, int(NOW))
    assert not verify(key, body, header, now=NOW + 301)
    assert not verify(key, body, header, now=NOW - 301)
    assert verify(key, body, header, now=NOW + 3000, tolerance_seconds=3600)


def test_a_replayed_timestamp_cannot_be_moved_forward() -> None:
    key, body = derive_key(MASTER, "lappi-paper"), alert_json()
    old = signature_header(key, body, int(NOW))
    fresh_t = old.replace("t=1700000000", "t=1700000500")
    assert not verify(key, body, fresh_t, now=NOW + 500)


@pytest.mark.parametrize(
    "header",
    [
        "",
        "garbage",
        "t=1700000000",
        "v1=" + "0" * 64,
        "t=soon,v1=" + "0" * 64,
        "t=1700000000,v1=XYZ",
        "t=1700000000,v1=" + "é" * 64,
        "t=1700000000,t=1700000000,v1=" + "0" * 64,
        "t=١٧٠٠٠٠٠٠٠٠,v1=" + "0" * 64,
    ],
)
def test_malformed_headers_are_invalid_not_errors(header: str) -> None:
    assert not verify(derive_key(MASTER, "lappi-paper"), b"{}", header, now=NOW)


def test_any_of_several_v1_signatures_may_match_during_a_key_rotation() -> None:
    new, old, body = (
        derive_key(MASTER, "x-1"),
        derive_key("old-master-key-of-at-least-32-bytes!", "x-1"),
        b"{}",
    )
    t = 1_700_000_000
    header = f"t={t},v1={signature(old, body, t)},v1={signature(new, body, t)},v3=future"
    assert verify(new, body, header, now=NOW) and verify(old, body, header, now=NOW)


def test_the_module_examples_run() -> None:
    assert doctest.testmod(tutka.webhooks).failed == 0


# ---------------------------------------------------------------------------------------------
# Refusing to send unsigned


def test_without_a_signing_key_webhooks_are_refused_where_added_and_where_delivered() -> None:
    unsigned = settings(signing_key=None)
    sub = webhook("https://hooks.example.fi/tutka")
    with pytest.raises(ValueError, match="TUTKA_WEBHOOK__SIGNING_KEY"):
        check_webhook_signing(sub, unsigned)
    with pytest.raises(ValueError, match="TUTKA_WEBHOOK__SIGNING_KEY"):
        subscription_key(unsigned, sub.id)
    check_webhook_signing(sub, settings())
    kafka = Subscription.model_validate({**sub.model_dump(), "delivery": {"type": "kafka"}})
    check_webhook_signing(kafka, unsigned)  # only webhooks need the key

    async def go() -> DeliveryResult:
        async with httpx.AsyncClient() as client:
            key = derive_key(MASTER, sub.id)
            return await deliver(client, sub, alert_json(), key, unsigned, lambda: NOW)

    with pytest.raises(ValueError, match="never sent unsigned"):
        run(go())


def test_deliver_refuses_a_kafka_subscription_and_a_body_that_is_not_an_alert(
    receiver: Receiver,
) -> None:
    kafka = Subscription.model_validate(
        {
            "id": "lappi-all",
            "owner": "ELY15",
            "delivery": {"type": "kafka"},
            "created": "2024-01-15",
        }
    )

    async def go(sub: Subscription, body: bytes) -> DeliveryResult:
        async with httpx.AsyncClient() as client:
            key = derive_key(MASTER, sub.id)
            return await deliver(client, sub, body, key, settings(), lambda: NOW)

    with pytest.raises(ValueError, match="delivered by kafka, not by webhook"):
        run(go(kafka, alert_json()))
    for body, problem in [
        (b"not json", "not JSON"),
        (b"[1]", "JSON object"),
        (b'{"sequence": 1}', "'id'"),
        (b'{"id": "al-1", "sequence": true}', "'sequence'"),
    ]:
        with pytest.raises(ValueError, match=problem):
            run(go(webhook(receiver.url), body))
    assert receiver.received == []


# ---------------------------------------------------------------------------------------------
# Delivery


def test_a_delivery_succeeds_first_time_with_signed_identified_headers(
    receiver: Receiver,
) -> None:
    body = alert_json(sequence=2)
    result = send(receiver.url, body=body)
    assert result == DeliveryResult(
        subscription_id="lappi-paper",
        alert_id=alert_id("KU240|C|layoff_notices", "2023-10"),
        alert_sequence=2,
        outcome="delivered",
        attempts=1,
        status=200,
    )
    assert result.delivered and not result.permanent
    (got,) = receiver.received
    assert got.signed and got.body == body  # sent byte for byte
    assert got.headers["X-Tutka-Alert-Id"] == json.loads(body)["id"]
    assert got.headers["X-Tutka-Alert-Sequence"] == "2"
    assert got.headers["X-Tutka-Subscription"] == "lappi-paper"
    assert got.headers["Content-Type"] == "application/json"
    assert got.headers["X-Tutka-Signature"].startswith("t=1700000000,v1=")
    key = derive_key(MASTER, "lappi-paper")
    assert verify(key, got.body, got.headers["X-Tutka-Signature"], now=NOW)


def test_5xx_is_retried_with_exponential_backoff_then_delivered(receiver: Receiver) -> None:
    receiver.reply(Reply(503), Reply(503))
    sleeps = Sleeps()
    clock = iter(NOW + 10 * i for i in range(100))
    result = send(receiver.url, clock=clock, sleep=sleeps)
    assert (result.outcome, result.attempts, result.status, result.error) == (
        "delivered",
        3,
        200,
        None,
    )
    assert sleeps.asked == [0.01, 0.02]
    assert [r.signed for r in receiver.received] == [True, True, True]
    # Each attempt is signed afresh, so a long backoff never outlives the receiver's window.
    stamps = [r.headers["X-Tutka-Signature"].split(",")[0] for r in receiver.received]
    assert len(set(stamps)) == 3


def test_retries_really_wait_with_the_default_sleep(receiver: Receiver) -> None:
    receiver.reply(Reply(502), Reply(500))
    started = time.perf_counter()
    result = send(receiver.url, settings(backoff_seconds=0.05))
    assert result.delivered and result.attempts == 3
    assert time.perf_counter() - started >= 0.05 + 0.1


def test_5xx_until_out_of_attempts_fails_with_the_last_status(receiver: Receiver) -> None:
    receiver.reply(Reply(500), Reply(502), Reply(503, body=b"down for maintenance"))
    result = send(receiver.url, sleep=Sleeps())
    assert (result.outcome, result.attempts, result.status, result.permanent) == (
        "failed",
        3,
        503,
        False,
    )
    assert result.error == "HTTP 503 Service Unavailable"  # (no body kept: #14)


def test_a_4xx_is_a_permanent_failure_after_one_attempt(receiver: Receiver) -> None:
    receiver.reply(Reply(400, body=b'{"error": "unknown field \x01severity"}'))
    sleeps = Sleeps()
    result = send(receiver.url, sleep=sleeps)
    assert (result.outcome, result.attempts, result.status, result.permanent) == (
        "failed",
        1,
        400,
        True,
    )
    assert result.error == "HTTP 400 Bad Request"  # the body is not kept (#14)
    assert sleeps.asked == [] and len(receiver.received) == 1
    # The result is what the dead letter keeps: it must survive JSON.
    assert DeliveryResult.model_validate_json(result.model_dump_json()) == result


@pytest.mark.parametrize("status", [401, 403, 404, 410, 422])
def test_other_4xx_are_not_retried(receiver: Receiver, status: int) -> None:
    receiver.reply(Reply(status))
    result = send(receiver.url, sleep=Sleeps())
    assert (result.outcome, result.attempts, result.status) == ("failed", 1, status)


def test_a_redirect_is_not_followed(receiver: Receiver) -> None:
    receiver.reply(Reply(307, headers={"Location": "http://127.0.0.1:9/elsewhere"}))
    result = send(receiver.url, sleep=Sleeps())
    assert (result.outcome, result.attempts, result.status, result.permanent) == (
        "failed",
        1,
        307,
        True,
    )


def test_429_honours_retry_after_in_seconds(receiver: Receiver) -> None:
    receiver.reply(Reply(429, headers={"Retry-After": "7"}))
    sleeps = Sleeps()
    result = send(receiver.url, sleep=sleeps)
    assert result.delivered and result.attempts == 2
    assert sleeps.asked == [7.0]


def test_retry_after_as_an_http_date_is_read_against_the_clock(receiver: Receiver) -> None:
    receiver.reply(Reply(503, headers={"Retry-After": formatdate(NOW + 12, usegmt=True)}))
    sleeps = Sleeps()
    result = send(receiver.url, sleep=sleeps)
    assert result.delivered and sleeps.asked == [12.0]


def test_retry_after_is_capped_and_a_bad_one_falls_back_to_backoff(receiver: Receiver) -> None:
    receiver.reply(
        Reply(429, headers={"Retry-After": "3600"}),
        Reply(429, headers={"Retry-After": "soon"}),
    )
    sleeps = Sleeps()
    result = send(receiver.url, settings(backoff_max_seconds=20.0), sleep=sleeps)
    assert result.delivered and result.attempts == 3
    assert sleeps.asked == [20.0, 0.02]


def test_the_backoff_is_capped(receiver: Receiver) -> None:
    receiver.reply(*[Reply(503)] * 5)
    sleeps = Sleeps()
    config = settings(max_attempts=6, backoff_seconds=1.0, backoff_max_seconds=5.0)
    result = send(receiver.url, config, sleep=sleeps)
    assert result.delivered and result.attempts == 6
    assert sleeps.asked == [1.0, 2.0, 4.0, 5.0, 5.0]


def test_a_timeout_is_retried(receiver: Receiver) -> None:
    receiver.reply(Reply(200, delay=0.5))
    result = send(receiver.url, settings(timeout_seconds=0.1), sleep=Sleeps())
    assert (result.outcome, result.attempts, result.status) == ("delivered", 2, 200)


def test_timeouts_until_out_of_attempts_record_the_timeout(receiver: Receiver) -> None:
    receiver.reply(Reply(200, delay=0.3), Reply(200, delay=0.3))
    config = settings(timeout_seconds=0.05, max_attempts=2)
    result = send(receiver.url, config, sleep=Sleeps())
    assert (result.outcome, result.attempts, result.status) == ("failed", 2, None)
    assert result.error is not None and result.error.startswith("ReadTimeout")


def test_a_receiver_that_is_down_fails_after_max_attempts_with_the_connection_error() -> None:
    url = f"http://127.0.0.1:{free_port()}/hooks/tutka"
    result = send(url, settings(max_attempts=4))
    assert (result.outcome, result.attempts, result.status, result.permanent) == (
        "failed",
        4,
        None,
        False,
    )
    assert result.error is not None and result.error.startswith("ConnectError")


def test_a_receiver_that_rejects_the_signature_is_a_permanent_failure(
    receiver: Receiver,
) -> None:
    receiver.master = "a-master-the-receiver-was-given-by-mistake"
    result = send(receiver.url, sleep=Sleeps())
    assert (result.outcome, result.attempts, result.status) == ("failed", 1, 401)
    assert result.error == "HTTP 401 Unauthorized"  # (no body kept: #14)
