"""The API with workers (KB_WORKERS=external): an upload answers 202 and its job, which a worker
runs and the caller polls; without workers the upload stays synchronous (tests/web/test_api.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from backends import BACKENDS
from fastapi.testclient import TestClient

from kb.accounts.keys import create_key
from kb.context import KnowledgeBase
from kb.documents.jobs import run_job
from kb.queue.claims import claim, worker_name
from kb.settings import Settings
from web.app import create_app

GUIDE = "# 第1章 保修\n\n## 1.1 保修期\n\n整机保修一年，电机和电池保修两年。\n".encode()


@pytest.fixture(params=BACKENDS)
def client(
    request: pytest.FixtureRequest, tmp_path: Path, embedding_cache_dir: Path
) -> Iterator[TestClient]:
    overrides: dict[str, object] = {}
    if request.param == "postgresql":
        overrides["database_url"] = request.getfixturevalue("postgres_url")
    settings = Settings(
        data_dir=tmp_path / "data", cache_dir=embedding_cache_dir, workers="external", **overrides
    )  # type: ignore[arg-type]
    with TestClient(create_app(settings, warm=False)) as c:
        yield c


def kb_of(client: TestClient) -> KnowledgeBase:
    return client.app.state.kb  # type: ignore[attr-defined,no-any-return]


def bearer(client: TestClient, *scopes: str, collections: tuple[str, ...] = ()) -> dict[str, str]:
    key = create_key(kb_of(client), name="crm", scopes=scopes, collections=collections,
                     actor="test")  # fmt: skip
    return {"Authorization": f"Bearer {key.key}"}


def test_an_upload_is_a_queued_job_that_a_worker_runs(client: TestClient) -> None:
    writer = bearer(client, "documents:write", "documents:read", "search")
    answer = client.post(
        "/api/v1/documents",
        files=[("files", ("保修.md", GUIDE))],
        data={"collection": "manuals"},
        headers=writer,
    )
    assert answer.status_code == 202, answer.text
    body = answer.json()
    assert answer.headers["location"] == body["status_url"]
    assert body["status_url"].endswith(f"/api/v1/jobs/{body['job_id']}")
    job = body["job"]
    assert (job["status"], job["kind"], job["attempts"], job["finished"]) == (
        "queued", "upload", 0, False
    )  # fmt: skip
    assert [(r["filename"], r["status"]) for r in job["results"]] == [("保修.md", "queued")]
    # Nothing runs it in the web process: still queued when polled.
    polled = client.get(body["status_url"], headers=writer).json()
    assert polled["status"] == "queued"
    listed = client.get("/api/v1/documents", params={"collection": "manuals"}, headers=writer)
    assert listed.json()["documents"] == []

    kb = kb_of(client)
    owner = worker_name("test")
    claimed = claim(kb, owner, ["upload"])
    assert claimed is not None and claimed.id == body["job_id"]
    assert run_job(kb, claimed, owner) == "done"

    done = client.get(body["status_url"], headers=writer).json()
    assert (done["status"], done["finished"], done["percent"], done["attempts"]) == (
        "done", True, 100, 1
    )  # fmt: skip
    assert done["lease_owner"] == owner
    assert [(r["filename"], r["status"]) for r in done["results"]] == [("保修.md", "ingested")]
    hits = client.post("/api/v1/search", json={"query": "电池保修", "collection": "manuals"},
                       headers=writer).json()["hits"]  # fmt: skip
    assert "两年" in hits[0]["text"]


def test_a_job_is_seen_only_by_callers_who_may_read_its_collection(client: TestClient) -> None:
    writer = bearer(client, "documents:write", "documents:read")
    url = client.post(
        "/api/v1/documents", files=[("files", ("a.md", GUIDE))], data={"collection": "hr"},
        headers=writer,
    ).json()["status_url"]  # fmt: skip
    other_team = bearer(client, "documents:read", collections=("manuals",))
    no_scope = bearer(client, "search")
    cases = [(other_team, 404), (no_scope, 403), ({}, 401), (writer, 200)]
    assert [(client.get(url, headers=h).status_code) for h, _ in cases] == [c for _, c in cases]
    unknown = client.get("/api/v1/jobs/nope", headers=writer)
    assert (unknown.status_code, unknown.json()["error"]["field"]) == (404, "job_id")


def test_openapi_says_the_upload_may_answer_202_with_its_job(client: TestClient) -> None:
    schema = client.get("/openapi.json", headers=bearer(client, "documents:read")).json()
    upload = schema["paths"]["/api/v1/documents"]["post"]["responses"]
    assert upload["202"]["content"]["application/json"]["schema"]["$ref"].endswith("JobAccepted")
    assert "KB_WORKERS=external" in upload["202"]["description"]
    job = schema["paths"]["/api/v1/jobs/{job_id}"]["get"]["responses"]
    assert {"200", "401", "403", "404"} <= job.keys()
