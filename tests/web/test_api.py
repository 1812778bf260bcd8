"""JSON API against a real app, database and index (FastAPI TestClient, in-process)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import hostile_files
import pytest
from fastapi.testclient import TestClient

from kb.settings import Settings
from web.app import create_app

FAQ = (
    "问题,答案\n"
    "退货运费谁出？,非质量问题退货由顾客承担运费，质量问题由我们承担。\n"
    "发什么快递？,默认顺丰快递。\n"
)
GUIDE = "# 第1章 保修\n\n## 1.1 保修期\n\n整机保修一年，电机和电池保修两年。\n"

SignIn = Callable[..., Any]


@pytest.fixture
def client(tmp_path: Path, embedding_cache_dir: Path, sign_in: SignIn) -> Iterator[TestClient]:
    app = create_app(Settings(data_dir=tmp_path, cache_dir=embedding_cache_dir))
    with TestClient(app) as c:
        sign_in(c)
        yield c


def _upload(client: TestClient, *files: tuple[str, bytes], **form: str) -> dict:
    response = client.post(
        "/api/v1/documents",
        files=[("files", (name, data)) for name, data in files],
        data=form,
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_upload_search_show_delete(client: TestClient) -> None:
    body = _upload(client, ("faq.csv", FAQ.encode()), ("guide.md", GUIDE.encode()), type="policy")
    assert [f["status"] for f in body["files"]] == ["ingested", "ingested"]

    found = client.post("/api/v1/search", json={"query": "電池保固多久", "limit": 3}).json()
    top = found["hits"][0]
    assert "两年" in top["text"]
    assert top["source"]["title"] == "第1章 保修"
    assert top["source"]["section"] == ["第1章 保修", "1.1 保修期"]
    assert top["source"]["version"] == 1
    assert "<mark>" in top["highlight"]

    doc_id = top["source"]["document_id"]
    shown = client.get(f"/api/v1/documents/{doc_id}").json()
    assert shown["chunks"][0]["heading_path"] == ["第1章 保修", "1.1 保修期"]
    listed = client.get("/api/v1/documents").json()["documents"]
    assert {d["source_name"] for d in listed} == {"faq.csv", "guide.md"}

    assert client.delete(f"/api/v1/documents/{doc_id}").status_code == 200
    again = client.post("/api/v1/search", json={"query": "电池保修多久"}).json()
    assert all(h["source"]["document_id"] != doc_id for h in again["hits"])
    assert client.get(f"/api/v1/documents/{doc_id}").status_code == 404


def test_search_says_whether_bm25_decided_without_embedding(
    tmp_path: Path, embedding_cache_dir: Path, sign_in: SignIn
) -> None:
    settings = Settings(
        data_dir=tmp_path,
        cache_dir=embedding_cache_dir,
        skip_embedding=True,
        skip_min_coverage=1.0,
        skip_min_margin=0.3,
        skip_min_matched_idf=1.0,
    )
    with TestClient(create_app(settings)) as c:
        sign_in(c)
        _upload(c, ("faq.csv", FAQ.encode()), ("guide.md", GUIDE.encode()))
        decisive = c.post("/api/v1/search", json={"query": "顺丰快递"}).json()
        assert decisive["embedding_skipped"] is True
        assert "顺丰快递" in decisive["hits"][0]["text"]
        assert decisive["hits"][0]["scores"]["vector"] is None
        # words the knowledge base lacks: BM25 cannot settle it, the vector side ranks
        vague = c.post("/api/v1/search", json={"query": "东西坏了能不能换新的"}).json()
        assert vague["embedding_skipped"] is False
        assert vague["hits"][0]["scores"]["vector"] is not None
        # a vector-only search never skips
        dense = c.post("/api/v1/search", json={"query": "顺丰快递", "mode": "vector"}).json()
        assert dense["embedding_skipped"] is False


def test_reupload_unchanged_and_bad_file_in_one_request(client: TestClient) -> None:
    _upload(client, ("faq.csv", FAQ.encode()))
    body = _upload(client, ("faq.csv", FAQ.encode()), ("notes.xyz", b"hello"))
    statuses = {f["filename"]: (f["status"], f["reason"]) for f in body["files"]}
    assert statuses["faq.csv"] == ("unchanged", None)
    assert statuses["notes.xyz"][0] == "failed" and ".xyz" in statuses["notes.xyz"][1]


@pytest.mark.parametrize(
    ("payload", "status", "field"),
    [
        ({"query": ""}, 422, "query"),
        ({"query": "退货", "limit": 0}, 422, "limit"),
        ({"query": "退货", "colour": "red"}, 422, "colour"),
        ({"query": "退货", "collection": "nope"}, 404, "collection"),
        ({"query": "退货", "collection": "../etc"}, 422, "collection"),
        ({"query": "退货", "mode": "magic"}, 422, "mode"),
    ],
)
def test_search_rejects_bad_requests_naming_the_field(
    client: TestClient, payload: dict, status: int, field: str
) -> None:
    _upload(client, ("faq.csv", FAQ.encode()))
    response = client.post("/api/v1/search", json=payload)
    assert response.status_code == status, response.text
    assert response.json()["error"]["field"] == field


def test_invalid_json_is_a_clear_422(client: TestClient) -> None:
    response = client.post(
        "/api/v1/search", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert "JSON" in response.json()["error"]["message"]


def test_health_and_openapi(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/api/v1/search", "/api/v1/documents", "/api/v1/documents/{document_id}"} <= set(paths)


def test_errors_are_json_for_the_api_and_html_for_pages(client: TestClient) -> None:
    api = client.get("/api/v1/documents/nope")
    assert api.status_code == 404 and api.json()["error"]["field"] == "document_id"
    page = client.get("/kb/documents/nope")
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "没有编号为" in page.text and "的文档" in page.text


@pytest.mark.parametrize(("max_query_chars", "status"), [(5000, 200), (1000, 422)])
def test_the_longest_query_is_the_setting(
    tmp_path: Path,
    embedding_cache_dir: Path,
    max_query_chars: int,
    status: int,
    sign_in: SignIn,
) -> None:
    """KB_MAX_QUERY_CHARS is the limit, above or below the 2000 the body once hardcoded."""
    settings = Settings(
        data_dir=tmp_path, cache_dir=embedding_cache_dir, max_query_chars=max_query_chars
    )
    query = ("退货运费谁出？" * 500)[:3000]
    with TestClient(create_app(settings)) as c:
        sign_in(c)
        _upload(c, ("faq.csv", FAQ.encode()))
        response = c.post("/api/v1/search", json={"query": query})
    assert response.status_code == status, response.text
    if status == 200:
        assert "运费" in response.json()["hits"][0]["text"]
    else:
        error = response.json()["error"]
        assert error["field"] == "query"
        assert "3000" in error["message"] and str(max_query_chars) in error["message"]


def test_a_message_as_long_as_the_documented_limit_is_searched_within_budget(
    client: TestClient,
) -> None:
    """KB_MAX_QUERY_CHARS stays 2000 (README, Settings): a message that long answers from its
    last sentence (search/query_budget.py reads a bounded part of it); one more is refused."""
    _upload(client, ("faq.csv", FAQ.encode()), ("guide.md", GUIDE.encode()))
    story = "".join(f"第{n}天我又打了一次电话，说的是发票抬头写错了要重开。" for n in range(1, 80))
    question = "请问电池保修多久？"
    message = (story[: 2000 - len(question)] + question)[-2000:]
    assert len(message) == 2000 == Settings().max_query_chars
    found = client.post("/api/v1/search", json={"query": message, "limit": 3})
    assert found.status_code == 200, found.text
    assert found.json()["query"] == message  # the answer names what was asked, not the budget
    assert "两年" in found.json()["hits"][0]["text"]
    refused = client.post("/api/v1/search", json={"query": "退" + message})
    assert refused.status_code == 422
    assert "2001" in refused.json()["error"]["message"]


def test_openapi_documents_the_settings_not_a_hardcoded_limit(client: TestClient) -> None:
    body = client.get("/openapi.json").json()["components"]["schemas"]["SearchBody"]
    query, limit = body["properties"]["query"], body["properties"]["limit"]
    assert "maxLength" not in query and "KB_MAX_QUERY_CHARS" in query["description"]
    assert "KB_SEARCH_LIMIT" in limit["description"]
    assert "KB_DEFAULT_COLLECTION" in body["properties"]["collection"]["description"]
    assert body["properties"]["collection"].get("default") is None


def test_the_default_collection_is_the_setting(
    tmp_path: Path, embedding_cache_dir: Path, sign_in: SignIn
) -> None:
    """Upload, list, search and suggest without a collection use KB_DEFAULT_COLLECTION."""
    settings = Settings(
        data_dir=tmp_path, cache_dir=embedding_cache_dir, default_collection="other"
    )
    with TestClient(create_app(settings)) as c:
        sign_in(c)
        assert _upload(c, ("faq.csv", FAQ.encode()))["collection"] == "other"
        listed = c.get("/api/v1/documents").json()["documents"]
        assert [d["collection"] for d in listed] == ["other"]
        found = c.post("/api/v1/search", json={"query": "退货运费谁出"})
        assert found.status_code == 200 and "运费" in found.json()["hits"][0]["text"]
        turn = {"role": "customer", "text": "退货运费谁出？"}
        suggested = c.post("/api/v1/suggest", json={"conversation": [turn]})
        assert suggested.status_code == 200, suggested.text
        assert "运费" in suggested.json()["answers"][0]["text"]
        elsewhere = c.post("/api/v1/search", json={"query": "退货", "collection": "default"})
        assert elsewhere.status_code == 404


def test_upload_of_hostile_files_answers_per_file_and_leaks_nothing(client: TestClient) -> None:
    """Hostile uploads next to good ones: 200, each hostile file failed with its reason."""
    body = _upload(
        client,
        ("xxe.docx", hostile_files.docx_external_entity("file:///etc/passwd")),
        ("bomb.xlsx", hostile_files.xlsx_zip_bomb()),
        ("nested.html", hostile_files.html_nested_deep()),
        ("garbage.pdf", hostile_files.pdf_header_then_garbage()),
        ("empty.txt", b""),
        ("faq.csv", FAQ.encode()),
    )
    files = {f["filename"]: f for f in body["files"]}
    assert files["faq.csv"]["status"] == "ingested"
    assert files["nested.html"]["status"] == "ingested"  # flattened past 256 levels, text kept
    for name, reason in (
        ("xxe.docx", "declares a DTD"),
        ("bomb.xlsx", "zip bomb"),
        ("garbage.pdf", "damaged or truncated"),
        ("empty.txt", "the file is empty"),
    ):
        assert files[name]["status"] == "failed"
        assert reason in files[name]["reason"], files[name]
    listed = client.get("/api/v1/documents").json()["documents"]
    assert {d["source_name"] for d in listed} == {"faq.csv", "nested.html"}
    for doc in listed:
        shown = client.get(f"/api/v1/documents/{doc['id']}").json()
        assert not any("root:x:0:0" in c["text"] for c in shown["chunks"])


@pytest.mark.parametrize(("field", "limit"), [("language", 16), ("product", 128)])
def test_upload_metadata_over_its_limit_is_422_and_the_schema_says_so(
    client: TestClient, field: str, limit: int
) -> None:
    # Found by the API fuzz: an over-long language was stored and every listing then failed.
    response = client.post(
        "/api/v1/documents", files=[("files", ("g.md", GUIDE.encode()))], data={field: "x" * 99 * 2}
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"]["field"] == field
    assert client.get("/api/v1/documents").json()["documents"] == []
    schema = client.get("/openapi.json").json()["components"]["schemas"]
    upload = schema["Body_upload_documents_api_v1_documents_post"]["properties"][field]
    assert {"type": "string", "maxLength": limit} in upload["anyOf"]
