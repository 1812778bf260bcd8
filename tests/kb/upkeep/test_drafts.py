"""Drafts and the review queue: a gap's draft takes the reply agents inserted and marked
helpful, redacted; accepting makes it a FAQ document searchable at once; rejected and expired
drafts never become documents (real ingest and index, SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from gap_log import CHARGING, INVOICE, REPLY_ID, not_helpful, tiny_kb
from sqlmodel import func, select

from kb.context import KnowledgeBase
from kb.db import session_scope
from kb.documents.catalog import get_document
from kb.errors import Conflict, Forbidden, Invalid, NotFound
from kb.insight.feedback import record_feedback
from kb.learning import rerank
from kb.learning.intents import known_intent
from kb.learning.pins import list_pins
from kb.models import Document, UpkeepDraft, utcnow
from kb.retrieval.searching import SearchRequest, search
from kb.upkeep.drafts import (
    accept_draft,
    draft_from_gap,
    edit_draft,
    list_drafts,
    reject_draft,
    review_stats,
)
from kb.upkeep.gaps import Gap, find_gaps


def charging_gap(kb: KnowledgeBase, helpful_by: int = 2) -> Gap:
    ids = not_helpful(kb, CHARGING)
    for n, sid in enumerate(ids[:helpful_by]):
        actor = f"user:agent{n}@assistkb.test"
        for action in ("inserted", "helpful"):
            record_feedback(kb, suggestion_id=sid, item_id=REPLY_ID, action=action, actor=actor)
    # Inserted elsewhere but never marked helpful: not evidence of a good answer.
    record_feedback(kb, suggestion_id=ids[-1], item_id="answer-1", action="inserted")
    return next(g for g in find_gaps(kb) if g.question in CHARGING)


def documents(kb: KnowledgeBase) -> int:
    with session_scope(kb.engine) as session:
        return session.exec(select(func.count()).select_from(Document)).one()


def test_a_draft_takes_the_reply_agents_inserted_and_marked_helpful_redacted(
    make_db_kb: Callable[..., KnowledgeBase],
) -> None:
    kb = tiny_kb(make_db_kb)
    draft = draft_from_gap(kb, charging_gap(kb), actor="user:boss@assistkb.test")

    assert draft.status == "pending" and draft.question in CHARGING
    assert draft.answer_source == REPLY_ID
    assert draft.answer.startswith("请把机器人从充电座上拿开")
    assert "13812345678" not in draft.answer and "[PHONE]" in draft.answer
    assert draft.events == 10
    with pytest.raises(Conflict):  # one pending draft per gap
        draft_from_gap(kb, charging_gap(kb, helpful_by=0))


def test_without_a_helpful_inserted_item_the_answer_is_left_to_the_manager(
    make_db_kb: Callable[..., KnowledgeBase],
) -> None:
    kb = tiny_kb(make_db_kb)
    not_helpful(kb, INVOICE)
    gap = next(g for g in find_gaps(kb) if g.question in INVOICE)
    draft = draft_from_gap(kb, gap)
    assert (draft.answer, draft.answer_source) == ("", None)
    with pytest.raises(Invalid) as refused:
        accept_draft(kb, draft.id)
    assert refused.value.field == "answer"
    edited = edit_draft(
        kb, draft.id, answer="{name}您好，电子发票在“我的订单”里申请，邮箱 a@b.com 收。"
    )
    assert "[EMAIL]" in edited.answer and "a@b.com" not in edited.answer
    with pytest.raises(Invalid) as unfilled:  # a reply's variable never reaches a customer
        accept_draft(kb, draft.id)
    assert unfilled.value.field == "answer" and "{name}" in str(unfilled.value.message)
    accepted = accept_draft(kb, draft.id, answer=edited.answer.replace("{name}", ""))
    assert accepted.status == "accepted"


def test_accepting_a_draft_makes_it_a_faq_document_searchable_at_once(
    make_db_kb: Callable[..., KnowledgeBase],
) -> None:
    kb = tiny_kb(make_db_kb)
    gap = charging_gap(kb)
    draft = draft_from_gap(kb, gap)
    question = "扫地机器人放上充电座不充电怎么办？"

    accepted = accept_draft(kb, draft.id, question=question, actor="user:boss@assistkb.test")

    assert accepted.status == "accepted" and accepted.document_id
    doc = get_document(kb, accepted.document_id)
    assert (doc.doc_type, doc.current_version, doc.collection) == ("faq", 1, "default")
    assert [c.question for c in doc.chunks] == [question]
    hits = search(kb, SearchRequest(query=CHARGING[3], collection="default"))
    assert hits[0].chunk.document_id == accepted.document_id
    # Its gap is answered: it leaves the list until agents fail on it again.
    assert all(g.question not in CHARGING for g in find_gaps(kb))
    with pytest.raises(Conflict):
        accept_draft(kb, draft.id)
    assert review_stats(kb).approval_rate == 1.0


def test_rejected_and_expired_drafts_never_become_documents(
    make_db_kb: Callable[..., KnowledgeBase],
) -> None:
    kb = tiny_kb(make_db_kb)
    rejected = draft_from_gap(kb, charging_gap(kb))
    not_helpful(kb, INVOICE)
    expiring = draft_from_gap(kb, next(g for g in find_gaps(kb) if g.question in INVOICE))
    before = documents(kb)

    reject_draft(kb, rejected.id)
    with session_scope(kb.engine) as session:
        row = session.get(UpkeepDraft, expiring.id)
        assert row is not None
        row.expires_at = utcnow() - timedelta(minutes=1)
        session.add(row)

    for draft in (rejected, expiring):
        with pytest.raises(Conflict):
            accept_draft(kb, draft.id, answer="一个答案")
    assert documents(kb) == before
    assert list_drafts(kb) == []
    assert [d.id for d in list_drafts(kb, status="expired")] == [expiring.id]
    stats = review_stats(kb)
    assert (stats.pending, stats.rejected, stats.expired, stats.approval_rate) == (0, 1, 1, 0.0)


def test_drafts_of_a_collection_the_caller_may_not_read_are_not_found(
    make_db_kb: Callable[..., KnowledgeBase],
) -> None:
    kb = tiny_kb(make_db_kb)
    draft = draft_from_gap(kb, charging_gap(kb))
    other = frozenset({"billing"})
    assert list_drafts(kb, readable=other) == []
    for act in (accept_draft, reject_draft):
        with pytest.raises(NotFound):
            act(kb, draft.id, readable=other)
    with pytest.raises(Forbidden):  # nor into a collection they may not read
        accept_draft(kb, draft.id, collection="billing", readable=frozenset({"default"}))


def test_an_accepted_draft_can_be_pinned_for_the_intents_of_its_gap(
    make_db_kb: Callable[..., KnowledgeBase],
) -> None:
    """The two loops meet: the gap's wordings get learning intents, and the new answer is
    pinned for each, active on the learning page; a later query of the gap leads with it."""
    kb = tiny_kb(make_db_kb)
    draft = draft_from_gap(kb, charging_gap(kb))

    accepted = accept_draft(kb, draft.id, pin=True, actor="user:boss@assistkb.test")

    pins = list_pins(kb, None, collection="default")
    assert accepted.pins and sorted(accepted.pins) == sorted(p.id for p in pins)
    assert all(p.active and p.document_id == accepted.document_id for p in pins)
    intents = {known_intent(kb, "default", q) for q in CHARGING}
    assert None not in intents and {p.intent_id for p in pins} == intents
    hits = search(kb, SearchRequest(query=CHARGING[0], collection="default"))
    assert rerank(kb, "default", CHARGING[0], hits)[0].chunk.document_id == accepted.document_id


def test_pinning_with_learning_off_is_refused_before_anything_is_published(
    make_db_kb: Callable[..., KnowledgeBase],
) -> None:
    kb = tiny_kb(lambda **kw: make_db_kb(learning=False, **kw))
    draft = draft_from_gap(kb, charging_gap(kb))
    before = documents(kb)
    with pytest.raises(Invalid) as refused:
        accept_draft(kb, draft.id, pin=True)
    assert refused.value.field == "pin"
    assert documents(kb) == before and [d.id for d in list_drafts(kb)] == [draft.id]
    assert accept_draft(kb, draft.id).pins == []  # without the pin it is accepted as before
