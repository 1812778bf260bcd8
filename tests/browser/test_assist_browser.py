"""The assist panel in real Chromium against a real server on the sample knowledge base."""

from __future__ import annotations

import contextlib
import json
import re
import socket
import statistics
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI
from live_server import ReadyServer, host_page
from playwright.sync_api import Browser, Page, Request, Response, Route, ViewportSize, expect
from playwright.sync_api import Error as PlaywrightError
from sqlmodel import select

from kb.context import KnowledgeBase
from kb.db import session_scope
from kb.documents.ingestion import ingest_items
from kb.documents.samples import load_sample
from kb.library.store import import_sample
from kb.models import FeedbackRecord, SuggestionLog
from kb.settings import Settings
from web.app import create_app

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
# app.js's PAUSE_MS and MIN_GAP_MS: the panel asks once typing pauses this long, and its requests
# leave at least this far apart.
PAUSE_MS = 600
MIN_GAP_MS = 500
WIDE: ViewportSize = {"width": 1280, "height": 900}
# The panel's own questions (not the evaluation set's): a mix of scripts, topics and languages.
PAINT_QUESTIONS = [
    "退货运费谁出？",
    "電池保固多久？",
    "净化器滤网多久换一次",
    "扫地机器人找不到充电座怎么办",
    "发票怎么开",
    "How long is the warranty on the vacuum?",
    "退款可以退到别的银行卡吗",
    "订单还没发货能取消吗",
    "會員有什麼優惠",
    "快递一般几天到",
]
# Test-only instrumentation: when the customer's words changed, when HTMX asked, when the new
# suggestions block was swapped in and when the next frame was painted.
PAINT_PROBE = """
window.__paint = [];
document.addEventListener("input", (e) => {
  if (e.target.id === "assist-conversation") window.__inputAt = performance.now();
}, true);
document.addEventListener("htmx:beforeRequest", (e) => {
  if (e.detail.elt.id === "assist-form") window.__requestAt = performance.now();
});
document.addEventListener("htmx:afterSwap", (e) => {
  if (e.detail.target.id !== "suggestions" && e.detail.elt.id !== "suggestions") return;
  const swapped = performance.now();
  const entry = {input: window.__inputAt, request: window.__requestAt, swapped: swapped};
  requestAnimationFrame(() => {
    entry.painted = performance.now();
    window.__paint.push(entry);
    // A DOM mark the test can wait on: the panel's CSP forbids wait_for_function's eval.
    document.documentElement.dataset.paints = String(window.__paint.length);
  });
});
"""
HOST_PAGE = """<!doctype html><meta charset="utf-8"><title>CRM</title>
<h1>CRM</h1><pre id="inserted"></pre>
<iframe src="{src}" width="360" height="700" allow="clipboard-write"></iframe>
<script>
window.addEventListener("message", (e) => {{
  if (e.data && e.data.type === "assistkb:insert")
    document.getElementById("inserted").textContent = e.origin + " " + e.data.text;
}});
</script>"""


@dataclass(frozen=True)
class Panel:
    url: str
    app: FastAPI
    allowed_host: str  # a page on another origin that may frame the panel
    denied_host: str  # one that may not

    @property
    def kb(self) -> KnowledgeBase:
        kb: KnowledgeBase = self.app.state.kb
        return kb


@pytest.fixture(scope="module")
def panel(tmp_path_factory: pytest.TempPathFactory, embedding_cache_dir: Path) -> Iterator[Panel]:
    """The sample KB in a fresh data dir, served warm; one other origin is allowed to frame it."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    url = f"http://127.0.0.1:{port}"
    hosts = ExitStack()
    crm_page = [HOST_PAGE.format(src=url + "/assist")]
    allowed_url = hosts.enter_context(host_page(crm_page, "127.0.0.1"))
    denied_url = hosts.enter_context(host_page(crm_page, "127.0.0.1"))
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("assist-browser"),
        cache_dir=embedding_cache_dir,
        frame_ancestors=f"'self' {allowed_url}",
    )
    kb = KnowledgeBase(settings)  # loaded before start, so the warm-up covers replies and rules
    sample = load_sample()
    for collection, items in sample.collection_items.items():
        assert all(r.status != "failed" for r in ingest_items(kb, items, collection=collection))
    import_sample(kb, sample)
    kb.close()

    app = create_app(settings)
    server = ReadyServer(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="uvicorn-assist", daemon=True)
    thread.start()
    if not server.ready.wait(timeout=120):
        server.should_exit = True
        pytest.fail("the assist server did not start within 120 s")
    try:
        yield Panel(url, app, allowed_url, denied_url)
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        hosts.close()


@pytest.fixture
def tab(
    browser: Browser, panel: Panel, browser_login: Callable[[str, KnowledgeBase], Any]
) -> Iterator[Page]:
    """A fresh signed-in context at 1280 px that may use the clipboard; a script error fails it."""
    context = browser.new_context(
        viewport=WIDE,
        locale="zh-CN",
        base_url=panel.url,
        permissions=["clipboard-read", "clipboard-write"],
        storage_state=browser_login(panel.url, panel.app.state.kb),
    )
    context.set_default_timeout(15_000)
    expect.set_options(timeout=15_000)
    page = context.new_page()
    errors: list[Any] = []
    page.on("pageerror", lambda error: errors.append(error))
    yield page
    context.close()
    assert not errors, errors


def _asks(text: str) -> Callable[[Response], bool]:
    """Matches the response to a suggest request for exactly this conversation text."""

    def match(response: Response) -> bool:
        request = response.request
        return (
            request.url.endswith("/assist/suggest")
            and (request.post_data_json or {}).get("conversation") == text
        )

    return match


def _settled(tab: Page) -> None:
    """Wait until the panel has no suggest request in flight: the last response is swapped in.

    HTMX marks the requesting form with ``htmx-request`` from sending until after the swap; a
    response seen on the wire may not be on the page yet.
    """
    expect(tab.locator("#assist-form")).not_to_have_class(re.compile(r"\bhtmx-request\b"))


def _ask(tab: Page, text: str) -> None:
    """Type into the box and wait for the suggestions that answer exactly this text."""
    with tab.expect_response(_asks(text)) as response:
        tab.get_by_label("客户消息或对话").fill(text)
    assert response.value.ok
    _settled(tab)
    expect(tab.locator("#suggestions .handling")).to_be_visible()


def _feedback(panel: Panel, suggestion_id: str) -> list[tuple[str, str | None]]:
    with session_scope(panel.kb.engine) as session:
        rows = session.exec(
            select(FeedbackRecord).where(FeedbackRecord.suggestion_id == suggestion_id)
        ).all()
        return sorted((r.action, r.comment) for r in rows)


def _suggestion_id(tab: Page) -> str:
    sid = tab.locator("#suggestions").get_attribute("data-suggestion-id")
    assert sid
    return sid


def test_traditional_question_gets_a_cited_answer(
    tab: Page, screenshot: Callable[[Page, str], None]
) -> None:
    tab.goto("/assist")
    tab.keyboard.press("/")  # the shortcut focuses the box
    expect(tab.get_by_label("客户消息或对话")).to_be_focused()
    _ask(tab, "掃地機器人的電池保固多久？")
    first = tab.locator(".answer").first
    expect(first.locator(".answer-text")).to_contain_text("2")
    expect(first.locator(".conf")).to_have_text(re.compile("置信度[高中低]"))
    cite = first.locator(".cite a")
    expect(cite).to_have_attribute("href", re.compile(r"^/assist/sources/\w+\?script=zh-Han[st]$"))
    screenshot(tab, "assist")

    cite.click()  # the passage opens over the panel (tests/browser/test_sources_browser.py)
    expect(tab.locator("dialog.source-dialog .chunk.current")).to_be_visible()
    tab.keyboard.press("Escape")
    expect(tab.locator("dialog.source-dialog")).to_have_count(0)


def test_a_pasted_chat_with_a_follow_up(tab: Page) -> None:
    tab.goto("/assist")
    _ask(
        tab,
        "客户：你好\n客户：我买的扫地机器人不想要了，可以退货吗？\n"
        "客服：可以的，7天内未使用可以退。\n客户：那运费谁出？",
    )
    expect(tab.locator("#suggestions .query")).to_contain_text("退货")
    expect(tab.locator("#suggestions .query")).to_contain_text("（4 轮对话）")
    expect(tab.locator(".answers")).to_contain_text("运费")


# Keeps the last message the panel's status line showed (visible), as a DOM mark to wait on.
SAID_PROBE = """
document.addEventListener("DOMContentLoaded", () => {
  const box = document.getElementById("assist-status");
  new MutationObserver(() => {
    if (!box.hidden) document.documentElement.dataset.said = box.textContent;
  }).observe(box, {attributes: true, childList: true, characterData: true, subtree: true});
});
"""


def test_insert_and_copy_a_reply_record_feedback(tab: Page, panel: Panel) -> None:
    tab.add_init_script(SAID_PROBE)
    tab.goto("/assist")
    tab.get_by_text("客户信息（可选）").click()
    tab.get_by_label("称呼").fill("王女士")
    _ask(tab, "我要退款，钱什么时候退回来？")
    first_reply = tab.locator(".replies .reply").first
    expect(first_reply.locator(".reply-text")).to_contain_text("王女士")
    expect(first_reply.locator("mark.placeholder").first).to_have_text("【订单号】")
    sid = _suggestion_id(tab)
    expected = first_reply.locator(".reply-text").inner_text().strip()

    with tab.expect_response(re.compile(r"/assist/feedback$")) as sent:
        tab.keyboard.press("Alt+KeyI")
    assert sent.value.status == 204
    expect(tab.get_by_label("回复草稿")).to_have_value(expected)
    # The status hides itself after 2.5 s, which a busy machine can spend waiting for the
    # feedback response: the probe keeps what it said while it was shown.
    expect(tab.locator("html")).to_have_attribute("data-said", "已插入回复草稿")
    expect(tab.locator("#assist-status")).to_have_attribute("role", "status")

    with tab.expect_response(re.compile(r"/assist/feedback$")) as sent:
        tab.keyboard.press("Alt+Digit2")
    assert sent.value.status == 204
    second = tab.locator(".replies .reply").nth(1).locator(".reply-text").inner_text().strip()
    assert tab.evaluate("navigator.clipboard.readText()") == second
    assert _feedback(panel, sid) == [("copied", None), ("inserted", None)]


def test_thumbs_down_with_a_comment_is_stored(tab: Page, panel: Panel) -> None:
    tab.goto("/assist")
    _ask(tab, "发票怎么开？")
    sid = _suggestion_id(tab)
    answer = tab.locator(".answer").first
    answer.get_by_text("意见").click()
    answer.get_by_label("意见（可选）").fill("没说电子发票")
    answer.get_by_role("button", name="没帮助").click()
    expect(answer.locator(".rated")).to_have_text("已记录：没帮助（没说电子发票）")
    assert _feedback(panel, sid) == [("not_helpful", "没说电子发票")]


def test_refused_feedback_is_said_beside_the_item_and_the_buttons_stay(
    tab: Page, panel: Panel
) -> None:
    tab.goto("/assist")
    _ask(tab, "发票怎么开？")
    sid = _suggestion_id(tab)
    # The suggestion's row is deleted meanwhile: the server refuses every feedback on it.
    with session_scope(panel.kb.engine) as session:
        session.delete(session.get(SuggestionLog, sid))
    answer = tab.locator(".answer").first
    with tab.expect_response(re.compile(r"/assist/feedback$")) as sent:
        answer.get_by_role("button", name="有用").click()
    assert sent.value.status == 404
    notice = answer.locator(".rate-refused")
    expect(notice).to_have_text(re.compile(r"^未记录：没有编号为 .+ 的建议$"))
    expect(notice).to_have_attribute("role", "alert")
    expect(answer.get_by_role("button", name="有用")).to_be_enabled()
    expect(answer.locator(".rated")).to_have_count(0)

    # Copy and insert report by fetch: a refusal is said beside that reply, the copy still made.
    reply = tab.locator(".replies .reply").first
    with tab.expect_response(re.compile(r"/assist/feedback$")) as sent:
        reply.locator('[data-assist="copy"]').click()
    assert sent.value.status == 404
    expect(reply.locator(".rate-refused")).to_have_text(re.compile(r"^未记录：没有编号为"))
    expected = reply.locator(".reply-text").inner_text().strip()
    assert tab.evaluate("navigator.clipboard.readText()") == expected

    # A refusal before the route (a stale CSRF token, 403): said beside the thumbs as well.
    tab.locator("body").evaluate(
        """body => body.setAttribute("hx-headers", '{"X-CSRF-Token": "stale"}')"""
    )
    with tab.expect_response(re.compile(r"/assist/feedback$")) as sent:
        answer.get_by_role("button", name="没帮助").click()
    assert sent.value.status == 403
    expect(notice).to_have_text(re.compile(r"^未记录：.*CSRF"))
    expect(answer.get_by_role("button", name="没帮助")).to_be_enabled()
    expect(tab.locator("#request-error")).to_be_hidden()
    assert _feedback(panel, sid) == []


def test_a_legal_threat_shows_expert_handling_and_escalation_steps(
    tab: Page, screenshot: Callable[[Page, str], None]
) -> None:
    tab.goto("/assist")
    _ask(tab, "你们就是骗子！！再不给我退款我就找律师起诉你们！")
    expect(tab.locator(".handling")).to_have_attribute("data-handling", "expert")
    expect(tab.locator(".handling-tier")).to_have_text("转专家处理")
    escalation = tab.get_by_role("region", name=re.compile("建议升级"))
    expect(escalation.locator(".team")).to_have_text("法务")
    expect(escalation.locator(".reasons li").first).to_be_visible()
    assert escalation.locator(".steps li").count() >= 3
    screenshot(tab, "assist-escalation")


def test_the_script_switch_shows_traditional_and_is_remembered(tab: Page) -> None:
    tab.goto("/assist")
    tab.get_by_label("繁體").check()
    _ask(tab, "退货运费谁出？")
    expect(tab.locator("#suggestions")).to_have_attribute("lang", "zh-Hant")
    expect(tab.locator(".answer .answer-text").first).to_contain_text("運費")

    tab.reload()
    expect(tab.get_by_label("繁體")).to_be_checked()
    _ask(tab, "退款多久到账？")
    expect(tab.locator(".answer .answer-title").first).to_contain_text(re.compile("[帳賬]"))
    expect(tab.locator(".answer").first).not_to_contain_text("账")


def test_the_panel_works_inside_an_allowed_iframe_only(tab: Page, panel: Panel) -> None:
    tab.set_viewport_size({"width": 420, "height": 900})
    tab.goto(panel.allowed_host)
    frame = tab.frame_locator("iframe")
    with tab.expect_response(re.compile(r"/assist/suggest$")):
        frame.get_by_label("客户消息或对话").fill("我要退款，钱什么时候退回来？")
    frame.locator(".replies .reply").first.get_by_role("button", name="插入").click()
    expect(tab.locator("#inserted")).to_contain_text(f"{panel.url} ")
    expect(tab.locator("#inserted")).to_contain_text("退款")
    # 360 px of iframe: nothing sticks out sideways inside it.
    inner = tab.frames[1]
    assert inner.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0

    with tab.expect_event("console", lambda m: "frame-ancestors" in m.text):
        tab.goto(panel.denied_host)
    assert tab.frames[1].locator("#assist-form").count() == 0


def _suggest_requests(tab: Page) -> list[str]:
    """The conversation text of every suggest request the panel sends from now on."""
    sent: list[str] = []

    def seen(request: Any) -> None:
        if request.url.endswith("/assist/suggest"):
            sent.append(request.post_data_json["conversation"])

    tab.on("request", seen)
    return sent


def _log_rows(panel: Panel) -> list[SuggestionLog]:
    with session_scope(panel.kb.engine) as session:
        return list(session.exec(select(SuggestionLog).order_by(SuggestionLog.created_at)).all())


def _shown(tab: Page, response: Response) -> str:
    """The id this response's suggestion carries, once the panel shows it (settled)."""
    sid = response.header_value("x-suggestion-id")
    assert sid
    expect(tab.locator("#suggestions")).to_have_attribute("data-suggestion-id", sid)
    return sid


def _suggesting(request: Request) -> bool:
    return request.url.endswith("/assist/suggest")


def test_typing_refreshes_suggestions_but_logs_one_per_message(tab: Page, panel: Panel) -> None:
    tab.goto("/assist")
    before = {row.id for row in _log_rows(panel)}
    sent = _suggest_requests(tab)
    box = tab.get_by_label("客户消息或对话")
    box.click()
    # A pause in typing that the panel answers, then more words: the first answer was a draft.
    with tab.expect_response(_asks("滤网")) as answered:
        box.press_sequentially("滤网", delay=250)
    draft = _shown(tab, answered.value)
    with tab.expect_response(_asks("滤网多久换")) as answered:
        box.press_sequentially("多久换", delay=250)
    assert _shown(tab, answered.value) == draft
    assert sent[-1] == "滤网多久换", sent
    typed = len(sent)
    # Every typed request has been answered: the next one the panel sends is Enter's.
    with tab.expect_request(_suggesting) as submitted:
        box.press("Enter")  # sent: this suggestion is final, the next words start a new row
    assert submitted.value.post_data_json["conversation"] == "滤网多久换"
    response = submitted.value.response()
    assert response is not None
    first = _shown(tab, response)
    assert len(sent) == typed + 1, sent
    box.fill("")
    with tab.expect_response(_asks("发票")) as answered:
        box.press_sequentially("发票", delay=250)
    second = _shown(tab, answered.value)
    _settled(tab)

    new = [row for row in _log_rows(panel) if row.id not in before]
    assert [row.id for row in new] == [first, second]
    assert first == draft
    assert new[0].conversation == [{"role": "customer", "text": "滤网多久换"}]
    assert new[1].conversation == [{"role": "customer", "text": "发票"}]


# Counts the form's requests: asked (sent, or waiting for the gap between requests) and ended
# (answered or aborted), and the suggestion id of the last answer.
QUEUE_PROBE = """
window.__asked = 0;
window.__answered = 0;
document.addEventListener("htmx:trigger", (e) => {
  if (e.target.id === "assist-form") window.__asked++;
});
document.addEventListener("htmx:afterRequest", (e) => {
  if (e.detail.requestConfig.elt.id !== "assist-form") return;
  window.__answered++;
  if (e.detail.xhr.status === 0) return;  // aborted by a newer request
  window.__shown = e.detail.xhr.getResponseHeader("X-Suggestion-Id") || undefined;
});
"""
# Nothing asked is unanswered and the last answer is on screen, settled.
IDLE = """() => window.__answered === window.__asked
  && document.getElementById("suggestions").dataset.suggestionId === window.__shown"""
ENTER = "<Enter>"
MESSAGE = ["滤网多久换", ENTER, "发票"]  # typed and sent; then the next message
# (what the agent does, which request is held until the next one is asked, whether that one
# aborts it, the log). A message's first draft is never aborted (its answer names the row later
# drafts overwrite): what comes next waits for it. Any other request in flight is aborted.
HELD = [
    pytest.param(["滤网", "滤网多久换"], 0, False, ["滤网多久换"], id="typing-behind-first-draft"),
    pytest.param(MESSAGE, 0, False, ["滤网多久换", "发票"], id="enter-behind-first-draft"),
    pytest.param(MESSAGE, 1, True, ["滤网多久换", "发票"], id="typing-aborts-enter"),
    # A first draft unanswered for OPENING_WAIT_MS (3 s) is aborted after all.
    pytest.param(["滤网", "滤网多久换"], 0, True, ["滤网多久换"], id="typing-aborts-a-stuck-draft"),
]


@pytest.mark.parametrize(("steps", "held", "aborted", "logged"), HELD)
def test_a_request_over_a_slow_one_names_the_draft_known_when_it_is_sent(
    tab: Page, panel: Panel, steps: list[str], held: int, aborted: bool, logged: list[str]
) -> None:
    """On a slow link the next request waits for a first draft or aborts what is in flight
    (hx-sync replace): it overwrites the draft known when it leaves, never the final suggestion
    Enter asked for, and Enter's message stays logged even if its request is aborted."""
    tab.add_init_script(QUEUE_PROBE)
    tab.goto("/assist")
    before = {row.id for row in _log_rows(panel)}
    routed: list[Request] = []

    def hold(route: Route) -> None:
        routed.append(route.request)
        if len(routed) == held + 1 and aborted:  # until the next one leaves, aborting it
            while len(routed) < held + 2:
                tab.wait_for_timeout(50)
        elif len(routed) == held + 1:  # until the next one is asked (and waits for this one)
            tab.wait_for_function("n => window.__asked >= n", arg=held + 2)
        with contextlib.suppress(PlaywrightError):  # aborted in the browser meanwhile
            route.continue_()

    tab.route("**/assist/suggest", hold)
    box = tab.get_by_label("客户消息或对话")
    box.click()
    for n, step in enumerate(steps):
        if n != held + 1:
            tab.wait_for_function(IDLE)
        if step == ENTER:
            box.press("Enter")
        else:
            box.fill(step)
        tab.wait_for_function("n => window.__asked >= n", arg=n + 1)
    tab.wait_for_function(IDLE)

    new = [row for row in _log_rows(panel) if row.id not in before]
    assert [row.conversation for row in new] == [
        [{"role": "customer", "text": text}] for text in logged
    ]
    assert new[-1].id == _suggestion_id(tab)
    assert len(routed) == len(steps)
    assert (routed[held].failure is not None) == aborted


# Counts the panel's "the agent typed" signal, which the form's hx-trigger listens for.
TYPED_PROBE = """
window.__typed = 0;
document.addEventListener("DOMContentLoaded", () => {
  document.getElementById("assist-form").addEventListener("assist:typed", () => window.__typed++);
});
"""


def test_no_request_while_an_input_method_is_composing(tab: Page) -> None:
    tab.add_init_script(TYPED_PROBE)
    tab.goto("/assist")
    box = tab.get_by_label("客户消息或对话")
    box.click()
    sent = _suggest_requests(tab)
    cdp = tab.context.new_cdp_session(tab)
    for pinyin in ("t", "tu", "tui", "tuih", "tuihuo"):  # the keys of 退货, still composing
        cdp.send(
            "Input.imeSetComposition",
            {"text": pinyin, "selectionStart": len(pinyin), "selectionEnd": len(pinyin)},
        )
    expect(box).to_have_value("tuihuo")
    assert tab.evaluate("window.__typed") == 0  # five input events, none of them words yet
    cdp.send("Input.insertText", {"text": "退货"})  # the candidate is picked; on to the next word
    for pinyin in ("y", "yu", "yun"):
        cdp.send(
            "Input.imeSetComposition",
            {"text": pinyin, "selectionStart": len(pinyin), "selectionEnd": len(pinyin)},
        )
    expect(box).to_have_value("退货yun")
    tab.wait_for_timeout(2 * PAUSE_MS)  # a pause in the keys, but not in the words
    assert tab.evaluate("window.__typed") == 0
    with tab.expect_response(re.compile(r"/assist/suggest$")):
        cdp.send("Input.insertText", {"text": "运费"})
    expect(tab.locator("#suggestions .query")).to_contain_text("运费")
    assert tab.evaluate("window.__typed") == 1
    assert sent == ["退货运费"]


def test_first_useful_paint_after_a_keystroke(tab: Page) -> None:
    """Measured and written to tests/artifacts/panel_paint.json; reported, never asserted.

    Each question twice: its words without a sentence end (asked once the agent pauses, so the
    time includes the pause the panel waits for), then its question mark (asked at once)."""
    tab.add_init_script(PAINT_PROBE)
    tab.goto("/assist")
    _ask(tab, "在吗，我想问下保修")  # warm the browser's connection and caches; not counted
    box = tab.get_by_label("客户消息或对话")
    paints = 1
    for question in PAINT_QUESTIONS:
        words = question.rstrip("？?")
        box.fill(words)
        paints += 1
        expect(tab.locator("html")).to_have_attribute("data-paints", str(paints))
        # A sentence end right after a request waits out the gap between requests (app.js,
        # MIN_GAP_MS); measured here is a sentence end on its own.
        tab.wait_for_timeout(MIN_GAP_MS)
        box.press("End")
        box.press_sequentially("?" if words.isascii() else "？")
        paints += 1
        expect(tab.locator("html")).to_have_attribute("data-paints", str(paints))
    entries = tab.evaluate("window.__paint")[1:]
    after_pause, at_end = entries[0::2], entries[1::2]
    trigger = tab.locator("#assist-form").get_attribute("hx-trigger")
    report = {
        "what": "first useful paint after a keystroke in /assist, sample knowledge base, warm",
        "questions": PAINT_QUESTIONS,
        "sentence_end_to_paint_ms": _summary([_ms(e, "input") for e in at_end]),
        "pause_to_paint_ms": _summary([_ms(e, "input") for e in after_pause]),
        "request_to_paint_ms": _summary([_ms(e, "request") for e in entries]),
        "request_to_swap_ms": _summary([round(e["swapped"] - e["request"], 1) for e in entries]),
        "note": (
            "sentence_end: the key that ends the question (。？！?!.… or a line break) to the "
            "paint of its answer; pause: the last key of words with no sentence end to the paint, "
            f"which includes the panel's wait for a pause ({PAUSE_MS} ms, app.js). "
            f"The form's trigger: {trigger}"
        ),
    }
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "panel_paint.json").write_text(
        json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    assert len(entries) == 2 * len(PAINT_QUESTIONS)


def _ms(entry: dict[str, float], since: str) -> float:
    return round(entry["painted"] - entry[since], 1)


def _summary(values: list[float]) -> dict[str, Any]:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"median": round(statistics.median(values), 1), "p95": p95, "values": values}
