"""The room's HTTP guard rails, ahead of every route: a body-size limit that answers before
authentication or parsing, security headers on every answer, and a throttle on failed sign-ins.

Pure ASGI middleware (no per-request task or body buffering), so a 50 MB body without a token
costs the room nothing but the first chunk: the limit looks at ``Content-Length`` and counts the
bytes of a chunked body as they arrive, and answers 413 at once. The throttle uses ``limits``
(the moving-window limiter behind slowapi and Flask-Limiter), keyed by client address: once an
address has failed :attr:`AuthThrottle.per_minute` sign-ins within a minute, it gets 429 with a
``Retry-After`` until the window moves on, whatever token it tries.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import Any, Final

from limits import RateLimitItemPerMinute
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

# ASGI's own shapes (as starlette.types spells them; fastapi is what the project depends on).
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: The page's own assets only: no inline script, no framing, no plug-ins; the stream and the API
#: on the same origin. (Inline ``style`` attributes set by script go through CSSOM, not markup.)
CONTENT_SECURITY_POLICY: Final = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS: Final = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
)


class SecurityHeaders:
    """Adds :data:`SECURITY_HEADERS` to every HTTP answer (an answer's own header wins)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers.extend(h for h in SECURITY_HEADERS if h[0] not in present)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


class BodyLimit:
    """413 for a request body over ``max_bytes``: by its ``Content-Length`` before anything is
    read, or as soon as a body without one passes the limit. ``larger`` names the paths that
    take more (a spreadsheet upload) and their own limit."""

    def __init__(
        self, app: ASGIApp, max_bytes: int, larger: Mapping[str, int] | None = None
    ) -> None:
        self.app = app
        self.default_bytes = max_bytes
        self.larger = dict(larger or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = _Limit(self.larger.get(scope.get("path", ""), self.default_bytes))
        await limit.guard(self.app, scope, receive, send)


@dataclass(frozen=True)
class _Limit:
    max_bytes: int

    async def guard(self, app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    await _problem(send, 400, "Content-Length is not a number")
                    return
                if declared > self.max_bytes:
                    await _problem(send, 413, self._detail())
                    return
        received = 0
        started = refused = False

        async def counting_receive() -> Message:
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    # Answer now; the app is told the client went away and reads no more.
                    refused = True
                    if not started:
                        await _problem(send, 413, self._detail())
                    return {"type": "http.disconnect"}
            return message

        async def watching_send(message: Message) -> None:
            nonlocal started
            if refused:
                return  # the 413 has been sent: whatever the app says after it is dropped
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await app(scope, counting_receive, watching_send)
        except Exception:
            if not refused:
                raise  # (the app's reaction to the disconnect is of no interest)

    def _detail(self) -> str:
        return f"the request body is larger than {self.max_bytes:,} bytes"


async def _problem(send: Send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if status == 413:
        headers.append((b"connection", b"close"))  # the rest of the body is not read
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


@dataclass
class AuthThrottle:
    """Failed sign-ins per client address and minute, in a moving window (``limits``)."""

    per_minute: int
    _limiter: MovingWindowRateLimiter = field(init=False, repr=False)
    _rate: RateLimitItemPerMinute = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        self._rate = RateLimitItemPerMinute(self.per_minute)

    def blocked(self, client: str) -> bool:
        """True while ``client`` has used up its failed sign-ins (nothing is counted)."""
        return not self._limiter.test(self._rate, "auth-failures", client)

    def failed(self, client: str) -> None:
        self._limiter.hit(self._rate, "auth-failures", client)

    def retry_after(self, client: str) -> int:
        """Seconds until ``client`` may try again."""
        reset, _ = self._limiter.get_window_stats(self._rate, "auth-failures", client)
        return max(1, int(reset - time.time()) + 1)
