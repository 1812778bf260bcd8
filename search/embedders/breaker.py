"""A circuit breaker for the embedding server: while it is down, a request is not sent at all.

Without one, every search during an outage waits the full query timeout and its retries before
falling back to BM25 alone. After ``failures`` consecutive failed attempts (no connection, a
timeout, 429 or 5xx) the breaker opens: for ``pause`` seconds nothing is sent and callers get
the last error at once. Then one request is let through (the others still fail fast while it is
under way): its success closes the breaker, its failure opens it for another ``pause``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class Breaker:
    """Counts consecutive failures; ``failures`` 0 turns it off (every request is sent)."""

    def __init__(
        self, failures: int, pause: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.failures, self.pause, self._clock = failures, pause, clock
        self._lock = threading.Lock()
        self._count = 0
        self._opened = 0.0
        self._trial = False  # the one request let through after a pause is under way

    @property
    def is_open(self) -> bool:
        with self._lock:
            return 0 < self.failures <= self._count

    def admit(self) -> float | None:
        """None: send the request; else the seconds until one will be tried again."""
        with self._lock:
            if self.failures <= 0 or self._count < self.failures:
                return None
            left = self._opened + self.pause - self._clock()
            if left > 0:
                return left
            if self._trial:
                return 0.0
            self._trial = True
            return None

    def succeeded(self) -> None:
        with self._lock:
            self._count, self._trial = 0, False

    def failed(self) -> bool:
        """Count a failed attempt; True when the breaker is (now) open."""
        with self._lock:
            self._count += 1
            self._trial = False
            if 0 < self.failures <= self._count:
                self._opened = self._clock()
                return True
            return False
