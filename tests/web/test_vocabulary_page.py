"""The vocabulary console page against a real app, database and index."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from kb.context import KnowledgeBase
from kb.documents.ingestion import DocumentMeta, IngestItem, ingest_items
from kb.retrieval.searching import SearchRequest, search
from kb.retrieval.vocabulary import Vocabulary, edited_vocabulary
from kb.settings import Settings
from web.app import create_app

HX = {"HX-Request": "true"}
FAQ = "问题,答案\n满多少包邮？,订单满 99 元包邮。\n退款多久到账？,三到五个工作日原路退回。\n"

SignIn = Callable[..., Any]


@pytest.fixture
def client(tmp_path: Path, embedding_cache_dir: Path, sign_in: SignIn) -> Iterator[TestClient]:
    settings = Settings(data_dir=tmp_path / "data", cache_dir=embedding_cache_dir)
    with TestClient(create_app(settings, warm=False)) as c:
        sign_in(c)
        kb: KnowledgeBase = c.app.state.kb  # type: ignore[attr-defined]
        item = IngestItem("faq.csv", FAQ.encode(), DocumentMeta(doc_type="faq"))
        assert ingest_items(kb, [item], collection="default")[0].status == "ingested"
        yield c


def _kb(client: TestClient) -> KnowledgeBase:
    kb: KnowledgeBase = client.app.state.kb  # type: ignore[attr-defined]
    return kb


def _tokens(html: str) -> list[str]:
    return [unescape(t) for t in re.findall(r'<span class="token">([^<]*)</span>', html)]


def test_the_page_is_in_the_console_nav(client: TestClient) -> None:
    page = client.get("/kb/vocabulary")
    assert page.status_code == 200
    assert '<a href="/kb/vocabulary" aria-current="page">词库</a>' in page.text
    assert 'name="user_dict"' in page.text and 'name="synonyms"' in page.text
    assert "还没有保存过词库。" in page.text


def test_saving_words_changes_the_cut_and_the_search(client: TestClient) -> None:
    before = client.get("/kb/vocabulary/cut", params={"text": "满多少钱包邮"}, headers=HX)
    assert "钱包" in _tokens(before.text)

    saved = client.post(
        "/kb/vocabulary",
        data={"user_dict": "包邮 50000\n", "synonyms": "退款，退钱"},
        headers=HX,
    )

    assert saved.status_code == 200
    assert "词库已保存并生效，已重建 1 个集合的索引" in saved.text
    assert "1 个词 · 1 组同义词" in saved.text
    # The page's trial sentence (kept through the swap) is cut again once this has settled.
    assert saved.headers["hx-trigger-after-settle"] == "kb:vocabulary-saved"
    after = client.get("/kb/vocabulary/cut", params={"text": "满多少钱包邮"}, headers=HX)
    assert after.text.lstrip().startswith('<div id="cut-preview"')  # the fragment only
    assert "包邮" in _tokens(after.text) and "钱包" not in _tokens(after.text)
    hits = search(_kb(client), SearchRequest("退钱", mode="bm25"))
    assert hits and hits[0].chunk.question == "退款多久到账？"

    again = client.post(
        "/kb/vocabulary", data={"user_dict": "包邮 50000", "synonyms": "退款，退钱"}, headers=HX
    )
    assert "词库没有变化，无需重建索引。" in again.text


def test_a_bad_line_is_shown_and_nothing_changes(client: TestClient) -> None:
    client.post("/kb/vocabulary", data={"user_dict": "包邮", "synonyms": ""}, headers=HX)
    typed = "退款，退钱\n发票\n<b>售后</b>"
    response = client.post(
        "/kb/vocabulary", data={"user_dict": "包邮\n七天无理由", "synonyms": typed}, headers=HX
    )
    assert response.status_code == 422
    assert "hx-trigger-after-settle" not in response.headers  # nothing changed: nothing to re-cut
    text = response.text
    assert "同义词有 2 处问题，词库未改变" in text
    assert "<strong>第 2 行</strong>（<code>发票</code>）：一组同义词至少需要两个不同的词" in text
    assert "<strong>第 3 行</strong>（<code>&lt;b&gt;售后&lt;/b&gt;</code>）" in text
    assert '<span class="at-fault" data-line="2"><span class="ln">2</span>发票</span>' in text
    # What the manager typed stays in the boxes to be fixed; the saved vocabulary is unchanged.
    assert ">包邮\n七天无理由</textarea>" in text
    assert "&lt;b&gt;售后&lt;/b&gt;</textarea>" in text
    assert edited_vocabulary(_kb(client)) == Vocabulary(user_dict="包邮")


def test_the_preview_shows_markup_as_text(client: TestClient) -> None:
    response = client.get("/kb/vocabulary/cut", params={"text": "<img src=x>包邮"}, headers=HX)
    assert "<img" not in response.text
    assert "包邮" in "".join(_tokens(response.text))
    empty = client.get("/kb/vocabulary/cut", params={"text": "的了吗？"}, headers=HX)
    assert "没有可检索的词" in empty.text


def test_the_hit_test_shows_how_the_live_index_reads_a_query(client: TestClient) -> None:
    def terms() -> str:
        html = client.get("/kb/hit-test", params={"q": "退錢要幾天"}, headers=HX).text
        found = re.search(r'<p class="query-terms">(.*?)</p>', html, re.S)
        assert found, html
        return found.group(1)

    assert '<span class="token">退钱</span>' in terms()  # a word, but only itself
    client.post("/kb/vocabulary", data={"synonyms": "退款，退钱、返款"}, headers=HX)
    shown = terms()
    assert '<span class="token">退钱<small>＝退款／返款</small></span>' in shown
    assert '<a href="/kb/vocabulary">切分不对？编辑词库</a>' in shown
