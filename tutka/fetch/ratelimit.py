"""A token bucket: at most ``calls`` requests in any ``window`` seconds, bursts included.

Statistics Finland, like every PxWeb service, announces its limit as "so many calls per time
window" (``maxCalls`` per ``timeWindow`` seconds in ``?config``). A bucket of ``calls`` tokens
refilled at ``calls / window`` per second never lets more than ``calls`` through in a window.
Twenty lines, with the clock and the sleep injectable for tests, rather than a dependency.

>>> now = [0.0]
>>> def sleep(seconds: float) -> None:
...     now[0] += seconds
>>> bucket = TokenBucket(2, 10.0, clock=lambda: now[0], sleep=sleep)
>>> [bucket.acquire() for _ in range(4)]  # seconds waited: two at once, then one every 5 s
[0.0, 0.0, 5.0, 5.0]
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class TokenBucket:
    def __init__(
        self,
        calls: int,
        window: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if calls < 1 or window <= 0:
            raise ValueError(f"a rate limit needs calls >= 1 and window > 0, got {calls}/{window}")
        self.capacity = float(calls)
        self.rate = calls / window
        self._clock, self._sleep = clock, sleep
        self._tokens = self.capacity
        self._stamp = clock()
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Take a token, waiting for one if need be; returns the seconds waited."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.capacity, self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now
            wait = 0.0 if self._tokens >= 1 else (1 - self._tokens) / self.rate
            if wait > 0:
                self._sleep(wait)
                self._tokens, self._stamp = 1.0, self._clock()
            self._tokens -= 1
            return wait
