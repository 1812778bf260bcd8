"""The added cost per request of authentication, as a share of a real request, in one run.

In one process: the sample KB, one API key and one signed-in person (through the real login).
It times the dependency every protected route runs (``web.auth.current_principal`` on a real
Starlette request, then the rate limiter's count) for an API key and for a session cookie,
interleaved in rounds so both see the same machine, and warm ``POST /api/v1/search`` requests
through the whole app (TestClient, no network) beside them. Writes bench/results/auth_cost.json.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import text
from starlette.requests import Request

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.latency import sample_questions
from bench.machine import machine_info
from kb.accounts.keys import create_key
from kb.accounts.sessions import login
from kb.accounts.users import create_user
from kb.context import KnowledgeBase
from kb.db import session_scope
from kb.documents.ingestion import ingest_items
from kb.documents.samples import load_sample
from kb.settings import Settings
from web.app import create_app
from web.auth import SESSION_COOKIE, current_principal
from web.limits import check_rate


def _request(app: Any, headers: dict[str, str]) -> Request:
    scope = {
        "type": "http", "method": "POST", "path": "/api/v1/search", "query_string": b"",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()], "app": app,
    }  # fmt: skip
    return Request(scope)


def _timed(
    call: Callable[[], object],
    reps: int,
    wall: list[float],
    cpu: list[float],
    cpu_clock: Callable[[], float] = time.thread_time,
) -> None:
    """Microseconds per call, ``reps`` calls: wall clock, and CPU time.

    CPU time is the figure to read on a shared machine: a wall clock there mostly measures
    waiting for a core. An auth check runs wholly on this thread (SQLite too), so its thread's
    CPU time; a request runs on the app's threads, so the process's."""
    for _ in range(reps):
        start, start_cpu = time.perf_counter(), cpu_clock()
        call()
        cpu.append((cpu_clock() - start_cpu) * 1e6)
        wall.append((time.perf_counter() - start) * 1e6)


def _python_loop_ms() -> float:
    """CPU ms of a fixed pure-Python loop (10^6 additions; about 40 ms on an idle modern core):
    how much slower than usual this machine ran, to read the absolute figures by."""
    best = math.inf
    for _ in range(3):
        start, total = time.thread_time(), 0
        for i in range(10**6):
            total += i
        best = min(best, time.thread_time() - start)
    return round(best * 1e3, 1)


def _summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "median": round(statistics.median(ordered), 1),
        "p95": round(ordered[int(len(ordered) * 0.95)], 1),
        "n": len(ordered),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("bench/results"))
    parser.add_argument("--cache", type=Path, default=Path("data/bench-cache"))
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--reps", type=int, default=200, help="auth checks per round and kind")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        # Limits far out of reach: every request is still counted, none refused.
        settings = Settings(
            data_dir=Path(tmp),
            cache_dir=args.cache,
            rate_limit_key_per_minute=10**9,
            rate_limit_user_per_minute=10**9,
        )
        kb = KnowledgeBase(settings)
        sample = load_sample()
        for collection, items in sample.collection_items.items():
            ingest_items(kb, items, collection=collection)
        kb.close()
        app = create_app(settings)
        with TestClient(app) as client:
            kb = app.state.kb
            key = create_key(kb, name="bench", scopes=["search"], actor="bench").key
            password = secrets.token_urlsafe(18)
            create_user(kb, email="bench@example.com", role="agent", password=password, actor="b")
            grant = login(kb, email="bench@example.com", password=password, address=None)
            by_key = _request(app, {"Authorization": f"Bearer {key}"})
            by_cookie = _request(app, {"Cookie": f"{SESSION_COOKIE}={grant.token}"})

            def key_check() -> None:
                check_rate(kb, current_principal(by_key))

            def session_check() -> None:
                check_rate(kb, current_principal(by_cookie))

            questions = sample_questions()
            headers = {"Authorization": f"Bearer {key}"}

            def search() -> None:
                body = {"query": questions[len(searched) % len(questions)], "limit": 10}
                searched.append(1)
                assert client.post("/api/v1/search", json=body, headers=headers).status_code == 200

            searched: list[int] = []
            for check in (search, key_check, session_check) * 3:  # first-use code paths
                check()

            def bare_select() -> None:  # the floor: one transaction of the app's database
                with session_scope(kb.engine) as session:
                    session.exec(text("SELECT 1")).all()

            kinds = {
                "api_key_check": key_check,
                "session_check": session_check,
                "bare_select": bare_select,
            }
            times: dict[str, tuple[list[float], list[float]]] = {
                k: ([], []) for k in (*kinds, "search_request")
            }
            for _ in range(args.rounds):  # interleaved: the same machine state for all three
                for kind, check in kinds.items():
                    _timed(check, args.reps, *times[kind])
                _timed(search, 10, *times["search_request"], cpu_clock=time.process_time)
    wall_search, cpu_search = (statistics.median(t) for t in times["search_request"])
    result: dict[str, Any] = {
        "machine": machine_info(),
        "load_average": list(os.getloadavg()),
        "python_loop_cpu_ms": _python_loop_ms(),
        "what": "current_principal + rate limit count per request, vs warm POST /api/v1/search "
        "through the whole app (TestClient), sample KB, SQLite; microseconds",
        "target_us": 1000,
    }
    for kind, (wall, cpu) in times.items():
        result[kind] = {"cpu_us": _summary(cpu), "wall_us": _summary(wall)}
        if kind != "search_request":
            result[kind]["share_of_search_cpu"] = round(statistics.median(cpu) / cpu_search, 4)
            result[kind]["share_of_search_wall"] = round(statistics.median(wall) / wall_search, 4)
    floor = result["bare_select"]["cpu_us"]["median"]
    for kind in ("api_key_check", "session_check"):
        # In bare transactions: a figure that a slow or busy machine does not move.
        result[kind]["in_bare_selects"] = round(result[kind]["cpu_us"]["median"] / floor, 2)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "auth_cost.json").write_text(json.dumps(result, indent=2) + "\n", "utf-8")
    print(json.dumps({k: v for k, v in result.items() if k != "machine"}, indent=2))


if __name__ == "__main__":
    main()
