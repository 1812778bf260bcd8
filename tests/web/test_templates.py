"""Templates: which one rendered with what, page vs HTMX fragment, golden HTML of key fragments."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.requests import Request

from kb.documents.ingestion import DocumentMeta, IngestItem, ingest_items
from kb.settings import Settings
from search.highlight import highlight
from search.types import Hit, IndexedChunk
from web.app import create_app
from web.pages import install_pages
from web.rendering import Rendered, Renderer, get_htmx, heading, marked, score

GOLDEN = Path(__file__).parent / "golden"
GUIDE = "# 第1章 保修\n\n## 1.1 保修期\n\n整机保修一年，电机和电池保修两年。\n".encode()

SignIn = Callable[..., Any]


def make_app(settings: Settings) -> FastAPI:
    app = create_app(settings, warm=False)
    if not hasattr(app.state, "renderer"):  # until create_app installs the pages itself
        install_pages(app)
    return app


@pytest.fixture(scope="module")
def client(
    tmp_path_factory: pytest.TempPathFactory,
    embedding_cache_dir: Path,
    sign_in: SignIn,
) -> Iterator[TestClient]:
    data = tmp_path_factory.mktemp("templates")
    with TestClient(make_app(Settings(data_dir=data, cache_dir=embedding_cache_dir))) as c:
        sign_in(c)
        meta = DocumentMeta(tags=("保修",))
        ingest_items(c.app.state.kb, [IngestItem("guide.md", GUIDE, meta)], collection="default")  # type: ignore[attr-defined]
        yield c


def _ids(client: TestClient) -> dict[str, str]:
    html = client.get("/kb/documents").text
    doc_id = re.findall(r'data-document-id="([0-9a-f]+)"', html)[0]
    page = client.get(f"/kb/documents/{doc_id}").text
    return {"DOC": doc_id, "CHUNK": re.findall(r'id="chunk-([0-9a-f]+)"', page)[0]}


@pytest.mark.parametrize(
    ("url", "template", "block", "root", "context_keys"),
    [
        (
            "/kb/documents",
            "documents.html",
            "doc_list",
            '<div id="doc-list"',
            {"documents", "filters"},
        ),
        (
            "/kb/documents/DOC",
            "document.html",
            "index_view",
            '<div id="index-view"',
            {"doc", "form"},
        ),
        (
            "/kb/documents/DOC/chunks/CHUNK",
            "chunk.html",
            "context",
            '<section id="chunk-context"',
            {"chunk", "shown"},
        ),
        (
            "/kb/hit-test?q=保修",
            "hit_test.html",
            "hits",
            '<section id="hits"',
            {"hits", "q", "errors"},
        ),
    ],
)
def test_same_url_renders_the_page_or_only_its_block(
    client: TestClient,
    renders: list[Rendered],
    url: str,
    template: str,
    block: str,
    root: str,
    context_keys: set[str],
) -> None:
    for name, value in _ids(client).items():
        url = url.replace(name, value)
    renders.clear()

    page = client.get(url)
    fragment = client.get(url, headers={"HX-Request": "true"})
    boosted = client.get(url, headers={"HX-Request": "true", "HX-Boosted": "true"})

    assert [(r.template, r.block) for r in renders] == [
        (template, None),
        (template, block),
        (template, None),  # a boosted link swaps the whole body
    ]
    assert context_keys <= set(renders[0].context)
    assert page.text.startswith("<!doctype html>") and '<html lang="zh-Hans">' in page.text
    assert 'aria-label="控制台"' in page.text and root in page.text
    assert fragment.text.lstrip().startswith(root)
    assert "<html" not in fragment.text and "控制台" not in fragment.text
    # The fragment is exactly the page's block: they come from one template and cannot drift.
    assert _normal(fragment.text) in _normal(page.text)
    assert boosted.text == page.text


def test_context_of_the_document_list(client: TestClient, renders: list[Rendered]) -> None:
    client.get("/kb/documents", params={"tag": "保修", "type": "manual"})
    [seen] = renders
    assert [d.source_name for d in seen.context["documents"]] == ["guide.md"]
    assert (seen.context["filters"].tag, seen.context["filters"].doc_type) == ("保修", "manual")
    assert seen.context["collections"] == ["default"]
    assert seen.context["job"] is None and seen.context["errors"] == {}


def test_context_of_a_metadata_error(client: TestClient, renders: list[Rendered]) -> None:
    doc_id = _ids(client)["DOC"]
    renders.clear()
    client.post(
        f"/kb/documents/{doc_id}/metadata",
        data={"title": "T", "valid_from": "2025-13-01"},
        headers={"HX-Request": "true"},
    )
    [seen] = renders
    assert (seen.template, seen.block) == ("document.html", "meta_form")
    assert set(seen.context["errors"]) == {"valid_from"}
    assert seen.context["form"].valid_from == "2025-13-01"  # what was typed, not what is stored


def test_route_names_are_unique(client: TestClient) -> None:
    # path_for() finds routes by name: a page named like an API route would link to the API.
    names = _route_names(client.app.routes)  # type: ignore[attr-defined]
    assert {"kb_documents", "kb_hit_test", "static"} <= set(names)
    assert len(names) == len(set(names)), sorted(n for n in names if names.count(n) > 1)


def _route_names(routes: list[Any]) -> list[str]:
    names: list[str] = []
    for route in routes:
        if (included := getattr(route, "original_router", None)) is not None:
            names += _route_names(included.routes)  # FastAPI keeps included routers nested
        elif name := getattr(route, "name", None):
            names.append(name)
    return names


# --- golden fragments -----------------------------------------------------------------------


def _normal(html: str) -> str:
    return re.sub(r">\s+<", "><", re.sub(r"\s+", " ", html)).strip()


def _render(app: FastAPI, template: str, block: str, context: dict[str, Any]) -> str:
    scope = {"type": "http", "app": app, "method": "GET", "path": "/", "root_path": "",
             "headers": [(b"hx-request", b"true")], "query_string": b""}  # fmt: skip
    renderer: Renderer = app.state.renderer
    response = renderer.render(Request(scope), template, context, block=block)
    return bytes(response.body).decode()


@pytest.fixture(scope="module")
def bare_app(tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    """The app without its lifespan: enough to render templates with fixed data."""
    return make_app(Settings(data_dir=tmp_path_factory.mktemp("bare")))


JOB = {
    "id": "job1",
    "status": "done",
    "finished": True,
    "percent": 100,
    "stage": "done",
    "done_files": 3,
    "total_files": 3,
    "error": None,
    "results": [
        {"filename": "manual.md", "status": "ingested", "document_id": "d1", "version": 2,
         "chunks": 14, "reason": None},
        {"filename": "faq.csv", "status": "unchanged", "document_id": "d2", "version": 1,
         "chunks": 3, "reason": None},
        {"filename": "<b>bad</b>.xyz", "status": "failed", "document_id": None, "version": None,
         "chunks": 0, "reason": "unsupported file type '.xyz'"},
    ],
}  # fmt: skip

TEXT = "退货运费：<script>x</script> 非质量问题退货由顾客承担运费。"
HITS = [
    Hit(
        IndexedChunk("c1", TEXT, TEXT, "d1", "售后政策 <i>", 3, ("3 退货", "3.2 运费"), page=14),
        score=0.875,
        highlight=highlight(TEXT, ["运费"]),
        bm25_score=7.25,
        vector_score=0.8125,
        bm25_rank=1,
        vector_rank=2,
    ),
    Hit(
        IndexedChunk("c2", "七天内可退。", "", "d2", "FAQ", 1, kind="faq", question="能退吗？"),
        score=0.5,
        highlight="",
        vector_score=0.79,
        vector_rank=1,
    ),
]


@pytest.mark.parametrize(
    ("golden", "template", "block", "context"),
    [
        ("job_panel_done.html", "job.html", "job", {"job": JOB}),
        (
            "hit_rows.html",
            "hit_test.html",
            "hits",
            {"hits": HITS, "q": "运费", "terms": [], "errors": {}},
        ),
    ],
)
def test_golden_fragments(
    bare_app: FastAPI, golden: str, template: str, block: str, context: dict[str, Any]
) -> None:
    rendered = _render(bare_app, template, block, context)
    assert _normal(rendered) == _normal((GOLDEN / golden).read_text(encoding="utf-8"))


# --- pieces of rendering --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("highlighted", "expected"),
    [
        (highlight("退货 <b>运费</b>", ["运费"]), "退货 &lt;b&gt;<mark>运费</mark>&lt;/b&gt;"),
        ("a <mark>b</mark> c", "a <mark>b</mark> c"),
        (
            "<mark>x</mark><script>alert(1)</script>",
            "&lt;mark&gt;x&lt;/mark&gt;&lt;script&gt;alert(1)&lt;/script&gt;",
        ),
        ('<mark onclick="x">b</mark>', "&lt;mark onclick=&#34;x&#34;&gt;b&lt;/mark&gt;"),
        ("", ""),
    ],
)
def test_marked_trusts_only_escaped_text_with_marks(highlighted: str, expected: str) -> None:
    assert str(marked(highlighted)) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (["3 退货", "3.2 运费"], "3 退货 › 3.2 运费"),
        ([], ""),
        (None, ""),
        (("a", "", "b"), "a › b"),
    ],
)
def test_heading(value: list[str] | None, expected: str) -> None:
    assert heading(value) == expected


@pytest.mark.parametrize(("value", "expected"), [(None, "–"), (0.5, "0.500"), (7.25, "7.250")])
def test_score(value: float | None, expected: str) -> None:
    assert score(value) == expected


@pytest.mark.parametrize(
    ("headers", "fragment", "target"),
    [
        ({}, False, None),
        ({"HX-Request": "true"}, True, None),
        ({"HX-Request": "true", "HX-Target": "doc-list"}, True, "doc-list"),
        ({"HX-Request": "true", "HX-Boosted": "true"}, False, None),
        ({"HX-Request": "false"}, False, None),
    ],
)
def test_htmx_request(headers: dict[str, str], fragment: bool, target: str | None) -> None:
    raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    htmx = get_htmx(Request({"type": "http", "headers": raw}))
    assert (htmx.wants_fragment, htmx.target) == (fragment, target)


def test_error_renders_a_page_or_a_fragment(bare_app: FastAPI) -> None:
    renderer: Renderer = bare_app.state.renderer
    for headers, whole in (([], True), ([(b"hx-request", b"true")], False)):
        scope = {"type": "http", "app": bare_app, "method": "GET", "path": "/kb/x",
                 "root_path": "", "headers": headers, "query_string": b""}  # fmt: skip
        response = renderer.error(Request(scope), 404, "no document with id '<x>'")
        body = bytes(response.body).decode()
        assert response.status_code == 404
        assert "no document with id &#39;&lt;x&gt;&#39;" in body
        assert ("<html" in body) is whole


def test_every_template_autoescapes_and_none_opts_out() -> None:
    """What a template shows is escaped: no template outside autoescape, no ``|safe`` and no
    ``{% autoescape false %}`` (search highlights go through the checked ``marked`` filter)."""
    from web.rendering import TEMPLATE_DIR, make_renderer

    env = make_renderer().templates.env
    names = env.list_templates()
    assert names and all(env.autoescape(name) is True for name in names)  # type: ignore[operator]
    for name in names:
        source = (TEMPLATE_DIR / name).read_text(encoding="utf-8").replace(" ", "")
        assert "|safe" not in source and "autoescapefalse" not in source, name
