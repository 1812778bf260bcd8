"""Console pages against a real app, database, index and embedder (FastAPI TestClient)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import date, datetime
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from kb.documents.catalog import get_document, neighbourhood
from kb.documents.ingestion import DocumentMeta, IngestItem, ingest_items
from kb.documents.jobs import wait_for_job
from kb.documents.schemas import ChunkOut, DocumentDetail
from kb.errors import NotFound
from kb.settings import Settings
from web.app import create_app
from web.pages import install_pages

HX = {"HX-Request": "true"}
GUIDE = "# 第1章 保修\n\n## 1.1 保修期\n\n整机保修一年，电机和电池保修两年。\n".encode()
FAQ = "问题,答案\n退货运费谁出？,非质量问题退货由顾客承担运费。\n发什么快递？,默认顺丰。\n".encode()
XSS = (
    "退货须知 <script>alert(1)</script>\n\n"
    "退货运费说明：<img src=x onerror=alert(1)> 非质量问题由顾客承担运费。\n"
).encode()

SignIn = Callable[..., Any]


def make_app(settings: Settings) -> FastAPI:
    app = create_app(settings, warm=False)
    if not hasattr(app.state, "renderer"):  # until create_app installs the pages itself
        install_pages(app)
    return app


@pytest.fixture
def client(tmp_path: Path, embedding_cache_dir: Path, sign_in: SignIn) -> Iterator[TestClient]:
    app = make_app(Settings(data_dir=tmp_path, cache_dir=embedding_cache_dir))
    with TestClient(app) as c:
        sign_in(c)
        yield c


@pytest.fixture(scope="module")
def library(
    tmp_path_factory: pytest.TempPathFactory,
    embedding_cache_dir: Path,
    sign_in: SignIn,
) -> Iterator[TestClient]:
    """Read-only: a guide, an FAQ (tagged, in another collection) and a document with markup."""
    data = tmp_path_factory.mktemp("pages")
    with TestClient(make_app(Settings(data_dir=data, cache_dir=embedding_cache_dir))) as c:
        sign_in(c)
        kb = c.app.state.kb  # type: ignore[attr-defined]
        ingest_items(
            kb, [IngestItem("guide.md", GUIDE, DocumentMeta(tags=("保修",)))], collection="default"
        )
        ingest_items(
            kb, [IngestItem("xss.txt", XSS, DocumentMeta(doc_type="policy"))], collection="default"
        )
        ingest_items(
            kb,
            [IngestItem("faq.csv", FAQ, DocumentMeta(tags=("退货", "运费")))],
            collection="support",
        )
        yield c


def _doc_id(client: TestClient, name: str) -> str:
    html = client.get("/kb/documents", params={"q": name}, headers=HX).text
    found = re.findall(r'data-document-id="([0-9a-f]+)"', html)
    assert len(found) == 1, html
    return found[0]


def _job_id(html: str) -> str:
    match = re.search(r'id="job-([0-9a-f]+)"', html)
    assert match, html
    return match.group(1)


def _titles(html: str) -> set[str]:
    return set(re.findall(r'<td data-label="标题"><a href="[^"]+">([^<]*)</a>', html))


# --- upload and jobs ------------------------------------------------------------------------


def test_upload_starts_a_job_whose_panel_polls_until_per_file_results(client: TestClient) -> None:
    response = client.post(
        "/kb/documents",
        files=[
            ("files", ("guide.md", GUIDE)),
            ("files", ("faq.csv", FAQ)),
            ("files", ("x.xyz", b"?")),
        ],
        data={"collection": "support", "type": "", "tags": "售后, 保修，售后"},
        headers=HX,
    )
    assert response.status_code == 200, response.text
    job_id = _job_id(response.text)
    assert f'hx-get="/kb/jobs/{job_id}" hx-trigger="every 500ms"' in response.text
    assert "<html" not in response.text  # the upload block only

    wait_for_job(client.app.state.kb, job_id, timeout=120)  # type: ignore[attr-defined]
    done = client.get(f"/kb/jobs/{job_id}", headers=HX)

    assert done.headers["HX-Trigger"] == "kb:documents-changed"
    assert "every 500ms" not in done.text  # polling stops with the last answer
    found = re.findall(
        r'<li class="file-result" data-status="(\w+)">\s*<span class="filename">([^<]+)', done.text
    )
    assert {name: status for status, name in found} == {
        "guide.md": "ingested",
        "faq.csv": "ingested",
        "x.xyz": "failed",
    }
    assert "unsupported" in done.text or ".xyz" in done.text
    listing = client.get("/kb/documents", params={"collection": "support", "tag": "售后"}).text
    assert _titles(listing) == {"第1章 保修", "faq"}


def test_upload_without_javascript_redirects_to_the_job_page(client: TestClient) -> None:
    response = client.post(
        "/kb/documents", files=[("files", ("guide.md", GUIDE))], follow_redirects=False
    )
    assert response.status_code == 303
    job_page = client.get(response.headers["location"])
    assert job_page.status_code == 200
    assert '<html lang="zh-Hans">' in job_page.text and "导入任务" in job_page.text
    wait_for_job(client.app.state.kb, _job_id(job_page.text))  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("files", "form", "field"),
    [
        ([], {}, "files"),
        ([("files", ("a.md", GUIDE))], {"type": "novel"}, "type"),
        ([("files", ("a.md", GUIDE))], {"collection": "../etc"}, "collection"),
    ],
)
def test_upload_errors_are_shown_next_to_the_field(
    client: TestClient, files: list[Any], form: dict[str, str], field: str
) -> None:
    response = client.post("/kb/documents", files=files or None, data=form, headers=HX)
    assert response.status_code == 422
    error = re.search(rf'id="upload-{field}-msg">([^<]+)<', response.text)
    assert error and 'class="field-error"' in response.text, response.text
    assert f'id="upload-{field}"' in response.text and 'aria-invalid="true"' in response.text


def test_upload_of_an_empty_file_input_is_no_files(client: TestClient) -> None:
    # What a browser sends for a file input with nothing chosen: one part with an empty name.
    body = (
        b"--B\r\n"
        b'Content-Disposition: form-data; name="files"; filename=""\r\n'
        b"Content-Type: application/octet-stream\r\n\r\n\r\n"
        b"--B--\r\n"
    )
    headers = {**HX, "Content-Type": "multipart/form-data; boundary=B"}
    response = client.post("/kb/documents", content=body, headers=headers)
    assert response.status_code == 422
    assert '<p class="field-error" id="upload-files-msg">没有上传文件</p>' in response.text


def test_unknown_job_and_document_are_404(client: TestClient) -> None:
    assert client.get("/kb/jobs/nope").status_code == 404
    assert client.get("/kb/documents/nope").status_code == 404
    assert client.post("/kb/documents/nope/metadata", data={"title": "x"}).status_code == 404


# --- list and filters -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "titles"),
    [
        ({}, {"第1章 保修", "faq", "退货须知 <script>alert(1)</script>"}),
        ({"collection": "support"}, {"faq"}),
        ({"type": "policy"}, {"退货须知 <script>alert(1)</script>"}),
        ({"tag": "运费"}, {"faq"}),
        ({"q": "guide"}, {"第1章 保修"}),
        ({"q": "退货须知"}, {"退货须知 <script>alert(1)</script>"}),
        ({"collection": "default", "tag": "运费"}, set()),
    ],
)
def test_list_filters(library: TestClient, params: dict[str, str], titles: set[str]) -> None:
    html = library.get("/kb/documents", params=params, headers=HX).text
    assert {unescape(t) for t in _titles(html)} == titles
    if not titles:
        assert "没有符合条件的文档" in html


def test_list_page_keeps_the_filters_in_its_form(library: TestClient) -> None:
    html = library.get("/kb/documents", params={"collection": "support", "tag": "运费"}).text
    assert '<option value="support" selected>support</option>' in html
    assert 'id="filter-tag" name="tag" type="text" value="运费"' in html


# --- document page --------------------------------------------------------------------------


def test_document_page_shows_versions_metadata_and_chunks(library: TestClient) -> None:
    doc_id = _doc_id(library, "guide.md")
    html = library.get(f"/kb/documents/{doc_id}").text
    assert "v1（当前）" in html and "markdown" in html
    assert 'value="保修"' in html  # tags in the metadata form
    assert '<span class="path">第1章 保修 › 1.1 保修期</span>' in html
    assert "电机和电池保修两年" in html


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        ({"title": ""}, "title", "title is empty"),
        ({"valid_from": "2025-02-30"}, "valid_from", "is not a date"),
        ({"valid_from": "2025-06-01", "valid_to": "2025-01-01"}, "valid_to", "早于生效日期"),
        ({"type": "novel"}, "type", "未知的文档类型"),
    ],
)
def test_metadata_errors_are_shown_next_to_the_field_and_nothing_is_saved(
    client: TestClient, form: dict[str, str], field: str, message: str
) -> None:
    kb = client.app.state.kb  # type: ignore[attr-defined]
    [result] = ingest_items(kb, [IngestItem("guide.md", GUIDE)], collection="default")
    full = {"title": "保修指南", "type": "manual", "tags": "新标签", "product": "X1"} | form

    response = client.post(f"/kb/documents/{result.document_id}/metadata", data=full, headers=HX)

    assert response.status_code == 422
    assert response.text.lstrip().startswith('<form id="meta-form"')
    block = re.search(
        rf'<div class="field invalid">\s*<label for="meta-{field}">.*?</div>', response.text, re.S
    )
    assert block and message in block.group(0) and 'aria-invalid="true"' in block.group(0)
    assert 'value="新标签"' in response.text  # what the user typed is kept
    assert get_document(kb, result.document_id, with_chunks=False).tags == []


def test_metadata_save(client: TestClient) -> None:
    kb = client.app.state.kb  # type: ignore[attr-defined]
    [result] = ingest_items(kb, [IngestItem("guide.md", GUIDE)], collection="default")
    form = {
        "title": "保修指南",
        "type": "policy",
        "tags": "保修, 电池，保修",
        "product": "X1",
        "valid_from": "2025-01-01",
        "valid_to": "",
    }
    response = client.post(f"/kb/documents/{result.document_id}/metadata", data=form, headers=HX)
    assert response.status_code == 200
    assert "已保存" in response.text and 'value="保修, 电池"' in response.text
    doc = get_document(kb, result.document_id, with_chunks=False)
    assert (doc.title, doc.doc_type, doc.tags, doc.product) == (
        "保修指南",
        "policy",
        ["保修", "电池"],
        "X1",
    )
    assert (doc.valid_from, doc.valid_to) == (date(2025, 1, 1), None)

    plain = client.post(
        f"/kb/documents/{result.document_id}/metadata", data=form, follow_redirects=False
    )
    assert plain.status_code == 303 and plain.headers["location"].endswith("?saved=1")


def test_delete_needs_the_confirmation_field(client: TestClient) -> None:
    kb = client.app.state.kb  # type: ignore[attr-defined]
    [result] = ingest_items(kb, [IngestItem("guide.md", GUIDE)], collection="default")
    doc_id = result.document_id
    assert doc_id

    refused = client.post(f"/kb/documents/{doc_id}/delete", data={"confirm": "other"}, headers=HX)
    assert refused.status_code == 422
    assert 'id="delete-confirm-msg"' in refused.text
    assert get_document(kb, doc_id).id == doc_id

    done = client.post(f"/kb/documents/{doc_id}/delete", data={"confirm": doc_id}, headers=HX)
    assert done.status_code == 200
    assert done.headers["HX-Redirect"].startswith("/kb/documents?deleted=")
    with pytest.raises(NotFound):
        get_document(kb, doc_id)
    landing = client.get(done.headers["HX-Redirect"]).text
    assert "已删除「第1章 保修」" in landing


def test_reingest_makes_a_new_version_and_refuses_another_format(client: TestClient) -> None:
    kb = client.app.state.kb  # type: ignore[attr-defined]
    [result] = ingest_items(kb, [IngestItem("guide.md", GUIDE)], collection="default")
    url = f"/kb/documents/{result.document_id}/reingest"

    wrong = client.post(url, files={"file": ("guide.pdf", b"%PDF")}, headers=HX)
    assert wrong.status_code == 422 and "请上传 .md 文件" in wrong.text

    newer = GUIDE + "\n## 1.2 延保\n\n可购买一年延保。\n".encode()
    response = client.post(url, files={"file": ("any-name.md", newer)}, headers=HX)
    assert response.status_code == 200 and response.text.lstrip().startswith('<div id="reingest">')
    wait_for_job(kb, _job_id(response.text), timeout=120)
    doc = get_document(kb, result.document_id)
    assert doc.current_version == 2 and doc.source_name == "guide.md"
    assert any("延保" in c.text for c in doc.chunks)
    refreshed = client.get(f"/kb/documents/{result.document_id}", headers=HX).text
    assert refreshed.lstrip().startswith('<div id="index-view"') and "v2（当前）" in refreshed


# --- chunk context --------------------------------------------------------------------------


def _chunks(*paths: tuple[str, ...]) -> DocumentDetail:
    chunks = [
        ChunkOut(
            id=f"c{i}",
            version_id="v",
            document_id="d",
            ordinal=i,
            heading_path=list(p),
            text=f"t{i}",
        )
        for i, p in enumerate(paths)
    ]
    moment = datetime(2026, 1, 1)
    return DocumentDetail(
        id="d", collection="default", source_name="d.md", title="d", current_version=1,
        created_at=moment, updated_at=moment, versions=[], chunks=chunks,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("doc", "chunk_id", "shown"),
    [
        (
            _chunks(("a",), ("a",), ("b",), ("b",), ("b",), ("c",)),
            "c3",
            ["c1", "c2", "c3", "c4", "c5"],
        ),
        (
            _chunks(("a",), ("a",), ("a",), ("a",), ("a",), ("a",), ("a",)),
            "c0",
            [f"c{i}" for i in range(7)],
        ),
        (_chunks(*[("a",)] * 12), "c0", ["c0", "c1", "c2"]),  # a long section: the window only
        (_chunks(()), "c0", ["c0"]),
    ],
)
def test_neighbourhood(doc: DocumentDetail, chunk_id: str, shown: list[str]) -> None:
    found = neighbourhood(doc, chunk_id)
    assert [c.id for c in found.shown] == shown
    assert found.chunk.id == chunk_id


def test_chunk_context_page_and_unknown_chunk(library: TestClient) -> None:
    doc_id = _doc_id(library, "guide.md")
    chunk_id = re.findall(r'id="chunk-([0-9a-f]+)"', library.get(f"/kb/documents/{doc_id}").text)[0]
    html = library.get(f"/kb/documents/{doc_id}/chunks/{chunk_id}").text
    assert f'<article class="chunk current" id="chunk-{chunk_id}" aria-current="true">' in html
    assert "第1章 保修 › 1.1 保修期" in html
    assert library.get(f"/kb/documents/{doc_id}/chunks/nope").status_code == 404


# --- hit test -------------------------------------------------------------------------------


def test_hit_test_shows_fused_bm25_and_vector_scores_and_ranks(library: TestClient) -> None:
    html = library.get("/kb/hit-test", params={"q": "電池保固多久"}, headers=HX).text
    first = html.split('<tr class="hit"')[1]
    assert "保修两年" in first and "<mark>" in first
    for column in ("fused", "bm25", "vector"):
        assert re.search(rf'class="num {column}">\d\.\d{{3}}', first), column
    assert "第 1 名" in first
    assert "/kb/documents/" in first and "/chunks/" in first


@pytest.mark.parametrize(
    ("params", "status", "text"),
    [
        ({}, 200, ""),
        ({"q": "   "}, 200, ""),
        ({"q": "退" * 2001}, 422, "超过上限 2000"),
        ({"q": "退货", "collection": "nope"}, 404, "未知的集合"),
    ],
)
def test_hit_test_without_hits(
    library: TestClient, params: dict[str, str], status: int, text: str
) -> None:
    response = library.get("/kb/hit-test", params=params, headers=HX)
    assert response.status_code == status
    assert '<tr class="hit"' not in response.text
    assert text in response.text


# --- escaping -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "/kb/documents",
        "/kb/documents?q=xss",
        "/kb/hit-test?q=退货运费说明",
        "DOC",
        "CHUNK",
    ],
)
def test_markup_in_documents_shows_as_text(library: TestClient, url: str) -> None:
    doc_id = _doc_id(library, "xss.txt")
    if url == "DOC":
        url = f"/kb/documents/{doc_id}"
    elif url == "CHUNK":
        page = library.get(f"/kb/documents/{doc_id}").text
        chunk_id = re.findall(r'id="chunk-([0-9a-f]+)"', page)[0]
        url = f"/kb/documents/{doc_id}/chunks/{chunk_id}"
    html = library.get(url).text
    assert "<script>alert" not in html and "<img src=x" not in html
    assert (
        "&lt;script&gt;alert(1)&lt;/script&gt;" in html
        or "&lt;img src=x onerror=alert(1)&gt;" in html
    )


def test_static_htmx_is_served_locally(library: TestClient) -> None:
    html = library.get("/kb/documents").text
    assert not re.search(r'(src|href)="(https?:)?//', html)  # nothing from another host
    script = library.get("/static/htmx.min.js")
    assert script.status_code == 200 and script.text.startswith("var htmx=")
    assert library.get("/kb/", follow_redirects=False).headers["location"] == "/kb/documents"
