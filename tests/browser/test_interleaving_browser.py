"""The online check of learning on the analytics page in real Chromium: a custom period's
interleaved suggestions, wins, Δ and significance, swapped in by HTMX."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import Page, expect

from kb.db import session_scope
from kb.learning_models import LearningInterleave
from kb.models import FeedbackRecord, SuggestionLog

if TYPE_CHECKING:  # the fixture's type, for readers and editors; conftest is not importable
    from conftest import LiveServer

pytestmark = pytest.mark.browser

COLLECTION = "interleave-page"
DAYS_AGO = 200  # out of every other test's 7- and 30-day reports


def test_the_analytics_page_shows_which_ranking_agents_preferred(
    page: Page, live_server: LiveServer
) -> None:
    # Rows as the suggest and feedback paths write them: five interleaved suggestions, one
    # answer of B's used in each (the API end to end: tests/web/test_learning_interleaving.py).
    moment = datetime.now(UTC) - timedelta(days=DAYS_AGO)
    teams = {"x": "A", "y": "B"}
    with session_scope(live_server.kb.engine) as session:
        for n in range(5):
            sid = f"ilpage{n}"
            shown = [{"id": "x"}, {"id": "y"}]
            session.add(SuggestionLog(id=sid, created_at=moment, collection=COLLECTION, query="q",
                                      answers=shown, handling="agent"))  # fmt: skip
            session.flush()
            session.add(LearningInterleave(suggestion_id=sid, collection=COLLECTION,
                                           created_at=moment, teams=teams))  # fmt: skip
            session.add(FeedbackRecord(suggestion_id=sid, item_id="y", action="inserted",
                                       created_at=moment, collection=COLLECTION))  # fmt: skip

    page.goto("/kb/analytics")
    expect(page.locator("#interleaving-heading")).to_contain_text("学习效果在线检验")
    page.get_by_label("时间范围").select_option("custom")
    day = moment.date()
    page.get_by_label("开始日期（自定义）").fill((day - timedelta(days=1)).isoformat())
    page.get_by_label("结束日期（自定义）").fill((day + timedelta(days=1)).isoformat())
    row = page.locator(f'#interleaving tr[data-collection="{COLLECTION}"]')
    expect(row).to_have_attribute("data-wins-b", "5")
    expect(row.locator("td").nth(6)).to_have_text("-1.00")
    expect(row).to_contain_text("不显著，p = 0.0625")  # five of five: not yet below .05
