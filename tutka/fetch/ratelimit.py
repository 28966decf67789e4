"""At most ``calls`` requests in any ``window`` seconds: a sliding window of call times.

Statistics Finland, like every PxWeb service, announces its limit as "so many calls per time
window" (``maxCalls`` per ``timeWindow`` seconds in ``?config``) and counts the calls of the
last window. A token bucket of ``calls`` tokens would let twice that through in a window (a full
bucket, then its refill), so this keeps the times of the last ``calls`` requests and waits until
the oldest has left the window (plus a small margin for the clocks' disagreement). Twenty lines,
the clock and the sleep injectable for tests, rather than a dependency.

>>> now = [0.0]
>>> def sleep(seconds: float) -> None:
...     now[0] += seconds
>>> window = CallWindow(2, 10.0, margin=0.0, clock=lambda: now[0], sleep=sleep)
>>> [window.acquire() for _ in range(5)]  # seconds waited: two at once, then two per 10 s
[0.0, 0.0, 10.0, 0.0, 10.0]
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable


class CallWindow:
    def __init__(
        self,
        calls: int,
        window: float,
        *,
        margin: float = 0.1,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._clock, self._sleep = clock, sleep
        self._stamps: deque[float] = deque()
        self._lock = threading.Lock()
        self.margin = margin
        self.limit(calls, window)

    def limit(self, calls: int, window: float) -> None:
        """Change the limit (the calls already made still count)."""
        if calls < 1 or window <= 0:
            raise ValueError(f"a rate limit needs calls >= 1 and window > 0, got {calls}/{window}")
        self.calls, self.window = calls, window

    def acquire(self) -> float:
        """Wait until a call is allowed, and count it; returns the seconds waited."""
        with self._lock:
            now = self._clock()
            waited = 0.0
            while len(self._stamps) >= self.calls:
                oldest = self._stamps[-self.calls]
                wait = oldest + self.window + self.margin - now
                if wait <= 0:
                    break
                self._sleep(wait)
                waited += wait
                now = max(self._clock(), oldest + self.window + self.margin)
            self._stamps.append(now)
            while len(self._stamps) > self.calls:
                self._stamps.popleft()
            return waited
