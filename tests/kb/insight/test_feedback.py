"""Feedback events carry their context: suggestion, item, rank as shown, query, actor and
collection, on SQLite and PostgreSQL; items the suggestion did not offer are refused."""

from __future__ import annotations

import pytest
from sqlmodel import select

from kb.assist.conversation import Turn
from kb.assist.schemas import SuggestResponse
from kb.assist.suggest import ESCALATION_REPLY_ID, SuggestInput, suggest
from kb.context import KnowledgeBase
from kb.db import session_scope
from kb.errors import Invalid
from kb.insight.feedback import record_feedback
from kb.models import FeedbackRecord, SuggestionLog


def ask(kb: KnowledgeBase, text: str, **kwargs: object) -> SuggestResponse:
    request = SuggestInput(conversation=[Turn(role="customer", text=text)], **kwargs)  # type: ignore[arg-type]
    return suggest(kb, request)


def stored(kb: KnowledgeBase, suggestion_id: str) -> list[FeedbackRecord]:
    with session_scope(kb.engine) as session:
        rows = session.exec(
            select(FeedbackRecord).where(FeedbackRecord.suggestion_id == suggestion_id)
        ).all()
        for row in rows:
            session.expunge(row)
        return list(rows)


def test_each_event_records_the_rank_it_was_shown_at(db_sample_kb: KnowledgeBase) -> None:
    made = ask(db_sample_kb, "退货运费谁出？我的电话 13812345678", actor="user:ann@assistkb.test")
    assert len(made.answers) >= 3 and len(made.replies) >= 2
    sid = made.suggestion_id
    third, second_reply = made.answers[2].id, made.replies[1].id
    out = record_feedback(
        db_sample_kb, suggestion_id=sid, item_id=third, action="copied", actor="key:ab12"
    )
    record_feedback(db_sample_kb, suggestion_id=sid, item_id=second_reply, action="inserted")
    assert (out.item_kind, out.rank, out.collection, out.actor) == (
        "answer", 3, "default", "key:ab12",
    )  # fmt: skip
    with session_scope(db_sample_kb.engine) as session:
        logged = session.get(SuggestionLog, sid)
        assert logged is not None
        query = logged.query
    # The query as searched and logged: personal data already redacted.
    assert "13812345678" not in query and "[PHONE]" in query
    rows = {r.item_id: r for r in stored(db_sample_kb, sid)}
    assert (rows[third].item_kind, rows[third].rank, rows[third].query) == ("answer", 3, query)
    assert (rows[second_reply].item_kind, rows[second_reply].rank) == ("reply", 2)
    assert rows[second_reply].collection == "default"


def test_the_rank_is_the_one_shown_in_the_agents_script(db_sample_kb: KnowledgeBase) -> None:
    """Converting the answers to Traditional for display keeps their order, and the rank."""
    made = ask(db_sample_kb, "保修期是多久？", display_script="zh-Hant")
    last = len(made.answers)
    out = record_feedback(
        db_sample_kb, suggestion_id=made.suggestion_id, item_id=made.answers[-1].id, action="shown"
    )
    assert (out.item_kind, out.rank) == ("answer", last)


def test_the_escalation_reply_is_ranked_alone(db_sample_kb: KnowledgeBase) -> None:
    made = ask(db_sample_kb, "再不给我解决我就找律师起诉你们！")
    assert made.escalation.reply is not None
    out = record_feedback(
        db_sample_kb,
        suggestion_id=made.suggestion_id,
        item_id=ESCALATION_REPLY_ID,
        action="inserted",
    )
    assert (out.item_kind, out.rank) == ("escalation_reply", 1)


@pytest.mark.parametrize("item", ["not-offered", ESCALATION_REPLY_ID])
def test_an_item_the_suggestion_did_not_offer_is_refused(
    db_sample_kb: KnowledgeBase, item: str
) -> None:
    made = ask(db_sample_kb, "发票怎么开？")
    assert not made.escalation.rule_ids  # no escalation reply was offered either
    with pytest.raises(Invalid, match="is not an answer, reply or escalation reply") as refused:
        record_feedback(
            db_sample_kb, suggestion_id=made.suggestion_id, item_id=item, action="copied"
        )
    assert refused.value.status_code == 422
    assert stored(db_sample_kb, made.suggestion_id) == []
