"""The panel in Chromium in each UI language: chosen by the browser's language, switched in the
panel and kept with the account; the screenshots in docs/ come from here."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

# The sample-KB panel server of the assist tests (a module fixture: this module gets its own).
from test_assist_browser import Panel, panel  # noqa: F401

from kb.context import KnowledgeBase

pytestmark = pytest.mark.browser

DOCS = Path(__file__).resolve().parents[2] / "docs"
PANEL_SIZE = {"width": 420, "height": 900}
# language: (the browser's locale, a customer turn, what the panel's headings say)
CASES = {
    "zh-Hans": ("zh-CN", "扫地机器人充电的时候冒烟了，还有烧焦味，太危险了，我要投诉！",
                {"答案", "建议升级"}, "安全隐患"),
    "zh-Hant": ("zh-TW", "掃地機器人充電的時候冒煙了，還有燒焦味，太危險了，我要投訴！",
                {"答案", "建議升級"}, "安全隱患"),
    "en": ("en-US", "The robot vacuum smoked while charging and smells burnt. It is dangerous, "
           "I want to file a complaint!", {"Answers", "Escalate"}, "safety hazard"),
}  # fmt: skip


@pytest.fixture
def open_panel(
    browser: Browser,
    panel: Panel,  # noqa: F811
    browser_login: Callable[[str, KnowledgeBase], Any],
) -> Iterator[Callable[[str], Page]]:
    """``open_panel(browser_locale)``: a signed-in tab whose browser asks for that language."""
    contexts = []

    def open_tab(locale: str) -> Page:
        context = browser.new_context(
            viewport=PANEL_SIZE,
            locale=locale,
            base_url=panel.url,
            storage_state=browser_login(panel.url, panel.app.state.kb),
        )
        context.set_default_timeout(20_000)
        contexts.append(context)
        tab = context.new_page()
        errors: list[Any] = []
        tab.on("pageerror", lambda error: errors.append(error))
        tab.errors = errors  # type: ignore[attr-defined]
        return tab

    yield open_tab
    for context in contexts:
        context.close()


def _ask(tab: Page, text: str) -> None:
    with tab.expect_response(lambda r: r.url.endswith("/assist/suggest") and r.ok):
        tab.locator("#assist-conversation").fill(text)
    expect(tab.locator("#assist-form")).not_to_have_class(re.compile(r"\bhtmx-request\b"))
    expect(tab.locator("#suggestions .handling")).to_be_visible()


@pytest.mark.parametrize("lang", list(CASES))
def test_the_panel_speaks_the_browsers_language(
    open_panel: Callable[[str], Page], lang: str
) -> None:
    locale, turn, headings, reason = CASES[lang]
    tab = open_panel(locale)
    tab.goto("/assist")
    expect(tab.locator("html")).to_have_attribute("lang", lang)
    # A Traditional UI shows the answers in Traditional too (the content script follows it).
    script = "zh-Hant" if lang == "zh-Hant" else "zh-Hans"
    expect(tab.locator(f'#script-switch input[value="{script}"]')).to_be_checked()
    _ask(tab, turn)
    shown = set(tab.locator("#suggestions h2").all_inner_texts())
    assert any(h.startswith(tuple(headings)) for h in shown), shown
    assert {h for h in headings if any(s.startswith(h) for s in shown)} == headings
    expect(tab.locator("#suggestions .reasons")).to_contain_text(reason)
    # An error the page reports itself (app.js) is in its language too.
    tab.screenshot(path=DOCS / f"panel-{lang}.png", full_page=True)
    assert tab.errors == []  # type: ignore[attr-defined]


def test_switching_in_the_panel_is_kept_with_the_account(
    open_panel: Callable[[str], Page],
) -> None:
    tab = open_panel("zh-CN")
    tab.goto("/assist")
    expect(tab.locator("html")).to_have_attribute("lang", "zh-Hans")
    tab.get_by_role("button", name="English").click()
    expect(tab.locator("html")).to_have_attribute("lang", "en")
    expect(tab.get_by_role("button", name="Get suggestions")).to_be_visible()
    # Suggestions fetched by HTMX come back in the page's language as well.
    _ask(tab, CASES["en"][1])
    expect(tab.locator("#suggestions")).to_contain_text("Answers")
    # Another browser of the same person, set to Traditional Chinese: still English.
    other = open_panel("zh-TW")
    other.goto("/assist")
    expect(other.locator("html")).to_have_attribute("lang", "en")
    # Back to following the browser (so the other tests of this module see theirs).
    other.goto("/account")
    other.get_by_role("button", name="简体中文").click()
    expect(other.locator("html")).to_have_attribute("lang", "zh-Hans")
    other.evaluate(
        """async () => {
          const token = document.querySelector('meta[name="csrf-token"]').content;
          const body = new URLSearchParams({locale: "", csrf_token: token});
          await fetch("/account/language", {method: "POST", body});
        }"""
    )
    other.goto("/assist")
    expect(other.locator("html")).to_have_attribute("lang", "zh-Hant")
