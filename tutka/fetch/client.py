"""A PxWeb v1 client on httpx: metadata, JSON-stat2 queries, the service's limits respected.

* **Rate**: at most ``max_calls`` requests in any ``time_window_seconds``
  (:class:`~tutka.fetch.ratelimit.CallWindow`), or the server's own, tighter, ``?config``.
* **Retries** (tenacity): a timeout, a dropped connection, 429 and 5xx are tried again up to
  ``max_attempts`` times, with exponential backoff from ``backoff_seconds``; a 429's
  ``Retry-After`` is honoured (seconds or an HTTP date) instead. Other 4xx are not retried.
* **Failures** end in :class:`FetchError` with a short ``reason`` (the metrics label) and a
  message a person can act on, never a traceback.
"""

from __future__ import annotations

import email.utils
import json
import logging
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
)

from tutka.config.settings import FetchSettings
from tutka.fetch.jsonstat import Dataset, JsonStatError, decode
from tutka.fetch.ratelimit import CallWindow

log = logging.getLogger("tutka.fetch")
USER_AGENT = "muutostutka-fetch (+https://github.com/; labour-market early warning)"


class FetchError(Exception):
    """A fetch that failed for good. ``reason`` is bounded: it labels a metric."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class _Retryable(Exception):
    """A response worth trying again (429, 5xx), with the server's wish for a pause."""

    def __init__(self, reason: str, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class Limits:
    """What the client keeps to: cells per query and calls per window."""

    max_cells: int
    max_calls: int
    window: float


class PxWebClient:
    """One PxWeb v1 API root (``…/PxWeb/api/v1/fi``); a context manager."""

    def __init__(
        self,
        settings: FetchSettings,
        base_url: str | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = settings
        self.base = (base_url or str(settings.base_url)).rstrip("/")
        self._sleep = sleep
        self._http = httpx.Client(
            timeout=httpx.Timeout(settings.timeout_seconds),
            headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
            transport=transport,
            follow_redirects=True,
        )
        self.limits = Limits(settings.max_cells, settings.max_calls, settings.time_window_seconds)
        self._calls = CallWindow(self.limits.max_calls, self.limits.window, sleep=sleep)
        #: Requests by outcome (ok, and each retried or failed reason): for metrics and reports.
        self.requests: Counter[str] = Counter()

    def __enter__(self) -> PxWebClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # -- the API ------------------------------------------------------------------------------

    def configure(self) -> Limits:
        """Tighten the limits to what the server announces (``GET …/?config``), if it does."""
        try:
            config = self._json("GET", f"{self.base}/?config", what="the API's configuration")
        except FetchError as exc:
            if exc.reason not in ("http_4xx", "not_found"):
                raise
            return self.limits  # no ?config here: keep the settings
        if isinstance(config, Mapping):
            cells = _positive(config.get("maxValues")) or self.limits.max_cells
            calls = _positive(config.get("maxCalls")) or self.limits.max_calls
            window = _positive(config.get("timeWindow")) or self.limits.window
            limits = Limits(
                min(self.limits.max_cells, int(cells)),
                min(self.limits.max_calls, int(calls)),
                max(self.limits.window, float(window)),
            )
            if limits != self.limits:
                self.limits = limits
                self._calls.limit(limits.max_calls, limits.window)
        return self.limits

    def metadata(self, path: str) -> Any:
        """A table's metadata: its title and variables with their values."""
        return self._json("GET", f"{self.base}/{path}", what=f"the metadata of {path}")

    def query(self, path: str, selection: Mapping[str, list[str]]) -> Dataset:
        """The cells of ``selection`` (variable code → value codes) as a JSON-stat2 dataset."""
        body = {
            "query": [
                {"code": code, "selection": {"filter": "item", "values": values}}
                for code, values in selection.items()
            ],
            "response": {"format": "json-stat2"},
        }
        data = self._json("POST", f"{self.base}/{path}", body=body, what=f"a query of {path}")
        try:
            return decode(data)
        except JsonStatError as exc:
            message = f"{path}: the answer is not JSON-stat2 we can read: {exc}"
            raise FetchError("decode", message) from None

    # -- plumbing -----------------------------------------------------------------------------

    def _json(self, method: str, url: str, *, what: str, body: Any = None) -> Any:
        retrying = Retrying(
            stop=stop_after_attempt(self.settings.max_attempts),
            wait=self._wait,
            retry=retry_if_exception(
                lambda e: isinstance(e, _Retryable | httpx.TimeoutException | httpx.TransportError)
            ),
            sleep=self._sleep,
            before_sleep=lambda state: self._note_retry(state, what),
            reraise=True,
        )
        try:
            response = retrying(self._once, method, url, body)
        except _Retryable as exc:
            self.requests[exc.reason] += 1
            raise FetchError(exc.reason, f"{what}: {exc} (after {self.settings.max_attempts} "
                             "attempts)") from None  # fmt: skip
        except httpx.TimeoutException:
            self.requests["timeout"] += 1
            raise FetchError(
                "timeout",
                f"{what}: no answer within {self.settings.timeout_seconds:g} s, "
                f"{self.settings.max_attempts} times (TUTKA_FETCH__TIMEOUT_SECONDS)",
            ) from None
        except httpx.TransportError as exc:
            self.requests["connection"] += 1
            raise FetchError("connection", f"{what}: cannot reach {url}: {exc}") from None
        self.requests["ok"] += 1
        try:
            return json.loads(response.content.decode("utf-8-sig"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise FetchError("decode", f"{what}: the answer is not JSON ({exc})") from None

    def _once(self, method: str, url: str, body: Any) -> httpx.Response:
        self._calls.acquire()
        response = self._http.request(method, url, json=body)
        status = response.status_code
        if status == 429:
            raise _Retryable("rate_limited", "the server answered 429 Too Many Requests",
                             _retry_after(response.headers.get("Retry-After")))  # fmt: skip
        if status >= 500:
            raise _Retryable("http_5xx", f"the server answered {status}")
        if status == 404:
            raise FetchError("not_found", f"{url} does not exist (404): check the table's path "
                             "in the tables file and TUTKA_FETCH__BASE_URL")  # fmt: skip
        if status == 403 and method == "POST":
            raise FetchError("http_4xx", f"{url} refused the query (403): PxWeb does this when a "
                             "query asks for more cells than it allows; lower "
                             "TUTKA_FETCH__MAX_CELLS")  # fmt: skip
        if status >= 400:
            raise FetchError("http_4xx", f"{url} answered {status}: {response.text[:200]}")
        return response

    def _wait(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome is not None else None
        if isinstance(error, _Retryable) and error.retry_after is not None:
            return min(error.retry_after, self.settings.backoff_max_seconds)
        backoff = self.settings.backoff_seconds * 2 ** (state.attempt_number - 1)
        return float(min(backoff, self.settings.backoff_max_seconds))

    def _note_retry(self, state: RetryCallState, what: str) -> None:
        error = state.outcome.exception() if state.outcome is not None else None
        reason = error.reason if isinstance(error, _Retryable) else _reason(error)
        self.requests[reason] += 1
        log.warning("%s: %s; trying again (attempt %d)", what, error or reason,
                    state.attempt_number + 1)  # fmt: skip


def _reason(error: BaseException | None) -> str:
    if isinstance(error, httpx.TimeoutException):
        return "timeout"
    return "connection"


def _positive(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        return None
    return float(value)


def _retry_after(value: str | None) -> float | None:
    """``Retry-After`` as seconds: a number of seconds, or an HTTP date."""
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())
