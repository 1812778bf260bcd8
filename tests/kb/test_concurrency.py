"""Concurrency against a real ``kb serve``: readers never see a mixed, partial or deleted
document while writers re-ingest and delete; simultaneous ingests of one file make one version;
a ``kb ingest`` beside the server is served without a restart.

Every chunk carries a marker ``<tag> part <i> of <k> in edition<e>``: edition ``e`` is one
upload (one version of one document) of ``k`` FAQ rows, so a hit says which version it claims
to be (``source``) and which it really is (its text).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from served import Server, run_kb, serving

from kb.context import KnowledgeBase
from kb.documents.catalog import list_documents
from kb.documents.ingestion import IngestItem, ingest_items
from kb.retrieval.searching import SearchRequest, search
from kb.settings import Settings

MARKER = re.compile(r"(\w+) part (\d+) of (\d+) in edition(\d+)")
QUERY = "zebra procedure gadget"
READER_WAIT_SECONDS = 120  # a reader that has not answered by then is stuck


def faq_edition(tag: str, edition: int) -> bytes:
    """Edition ``edition`` of document ``tag``: 2-4 FAQ rows, each one chunk with the marker."""
    k = 2 + edition % 3
    rows = ["question,answer"] + [
        f"How does the {tag} gadget part {i} work in edition{edition},"
        f"{tag} part {i} of {k} in edition{edition} explains the zebra procedure"
        for i in range(1, k + 1)
    ]
    return ("\n".join(rows) + "\n").encode()


@dataclass(frozen=True)
class Upload:
    tag: str
    document_id: str
    version: int
    returned_at: float


@dataclass
class Observation:
    kind: str  # search | suggest
    started_at: float
    status: int
    body: dict[str, Any]


@dataclass
class Readers:
    """Client threads that search and suggest until told to stop, recording every answer."""

    server: Server
    count_search: int = 3
    count_suggest: int = 2
    stop: threading.Event = field(default_factory=threading.Event)
    seen: list[Observation] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    _latest_start: dict[int, float] = field(default_factory=dict)
    _changed: threading.Condition = field(default_factory=threading.Condition)

    def run(self) -> list[threading.Thread]:
        kinds = ["search"] * self.count_search + ["suggest"] * self.count_suggest
        threads = [
            threading.Thread(target=self._loop, args=(n, kind), daemon=True)
            for n, kind in enumerate(kinds)
        ]
        for thread in threads:
            thread.start()
        return threads

    def wait_all_answered_after(self, moment: float) -> None:
        """Block until every reader has an answer to a request sent after ``moment``."""
        deadline = time.monotonic() + READER_WAIT_SECONDS
        with self._changed:
            while not self._all_after(moment):
                if self.failures:
                    raise AssertionError(f"a reader failed: {self.failures[0]}")
                left = deadline - time.monotonic()
                assert left > 0, f"readers stuck: latest starts {self._latest_start}, need {moment}"
                self._changed.wait(timeout=left)

    def _all_after(self, moment: float) -> bool:
        total = self.count_search + self.count_suggest
        starts = self._latest_start
        return len(starts) == total and all(t > moment for t in starts.values())

    def _loop(self, n: int, kind: str) -> None:
        client = self.server.client()
        for _ in range(20_000):  # bounded: the writer finishes long before
            if self.stop.is_set():
                return
            started = time.monotonic()
            try:
                response = self._ask(client, kind)
                body = response.json()
            except (httpx.HTTPError, ValueError) as exc:
                self.failures.append(f"{kind}: {type(exc).__name__}: {exc}")
                return
            with self._changed:
                self.seen.append(Observation(kind, started, response.status_code, body))
                self._latest_start[n] = started
                self._changed.notify_all()
        self.failures.append(f"{kind} reader ran out of iterations")

    def _ask(self, client: httpx.Client, kind: str) -> httpx.Response:
        if kind == "search":
            return self.server.search(client, QUERY, limit=100)
        turn = {"role": "customer", "text": f"How does the {QUERY} work?"}
        return client.post("/api/v1/suggest", json={"conversation": [turn], "limit": 20})


def check(
    seen: list[Observation],
    editions: dict[int, Upload],
    uploads: list[Upload],
    deleted: dict[str, float],
) -> list[str]:
    """Every way an answer could break the rules, as messages (empty: all answers were good)."""
    problems: list[str] = []
    for obs in seen:
        if obs.status != 200:
            problems.append(f"{obs.kind} answered {obs.status}: {obs.body}")
            continue
        items = obs.body["hits"] if obs.kind == "search" else obs.body["answers"]
        by_document: dict[str, set[tuple[int, int, int]]] = {}
        for item in items:
            tag, i, k, e = MARKER.search(item["text"]).groups()  # type: ignore[union-attr]
            upload, source = editions.get(int(e)), item["source"]
            real = (upload.document_id, upload.version) if upload else None
            if real != (source["document_id"], source["version"]) or source["title"] != tag:
                problems.append(f"{obs.kind}: hit of edition {e} ({real}) cites {source}")
            by_document.setdefault(source["document_id"], set()).add((int(e), int(i), int(k)))
        for doc_id, parts in by_document.items():
            if len({e for e, _, _ in parts}) > 1:
                problems.append(f"{obs.kind}: document {doc_id} mixes editions {sorted(parts)}")
            elif obs.kind == "search":
                k = next(iter(parts))[2]
                if {i for _, i, _ in parts} != set(range(1, k + 1)):
                    problems.append(f"search: document {doc_id} is partial: {sorted(parts)}")
            if deleted.get(doc_id, float("inf")) < obs.started_at:
                problems.append(f"{obs.kind}: document {doc_id} answered after its delete")
            older = [
                u.version
                for u in uploads
                if u.document_id == doc_id and u.returned_at < obs.started_at
            ]
            shown = {editions[e].version for e, _, _ in parts if e in editions}
            if older and shown and max(shown) < max(older):
                problems.append(f"{obs.kind}: {doc_id} v{shown} after v{max(older)} was live")
    return problems


# Re-ingest and delete, document by document; a deleted document comes back under a new id.
SCHEDULE = [
    ("upload", "alpha"), ("upload", "beta"), ("delete", "gamma"), ("upload", "alpha"),
    ("upload", "gamma"), ("delete", "beta"), ("upload", "alpha"), ("upload", "beta"),
    ("upload", "gamma"), ("delete", "alpha"), ("upload", "beta"), ("upload", "alpha"),
]  # fmt: skip


@pytest.mark.timeout(600)
def test_readers_see_whole_versions_while_documents_change(
    tmp_path: Path, embedding_cache_dir: Path
) -> None:
    settings = Settings(data_dir=tmp_path / "data", cache_dir=embedding_cache_dir)
    editions: dict[int, Upload] = {}
    uploads: list[Upload] = []
    deleted: dict[str, float] = {}
    live: dict[str, str] = {}  # tag → document id

    with serving(settings) as server:
        writer = server.client()

        def upload(tag: str) -> float:
            edition = len(editions) + 1
            response = server.upload(writer, f"{tag}.csv", faq_edition(tag, edition))
            returned = time.monotonic()
            assert response.status_code == 200, response.text
            (result,) = response.json()["files"]
            assert result["status"] == "ingested", result
            editions[edition] = Upload(tag, result["document_id"], result["version"], returned)
            uploads.append(editions[edition])
            live[tag] = result["document_id"]
            return returned

        def delete(tag: str) -> float:
            response = writer.delete(f"/api/v1/documents/{live.pop(tag)}")
            returned = time.monotonic()
            assert response.status_code == 200, response.text
            deleted[response.json()["deleted"]["id"]] = returned
            return returned

        for tag in ("alpha", "beta", "gamma"):
            upload(tag)
        readers = Readers(server)
        threads = readers.run()
        try:
            for action, tag in SCHEDULE:
                returned = (upload if action == "upload" else delete)(tag)
                # Every reader answers from the new state before the next change: none is starved.
                readers.wait_all_answered_after(returned)
        finally:
            readers.stop.set()
            for thread in threads:
                thread.join(timeout=READER_WAIT_SECONDS)
    assert not readers.failures, readers.failures
    assert not any(t.is_alive() for t in threads), "a reader did not stop"
    problems = check(readers.seen, editions, uploads, deleted)
    assert not problems, f"{len(problems)} bad answers of {len(readers.seen)}: {problems[:10]}"
    # Readers overlapped the writes: they saw several editions of the re-ingested documents.
    seen_editions = {
        int(MARKER.search(h["text"]).group(4))  # type: ignore[union-attr]
        for obs in readers.seen
        if obs.kind == "search"
        for h in obs.body["hits"]
    }
    assert seen_editions == set(editions), f"editions never seen: {set(editions) - seen_editions}"
    assert "Traceback" not in server.log, server.log[-3000:]


@pytest.mark.timeout(400)
def test_cli_ingest_beside_the_server_is_served_without_a_restart(
    tmp_path: Path, embedding_cache_dir: Path
) -> None:
    settings = Settings(data_dir=tmp_path / "data", cache_dir=embedding_cache_dir)
    source = tmp_path / "files" / "alpha.csv"
    source.parent.mkdir()
    with serving(settings) as server:
        client = server.client()
        assert server.upload(client, "alpha.csv", faq_edition("alpha", 1)).status_code == 200
        for edition in (2, 3):  # twice: the server follows every new generation, not just one
            source.write_bytes(faq_edition("alpha", edition))
            done = run_kb(settings, "ingest", str(source))
            assert done.returncode == 0, done.stderr
            hits = server.search(client, QUERY, limit=100).json()["hits"]
            assert {str(edition)} == {MARKER.search(h["text"]).group(4) for h in hits}  # type: ignore[union-attr]
            assert {h["source"]["version"] for h in hits} == {edition}
            turn = {"role": "customer", "text": f"How does the {QUERY} work?"}
            answers = client.post("/api/v1/suggest", json={"conversation": [turn]}).json()
            assert {a["source"]["version"] for a in answers["answers"]} == {edition}
        assert server.process.poll() is None  # the same process all along
    assert "Traceback" not in server.log, server.log[-3000:]


def _ingest_together(kbs: list[KnowledgeBase], item: IngestItem) -> list[str]:
    """Each knowledge base ingests ``item`` in its own thread, released at the same moment."""
    barrier = threading.Barrier(len(kbs))
    statuses: list[str] = []
    errors: list[BaseException] = []

    def run(kb: KnowledgeBase) -> None:
        try:
            barrier.wait(timeout=60)
            (result,) = ingest_items(kb, [item], collection="default")
            statuses.append(result.status)
        except BaseException as exc:  # reported below, with the other thread's outcome
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(kb,)) for kb in kbs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not errors, errors
    return sorted(statuses)


@pytest.mark.parametrize(
    "database", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_two_ingests_of_one_file_at_once_make_one_version(
    database: str,
    make_kb: Callable[..., KnowledgeBase],
    request: pytest.FixtureRequest,
) -> None:
    overrides = (
        {"database_url": request.getfixturevalue("postgres_url")} if database == "postgres" else {}
    )
    first = make_kb(**overrides)
    # A second knowledge base on the same data: its own engine and locks, as a second process.
    second = KnowledgeBase(first.settings)
    try:
        for edition in (1, 2):  # a new document, then a new version of it
            item = IngestItem("alpha.csv", faq_edition("alpha", edition))
            assert _ingest_together([first, second], item) == ["ingested", "unchanged"]
            (doc,) = list_documents(first)
            assert doc.current_version == edition
            hits = search(first, SearchRequest(QUERY, limit=100))
            assert {h.chunk.version for h in hits} == {edition}
            assert len(hits) == 2 + edition % 3
    finally:
        second.close()


def test_two_kb_ingest_processes_of_one_file_make_one_version(
    tmp_path: Path, embedding_cache_dir: Path
) -> None:
    settings = Settings(data_dir=tmp_path / "data", cache_dir=embedding_cache_dir)
    source = tmp_path / "alpha.csv"
    source.write_bytes(faq_edition("alpha", 1))
    outcomes: list[str] = []

    def run() -> None:
        done = run_kb(settings, "ingest", "--json", str(source))
        assert done.returncode == 0, done.stderr
        outcomes.append(done.stdout)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert len(outcomes) == 2
    statuses = sorted(re.findall(r'"status": "(\w+)"', "".join(outcomes)))
    assert statuses == ["ingested", "unchanged"]
    kb = KnowledgeBase(settings)
    try:
        (doc,) = list_documents(kb)
        assert doc.current_version == 1
    finally:
        kb.close()
