"""Issue #14, item 6: webhooks. Each test is named after the failure it guards against."""

from __future__ import annotations

import asyncio
import socket
import time
from typing import Any

import httpx
import pytest
from pydantic import SecretStr, ValidationError

from tests.receiver import PostRecorder
from tutka.config.settings import WebhookSettings
from tutka.models.subscriptions import Subscription
from tutka.webhooks import (
    ALERT_SEQUENCE_HEADER,
    SIGNATURE_HEADER,
    DedupFields,
    check_webhook,
    deliver,
    derive_key,
    verify,
    webhook_client,
)
from tutka.worker.lanes import WebhookLanes

MASTER = "hardening-test-master-key-0123456789abcdef"
ALERT = b'{"id": "al-0123456789abcdef", "sequence": 3}'


def settings(**overrides: Any) -> WebhookSettings:
    values: dict[str, Any] = {"signing_key": SecretStr(MASTER), "backoff_seconds": 0.01}
    return WebhookSettings(**(values | overrides))


def webhook(url: str, sub_id: str = "lappi-hook") -> Subscription:
    return Subscription.model_validate(
        {"id": sub_id, "owner": "ELY15", "created": "2024-01-01",
         "delivery": {"type": "webhook", "url": url}}
    )  # fmt: skip


INTERNAL = [
    "https://169.254.169.254/latest/meta-data/",
    "https://127.0.0.1/hook",
    "https://localhost/hook",
    "https://10.1.2.3/hook",
    "https://172.16.5.4/hook",
    "https://192.168.1.10/hook",
    "https://[::1]/hook",
    "https://[fe80::1]/hook",
    "https://[::ffff:127.0.0.1]/hook",
    "https://0.0.0.0/hook",
    "http://hooks.example.fi/hook",  # not https
]


@pytest.mark.parametrize("url", INTERNAL)
def test_internal_webhook_addresses_are_refused_at_save(url: str) -> None:
    with pytest.raises(ValueError, match="refused"):
        check_webhook(webhook(url), settings())


def test_public_https_address_is_accepted_and_the_test_setting_allows_internal_ones() -> None:
    check_webhook(webhook("https://8.8.8.8/hook"), settings())
    check_webhook(webhook("http://127.0.0.1:9/hook"), settings(allow_private_targets=True))


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_internal_webhook_addresses_are_refused_at_connect(host: str) -> None:
    receiver = PostRecorder()
    port = receiver.server.server_port
    config = settings(max_attempts=1)

    async def attempt() -> Any:
        async with webhook_client(config) as client:
            # (the URL passes no save check: as if the name had changed since)
            return await deliver(
                client, webhook(f"https://{host}:{port}/hook"), ALERT,
                derive_key(MASTER, "lappi-hook"), config, time.time,
            )  # fmt: skip

    try:
        result = asyncio.run(attempt())
    finally:
        receiver.close()
    assert result.outcome == "failed"
    assert "webhook target refused" in (result.error or "")
    assert receiver.posts == []


def test_receiver_response_body_is_not_kept() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, text="secret internal detail " * 20)

    async def attempt() -> Any:
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
            return await deliver(
                client, webhook("https://hooks.example.fi/h"), ALERT,
                derive_key(MASTER, "lappi-hook"), settings(), time.time,
            )  # fmt: skip

    result = asyncio.run(attempt())
    assert result.error == "HTTP 400 Bad Request"
    assert "secret" not in result.model_dump_json()


@pytest.mark.parametrize("key", ["", "short-key", "x" * 31])
def test_empty_or_short_master_key_is_not_accepted(key: str) -> None:
    if not key:
        assert WebhookSettings(signing_key=SecretStr(key)).signing_key is None  # = unset
        with pytest.raises(ValueError, match="32 bytes"):
            derive_key(key, "lappi-hook")
        return
    with pytest.raises(ValidationError, match="at least 32 bytes"):
        WebhookSettings(signing_key=SecretStr(key))
    with pytest.raises(ValueError, match="32 bytes"):
        derive_key(key, "lappi-hook")


def test_dedup_headers_are_signed() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    async def attempt() -> Any:
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
            return await deliver(
                client, webhook("https://hooks.example.fi/h"), ALERT,
                derive_key(MASTER, "lappi-hook"), settings(), time.time,
            )  # fmt: skip

    assert asyncio.run(attempt()).delivered
    (request,) = seen
    key, header = derive_key(MASTER, "lappi-hook"), request.headers[SIGNATURE_HEADER]
    fields = DedupFields.of_headers(dict(request.headers))
    assert fields == DedupFields("al-0123456789abcdef", 3, "lappi-hook")
    assert verify(key, request.content, header, time.time(), fields=fields)
    # A replay with the sequence header changed (to slip past deduplication) fails.
    altered = dict(request.headers) | {ALERT_SEQUENCE_HEADER: "4"}
    assert not verify(
        key, request.content, header, time.time(), fields=DedupFields.of_headers(altered)
    )


def test_one_unresponsive_receiver_does_not_stall_the_others() -> None:
    # A receiver that accepts connections and never answers (the kernel's backlog accepts).
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(64)
    quick = PostRecorder()
    config = settings(timeout_seconds=30, max_attempts=1, allow_private_targets=True)
    stuck = webhook(f"http://127.0.0.1:{silent.getsockname()[1]}/hook", "stuck")
    fine = webhook(f"{quick.url}/hook", "fine")
    parked: list[str] = []

    async def scenario() -> tuple[float, int, int]:
        async with webhook_client(config) as client:

            async def send(subscription: Subscription, body: bytes) -> Any:
                key = derive_key(MASTER, subscription.id)
                return await deliver(client, subscription, body, key, config, time.time)

            async def park(subscription: Subscription, body: bytes, reason: str) -> None:
                parked.append(subscription.id)

            lanes = WebhookLanes(send, park, backlog=3, patience_seconds=60)
            started = time.monotonic()
            offered = []
            for n in range(1, 6):  # an alert every 50 ms, to both
                for sub in (stuck, fine):
                    body = b'{"id": "al-0123456789abcdef", "sequence": %d}' % n
                    offered.append(lanes.offer(sub, body))
                await asyncio.sleep(0.05)
            while len(quick.posts) < 5 and time.monotonic() - started < 10:
                await asyncio.sleep(0.01)
            took = time.monotonic() - started
            waiting = lanes.waiting
            await lanes.close()
            return took, offered.count(False), waiting

    try:
        took, refused, waiting = asyncio.run(scenario())
    finally:
        quick.close()
        silent.close()
    assert len(quick.posts) == 5, "the responsive receiver got every alert"
    assert took < 10  # (it was 32 s per alert before: sequential deliveries)
    # The stuck lane holds one alert in flight and 3 waiting; one more was refused (parked).
    assert (refused, waiting) == (1, 3)
