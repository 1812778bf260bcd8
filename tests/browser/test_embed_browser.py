"""The panel inside a CRM's page in real Chromium: a host on another site (``localhost`` vs
``127.0.0.1``) frames ``/assist?embed=TOKEN`` with no cookie at all; a host not in
KB_FRAME_ANCESTORS cannot frame it, and the link opened on its own is refused."""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from live_server import ReadyServer, host_page
from playwright.sync_api import Browser, Page, expect
from sqlmodel import select

from kb.accounts.keys import create_key
from kb.context import KnowledgeBase
from kb.db import session_scope
from kb.documents.ingestion import DocumentMeta, IngestItem, ingest_items
from kb.models import FeedbackRecord, SuggestionLog
from kb.settings import Settings
from web.app import create_app

pytestmark = pytest.mark.browser

POLICY = "# 退货政策\n\n## 退货运费\n\n质量问题退货的运费由商家承担，非质量问题由买家承担。\n"
HOST_PAGE = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>CRM</title>
</head><body><h1>CRM</h1><iframe src="{src}" width="400" height="800" title="AssistKB"></iframe>
</body></html>"""


@dataclass(frozen=True)
class Embedding:
    url: str  # the panel's server, on 127.0.0.1
    app: FastAPI
    key: str  # the CRM's API key, scope embed
    allowed_host: str  # http://localhost:<port>: another site, in KB_FRAME_ANCESTORS
    denied_host: str  # http://localhost:<other port>: not in it
    page: list[str]  # what both hosts serve

    @property
    def kb(self) -> KnowledgeBase:
        kb: KnowledgeBase = self.app.state.kb
        return kb

    def mint(self, agent: str) -> str:
        """As the CRM's server does: the panel URL for one agent, from the real API."""
        response = httpx.post(
            f"{self.url}/api/v1/embed-tokens",
            json={"agent": agent, "minutes": 10},
            headers={"Authorization": f"Bearer {self.key}"},
        )
        assert response.status_code == 201, response.text
        return self.url + response.json()["panel_url"]


@pytest.fixture(scope="module")
def embedding(
    tmp_path_factory: pytest.TempPathFactory, embedding_cache_dir: Path
) -> Iterator[Embedding]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    page = [""]
    hosts = ExitStack()
    allowed = hosts.enter_context(host_page(page))
    denied = hosts.enter_context(host_page(page))
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("embed-browser"),
        cache_dir=embedding_cache_dir,
        frame_ancestors=f"'self' {allowed}",
    )
    kb = KnowledgeBase(settings)
    meta = DocumentMeta(doc_type="policy")
    ingest_items(kb, [IngestItem("returns.md", POLICY.encode(), meta)], collection="default")
    key = create_key(kb, name="crm", scopes=["embed"], collections=["default"], actor="test").key
    kb.close()
    app = create_app(settings)
    server = ReadyServer(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="uvicorn-embed", daemon=True)
    thread.start()
    if not server.ready.wait(timeout=120):
        server.should_exit = True
        pytest.fail("the embed server did not start within 120 s")
    try:
        yield Embedding(f"http://127.0.0.1:{port}", app, key, allowed, denied, page)
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        hosts.close()


@pytest.fixture
def tab(browser: Browser) -> Iterator[Page]:
    """A fresh context with no cookie and no login; any script error on the page fails it."""
    context = browser.new_context(locale="zh-CN")
    context.set_default_timeout(15_000)
    expect.set_options(timeout=15_000)
    page = context.new_page()
    errors: list[Any] = []
    page.on("pageerror", lambda error: errors.append(error))
    yield page
    context.close()
    assert not errors, errors


def test_a_crm_on_another_site_frames_the_panel_and_its_agent_gets_suggestions(
    tab: Page, embedding: Embedding
) -> None:
    embedding.page[0] = HOST_PAGE.format(src=embedding.mint("agent-7"))
    tab.goto(embedding.allowed_host)
    frame = tab.frame_locator("iframe")
    with tab.expect_response(re.compile(r"/assist/suggest$")) as asked:
        frame.get_by_label("客户消息或对话").fill("退货运费谁出？")
    assert asked.value.ok and asked.value.request.header_value("x-embed-token")
    suggestion_id = asked.value.header_value("x-suggestion-id")
    expect(frame.locator("#suggestions .answer").first).to_contain_text("商家承担")
    expect(frame.locator(".console-link")).to_have_count(0)  # the token opens no console
    with tab.expect_response(re.compile(r"/assist/feedback$")) as fed:
        frame.locator(".answer").first.get_by_role("button", name="插入").click()
    assert fed.value.status == 204
    assert not tab.context.cookies(embedding.url)  # no cookie was needed, none was set

    with session_scope(embedding.kb.engine) as session:
        log = session.get(SuggestionLog, suggestion_id)
        feedback = session.exec(
            select(FeedbackRecord).where(FeedbackRecord.suggestion_id == suggestion_id)
        ).all()
    assert log is not None and log.actor == "embed:agent-7"
    assert [(f.action, f.actor) for f in feedback] == [("inserted", "embed:agent-7")]


def test_a_host_not_in_frame_ancestors_cannot_frame_it(tab: Page, embedding: Embedding) -> None:
    embedding.page[0] = HOST_PAGE.format(src=embedding.mint("agent-7"))
    with tab.expect_event("console", lambda m: "frame-ancestors" in m.text):
        tab.goto(embedding.denied_host)
    assert tab.frames[1].locator("#assist-form").count() == 0


def test_the_link_opened_on_its_own_is_refused(tab: Page, embedding: Embedding) -> None:
    response = tab.goto(embedding.mint("agent-7"))  # Sec-Fetch-Dest: document
    assert response is not None and response.status == 403
    expect(tab.locator("body")).to_contain_text("只能在嵌入它的 CRM 页面中使用")
    expect(tab.locator("#assist-form")).to_have_count(0)
