"""Requests per minute counted in PostgreSQL, so a limit holds across processes (``KB_SHARED``).

One row per caller and minute (``rate_window``), raised by one conditional upsert: PostgreSQL
takes the row lock, so concurrent processes never both take the last place. The window slides
as Cloudflare's and nginx's shared limiters do: the previous minute's count, weighted by how
much of it still lies within the last 60 s, plus this minute's. That is an estimate (exact when
requests are spread evenly); the per-process limiter (web/limits.py) keeps exact times, but
sharing them would cost a row per request.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

from sqlalchemy import text
from sqlalchemy.engine import Engine

WINDOW_SECONDS = 60.0
_SWEEP_EVERY = 1000  # calls (in this process) between deletions of windows nobody reads again

_COUNT = text(
    "INSERT INTO rate_window (caller, minute, hits) VALUES (:caller, :minute, 1)"
    " ON CONFLICT (caller, minute) DO UPDATE SET hits = rate_window.hits + 1"
    " WHERE rate_window.hits < :room"
    " RETURNING hits"
)
_HITS = text("SELECT hits FROM rate_window WHERE caller = :caller AND minute = :minute")


class SharedRateLimiter:
    """The per-process :class:`web.limits.RateLimiter`'s ``hit``, counted in the database."""

    def __init__(self, engine: Engine, clock: Callable[[], float] = time.time) -> None:
        self.engine = engine
        self.clock = clock  # wall time: every process must agree on the minute
        self._calls = 0
        self._lock = threading.Lock()

    def hit(self, caller: str, limit: int) -> float:
        """Count one request; 0.0 if it may go ahead, else the seconds until one may."""
        now = self.clock()
        minute, into = divmod(now, WINDOW_SECONDS)
        weight = 1.0 - into / WINDOW_SECONDS  # the previous minute's share of the last 60 s
        key = {"caller": caller[:200], "minute": int(minute)}
        with self.engine.begin() as conn:
            previous = conn.execute(_HITS, {**key, "minute": int(minute) - 1}).scalar() or 0
            room = math.floor(limit - previous * weight)  # this minute's hits may reach it
            counted = None
            if room >= 1:
                counted = conn.execute(_COUNT, {**key, "room": room}).scalar()
            if counted is None:  # a refused request is not counted
                current = conn.execute(_HITS, key).scalar() or 0
        self._maybe_sweep(int(minute))
        if counted is not None:
            return 0.0
        return _wait(previous, current, limit, into)

    def _maybe_sweep(self, minute: int) -> None:
        with self._lock:
            self._calls += 1
            due = self._calls % _SWEEP_EVERY == 0
        if due:
            with self.engine.begin() as conn:
                conn.execute(text("DELETE FROM rate_window WHERE minute < :m"), {"m": minute - 1})


def _wait(previous: int, current: int, limit: int, into: float) -> float:
    """Seconds until the estimate falls below ``limit``: as the previous minute slides out, or
    at the next minute, when this one's hits start sliding out."""
    if current < limit and previous > 0:
        # previous × (1 − t/60) + current < limit  ⇔  t > 60 × (1 − (limit − current)/previous)
        due = WINDOW_SECONDS * (1.0 - (limit - current) / previous)
        return max(due - into, 1.0)  # (a floor's rounding can refuse just below the limit)
    return WINDOW_SECONDS - into
