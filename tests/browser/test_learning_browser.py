"""The learning page in real Chromium: an adjustment with its evidence, pinned and reset by
HTMX swaps in place; an agent's proposal approved; user text escaped."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import Page, expect

from kb.assist.conversation import Turn
from kb.assist.suggest import SuggestInput, suggest
from kb.documents.ingestion import IngestItem, ingest_items
from kb.insight.feedback import record_feedback
from kb.learning import refresh
from kb.learning.pins import propose_pin

if TYPE_CHECKING:  # the fixture's type, for readers and editors; conftest is not importable
    from conftest import LiveServer

pytestmark = pytest.mark.browser

FAQ = (
    "question,answer\n"
    "退货运费谁出？,质量问题退货运费由我们承担，非质量问题由顾客承担。\n"
    "怎么申请退货？,在订单页点击申请退货，填写原因后等待审核。\n"
    "退款<img src=x onerror=alert(1)>多久到账？,退款审核通过后一到三个工作日原路退回。\n"
    "可以换货吗？,签收十五天内质量问题可以换货。\n"
).encode()


def test_reset_pin_and_approve_in_place(page: Page, live_server: LiveServer) -> None:
    kb = live_server.kb
    [done] = ingest_items(kb, [IngestItem("learning-faq.csv", FAQ)], collection="learnpage")
    assert done.status == "ingested"
    turn = [Turn(role="customer", text="退货的运费谁来出？")]
    for n in range(3):
        agent = f"user:learner{n}@assistkb.test"
        made = suggest(kb, SuggestInput(conversation=turn, collection="learnpage", actor=agent))
        item = made.answers[2].id
        record_feedback(kb, suggestion_id=made.suggestion_id, item_id=item, action="inserted",
                        actor=agent)  # fmt: skip
    proposal = propose_pin(kb, readable=None, suggestion_id=made.suggestion_id,
                           item_id=made.answers[-1].id, actor=agent)  # fmt: skip
    refresh(kb)

    page.goto("/kb/learning")
    row = page.locator(f'#adjustments tr[data-item="{item}"]')
    expect(row).to_contain_text("3 位坐席")
    expect(row).to_contain_text("+0.0")
    proposed = page.locator(f'#pins tr[data-pin="{proposal.id}"]')
    expect(proposed).to_contain_text("待批准")
    proposed.get_by_role("button", name="批准").click()
    expect(page.get_by_role("status")).to_contain_text("已批准")
    _settled(page)
    expect(page.locator(f'#pins tr[data-pin="{proposal.id}"]')).to_contain_text("生效中")
    page.locator(f'#adjustments tr[data-item="{item}"]').get_by_role("button", name="置顶").click()
    expect(page.get_by_role("status")).to_contain_text("已置顶")
    _settled(page)
    page.locator(f'#adjustments tr[data-item="{item}"]').get_by_role("button", name="重置").click()
    expect(page.get_by_role("status")).to_contain_text("已重置")
    expect(page.locator(f'#adjustments tr[data-item="{item}"]')).to_have_count(0)
    assert page.url.endswith("/kb/learning")  # swapped in place, no navigation


def _settled(page: Page) -> None:
    """Until htmx has swapped, settled and processed the new block: a button clicked before
    htmx has bound it posts as a plain form (a person cannot click that fast; Playwright can)."""
    page.wait_for_function(
        "() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')"
    )
