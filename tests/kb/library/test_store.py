"""Replies and rule sets in SQL (kb/library/store.py), on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from library_files import RULES, replies

from kb.context import KnowledgeBase
from kb.errors import Invalid
from kb.library.store import (
    active_rules,
    delete_reply,
    export_replies,
    export_rules,
    import_replies,
    import_rules,
    list_replies,
    parse_reply_file,
    replies_version,
    rule_set_history,
    save_reply,
)


@pytest.fixture
def kb(make_db_kb: Callable[..., KnowledgeBase]) -> KnowledgeBase:
    return make_db_kb()


def test_replies_import_edit_delete_and_round_trip(kb: KnowledgeBase) -> None:
    assert import_replies(kb, replies("refund-ok", "thanks"), "replies.yaml") == [
        "refund-ok",
        "thanks",
    ]
    refund = {r.id: r for r in list_replies(kb)}["refund-ok"]
    assert refund.tags == ("退款", "售后") and refund.labels["order_id"] == "订单编号"
    before = replies_version(kb)

    [edited] = parse_reply_file(replies("thanks").replace("耐心等待", "理解"), "x.yaml")
    save_reply(kb, edited)
    assert {r.id: r.body for r in list_replies(kb)}["thanks"] == "感谢您的理解。"
    assert replies_version(kb) != before
    assert delete_reply(kb, "thanks") is True and delete_reply(kb, "thanks") is False
    assert [r.id for r in list_replies(kb)] == ["refund-ok"]

    exported = export_replies(kb)
    assert import_replies(kb, exported, "exported.yaml") == ["refund-ok"]
    assert list_replies(kb)[0] == refund


def test_a_bad_reply_file_changes_no_reply(kb: KnowledgeBase) -> None:
    import_replies(kb, replies("thanks"), "replies.yaml")
    broken = replies("refund-ok") + "\n  - id: no-body\n    title: 没有正文\n"
    with pytest.raises(Invalid):
        import_replies(kb, broken, "replies.yaml")
    assert [r.id for r in list_replies(kb)] == ["thanks"]


def test_the_newest_rule_set_is_in_force_and_history_is_kept(kb: KnowledgeBase) -> None:
    import_rules(kb, RULES, "rules.yaml")
    import_rules(kb, RULES.replace("id: complaint", "id: grievance"), "rules-v2.yaml")
    assert [r.id for r in active_rules(kb)] == ["grievance"]
    history = rule_set_history(kb)
    assert [(h.source, h.rule_count) for h in history] == [("rules-v2.yaml", 1), ("rules.yaml", 1)]
    assert history[0].id is not None and history[1].id is not None
    assert history[0].id > history[1].id
    assert "grievance" in export_rules(kb)
