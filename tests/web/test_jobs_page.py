"""The console's jobs list (kind, stage, attempts, worker) and each document's stage, with jobs
left for workers (KB_WORKERS=external) so that a test can look while they wait."""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from kb.context import KnowledgeBase
from kb.documents.ingestion import IngestItem, ingest_items
from kb.documents.jobs import get_job, run_job, start_ingest_job
from kb.queue.claims import claim, worker_name
from kb.settings import Settings
from search.embedders.factory import make_embedder
from web.app import create_app

GUIDE = "# 第2章 充电\n\n## 2.1 充电时间\n\n电池充满约需两小时。\n"


@pytest.fixture
def client(tmp_path: Path, embedding_cache_dir: Path) -> Iterator[TestClient]:
    settings = Settings(data_dir=tmp_path / "data", cache_dir=embedding_cache_dir,
                        workers="external")  # fmt: skip
    with TestClient(create_app(settings, warm=False)) as c:
        yield c


def kb_of(client: TestClient) -> KnowledgeBase:
    return client.app.state.kb  # type: ignore[attr-defined,no-any-return]


def run_next(kb: KnowledgeBase) -> str:
    """What a worker does with the oldest job: claim it and run it."""
    owner = worker_name("page-test")
    job = claim(kb, owner, ["upload", "reingest"])
    assert job is not None
    assert run_job(kb, job, owner) == "done"
    return owner


def rows(html: str, marker: str) -> list[dict[str, str]]:
    """The cells of each table row carrying ``marker`` (data-job-id / data-document-id), by
    their data-label, as text."""
    found = []
    for row in re.findall(rf"<tr {marker}=.*?</tr>", html, flags=re.S):
        cells = re.findall(r'<td data-label="([^"]+)"[^>]*>(.*?)</td>', row, flags=re.S)
        found.append({label: re.sub(r"<[^>]+>", "", text).strip() for label, text in cells})
    return found


def test_jobs_list_shows_kind_stage_attempts_and_worker(
    client: TestClient, sign_in: Callable[..., Any]
) -> None:
    sign_in(client)
    kb = kb_of(client)
    start_ingest_job(kb, [IngestItem("guide.md", GUIDE.encode())], "default")
    owner = run_next(kb)
    start_ingest_job(kb, [IngestItem("guide.md", (GUIDE + "\n新版。\n").encode())], "default",
                     kind="reingest")  # fmt: skip

    page = client.get("/kb/jobs")
    assert page.status_code == 200
    waiting, done = rows(page.text, "data-job-id")
    assert (waiting["类型"], waiting["状态"], waiting["阶段"]) == (
        "重新导入",
        "排队中",
        "排队中：1 个文件",
    )
    assert (waiting["尝试次数"], waiting["执行进程"]) == ("0", "–")
    assert (done["类型"], done["状态"], done["尝试次数"], done["执行进程"]) == (
        "上传", "完成", "1", owner
    )  # fmt: skip
    assert 'hx-trigger="every 2s"' in page.text  # polled while a job waits

    documents = rows(client.get("/kb/documents").text, "data-document-id")
    assert [(d["文件"], d["阶段"]) for d in documents] == [("guide.md", "排队中")]

    run_next(kb)
    fragment = client.get("/kb/jobs", headers={"HX-Request": "true"})
    assert fragment.text.lstrip().startswith('<div id="job-list"')
    assert "every 2s" not in fragment.text  # nothing at work: polling stops
    documents = rows(client.get("/kb/documents").text, "data-document-id")
    assert [(d["文件"], d["版本"], d["阶段"]) for d in documents] == [("guide.md", "v2", "已上线")]


def test_jobs_of_other_teams_are_not_listed(
    client: TestClient, sign_in: Callable[..., Any]
) -> None:
    kb = kb_of(client)
    start_ingest_job(kb, [IngestItem("guide.md", GUIDE.encode())], "hr")
    start_ingest_job(kb, [IngestItem("guide.md", GUIDE.encode())], "manuals")
    sign_in(client, email="manuals@assistkb.test", collections=["manuals"])
    listed = rows(client.get("/kb/jobs").text, "data-job-id")
    assert [r["集合"] for r in listed] == ["manuals"]


def test_with_workers_the_evaluation_page_shows_a_run_a_worker_measures(
    client: TestClient, sign_in: Callable[..., Any]
) -> None:
    import threading

    from library_files import CORPUS, QUERIES

    from kb.retrieval.evaluation_jobs import run_evaluation_job

    sign_in(client)
    files = {"corpus": ("my corpus.jsonl", CORPUS), "queries": ("q.jsonl", QUERIES)}
    started = client.post("/kb/evaluation", files=files, follow_redirects=False)
    assert started.status_code == 303
    url = started.headers["location"]
    waiting = client.get(url, headers={"HX-Request": "true"}).text
    assert 'data-status="queued"' in waiting and "every 1s" in waiting  # polled until measured
    listed = rows(client.get("/kb/jobs").text, "data-job-id")
    assert [(r["类型"], r["状态"]) for r in listed] == [("评测", "排队中")]

    kb = kb_of(client)
    owner = worker_name("page-test")
    job = claim(kb, owner, ["evaluation"])
    assert job is not None and url.endswith(job.id)
    assert run_evaluation_job(kb, job, owner, threading.Event()) == "done"

    html = client.get(url, headers={"HX-Request": "true"}).text
    assert 'data-status="done"' in html and "every 1s" not in html
    assert re.search(r'<tr data-metric="recall@10">', html)
    assert "my corpus.jsonl" in client.get("/kb/evaluation").text  # a recent run


class _Gated:
    """A worker's real e5 embedder whose passages wait for ``gate`` (a cold, slow embedder)."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.name, self.version, self.dim = inner, inner.name, inner.version, inner.dim
        self.gate = threading.Event()

    def embed_queries(self, texts: list[str]) -> Any:
        return self.inner.embed_queries(texts)

    def embed_passages(self, texts: list[str]) -> Any:
        self.gate.wait(timeout=300)
        return self.inner.embed_passages(texts)


def _documents(client: TestClient) -> dict[str, dict[str, str]]:
    return {d["文件"]: d for d in rows(client.get("/kb/documents").text, "data-document-id")}


def test_a_document_shows_keyword_while_its_vectors_are_embedded_then_live(
    client: TestClient, sign_in: Callable[..., Any]
) -> None:
    sign_in(client)
    kb = kb_of(client)
    gated = _Gated(make_embedder("e5-small"))
    worker = KnowledgeBase(kb.settings, embedder=gated)  # a worker process's own knowledge base
    gated.gate.set()
    base = "".join(f"## 第{i}节\n\n第{i}节说明：保修、退货与配送规则。\n\n" for i in range(8))
    ingest_items(
        worker, [IngestItem("base.md", f"# 总则\n\n{base}".encode())], collection="default"
    )
    gated.gate.clear()
    token = uuid.uuid4().hex[:8]
    text = f"# 新品{token}\n\n## 滚刷\n\n新品{token}的滚刷每三个月更换。\n\n## 尘盒\n\n请清空。\n"
    start_ingest_job(kb, [IngestItem("new.md", text.encode())], "default")
    owner = worker_name("page-test")
    job = claim(worker, owner, ["upload", "reingest"])
    assert job is not None
    running = threading.Thread(target=run_job, args=(worker, job, owner))
    running.start()
    try:
        deadline = time.monotonic() + 120
        while "findable by keyword" not in (the := get_job(kb, job.id)).stage:
            assert time.monotonic() < deadline, the.stage
            time.sleep(0.1)  # polling the job row the worker writes
        documents = {
            d["文件"]: d for d in rows(client.get("/kb/documents").text, "data-document-id")
        }
        assert documents["new.md"]["阶段"].startswith("关键词可检索")
        assert re.search(r"已向量化 0/\d+ 段", documents["new.md"]["阶段"])
        assert documents["base.md"]["阶段"] == "已上线"
        assert "every 2s" in client.get("/kb/documents").text  # polled until live
        listed = {d["source_name"]: d for d in client.get("/api/v1/documents").json()["documents"]}
        new = listed["new.md"]
        assert (new["stage"], new["embedded"]) == ("keyword", 0) and new["to_embed"] >= 2
        assert listed["base.md"]["stage"] == "live"
        jobs = rows(client.get("/kb/jobs").text, "data-job-id")
        assert jobs[0]["阶段"].startswith("关键词可检索，已向量化 0/")
    finally:
        gated.gate.set()
        running.join(timeout=300)
    documents = _documents(client)
    assert documents["new.md"]["阶段"] == "已上线"
    assert "every 2s" not in client.get("/kb/documents").text
    shown = client.get(f"/api/v1/documents/{new['id']}").json()
    assert (shown["stage"], shown["embedded"], shown["to_embed"]) == ("live", None, None)
    worker.close()


def test_the_openapi_schema_names_every_document_stage(
    client: TestClient, sign_in: Callable[..., Any]
) -> None:
    sign_in(client)
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    for name in ("DocumentSummary", "DocumentDetail"):
        stage = schemas[name]["properties"]["stage"]
        assert {"keyword", "live", "failed"} <= set(stage["anyOf"][0]["enum"]), name
        assert "findable by keyword" in stage["description"]
        assert {"embedded", "to_embed"} <= schemas[name]["properties"].keys()


def test_an_unreadable_index_never_turns_the_document_list_into_an_error(
    client: TestClient, sign_in: Callable[..., Any]
) -> None:
    sign_in(client)
    kb = kb_of(client)
    start_ingest_job(kb, [IngestItem("guide.md", GUIDE.encode())], "default")
    run_next(kb)
    live = kb.index_store.current_generation("default")
    assert live is not None
    (kb.index_store.collection_dir("default") / live / "meta.json").write_text("{not json")
    page = client.get("/kb/documents")
    assert page.status_code == 200
    assert [d["阶段"] for d in rows(page.text, "data-document-id")] == ["已上线"]
    listed = client.get("/api/v1/documents")
    assert listed.status_code == 200 and listed.json()["documents"][0]["stage"] == "live"
