"""Untrusted content stays text, and the CSP breaks nothing, in real Chromium on a real server.

Script payloads are seeded into everything a person or a file can put into the knowledge base
(document text, titles, file names, tags, product, replies, rules, vocabulary, feedback
comments, customer messages), and every page that shows them is rendered. An init script traps
``window.__xss`` (so a payload that ran says so, whatever the CSP did) and reports every
``securitypolicyviolation``: the CSP must have had nothing to block, because escaping left
nothing inline to run, and our own pages need nothing inline either.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import ConsoleMessage, Dialog, Page, expect

from kb.assist.suggest import SuggestInput, suggest
from kb.assist.transcript import parse_transcript
from kb.documents.catalog import get_document
from kb.documents.ingestion import DocumentMeta, IngestItem, ingest_items
from kb.insight.feedback import record_feedback
from kb.library.rule_format import dump_rules_yaml
from kb.library.store import active_rules, delete_reply, import_replies, import_rules
from kb.retrieval.vocabulary import Vocabulary, edited_vocabulary, save_vocabulary

if TYPE_CHECKING:  # the fixture's type, for readers and editors; conftest is not importable
    from conftest import LiveServer

pytestmark = pytest.mark.browser

COLLECTION = "xss-probe"
CUE = "退货探针"  # what the customer says: it matches the reply, the rule and the document
PAYLOADS = (
    "<script>window.__xss=1</script>",
    '<img src=x onerror="window.__xss=1">',
    '"><svg onload=window.__xss=1>',
    "javascript:window.__xss=1",
    "{{7*7}}",  # a template engine evaluating what it shows would print 49
)
ALL = " ".join(PAYLOADS)
# Names with no "/" (a folder separator: the name would be cut there, by design).
FILE_NAMES = ('"><svg onload=window.__xss=1>.txt', '<img src=x onerror="window.__xss=1">.md')
# A jieba dictionary line is "word [frequency] [tag]": these payloads have no spaces.
DICTIONARY = ("<script>window.__xss=1</script>", "<svg/onload=window.__xss=1>", "{{7*7}}")
# Watches the page from before its first script: a payload that runs sets the trap off.
GUARD = """
Object.defineProperty(window, "__xss", {
  configurable: false,
  set() { console.error("xss-ran"); document.documentElement.dataset.xss = "ran"; },
  get() { return undefined; },
});
document.addEventListener("securitypolicyviolation", (e) => {
  console.error("csp-violation " + e.violatedDirective + " " + e.blockedURI + " " + e.sample);
});
"""
INJECTED = 'img[src="x"], svg[onload], [onerror], [onload], script:not([src])'


@dataclass
class Probe:
    """What the guard saw on a page: console reports and dialogs."""

    reports: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def console(self, message: ConsoleMessage) -> None:
        text = message.text
        if "xss-ran" in text or "csp-violation" in text or "Content Security Policy" in text:
            self.reports.append(text)

    def dialog(self, dialog: Dialog) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()


@dataclass(frozen=True)
class Seeded:
    server: LiveServer
    document_id: str
    chunk_id: str
    reply_id: str


@pytest.fixture
def probe(page: Page) -> Probe:
    watcher = Probe()
    page.add_init_script(GUARD)
    page.on("console", watcher.console)
    page.on("dialog", watcher.dialog)
    return watcher


@pytest.fixture(scope="module")
def seeded(live_server: LiveServer) -> Iterator[Seeded]:
    """The payloads in every kind of stored content; rules and vocabulary are put back after."""
    kb = live_server.kb
    meta = DocumentMeta(title=f"标题 {ALL}", tags=PAYLOADS, product=PAYLOADS[1])
    body = f"{CUE}：退货运费说明。{ALL}\n\n第二段 {ALL}\n".encode()
    items = [IngestItem(FILE_NAMES[0], body, meta), IngestItem(FILE_NAMES[1], body)]
    results = ingest_items(kb, items, collection=COLLECTION)
    assert all(r.status == "ingested" and r.document_id for r in results), results
    document_id = str(results[0].document_id)
    chunk = get_document(kb, document_id).chunks[0]
    assert all(p in chunk.text for p in PAYLOADS), chunk.text  # stored as sent, shown as text

    q = json.dumps
    import_replies(
        kb,
        f"version: 1\nreplies:\n  - id: xss-probe\n    title: {q('话术 ' + ALL)}\n"
        f"    body: {q('您好，' + ALL)}\n    tags: {q(list(PAYLOADS))}\n"
        f"    applies_to: [{CUE}]\n",
        "xss.yaml",
    )
    rules_before, vocabulary_before = active_rules(kb), edited_vocabulary(kb)
    import_rules(
        kb,
        f"version: 1\nrules:\n  - id: xss-rule\n    name: {q('规则 ' + ALL)}\n    priority: 1\n"
        f"    when:\n      keywords: [{CUE}]\n    then:\n      level: tier2\n"
        f"      team: billing\n      steps: {q(['步骤 ' + p for p in PAYLOADS])}\n",
        "xss-rules.yaml",
    )
    save_vocabulary(kb, Vocabulary("\n".join(DICTIONARY), f"{CUE}," + ",".join(PAYLOADS)))

    turns = parse_transcript(f"{CUE} {ALL}")
    found = suggest(kb, SuggestInput(conversation=turns, collection=COLLECTION))
    assert found.answers, found
    record_feedback(
        kb,
        suggestion_id=found.suggestion_id,
        item_id=found.answers[0].id,
        action="not_helpful",
        comment=f"意见 {ALL}",
    )
    yield Seeded(live_server, document_id, chunk.id, "xss-probe")
    import_rules(kb, dump_rules_yaml(rules_before), "restored.yaml")
    save_vocabulary(kb, vocabulary_before)
    delete_reply(kb, "xss-probe")


def _nothing_ran(page: Page, probe: Probe, where: str) -> None:
    expect(page.locator("html")).not_to_have_attribute("data-xss", "ran")
    assert page.locator(INJECTED).count() == 0, where
    assert page.locator('[href^="javascript:" i], [src^="javascript:" i]').count() == 0, where
    assert not probe.reports, (where, probe.reports)
    assert not probe.dialogs, (where, probe.dialogs)


def _shows_as_text(page: Page, scope: str, *texts: str) -> None:
    for text in texts:
        expect(page.locator(scope).first).to_contain_text(text)


CONSOLE_PAGES: list[tuple[str, str, tuple[str, ...]]] = [
    # (path, where the payloads show, which of them)
    (f"/kb/documents?collection={COLLECTION}", "#documents, main", (*PAYLOADS, *FILE_NAMES)),
    ("/kb/documents/{document_id}", "main", (*PAYLOADS, FILE_NAMES[0])),
    ("/kb/documents/{document_id}/chunks/{chunk_id}", "main", PAYLOADS),
    ("/assist/sources/{chunk_id}", "main", PAYLOADS),
    (f"/kb/hit-test?collection={COLLECTION}&q={CUE}", "main", PAYLOADS),
    ("/kb/replies", "main", PAYLOADS),
    ("/kb/replies/{reply_id}", "main", PAYLOADS),
    ("/kb/rules", "main", PAYLOADS),
    ("/kb/vocabulary", "main", PAYLOADS),
    ("/kb/analytics?range=7", "main", PAYLOADS),
    ("/kb/evaluation", "main", ()),
    ("/kb/replies/new", "main", ()),
]


@pytest.mark.parametrize(("path", "scope", "shown"), CONSOLE_PAGES)
def test_every_console_page_shows_the_payloads_as_text(
    page: Page, probe: Probe, seeded: Seeded, path: str, scope: str, shown: tuple[str, ...]
) -> None:
    url = path.format(
        document_id=seeded.document_id, chunk_id=seeded.chunk_id, reply_id=seeded.reply_id
    )
    response = page.goto(url)
    assert response is not None and response.ok, url
    _shows_as_text(page, scope, *shown)
    _nothing_ran(page, probe, url)


def test_the_panel_shows_payloads_as_text_and_its_htmx_works_under_the_csp(
    page: Page, probe: Probe, seeded: Seeded
) -> None:
    page.goto(f"/assist?collection={COLLECTION}")
    message = f"{CUE} {ALL}"
    with page.expect_response(re.compile(r"/assist/suggest$")) as suggested:
        page.get_by_label("客户消息或对话").fill(message)  # typed: HTMX asks as the agent types
    assert suggested.value.ok
    suggestions = page.locator("#suggestions")
    expect(suggestions.locator(".handling")).to_be_visible()
    expect(suggestions.locator(".query")).to_contain_text(ALL)  # the customer's own words
    expect(suggestions.locator(".escalation .reasons")).to_contain_text(CUE)  # the rule fired
    for payload in PAYLOADS:
        expect(suggestions.locator(".answers")).to_contain_text(payload)  # document text
        expect(suggestions.locator(".replies")).to_contain_text(payload)  # reply title, body
        expect(suggestions.locator(".escalation .steps")).to_contain_text(payload)

    with page.expect_response(re.compile(r"/assist/search\?")) as searched:
        page.get_by_label("搜索知识库").fill(CUE)
    assert searched.value.ok
    results = page.locator("#search-results")
    for payload in PAYLOADS:
        expect(results).to_contain_text(payload)

    page.locator(".answer .cite .source-link").first.click()  # the passage, in a dialog
    dialog = page.locator("dialog.source-dialog")
    expect(dialog).to_be_visible()  # shown modal: its text is in the page a moment before
    for payload in PAYLOADS:
        expect(dialog).to_contain_text(payload)
    page.keyboard.press("Escape")
    expect(dialog).to_have_count(0)

    with page.expect_response(re.compile(r"/assist/feedback$")) as rated:
        page.locator(".answer .thumb").first.click()  # a thumb: an HTMX form post
    assert rated.value.ok
    expect(page.locator(".rated").first).to_be_visible()
    _nothing_ran(page, probe, "/assist")


def test_the_login_page_needs_nothing_the_csp_forbids(
    page: Page, probe: Probe, live_server: LiveServer
) -> None:
    page.context.clear_cookies()
    page.goto("/login")
    expect(page.get_by_label("邮箱")).to_be_visible()
    page.get_by_label("邮箱").fill("nobody@assistkb.test")
    page.get_by_label("密码").fill("wrong password")
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("alert")).to_be_visible()
    _nothing_ran(page, probe, "/login")
