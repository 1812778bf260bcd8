"""The upkeep loop in real Chromium: a gap agents met becomes a draft, the manager writes the
answer and accepts it, and the next search finds it first."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import Page, expect

from kb.db import session_scope
from kb.documents.ingestion import IngestItem, ingest_items
from kb.insight.feedback import record_feedback
from kb.models import SuggestionLog
from kb.retrieval.searching import SearchRequest, search

if TYPE_CHECKING:  # the fixture's type, for readers and editors; conftest is not importable
    from conftest import LiveServer

pytestmark = pytest.mark.browser

FAQ = "问题,答案\n退货运费谁出？,非质量问题退货由顾客承担运费。\n".encode()
GAP = ("滤网多久换一次", "空气净化器滤网多久要换", "滤网更换周期是多久")
ANSWER = "空气净化器的滤网建议每 6 个月更换一次，滤网指示灯变红时请立即更换。"


def test_a_manager_accepts_a_draft_and_it_is_found_first(
    page: Page, live_server: LiveServer, screenshot: Callable[[Page, str], None]
) -> None:
    kb = live_server.kb
    ingest_items(kb, [IngestItem("faq.csv", FAQ)], collection="upkeep-b")
    for n, query in enumerate(GAP):
        actor = f"user:agent{n}@assistkb.test"
        row = SuggestionLog(collection="upkeep-b", query=query, answers=[{"id": "a1"}],
                            handling="agent", best_confidence="low", actor=actor)  # fmt: skip
        with session_scope(kb.engine) as session:
            session.add(row)
            session.flush()
            sid = row.id
        record_feedback(kb, suggestion_id=sid, item_id="a1", action="not_helpful", actor=actor)

    page.goto("/kb/upkeep?collection=upkeep-b")
    gap = page.locator("#gaps tbody tr").first
    expect(gap).to_contain_text("3")
    gap.get_by_role("button", name="生成草稿").click()
    expect(page.locator("#gaps tbody tr").first).to_contain_text("草稿待审核")

    draft = page.locator("#drafts .draft").first
    expect(draft).to_be_visible()
    expect(draft.get_by_label("问题", exact=True)).to_have_value(re.compile("滤网"))
    draft.get_by_label("答案", exact=True).fill(ANSWER)
    draft.get_by_label("发布到集合").select_option("upkeep-b")
    draft.get_by_role("checkbox", name="同时置顶").check()  # and pinned for the gap's intents
    screenshot(page, "upkeep")
    draft.get_by_role("button", name="接受并发布").click()

    expect(page.locator(".flash")).to_contain_text("草稿已发布为常见问题文档并已置顶")
    expect(page.locator("#drafts")).to_have_count(0)
    expect(page.locator('[data-total="approval"]')).to_have_text("100%")
    hits = search(kb, SearchRequest(query="净化器的滤网该多久换", collection="upkeep-b"))
    assert hits[0].chunk.text == ANSWER
