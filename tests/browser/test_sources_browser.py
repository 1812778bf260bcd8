"""Sources at hand in real Chromium (issue 16, point 2): an agent clicks a citation in the panel
and reads the passage with its neighbours, section, page and version over the panel; an
embedded panel on another site does the same inside the CRM's iframe, with no cookie."""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from live_server import ReadyServer, host_page
from playwright.sync_api import Browser, FrameLocator, Locator, Page, expect
from source_files import PAGES, manual_pdf

from kb.accounts.keys import create_key
from kb.accounts.users import create_user
from kb.context import KnowledgeBase
from kb.documents.ingestion import DocumentMeta, IngestItem, ingest_items
from kb.settings import Settings
from web.app import create_app

pytestmark = pytest.mark.browser

QUESTION = "How long does the battery last on carpet?"
HOST_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>CRM</title>
</head><body><h1>CRM</h1><iframe src="{src}" width="380" height="760" title="AssistKB"></iframe>
</body></html>"""


@dataclass(frozen=True)
class Served:
    url: str
    app: FastAPI
    crm: str  # the CRM's origin, allowed to frame the panel
    page: list[str]  # what the CRM serves
    key: str  # the CRM's key, scope embed
    agent: tuple[str, str]  # an agent's e-mail and password

    def panel_url(self, agent: str) -> str:
        response = httpx.post(
            f"{self.url}/api/v1/embed-tokens",
            json={"agent": agent, "minutes": 10},
            headers={"Authorization": f"Bearer {self.key}"},
        )
        assert response.status_code == 201, response.text
        return self.url + response.json()["panel_url"]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, embedding_cache_dir: Path) -> Iterator[Served]:
    """The five-page manual in `default`, an agent, and a CRM on another site that frames it."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    page = [""]
    hosts = ExitStack()
    crm = hosts.enter_context(host_page(page))
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("sources-browser"),
        cache_dir=embedding_cache_dir,
        frame_ancestors=f"'self' {crm}",
    )
    kb = KnowledgeBase(settings)
    manual = IngestItem("robot-manual.pdf", manual_pdf(), DocumentMeta())
    assert ingest_items(kb, [manual], collection="default")[0].status == "ingested"
    key = create_key(kb, name="crm", scopes=["embed"], collections=["default"], actor="t").key
    new = create_user(kb, email="agent@sources.test", role="agent", actor="test")
    assert new.password is not None
    kb.close()
    app = create_app(settings)
    server = ReadyServer(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="uvicorn-sources", daemon=True)
    thread.start()
    if not server.ready.wait(timeout=120):
        server.should_exit = True
        pytest.fail("the server did not start within 120 s")
    try:
        agent = (new.user.email, new.password)
        yield Served(f"http://127.0.0.1:{port}", app, crm, page, key, agent)
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        hosts.close()


@pytest.fixture
def tab(browser: Browser) -> Iterator[Page]:
    """A fresh context with no cookie; any script error on the page fails the test."""
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    expect.set_options(timeout=15_000)
    page = context.new_page()
    errors: list[Any] = []
    page.on("pageerror", lambda error: errors.append(error))
    yield page
    context.close()
    assert not errors, errors


def _reads_the_battery_passage(where: Page | FrameLocator) -> Locator:
    """Ask, click the citation of the answer about the battery, check the dialog it opens."""
    where.get_by_label("客户消息或对话").fill(QUESTION)
    answer = where.locator("#suggestions .answer").filter(has_text="120 minutes").first
    expect(answer).to_be_visible()
    answer.locator(".cite .source-link").click()
    dialog = where.locator("dialog.source-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.locator(".source-section")).to_have_text("2 Battery")
    expect(dialog.locator(".source-page")).to_have_text("第 2 页")
    expect(dialog.locator(".source-version")).to_have_text("v1")
    current = dialog.locator(".source-passage.current")
    expect(current).to_contain_text(PAGES[1][1])
    passages = dialog.locator(".source-passage")
    expect(passages).to_have_count(4)  # two before is one (page 1), the cited, two after
    expect(passages.nth(0)).to_contain_text(PAGES[0][1])
    expect(passages.nth(0).locator(".page")).to_have_text("第 1 页")
    expect(passages.nth(2)).to_contain_text(PAGES[2][1])
    expect(passages.nth(3)).to_contain_text(PAGES[3][1])
    expect(dialog.locator(".more-link")).to_be_visible()
    dialog.locator(".more-link").click()  # page 5 too
    # The wider view replaces the dialog; it is in the page a moment before it is shown modal
    # ([open]), and an Esc pressed in between would close nothing.
    opened = where.locator("dialog.source-dialog[open]")
    expect(opened.locator(".source-passage")).to_have_count(5)
    return opened


def test_an_agent_clicks_a_citation_and_reads_it_with_its_neighbours(
    tab: Page, served: Served, screenshot: Callable[[Page, str], None]
) -> None:
    tab.goto(f"{served.url}/assist")
    email, password = served.agent
    tab.get_by_label("邮箱").fill(email)
    tab.get_by_label("密码").fill(password)
    tab.get_by_role("button", name="登录").click()
    tab.wait_for_url(f"{served.url}/assist")
    expect(tab.locator(".console-link")).to_have_count(0)  # an agent has no console to open

    dialog = _reads_the_battery_passage(tab)
    screenshot(tab, "assist-source")
    expect(dialog.get_by_role("button", name="关闭")).to_be_visible()
    dialog.get_by_role("button", name="关闭").click()
    expect(tab.locator("dialog.source-dialog")).to_have_count(0)
    expect(tab.get_by_label("客户消息或对话")).to_have_value(QUESTION)  # the panel is as it was

    # The link is a real one too: in a tab of its own it is the page, with no console in it.
    href = tab.locator(".cite .source-link").first.get_attribute("href")
    assert href and href.startswith("/assist/sources/")
    tab.goto(served.url + href)
    expect(tab.locator("#source-view .source-passage.current")).to_be_visible()
    assert tab.locator('a[href^="/kb/"]').count() == 0


def test_an_embedded_panel_opens_the_citation_inside_the_crms_iframe(
    tab: Page, served: Served
) -> None:
    served.page[0] = HOST_PAGE.format(src=served.panel_url("agent-7"))
    tab.goto(served.crm)
    frame = tab.frame_locator("iframe")
    with tab.expect_response(re.compile(r"/assist/sources/\w+")) as opened:
        _reads_the_battery_passage(frame)
    assert opened.value.ok and opened.value.request.header_value("x-embed-token")
    # Nothing an iframe without a cookie could follow (the skip link stays on the page).
    assert frame.locator('a[href]:not([href^="#"])').count() == 0
    tab.keyboard.press("Escape")
    expect(frame.locator("dialog.source-dialog")).to_have_count(0)
    assert not tab.context.cookies(served.url)  # no cookie needed, none set
