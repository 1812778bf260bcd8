"""Browser fixtures: a real uvicorn server on 127.0.0.1 and Debian's Chromium driven by Playwright.

Chromium comes from the system (`apt-get install chromium`), never from `playwright install`.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI
from live_server import ReadyServer
from playwright.sync_api import Browser, Page, expect, sync_playwright

from kb.accounts.users import create_user
from kb.context import KnowledgeBase
from kb.settings import Settings
from web.app import create_app
from web.pages import install_pages

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[1] / "artifacts" / "screenshots"
WIDE = {"width": 1280, "height": 900}
NARROW = {"width": 360, "height": 780}


@dataclass(frozen=True)
class LiveServer:
    url: str
    app: FastAPI

    @property
    def kb(self) -> KnowledgeBase:
        kb: KnowledgeBase = self.app.state.kb
        return kb


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def live_server(
    tmp_path_factory: pytest.TempPathFactory, embedding_cache_dir: Path
) -> Iterator[LiveServer]:
    """The real app (warm start, as `kb serve` does) on a fresh data dir and a free port."""
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("browser-kb"), cache_dir=embedding_cache_dir
    )
    app = create_app(settings)
    if not hasattr(app.state, "renderer"):  # until create_app installs the pages itself
        install_pages(app)
    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", ws="none")
    server = ReadyServer(config)
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    if not server.ready.wait(timeout=120):
        server.should_exit = True
        pytest.fail("the uvicorn server did not start within 120 s")
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", app)
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} not found: apt-get install -y chromium fonts-wqy-microhei")
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


StorageState = dict[str, Any]


@pytest.fixture(scope="session")
def browser_login(browser: Browser) -> Callable[[str, KnowledgeBase], StorageState]:
    """``browser_login(url, kb)``: a manager signed in once, through the real /login form, per
    server; the browser state (its session cookie) to start every later context from."""
    states: dict[str, StorageState] = {}

    def login(url: str, kb: KnowledgeBase) -> StorageState:
        if url not in states:
            new = create_user(kb, email="manager@assistkb.test", role="manager", actor="test")
            assert new.password is not None
            context = browser.new_context(locale="zh-CN", base_url=url)
            tab = context.new_page()
            tab.goto("/kb/documents")  # signed out: the form, and back here afterwards
            tab.get_by_label("邮箱").fill(new.user.email)
            tab.get_by_label("密码").fill(new.password)
            tab.get_by_role("button", name="登录").click()
            tab.wait_for_url(f"{url}/kb/documents")
            states[url] = context.storage_state()  # type: ignore[assignment]
            context.close()
        return states[url]

    return login


@pytest.fixture
def page(
    browser: Browser,
    live_server: LiveServer,
    browser_login: Callable[[str, KnowledgeBase], StorageState],
) -> Iterator[Page]:
    """A fresh, signed-in browser context at 1280 px; any script error on the page fails it."""
    state = browser_login(live_server.url, live_server.kb)
    context = browser.new_context(
        viewport=WIDE, locale="zh-CN", base_url=live_server.url, storage_state=state
    )
    context.set_default_timeout(15_000)
    expect.set_options(timeout=15_000)
    tab = context.new_page()
    errors: list[Any] = []
    tab.on("pageerror", lambda error: errors.append(error))
    yield tab
    context.close()
    assert not errors, errors


@pytest.fixture
def screenshot() -> Callable[[Page, str], None]:
    """Save the page at 1280 px and at 360 px wide under tests/artifacts/screenshots/."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(tab: Page, name: str) -> None:
        tab.screenshot(path=SCREENSHOTS / f"{name}-1280.png", full_page=True)
        tab.set_viewport_size(NARROW)
        # Nothing may stick out sideways at 360 px: that is what "responsive" means here.
        overflow = tab.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        tab.screenshot(path=SCREENSHOTS / f"{name}-360.png", full_page=True)
        tab.set_viewport_size(WIDE)
        assert overflow <= 0, f"{name} is {overflow}px wider than a 360px screen"

    return take
