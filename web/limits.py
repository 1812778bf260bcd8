"""Request limits: requests per minute per caller (429) and request body size (413).

On one machine the rate limiter counts in memory, per process, so with N workers a caller may
make up to N times its limit; that bounds a runaway CRM loop or a stuck panel, which is what it
is for, without a shared store on every request. With ``KB_SHARED`` (several processes or hosts
on one PostgreSQL) it counts in the database instead (kb/accounts/rates.py). The body limit
needs no sharing.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Protocol

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ingest.sizes import size_limit
from kb.accounts.principal import Principal
from kb.accounts.rates import SharedRateLimiter
from kb.context import KnowledgeBase, Slot
from kb.errors import TooManyAttempts
from kb.settings import Settings

WINDOW_SECONDS = 60.0
_SWEEP_EVERY = 1000  # calls between sweeps of callers who have gone quiet


class RateLimiter:
    """A sliding window of the last minute's request times, one per caller.

    Exact (a log of times, not two fixed windows averaged): at most ``limit`` entries a caller,
    so memory stays at limit × active callers. ``clock`` is injectable for tests.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._seen: dict[str, deque[float]] = {}
        self._lock = threading.Lock()  # sync dependencies run on several threads
        self._calls = 0

    def hit(self, caller: str, limit: int) -> float:
        """Count one request; 0.0 if it may go ahead, else the seconds until one may."""
        now = self.clock()
        with self._lock:
            self._calls += 1
            if self._calls % _SWEEP_EVERY == 0:
                self._sweep(now)
            times = self._seen.setdefault(caller, deque())
            while times and times[0] <= now - WINDOW_SECONDS:
                times.popleft()
            if len(times) >= limit:
                return times[0] + WINDOW_SECONDS - now  # a refused request is not counted
            times.append(now)
            return 0.0

    def _sweep(self, now: float) -> None:
        quiet = [c for c, t in self._seen.items() if not t or t[-1] <= now - WINDOW_SECONDS]
        for caller in quiet:
            del self._seen[caller]


class Limiter(Protocol):
    def hit(self, caller: str, limit: int) -> float: ...


def _limiter(kb: KnowledgeBase) -> Limiter:
    """Counted in this process, or across every process in the database (``KB_SHARED``)."""
    return SharedRateLimiter(kb.engine) if kb.shared else RateLimiter()


RATE_LIMITER: Slot[Limiter] = Slot("web.rate_limiter", _limiter)


def rate_limit_of(principal: Principal, settings: Settings) -> tuple[str, int, str]:
    """Whose count a request goes on, its limit a minute, and the setting that sets it.

    An embed token stands for one agent, who is counted like a signed-in person (per agent,
    not per CRM key: one busy agent must not use up the CRM's allowance)."""
    if principal.kind == "key":
        return f"key:{principal.key_id}", settings.rate_limit_key_per_minute, "KEY"
    if principal.kind == "embed":
        return f"embed:{principal.name}", settings.rate_limit_user_per_minute, "USER"
    return f"user:{principal.user_id}", settings.rate_limit_user_per_minute, "USER"


def check_rate(kb: KnowledgeBase, principal: Principal) -> None:
    """Count the request on its caller; TooManyAttempts (429, ``Retry-After``) over the limit."""
    caller, limit, which = rate_limit_of(principal, kb.settings)
    if limit <= 0:
        return
    wait = kb.state(RATE_LIMITER).hit(caller, limit)
    if wait > 0:
        seconds = max(1, math.ceil(wait))
        raise TooManyAttempts(
            "too many requests: the limit is {limit} a minute "
            "(KB_RATE_LIMIT_{which}_PER_MINUTE); try again in {seconds} s",
            retry_after=seconds,
            limit=limit,
            which=which,
            seconds=seconds,
        )


class _BodyTooLarge(Exception):
    pass


class BodySizeLimit:
    """ASGI middleware: a body over ``max_bytes`` is refused with 413, by its Content-Length
    before any of it is read, and by counting what streams in (a chunked body declares none).

    Not FastAPI's ``max_body_size``: its 413 says only "Content Too Large", in plain text when
    the length is declared, and names no limit; this one answers in the app's error shape."""

    def __init__(
        self, app: ASGIApp, *, max_bytes: int, refuse: Callable[[Request, str], Response]
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.refuse = refuse

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await self._answer(scope, receive, send)
            return
        received, exceeded, started = 0, False, False

        async def counted() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    exceeded = True
                    raise _BodyTooLarge
            return message

        async def guarded(message: Message) -> None:
            nonlocal started
            if exceeded:
                return  # the app's answer to a body cut short (often a 400) gives way to ours
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, guarded)
        except Exception:
            if not exceeded:
                raise
        if exceeded and not started:
            await self._answer(scope, receive, send)

    async def _answer(self, scope: Scope, receive: Receive, send: Send) -> None:
        message = f"the request body is over {size_limit(self.max_bytes)} (KB_MAX_REQUEST_BYTES)"
        response = self.refuse(Request(scope, receive), message)
        await response(scope, receive, send)
