"""Issue #14, item 5: the room's HTTP layer. Each test is named after the failure it guards
against."""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.unit.room.conftest import Alerts, auth, users
from tests.unit.room.test_stream import next_event, room_with_pages
from tutka.config.settings import RoomSettings, WebhookSettings
from tutka.models.subscriptions import Subscription, SubscriptionUpserted
from tutka.room.api import create_app
from tutka.room.guard import CONTENT_SECURITY_POLICY
from tutka.room.service import Service


@pytest.fixture
def strict(service: Service) -> Iterator[TestClient]:
    """The room with a small body limit and a low sign-in throttle."""
    settings = RoomSettings(max_body_bytes=4096, auth_failures_per_minute=5)
    with TestClient(create_app(service, users(), WebhookSettings(), settings)) as client:
        yield client


def test_50_mb_body_without_a_token_is_refused_before_it_is_read(
    client: TestClient, alerts: Alerts
) -> None:
    body = b'{"type": "note", "text": "' + b"x" * 50_000_000 + b'"}'
    tracemalloc.start()
    try:
        started = time.perf_counter()
        response = client.post(
            f"/api/alerts/{alerts.kemi.id}/case",
            content=body,
            headers={"Content-Type": "application/json"},
        )
        seconds = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert response.status_code == 413
    assert "larger than 65,536 bytes" in response.json()["detail"]
    # (The test client holds the body itself once: 50 MB; parsing it would add several times
    # that, as it did: +230 MiB.)
    assert peak < 120 * 2**20, f"peak {peak / 2**20:.0f} MiB ({seconds:.1f} s)"


def test_chunked_body_over_the_limit_is_refused(strict: TestClient, alerts: Alerts) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"type": "note", "text": "'
        for _ in range(10):
            yield b"x" * 1000
        yield b'"}'

    response = strict.post(
        f"/api/alerts/{alerts.kemi.id}/case", content=chunks(), headers=auth("lappi")
    )
    assert response.status_code == 413


def test_body_within_the_limit_is_taken(strict: TestClient, alerts: Alerts) -> None:
    response = strict.post(
        f"/api/alerts/{alerts.kemi.id}/case",
        json={"type": "note", "text": "soitettu"},
        headers=auth("lappi"),
    )
    assert response.status_code == 201, response.text


@pytest.mark.parametrize("path", ["/", "/api/alerts", "/static/room.js", "/openapi.json"])
def test_security_headers_are_on_every_answer(client: TestClient, path: str) -> None:
    response = client.get(path, headers=auth("admin"))
    assert response.status_code == 200
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert "frame-ancestors 'none'" in CONTENT_SECURITY_POLICY
    assert "script-src 'self';" in CONTENT_SECURITY_POLICY  # no 'unsafe-inline'
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"


def test_security_headers_are_on_refusals_too(client: TestClient) -> None:
    response = client.get("/api/alerts")
    assert response.status_code == 401
    assert response.headers["x-content-type-options"] == "nosniff"


def test_wrong_tokens_are_throttled(strict: TestClient) -> None:
    codes = [strict.get("/api/alerts", headers=auth(f"guess-{i}")).status_code for i in range(8)]
    assert codes == [401] * 5 + [429] * 3
    refused = strict.get("/api/alerts", headers=auth("admin"))
    # While blocked, even a right token waits: the address is guessing.
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["retry-after"]) <= 61


def test_right_tokens_are_not_throttled(strict: TestClient) -> None:
    assert {strict.get("/api/alerts", headers=auth("lappi")).status_code for _ in range(20)} == {
        200
    }


def test_out_of_scope_alert_answers_404_as_an_unknown_one_does(
    client: TestClient, alerts: Alerts
) -> None:
    outside = client.get(f"/api/alerts/{alerts.helsinki.id}", headers=auth("lappi"))
    unknown = client.get("/api/alerts/al-0123456789abcdef", headers=auth("lappi"))
    assert (outside.status_code, unknown.status_code) == (404, 404)
    assert outside.json()["detail"] == f"no alert {alerts.helsinki.id}"
    for path in ("/case",):
        assert (
            client.get(f"/api/alerts/{alerts.helsinki.id}{path}", headers=auth("lappi")).status_code
            == 404
        )
    posted = client.post(
        f"/api/alerts/{alerts.helsinki.id}/case",
        json={"type": "acknowledged"},
        headers=auth("lappi"),
    )
    assert posted.status_code == 404


def test_ely_scoped_stream_does_not_receive_other_organisations_subscription_ids(
    service: Service,
) -> None:
    def upsert(sub_id: str, owner: str) -> None:
        subscription = Subscription.model_validate(
            {
                "id": sub_id,
                "owner": owner,
                "scope": "own",
                "created": "2024-01-01",
                "delivery": {"type": "kafka"},
            }
        )
        service.state.apply_subscription_change(SubscriptionUpserted(subscription=subscription))

    with room_with_pages(service) as (_base, pages):
        lappi = pages.listen("lappi")
        admin = pages.listen("admin")
        upsert("uusimaa-secret", "ELY01")
        assert next_event(admin, "subscriptions")["id"] == "uusimaa-secret"
        assert "id" not in next_event(lappi, "subscriptions")
        upsert("lappi-own", "ELY15")
        assert next_event(lappi, "subscriptions")["id"] == "lappi-own"


def test_the_page_still_loads_under_the_policy(client: TestClient) -> None:
    # No inline script or style element in the page: the policy would block it.
    page = client.get("/").text
    assert "<script>" not in page and "<style" not in page and "onload=" not in page
    assert httpx.Headers(client.get("/").headers)["content-security-policy"]
