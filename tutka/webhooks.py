"""Signed webhook delivery of alerts to subscribers (shell side of ``tutka.models.subscriptions``).

Signing. Each subscription has its own HMAC-SHA256 key, derived from the master signing key
(``TUTKA_WEBHOOK__SIGNING_KEY``) and the subscription id, so no secret is ever stored on a Kafka
topic: an operator hands ``derive_key(master, id).hex()`` to the receiver once. Every POST carries

* ``X-Tutka-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 over "<t>." + body>,v2=<hex
  HMAC-SHA256 over "<t>.<alert id>.<sequence>.<subscription>." + body>``,
* ``X-Tutka-Alert-Id`` and ``X-Tutka-Alert-Sequence`` (receivers deduplicate on the pair:
  delivery is at-least-once), and ``X-Tutka-Subscription``: signed by ``v2``, so a replayed
  request cannot slip past deduplication with altered headers.

Receivers check it with :func:`verify` (given the three headers, it requires ``v2``); the
timestamp bounds how long a captured request can be replayed. Without a master key of at least
32 bytes webhook delivery is refused (``ValueError``), never sent unsigned.

Targets. A webhook goes to an ``https://`` address on the public internet only: private,
loopback, link-local (the cloud metadata service at 169.254.169.254), multicast and reserved
addresses are refused when a subscription is saved (:func:`check_webhook`) and again when a
delivery connects (:class:`PublicOnlyBackend`, which connects to the very address it checked, so
a name that resolves differently the second time gains nothing). Tests and closed labs set
``allow_private_targets``.

>>> key = derive_key("master-secret-of-at-least-32-bytes", "lappi-paper")
>>> header = signature_header(key, b'{"id": "al-1"}', 1_700_000_000)
>>> verify(key, b'{"id": "al-1"}', header, now=1_700_000_060)
True
>>> verify(key, b'{"id": "al-2"}', header, now=1_700_000_060)
False

Delivery. :func:`deliver` POSTs one alert and retries connection errors, timeouts, 5xx and 429
with exponential backoff (honouring ``Retry-After``, capped); other statuses are final. It
returns a :class:`DeliveryResult` instead of raising, so the caller can park a failed alert in a
dead-letter topic: nothing is dropped. A receiver's response body is never kept (only its
status): it is not ours to store.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import json
import re
import socket
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Final, Literal

import httpcore
import httpx
from pydantic import BaseModel, ConfigDict, SecretStr
from tenacity import AsyncRetrying, RetryCallState, retry_if_result, stop_after_attempt

from tutka.config.settings import MIN_SIGNING_KEY_BYTES, WebhookSettings
from tutka.models.subscriptions import Subscription, WebhookDelivery

SIGNATURE_HEADER: Final = "X-Tutka-Signature"
ALERT_ID_HEADER: Final = "X-Tutka-Alert-Id"
ALERT_SEQUENCE_HEADER: Final = "X-Tutka-Alert-Sequence"
SUBSCRIPTION_HEADER: Final = "X-Tutka-Subscription"
USER_AGENT: Final = "muutostutka-webhook/1"
#: Domain separation: a key derived for webhooks cannot collide with another use of the master.
KEY_CONTEXT: Final = b"tutka-webhook:"
DEFAULT_TOLERANCE_SECONDS: Final = 300

_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_HEX_SIGNATURE = re.compile(r"[0-9a-f]{64}")
_NO_SIGNING_KEY: Final = (
    "webhook delivery needs a signing key of at least 32 bytes: set TUTKA_WEBHOOK__SIGNING_KEY "
    "(alerts are never sent unsigned)"
)


# ---------------------------------------------------------------------------------------------
# Keys and signatures


def derive_key(master: SecretStr | str, subscription_id: str) -> bytes:
    """The subscription's HMAC-SHA256 key: ``HMAC(master, "tutka-webhook:" + id)``.

    Raises:
        ValueError: the master key or the id is empty.
    """
    secret = master.get_secret_value() if isinstance(master, SecretStr) else master
    if len(secret.encode()) < MIN_SIGNING_KEY_BYTES:
        raise ValueError(_NO_SIGNING_KEY)
    if not subscription_id:
        raise ValueError("cannot derive a webhook key for an empty subscription id")
    message = KEY_CONTEXT + subscription_id.encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).digest()


def subscription_key(settings: WebhookSettings, subscription_id: str) -> bytes:
    """:func:`derive_key` from the configured master key.

    Raises:
        ValueError: no signing key is configured.
    """
    if settings.signing_key is None:
        raise ValueError(_NO_SIGNING_KEY)
    return derive_key(settings.signing_key, subscription_id)


def check_webhook_signing(subscription: Subscription, settings: WebhookSettings) -> None:
    """Refuse to add a webhook subscription that could not be delivered signed.

    Raises:
        ValueError: the subscription is a webhook and no signing key is configured.
    """
    if isinstance(subscription.delivery, WebhookDelivery) and settings.signing_key is None:
        raise ValueError(f"subscription {subscription.id!r}: {_NO_SIGNING_KEY}")


def check_webhook(subscription: Subscription, settings: WebhookSettings) -> None:
    """Refuse a webhook subscription that could not be delivered signed, or whose address is not
    an ``https://`` one on the public internet (unless ``allow_private_targets``).

    A name is resolved here as well, when it resolves (the check at connect time is the one that
    counts: names change).

    Raises:
        ValueError: with the reason.
    """
    check_webhook_signing(subscription, settings)
    if not isinstance(subscription.delivery, WebhookDelivery):
        return
    url = subscription.delivery.url
    problem = target_problem(url.scheme, url.host or "", settings)
    if problem is None and not settings.allow_private_targets and url.host:
        try:
            infos = socket.getaddrinfo(url.host, url.port or 443, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError):
            infos = []  # does not resolve now: checked again when a delivery connects
        problem = next((p for p in (address_problem(str(info[4][0])) for info in infos) if p), None)
    if problem is not None:
        raise ValueError(f"subscription {subscription.id!r}: webhook url refused: {problem}")


def target_problem(scheme: str, host: str, settings: WebhookSettings) -> str | None:
    """Why a webhook address is refused before any lookup (scheme, literal address), or None."""
    if settings.allow_private_targets:
        return None
    if scheme != "https":
        return "only https:// receivers are accepted"
    bare = host.strip("[]").rstrip(".").lower()
    if bare == "localhost" or bare.endswith(".localhost"):
        return "localhost is not a public address"
    try:
        ipaddress.ip_address(bare)
    except ValueError:
        return None  # a name: resolved and checked later
    return address_problem(bare)


def address_problem(address: str) -> str | None:
    """Why a receiver at ``address`` is refused (not on the public internet), or None."""
    try:
        ip = ipaddress.ip_address(address.split("%")[0])
    except ValueError:
        return f"{address!r} is not an IP address"
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return f"{ip} is a loopback address"
    if ip.is_link_local:
        return f"{ip} is a link-local address (e.g. a cloud metadata service)"
    if ip.is_private:
        return f"{ip} is a private address"
    if ip.is_multicast or ip.is_reserved or ip.is_unspecified or not ip.is_global:
        return f"{ip} is not a public address"
    return None


class TargetRefused(httpx.ConnectError):
    """A delivery would have connected to an address that is not on the public internet."""


class PublicOnlyBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend that resolves a name itself, refuses it if any address is
    not public (:func:`address_problem`), and connects to the address it checked."""

    def __init__(self, inner: httpcore.AsyncNetworkBackend | None = None) -> None:
        self.inner = inner if inner is not None else httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        addresses = [str(info[4][0]) for info in infos]
        for address in addresses:
            problem = address_problem(address)
            if problem is not None:
                raise httpcore.ConnectError(f"webhook target refused: {host}: {problem}")
        return await self.inner.connect_tcp(
            addresses[0], port, timeout, local_address, socket_options
        )

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("webhooks are not delivered to unix sockets")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


def webhook_client(settings: WebhookSettings) -> httpx.AsyncClient:
    """The client deliveries share: redirects not followed, and (unless
    ``allow_private_targets``) connections only to public addresses."""
    if settings.allow_private_targets:
        return httpx.AsyncClient(follow_redirects=False)
    transport = httpx.AsyncHTTPTransport(trust_env=False)
    # httpx takes no network backend of its own: its connection pool (httpcore) does.
    transport._pool = httpcore.AsyncConnectionPool(  # noqa: SLF001
        ssl_context=httpx.create_ssl_context(), network_backend=PublicOnlyBackend()
    )
    return httpx.AsyncClient(transport=transport, follow_redirects=False, trust_env=False)


def signature(key: bytes, body: bytes, timestamp: int) -> str:
    """Hex HMAC-SHA256 over ``"<timestamp>." + body``: the timestamp is signed with the body."""
    return hmac.new(key, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


@dataclass(frozen=True, slots=True)
class DedupFields:
    """What receivers deduplicate on, sent as headers and signed by ``v2``."""

    alert_id: str
    sequence: int
    subscription_id: str

    @classmethod
    def of_headers(cls, headers: Mapping[str, str]) -> DedupFields | None:
        """From a request's headers (any case); None when one is missing or malformed."""
        lower = {k.lower(): v for k, v in headers.items()}
        alert_id = lower.get(ALERT_ID_HEADER.lower())
        sequence = lower.get(ALERT_SEQUENCE_HEADER.lower())
        subscription_id = lower.get(SUBSCRIPTION_HEADER.lower())
        if alert_id is None or subscription_id is None or sequence is None:
            return None
        if not (sequence.isascii() and sequence.isdigit()):
            return None
        return cls(alert_id, int(sequence), subscription_id)


def signature_v2(key: bytes, body: bytes, timestamp: int, fields: DedupFields) -> str:
    """Hex HMAC-SHA256 over ``"<t>.<alert id>.<sequence>.<subscription>." + body``."""
    head = f"{timestamp}.{fields.alert_id}.{fields.sequence}.{fields.subscription_id}."
    return hmac.new(key, head.encode() + body, hashlib.sha256).hexdigest()


def signature_header(
    key: bytes, body: bytes, timestamp: int, fields: DedupFields | None = None
) -> str:
    """The ``X-Tutka-Signature`` value: ``t=<timestamp>,v1=<hex>`` (and ``,v2=<hex>``)."""
    header = f"t={timestamp},v1={signature(key, body, timestamp)}"
    if fields is not None:
        header += f",v2={signature_v2(key, body, timestamp, fields)}"
    return header


def verify(
    key: bytes,
    body: bytes,
    header: str,
    now: float,
    tolerance_seconds: float = DEFAULT_TOLERANCE_SECONDS,
    fields: DedupFields | None = None,
) -> bool:
    """For receivers: is ``header`` a valid signature of ``body``, made within the window?

    A timestamp more than ``tolerance_seconds`` away from ``now`` (either way) is refused, which
    bounds replays of a captured request. Several ``v1=`` (``v2=``) entries are accepted (any may
    match), so a sender can sign with an old and a new key while a key is rotated. With
    ``fields`` (the dedup headers, :meth:`DedupFields.of_headers`) a ``v2`` signature over them
    is required: headers altered in a replay fail. A malformed header is simply invalid.
    """
    if not key:
        raise ValueError("cannot verify with an empty key")
    parsed = _parse_signature_header(header)
    if parsed is None:
        return False
    timestamp, by_scheme = parsed
    if abs(now - timestamp) > tolerance_seconds:
        return False
    if fields is not None:
        expected = signature_v2(key, body, timestamp, fields)
        candidates = by_scheme["v2"]
    else:
        expected = signature(key, body, timestamp)
        candidates = by_scheme["v1"]
    # compare_digest: the time taken must not tell an attacker how much of a guess was right.
    return any(hmac.compare_digest(expected, candidate) for candidate in candidates)


def _parse_signature_header(header: str) -> tuple[int, dict[str, list[str]]] | None:
    timestamp: int | None = None
    by_scheme: dict[str, list[str]] = {"v1": [], "v2": []}
    for part in header.split(","):
        name, sep, value = part.strip().partition("=")
        if not sep:
            return None
        if name == "t":
            if timestamp is not None or _TIMESTAMP.fullmatch(value) is None:
                return None
            timestamp = int(value)
        elif name in by_scheme:
            # compare_digest refuses non-ASCII str, so check the shape before comparing.
            if _HEX_SIGNATURE.fullmatch(value) is None:
                return None
            by_scheme[name].append(value)
        # Other schemes (a future v3) are ignored, so receivers keep working while both are sent.
    if timestamp is None or not (by_scheme["v1"] or by_scheme["v2"]):
        return None
    return timestamp, by_scheme


# ---------------------------------------------------------------------------------------------
# Delivery


class DeliveryResult(BaseModel):
    """What became of one alert sent to one webhook; a failed one goes to the dead-letter topic."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    subscription_id: str
    alert_id: str
    alert_sequence: int
    outcome: Literal["delivered", "failed"]
    attempts: int
    status: int | None = None
    error: str | None = None
    permanent: bool = False

    @property
    def delivered(self) -> bool:
        return self.outcome == "delivered"


@dataclass(frozen=True, slots=True)
class _Attempt:
    status: int | None
    error: str | None
    retryable: bool
    retry_after: float | None = None

    @property
    def delivered(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


async def deliver(
    client: httpx.AsyncClient,
    subscription: Subscription,
    alert_json: bytes,
    key: bytes,
    settings: WebhookSettings,
    now: Callable[[], float],
    *,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> DeliveryResult:
    """POST one alert (``alert_json``, sent byte for byte) to a webhook subscription.

    Retries with exponential backoff (``backoff_seconds`` doubling, at most
    ``backoff_max_seconds``) on connection errors, timeouts, 5xx and 429, up to
    ``max_attempts`` attempts; a ``Retry-After`` (seconds or an HTTP date) replaces the backoff,
    capped at ``backoff_max_seconds``. Any other status is final: a 2xx is delivered, a 3xx or a
    4xx other than 429 fails at once (redirects are not followed: a signed POST goes only where
    the subscription says). Each attempt is signed afresh, so a long backoff cannot push the
    timestamp out of the receiver's replay window.

    Args:
        client: the shared client; its own timeout is overridden by ``timeout_seconds``.
        subscription: a webhook subscription.
        alert_json: the alert as produced to Kafka; it must hold ``id`` and ``sequence``.
        key: the subscription's key (:func:`subscription_key`).
        settings: retry, timeout and signing settings.
        now: the clock, in Unix seconds (injected so tests control signatures).
        sleep: how to wait between attempts (injected so tests need not wait).

    Returns:
        The outcome; delivery failures are reported here, never raised.

    Raises:
        ValueError: the subscription is not a webhook, no signing key is configured, the key is
            empty, or ``alert_json`` is not an alert. These are bugs or configuration errors,
            not delivery failures.
    """
    if not isinstance(subscription.delivery, WebhookDelivery):
        raise ValueError(
            f"subscription {subscription.id!r} is delivered by {subscription.delivery.type}, "
            "not by webhook"
        )
    if settings.signing_key is None:
        raise ValueError(f"subscription {subscription.id!r}: {_NO_SIGNING_KEY}")
    if not key:
        raise ValueError(f"subscription {subscription.id!r}: the webhook key is empty")
    alert_id, sequence = _alert_identity(alert_json)
    fields = DedupFields(alert_id, sequence, subscription.id)
    url = str(subscription.delivery.url)
    attempts = 0

    async def attempt() -> _Attempt:
        nonlocal attempts
        attempts += 1
        timestamp = int(now())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            SIGNATURE_HEADER: signature_header(key, alert_json, timestamp, fields),
            ALERT_ID_HEADER: alert_id,
            ALERT_SEQUENCE_HEADER: str(sequence),
            SUBSCRIPTION_HEADER: subscription.id,
        }
        try:
            response = await client.post(
                url,
                content=alert_json,
                headers=headers,
                timeout=settings.timeout_seconds,
                follow_redirects=False,
            )
        except (httpx.UnsupportedProtocol, httpx.LocalProtocolError) as exc:
            # Our request cannot be sent as it is: trying again would fail the same way.
            return _Attempt(None, _describe(exc), retryable=False)
        except httpx.TransportError as exc:
            # Connection refused or reset, timeouts, a receiver that hung up: transient.
            return _Attempt(None, _describe(exc), retryable=True)
        except httpx.HTTPError as exc:
            # E.g. an undecodable response: recorded as a failure, for the dead letter.
            return _Attempt(None, _describe(exc), retryable=False)
        return _classify(response, now())

    def wait(state: RetryCallState) -> float:
        backoff = settings.backoff_seconds * 2 ** (state.attempt_number - 1)
        asked = _last(state).retry_after
        chosen = asked if asked is not None else backoff
        return min(chosen, settings.backoff_max_seconds)

    retrying = AsyncRetrying(
        sleep=sleep,
        stop=stop_after_attempt(settings.max_attempts),
        wait=wait,
        retry=retry_if_result(lambda result: isinstance(result, _Attempt) and result.retryable),
        # Out of attempts: hand back the last attempt instead of raising RetryError.
        retry_error_callback=_last,
    )
    last: _Attempt = await retrying(attempt)
    return DeliveryResult(
        subscription_id=subscription.id,
        alert_id=alert_id,
        alert_sequence=sequence,
        outcome="delivered" if last.delivered else "failed",
        attempts=attempts,
        status=last.status,
        error=last.error,
        permanent=not last.delivered and not last.retryable,
    )


def _last(state: RetryCallState) -> _Attempt:
    outcome = state.outcome
    if outcome is None:  # tenacity sets it before waiting or giving up
        raise RuntimeError("retry state without an outcome")
    result = outcome.result()
    if not isinstance(result, _Attempt):
        raise TypeError(f"expected a delivery attempt, got {type(result).__name__}")
    return result


def _classify(response: httpx.Response, now: float) -> _Attempt:
    status = response.status_code
    if 200 <= status < 300:
        return _Attempt(status, None, retryable=False)
    retryable = status == 429 or status >= 500
    retry_after = _retry_after(response.headers.get("Retry-After"), now) if retryable else None
    return _Attempt(status, _status_error(response), retryable, retry_after)


def _retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP date), if usable."""
    if value is None:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # an HTTP date is GMT, but be lenient about a missing zone
        return None
    return max(0.0, when.timestamp() - now)


def _status_error(response: httpx.Response) -> str:
    # The status only: a receiver's body is not ours to keep (it may hold anything).
    reason = "".join(ch for ch in response.reason_phrase[:60] if ch.isprintable())
    return f"HTTP {response.status_code} {reason}".rstrip()


def _describe(exc: Exception) -> str:
    detail = str(exc) or repr(exc)
    return f"{type(exc).__name__}: {detail}"


def _alert_identity(alert_json: bytes) -> tuple[str, int]:
    # Only id and sequence are needed for the headers; the body itself is sent as produced.
    try:
        data = json.loads(alert_json)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"alert_json is not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ValueError("alert_json must be a JSON object (an alert)")
    alert_id, sequence = data.get("id"), data.get("sequence")
    if not isinstance(alert_id, str) or not alert_id:
        raise ValueError("alert_json has no string 'id'")
    if type(sequence) is not int or sequence < 1:
        raise ValueError("alert_json has no positive integer 'sequence'")
    return alert_id, sequence
