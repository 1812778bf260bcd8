"""Many web processes on one published index (issue 18, point 5), as real processes.

A throw-away PostgreSQL, one index directory, two ``kb serve`` processes on two ports
(``KB_SHARED``), and writers started beside them while clients search and suggest through both:
one writer is SIGKILLed mid-job (its versions committed, the index not switched, its lease
held) and run again, as a queue retries a job whose worker died. Every request is answered
without a 5xx, every document is ingested exactly once, and once the last generation is
published both processes answer every query alike.

The writers are ``kb ingest`` processes today; ``start_writer`` is the one place that says so,
so that two ``kb worker`` processes taking jobs can stand in for them.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest
from served import Server, kb_env, serving
from sqlmodel import select

from kb.context import KnowledgeBase
from kb.db import session_scope
from kb.models import Document, DocumentVersion, RateWindow
from kb.settings import Settings

pytestmark = pytest.mark.postgres

POLL = 0.5  # KB_INDEX_POLL_SECONDS: how soon each web process looks for a new generation
FILES = {  # one question each that only its own file answers
    "seed.csv": "问题,答案\n发什么快递？,默认顺丰快递，偏远地区用邮政。\n",
    "returns.csv": "问题,答案\n退货运费谁出？,非质量问题退货由顾客承担运费。\n",
    "battery.csv": "问题,答案\n电池保修多久？,电池保修两年，整机保修一年。\n",
    "invoice.csv": "问题,答案\n怎么开发票？,在订单详情页申请电子发票。\n",
}
QUERIES = ["快递用哪家", "退货运费", "电池保修", "开发票"]
WRITERS = [["returns.csv"], ["battery.csv"]]  # two writers at once
KILLED = ["invoice.csv"]  # killed after its commit, before its switch; then run again
ENOUGH = 300  # seconds any one phase may take on two shared cores


def start_writer(
    settings: Settings, files: list[Path], pause_file: Path | None = None
) -> subprocess.Popen[bytes]:
    """A process that ingests ``files`` into the shared index; with ``pause_file`` it stops for
    good after committing its versions (holding the writer's lease) and says so in the file."""
    extra = {"KB_PAUSE_AT": "after-commit", "KB_PAUSE_FILE": str(pause_file)} if pause_file else {}
    return subprocess.Popen(
        [sys.executable, "-m", "kb.cli", "ingest", *map(str, files)],
        env=kb_env(settings, extra),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def finish(writer: subprocess.Popen[bytes]) -> None:
    _, stderr = writer.communicate(timeout=ENOUGH)
    assert writer.returncode == 0, stderr.decode(errors="replace")[-2000:]


class Clients:
    """Threads that search and suggest through every server until stopped, keeping each
    answer's status (a transport error counts as an unanswered request)."""

    def __init__(self, servers: list[Server]) -> None:
        self.statuses: Counter[int | str] = Counter()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [
            threading.Thread(target=self._run, args=(server, kind))
            for server in servers
            for kind in ("search", "suggest")
        ]

    def __enter__(self) -> Clients:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=ENOUGH)

    def _run(self, server: Server, kind: str) -> None:
        client = server.client()
        n = 0
        while not self._stop.is_set():
            query = QUERIES[n % len(QUERIES)]
            n += 1
            try:
                if kind == "search":
                    status: int | str = server.search(client, query).status_code
                else:
                    turn = {"role": "customer", "text": f"请问{query}？"}
                    status = client.post(
                        "/api/v1/suggest", json={"conversation": [turn]}
                    ).status_code
            except httpx.TransportError as exc:
                status = type(exc).__name__
            with self._lock:
                self.statuses[status] += 1
            time.sleep(0.05)  # a steady trickle, not a load test: two cores are shared


_CHECKERS: dict[str, httpx.Client] = {}


def _checker(server: Server) -> httpx.Client:
    """The test's own client of ``server`` (closed with the server's)."""
    if server.url not in _CHECKERS:
        _CHECKERS[server.url] = server.client()
    return _CHECKERS[server.url]


def answers(server: Server, query: str) -> list[tuple[str, float]]:
    response = server.search(_checker(server), query)
    assert response.status_code == 200, response.text
    return [(hit["id"], round(hit["score"], 6)) for hit in response.json()["hits"]]


def catalogued(settings: Settings) -> tuple[list[Document], int, int]:
    """Every document in the database, how many versions they have between them, and the
    requests the rate limiter counted there (the last minutes')."""
    kb = KnowledgeBase(settings)
    try:
        with session_scope(kb.engine) as session:
            docs = list(session.exec(select(Document)).all())
            versions = len(session.exec(select(DocumentVersion.id)).all())
            counted = sum(session.exec(select(RateWindow.hits)).all())
        return docs, versions, counted
    finally:
        kb.close()


@pytest.fixture
def shared(postgres_url: str, tmp_path: Path, embedding_cache_dir: Path) -> Iterator[Settings]:
    for name, text in FILES.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    yield Settings(
        data_dir=tmp_path / "shared",  # the index directory every process reads and writes
        cache_dir=embedding_cache_dir,
        database_url=postgres_url,
        shared=True,
        index_poll_seconds=POLL,
    )


def test_two_web_processes_serve_what_killed_and_concurrent_writers_published(
    shared: Settings, tmp_path: Path
) -> None:
    finish(start_writer(shared, [tmp_path / "seed.csv"]))
    # A limit far above the trickle, so that every request is counted in PostgreSQL but none
    # is refused: a 429 here would hide what this test is about.
    env = {"KB_RATE_LIMIT_KEY_PER_MINUTE": "100000"}
    with ExitStack() as stack:
        servers = [stack.enter_context(serving(shared, env=env)) for _ in range(2)]
        with Clients(servers) as clients:
            marker = tmp_path / "killed.pause"
            doomed = start_writer(shared, [tmp_path / f for f in KILLED], pause_file=marker)
            writers = [start_writer(shared, [tmp_path / f for f in files]) for files in WRITERS]
            _wait_for(marker, doomed)
            doomed.kill()  # SIGKILL: its versions are committed, its generation never switched
            doomed.communicate(timeout=60)  # reaped, its pipe closed
            for writer in writers:
                finish(writer)
            finish(start_writer(shared, [tmp_path / f for f in KILLED]))  # the retry
            published, names = time.monotonic(), docs_by(shared)
            # Within seconds of the last writer's exit both processes serve its generation: the
            # retried file's question finds it first on each (one search each per look).
            last = QUERIES[list(FILES).index(KILLED[0])]
            while time.monotonic() < published + ENOUGH and any(
                names.get(_top_document(server, last)) != KILLED[0] for server in servers
            ):
                time.sleep(POLL / 5)  # the processes' polls are what we wait for
            noticed = time.monotonic() - published
        served = [{q: answers(server, q) for q in QUERIES} for server in servers]
        tops = [[_top_document(server, q) for q in QUERIES] for server in servers]
    assert served[0] == served[1]  # the same hits, in the same order, with the same scores
    assert noticed < 20 * POLL
    logs = "\n".join(s.log for s in servers)
    unanswered = {s: n for s, n in clients.statuses.items() if not isinstance(s, int) or s >= 500}
    assert unanswered == {}, (clients.statuses, logs[-3000:])
    assert clients.statuses[200] > 20, clients.statuses  # the clients did run throughout
    docs, versions, counted = catalogued(shared)
    assert counted > 0  # both processes count their callers in PostgreSQL, not in memory
    assert sorted(d.source_name for d in docs) == sorted(FILES)
    assert versions == len(FILES) and {d.current_version for d in docs} == {1}  # once each
    # Each document is served, by both processes, for the question only it answers.
    assert [[names[t] for t in top] for top in tops] == [list(FILES)] * 2


def docs_by(settings: Settings) -> dict[str, str]:
    """Document id → file name."""
    return {d.id: d.source_name for d in catalogued(settings)[0]}


def _top_document(server: Server, query: str) -> str:
    hits = server.search(_checker(server), query).json()["hits"]
    return str(hits[0]["source"]["document_id"]) if hits else ""


def _wait_for(marker: Path, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + ENOUGH
    while not marker.exists():
        if process.poll() is not None:
            _, stderr = process.communicate()
            raise AssertionError(f"the writer exited before its pause: {stderr.decode()[-2000:]}")
        assert time.monotonic() < deadline, "the writer never reached its pause point"
        time.sleep(0.2)  # polling for a file the child writes
