"""/docs in Chromium: Swagger UI from our own files, every request to this server only."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import ConsoleMessage, Page, Route, expect

pytestmark = pytest.mark.browser

LOCAL_HOSTS = {"127.0.0.1", "localhost"}


def test_the_api_viewer_renders_offline(page: Page) -> None:
    requested: list[str] = []
    refused: list[str] = []
    problems: list[str] = []

    def only_local(route: Route) -> None:
        url = route.request.url
        requested.append(url)
        if urlsplit(url).hostname in LOCAL_HOSTS or url.startswith("data:"):
            route.continue_()
        else:  # the machine may be offline: a request elsewhere must not even be tried
            refused.append(url)
            route.abort()

    def console(message: ConsoleMessage) -> None:
        if message.type == "error" or "Content Security Policy" in message.text:
            problems.append(message.text)

    page.context.route("**/*", only_local)
    page.on("console", console)
    page.goto("/docs")
    # The operations are drawn from our schema: the suggest route, with its method and path.
    suggest = page.locator(".opblock", has_text="/api/v1/suggest").first
    expect(suggest).to_be_visible()
    expect(suggest.locator(".opblock-summary-method")).to_have_text("POST")
    assert page.locator(".opblock").count() >= 8
    suggest.locator(".opblock-summary").click()  # opening one renders its schema too
    expect(page.locator(".opblock-body").first).to_be_visible()
    assert refused == [], refused
    assert requested and all(urlsplit(u).hostname in LOCAL_HOSTS for u in requested)
    assert any(u.endswith("/openapi.json") for u in requested)
    assert problems == [], problems
