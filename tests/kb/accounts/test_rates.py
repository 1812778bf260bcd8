"""Rate limits counted in PostgreSQL: one count for every process (KB_SHARED), sliding, never
over the limit under concurrent callers, and what the web layer chooses by the setting."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.engine import Engine

from kb.accounts.principal import Principal
from kb.accounts.rates import SharedRateLimiter
from kb.context import KnowledgeBase
from kb.errors import TooManyAttempts
from kb.models import RateWindow
from web.limits import RATE_LIMITER, RateLimiter, check_rate

pytestmark = pytest.mark.postgres

START = 1_800_000_000.0  # the start of a minute (a multiple of 60)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def engines(postgres_url: str) -> Iterator[Callable[[], Engine]]:
    """Engines on one database, each standing for a process of its own."""
    made: list[Engine] = []

    def make() -> Engine:
        made.append(create_engine(postgres_url))
        return made[-1]

    yield make
    for engine in made:
        engine.dispose()


def test_two_processes_share_one_count_and_a_refusal_is_not_counted(
    engines: Callable[[], Engine],
) -> None:
    clock = Clock()
    a, b = SharedRateLimiter(engines(), clock), SharedRateLimiter(engines(), clock)
    assert [a.hit("key:1", 5) for _ in range(3)] + [b.hit("key:1", 5) for _ in range(2)] == [
        0.0
    ] * 5
    clock.now += 10
    assert b.hit("key:1", 5) == pytest.approx(50.0)  # full until this minute ends
    assert a.hit("key:1", 5) > 0
    assert a.hit("key:2", 5) == 0.0  # another caller has its own count
    with a.engine.connect() as conn:
        counted = conn.execute(select(func.sum(RateWindow.hits))).scalar()  # type: ignore[arg-type]
    assert counted == 6  # five of key:1, one of key:2: the refusals left no trace


def test_the_window_slides_over_the_previous_minute(engines: Callable[[], Engine]) -> None:
    clock = Clock()
    limiter = SharedRateLimiter(engines(), clock)
    assert all(limiter.hit("user:u", 4) == 0.0 for _ in range(4))
    clock.now = START + 60 + 30  # half the previous minute is still within the last 60 s
    assert [limiter.hit("user:u", 4) == 0.0 for _ in range(3)] == [True, True, False]
    clock.now = START + 120 + 59  # the previous minute (two hits) has almost slid out
    assert limiter.hit("user:u", 4) == 0.0


def test_concurrent_callers_in_two_processes_never_pass_the_limit(
    engines: Callable[[], Engine],
) -> None:
    limiters = [SharedRateLimiter(engines()), SharedRateLimiter(engines())]
    allowed: list[bool] = []
    lock = threading.Lock()

    def call(limiter: SharedRateLimiter) -> None:
        for _ in range(15):
            ok = limiter.hit("key:busy", 40) == 0.0
            with lock:
                allowed.append(ok)

    threads = [threading.Thread(target=call, args=(limiters[i % 2],)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # 90 attempts within a minute (or two, at a boundary: then the estimate still caps them).
    assert len(allowed) == 90 and sum(allowed) <= 40 and sum(allowed) >= 40 * 0.5


def test_a_shared_knowledge_base_counts_in_the_database(
    make_kb: Callable[..., KnowledgeBase], postgres_url: str
) -> None:
    first = make_kb(database_url=postgres_url, shared=True, rate_limit_key_per_minute=2)
    second = make_kb(
        database_url=postgres_url, data_dir=first.settings.data_dir, shared=True,
        rate_limit_key_per_minute=2,
    )  # fmt: skip
    assert isinstance(first.state(RATE_LIMITER), SharedRateLimiter)
    caller = Principal(kind="key", name="kb_x", key_id="k1")
    check_rate(first, caller)
    check_rate(second, caller)
    with pytest.raises(TooManyAttempts) as refused:
        check_rate(first, caller)
    assert refused.value.retry_after >= 1


def test_one_machine_counts_in_memory(make_kb: Callable[..., KnowledgeBase]) -> None:
    assert isinstance(make_kb().state(RATE_LIMITER), RateLimiter)
