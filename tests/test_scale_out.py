"""Many web processes on one published index with workers (issue 18, point 5), as real processes.

A throw-away PostgreSQL, one index directory, two ``kb serve`` processes on two ports
(``KB_SHARED``, ``KB_WORKERS=external``) and two ``kb worker`` processes. Documents are uploaded
through both web processes' API (202 and a status URL, polled until done) while clients search
and suggest through both. One worker is SIGKILLed mid-embedding; the other retries its job once
the lease runs out, embedding only what the killed one had not cached. Every request is answered
without a 5xx, every document is ingested exactly once, and once the last generation is
published both processes answer every query alike.

It replaces a version whose writers were ``kb ingest`` processes: what those covered (a writer
killed holding the writer's lease, two writers at once) is here too, since each worker's job
takes the same lease; the CLI path itself is tested in tests/kb/maintenance.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

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
LEASE = 3.0  # KB_JOB_LEASE_SECONDS: how soon a dead worker's job may be taken again
BATCH = 32  # passages per embedding batch: the killed worker dies after caching the first
FILES = {  # one question each that only its own file answers
    "seed.csv": "问题,答案\n发什么快递？,默认顺丰快递，偏远地区用邮政。\n",
    "returns.csv": "问题,答案\n退货运费谁出？,非质量问题退货由顾客承担运费。\n",
    "battery.csv": "问题,答案\n电池保修多久？,电池保修两年，整机保修一年。\n",
    "invoice.csv": "问题,答案\n怎么开发票？,在订单详情页申请电子发票。\n",
}
KILLED = "gadgets.csv"  # its worker is killed mid-embedding; more than one batch of passages
QUERIES = ["快递用哪家", "退货运费", "电池保修", "开发票", "reset gadget model"]
ENOUGH = 300  # seconds any one phase may take on two shared cores


ROWS = range(BATCH + 6)  # the killed worker's FAQ: one passage a row, more than a batch


def gadgets_csv() -> str:
    """The killed worker's FAQ sheet, new text in every run (so none of it is cached yet)."""
    token = uuid.uuid4().hex[:10]
    lines = ["question,answer"]
    lines += [f"How do I reset gadget model {i}?,Hold the power button of model {i} for "
              f"{i + 5} seconds. Ticket {token}-{i}." for i in ROWS]  # fmt: skip
    return "\n".join(lines) + "\n"


def built(settings: Settings) -> tuple[int, int, str]:
    """The live generation's chunks, how many of them are served without vectors yet, and its
    name."""
    kb = KnowledgeBase(settings)
    try:
        meta = kb.index_store.current_meta(kb.settings.default_collection)
        return (meta.chunk_count, meta.unembedded, meta.generation) if meta else (0, 0, "")
    finally:
        kb.close()


def start_worker(
    settings: Settings, tmp_path: Path, name: str, *, pause: bool = False
) -> tuple[subprocess.Popen[bytes], Path]:
    """``kb worker`` on ``settings``' data; with ``pause`` it stops for good after caching its
    first batch of passages and writes ``<name>.paused``. Returns it and its status file."""
    extra = {"KB_JOB_LEASE_SECONDS": str(LEASE), "KB_WORKERS": "external"}
    if pause:
        extra |= {"KB_PAUSE_AT": "mid-embedding", "KB_PAUSE_FILE": str(tmp_path / f"{name}.paused")}
    status = tmp_path / f"{name}.json"
    command = [sys.executable, "-m", "kb.cli", "worker", "--status-file", str(status),
               "--poll", "0.3", "--grace", "0"]  # fmt: skip
    with open(tmp_path / f"{name}.log", "ab") as log:
        process = subprocess.Popen(command, env=kb_env(settings, extra), stdout=log, stderr=log)
    return process, status


def stop(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> int:
    if process.poll() is None:
        process.send_signal(sig)
    return process.wait(timeout=120)


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

    def count(self, status: int | str) -> None:
        with self._lock:
            self.statuses[status] += 1

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
            self.count(status)
            time.sleep(0.05)  # a steady trickle, not a load test: two cores are shared


_CHECKERS: dict[str, httpx.Client] = {}


def _checker(server: Server) -> httpx.Client:
    """The test's own client of ``server`` (closed with the server's)."""
    if server.url not in _CHECKERS:
        _CHECKERS[server.url] = server.client()
    return _CHECKERS[server.url]


def upload(server: Server, name: str, data: bytes, clients: Clients) -> str:
    """Upload one file through ``server``'s API; the job's status URL."""
    response = server.upload(_checker(server), name, data)
    clients.count(response.status_code)
    assert response.status_code == 202, response.text
    body = response.json()
    assert response.headers["location"] == body["status_url"]
    assert body["status_url"].startswith(server.url)  # the process that took the upload
    return str(body["status_url"])


def job_at(server: Server, url: str, clients: Clients) -> dict[str, Any]:
    response = _checker(server).get(url.removeprefix(server.url))
    clients.count(response.status_code)
    assert response.status_code == 200, response.text
    return dict(response.json())


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + ENOUGH
    while not condition():
        assert time.monotonic() < deadline, f"not within {ENOUGH} s: {what}"
        time.sleep(0.2)  # polling an HTTP status or a file a child writes


def answers(server: Server, query: str) -> list[tuple[str, float]]:
    response = server.search(_checker(server), query)
    assert response.status_code == 200, response.text
    return [(hit["id"], round(hit["score"], 6)) for hit in response.json()["hits"]]


def catalogued(settings: Settings) -> tuple[list[Document], int, int, int]:
    """Every document in the database, how many versions they have between them, the requests
    the rate limiter counted there (the last minutes') and the embedding cache's size."""
    kb = KnowledgeBase(settings)
    try:
        with session_scope(kb.engine) as session:
            docs = list(session.exec(select(Document)).all())
            versions = len(session.exec(select(DocumentVersion.id)).all())
            counted = sum(session.exec(select(RateWindow.hits)).all())
        return docs, versions, counted, kb.embedding_cache.count()
    finally:
        kb.close()


@pytest.fixture
def shared(postgres_url: str, tmp_path: Path, embedding_cache_dir: Path) -> Iterator[Settings]:
    yield Settings(
        data_dir=tmp_path / "shared",  # the index directory every process reads and writes
        cache_dir=embedding_cache_dir,
        database_url=postgres_url,
        shared=True,
        index_poll_seconds=POLL,
    )


@pytest.mark.timeout(900)
def test_two_web_processes_and_two_workers_one_killed_serve_every_upload_once(
    shared: Settings, tmp_path: Path
) -> None:
    files = {name: text.encode() for name, text in FILES.items()} | {KILLED: gadgets_csv().encode()}
    # A limit far above the trickle, so that every request is counted in PostgreSQL but none
    # is refused: a 429 here would hide what this test is about.
    env = {"KB_RATE_LIMIT_KEY_PER_MINUTE": "100000", "KB_WORKERS": "external"}
    with ExitStack() as stack:
        servers = [stack.enter_context(serving(shared, env=env)) for _ in range(2)]
        doomed, _ = start_worker(shared, tmp_path, "doomed", pause=True)
        stack.callback(stop, doomed, signal.SIGKILL)
        cached = catalogued(shared)[3]
        with Clients(servers) as clients:
            urls = {KILLED: upload(servers[0], KILLED, files[KILLED], clients)}
            marker = tmp_path / "doomed.paused"
            wait_until(lambda: marker.exists() or doomed.poll() is not None, "the doomed pause")
            assert doomed.poll() is None, (tmp_path / "doomed.log").read_text()[-2000:]
            survivor, status_file = start_worker(shared, tmp_path, "survivor")
            stack.callback(stop, survivor, signal.SIGKILL)
            wait_until(status_file.exists, "the survivor is up")  # both workers run now
            # SIGKILL mid-embedding: no clean-up; its leases go with its connection and time.
            assert stop(doomed, signal.SIGKILL) == -signal.SIGKILL
            assert catalogued(shared)[3] - cached == BATCH  # what it embedded is cached
            # Its version was switched in by keyword before the kill (phase 1), its vectors
            # not: the survivor's retry, once the job's lease ran out, brings them, embedding
            # only the passages the cache lacks.
            wait_until(lambda: built(shared)[:2] == (len(ROWS), 0), "the dead writer's vectors")
            completed = built(shared)[2]
            embedded = len(ROWS) - BATCH
            assert catalogued(shared)[3] - cached == len(ROWS)
            for i, name in enumerate(FILES):  # through both web processes, in turn
                urls[name] = upload(servers[i % 2], name, files[name], clients)
            jobs: dict[str, dict[str, Any]] = {}

            def all_finished() -> bool:
                for i, (name, url) in enumerate(urls.items()):  # each job through both
                    jobs[name] = job_at(servers[i % 2], url, clients)
                    assert job_at(servers[(i + 1) % 2], url, clients)["id"] == jobs[name]["id"]
                return all(job["finished"] for job in jobs.values())

            wait_until(all_finished, "every job finishes")
            published = time.monotonic()
            names = {d.id: d.source_name for d in catalogued(shared)[0]}

            # Within seconds of the last job's end both processes serve its generation: each
            # file's question finds that file first on each, with the same hits on both. The
            # tops alone are not enough to know: a job's keyword-only generation (phase 1) has
            # the same tops as its last one, so a process a poll behind still ranked a row by
            # its keyword rank where the other had its vector (a clean-clone run saw it).
            def converged() -> bool:
                looks = [{q: answers(server, q) for q in QUERIES} for server in servers]
                tops = [[names.get(_top_document(s, q)) for q in QUERIES] for s in servers]
                return looks[0] == looks[1] and tops == [list(files)] * 2

            while time.monotonic() < published + ENOUGH and not converged():
                time.sleep(POLL / 5)  # the processes' polls are what we wait for
            noticed = time.monotonic() - published
        served = [{q: answers(server, q) for q in QUERIES} for server in servers]
        tops = [[names.get(_top_document(server, q)) for q in QUERIES] for server in servers]
        assert stop(survivor) == 0  # SIGTERM while idle: a graceful stop
    assert {name: (job["status"], job["attempts"]) for name, job in jobs.items()} == {
        name: ("done", 2 if name == KILLED else 1) for name in files
    }  # the killed worker's job was retried once, by the survivor; every other job ran once
    assert all(str(survivor.pid) in job["lease_owner"] for job in jobs.values()), jobs
    assert served[0] == served[1]  # the same hits, in the same order, with the same scores
    assert tops == [list(files)] * 2  # each document served, by both, for its own question
    assert noticed < 20 * POLL
    logs = "\n".join(s.log for s in servers)
    unanswered = {s: n for s, n in clients.statuses.items() if not isinstance(s, int) or s >= 500}
    assert unanswered == {}, (clients.statuses, logs[-3000:])
    assert clients.statuses[200] > 20, clients.statuses  # the clients did run throughout
    docs, versions, counted, cached_now = catalogued(shared)
    assert counted > 0  # both processes count their callers in PostgreSQL, not in memory
    assert sorted(d.source_name for d in docs) == sorted(files)
    assert versions == len(files) and {d.current_version for d in docs} == {1}  # once each
    # The survivor embedded the new files' passages, and of the killed worker's job's only
    # those the cache lacked (web processes never write: the vectors were its retry's).
    status = json.loads(status_file.read_text())
    assert f"built default/{completed}:" in (tmp_path / "survivor.log").read_text()
    assert (status["state"], status["jobs_done"], status["jobs_failed"]) == ("stopped", 5, 0)
    assert status["embedded_chunks"] == cached_now - cached - len(ROWS) + embedded


def _top_document(server: Server, query: str) -> str:
    hits = server.search(_checker(server), query).json()["hits"]
    return str(hits[0]["source"]["document_id"]) if hits else ""
