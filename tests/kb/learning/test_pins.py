"""Pins lead their intent's queries until the document changes or the pin expires; proposals wait
for a manager; resets forget the evidence and are audited; two teams never see each other's.
On SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from learning_faq import AGENTS, FAQ, QUESTION, ask, faq_kb, use
from sqlmodel import select

from kb.assist.redaction import redact
from kb.context import KnowledgeBase
from kb.db import session_scope
from kb.documents.ingestion import IngestItem, ingest_items
from kb.errors import Invalid, NotFound
from kb.learning import refresh
from kb.learning.adjustments import model
from kb.learning.intents import known_intent
from kb.learning.overview import list_adjustments, reset
from kb.learning.pins import approve_pin, create_pin, delete_pin, list_pins, propose_pin
from kb.models import AuditEntry, LearningPin, utcnow

MANAGER = "user:manager@assistkb.test"


def audited(kb: KnowledgeBase, action: str) -> list[AuditEntry]:
    with session_scope(kb.engine) as session:
        rows = session.exec(select(AuditEntry).where(AuditEntry.action == action)).all()
        for row in rows:
            session.expunge(row)
        return list(rows)


def test_a_pinned_answer_leads_its_intent_until_the_document_changes(
    make_db_kb: Callable[..., KnowledgeBase],
) -> None:
    kb = faq_kb(make_db_kb)
    first = ask(kb)
    last = first.answers[-1]
    pin = create_pin(
        kb, collection="default", item_id=last.id, actor=MANAGER, logged_query=redact(QUESTION)
    )
    assert pin.active and pin.intent == redact(first.query)
    again = ask(kb)
    assert again.answers[0].id == last.id
    assert again.answers[0].score > again.answers[1].score
    assert [a.id for a in again.answers[1:]] == [a.id for a in first.answers if a.id != last.id][:4]
    assert audited(kb, "learning.pin")[0].actor == MANAGER
    # A new version of the document: the pin lapses, the ranking is search's again.
    changed = FAQ.replace("一到三个工作日", "两个工作日")
    [result] = ingest_items(kb, [IngestItem("faq.csv", changed.encode())], collection="default")
    assert result.status == "ingested"
    refresh(kb, "default")
    after = ask(kb)
    assert [a.title for a in after.answers] == [a.title for a in first.answers]
    [listed] = list_pins(kb, None)
    assert not listed.active


def test_an_expired_pin_no_longer_leads(make_db_kb: Callable[..., KnowledgeBase]) -> None:
    kb = faq_kb(make_db_kb)
    first = ask(kb)
    pin = create_pin(
        kb, collection="default", item_id=first.answers[-1].id, actor=MANAGER,
        logged_query=redact(QUESTION), expires_in_days=1,
    )  # fmt: skip
    with session_scope(kb.engine) as session:
        row = session.get(LearningPin, pin.id)
        assert row is not None
        row.expires_at = utcnow() - timedelta(seconds=1)
        session.add(row)
    refresh(kb, "default")
    assert [a.id for a in ask(kb).answers] == [a.id for a in first.answers]
    assert not list_pins(kb, None)[0].active


def test_an_agents_proposal_leads_only_once_a_manager_approves_it(
    make_db_kb: Callable[..., KnowledgeBase],
) -> None:
    kb = faq_kb(make_db_kb)
    made = ask(kb, actor=AGENTS[0])
    fourth = made.answers[3].id
    proposal = propose_pin(
        kb, readable=None, suggestion_id=made.suggestion_id, item_id=fourth, actor=AGENTS[0]
    )
    assert (proposal.status, proposal.active) == ("proposed", False)
    again = propose_pin(  # a second agent's same proposal is the same row
        kb, readable=None, suggestion_id=ask(kb).suggestion_id, item_id=fourth, actor=AGENTS[1]
    )
    assert again.id == proposal.id
    assert ask(kb).answers[0].id != fourth
    with pytest.raises(Invalid):  # only an answer the suggestion offered
        propose_pin(kb, readable=None, suggestion_id=made.suggestion_id, item_id="x", actor="a")
    approved = approve_pin(kb, readable=None, pin_id=proposal.id, actor=MANAGER)
    assert approved.active and approved.approved_by == MANAGER
    assert ask(kb).answers[0].id == fourth
    delete_pin(kb, readable=None, pin_id=proposal.id, actor=MANAGER)
    assert ask(kb).answers[0].id == made.answers[0].id
    assert [e.action for e in audited(kb, "learning.unpin")] == ["learning.unpin"]


def test_a_reset_forgets_the_evidence_and_is_audited(
    make_db_kb: Callable[..., KnowledgeBase],
) -> None:
    kb = faq_kb(make_db_kb)
    before = [(a.id, a.score) for a in ask(kb).answers]
    item = use(kb, 3, AGENTS)
    [listed] = [a for a in list_adjustments(kb, None) if a.item_id == item]
    assert listed.adjustment > 0 and listed.agents == len(AGENTS) and listed.title
    reset(kb, readable=None, intent_id=listed.intent_id, item_id=item, actor=MANAGER)
    assert model(kb, "default").adjustments == {}
    assert [(a.id, a.score) for a in ask(kb).answers] == before
    [entry] = audited(kb, "learning.reset")
    assert entry.actor == MANAGER and item in entry.target


def test_two_teams_neither_see_nor_move_each_others_learning(
    make_db_kb: Callable[..., KnowledgeBase],
) -> None:
    kb = faq_kb(make_db_kb)  # "default" is finance's; hr has its own copy
    [result] = ingest_items(kb, [IngestItem("faq.csv", FAQ.encode())], collection="hr")
    assert result.status == "ingested"
    item = use(kb, 3, AGENTS)
    finance, hr = {"default"}, {"hr"}
    assert list_adjustments(kb, finance) and list_adjustments(kb, hr) == []
    intent = known_intent(kb, "default", redact(ask(kb).query))
    assert intent is not None
    with pytest.raises(NotFound):
        reset(kb, readable=hr, intent_id=intent, actor="user:hr@t")
    made = ask(kb)
    with pytest.raises(NotFound):
        propose_pin(kb, readable=hr, suggestion_id=made.suggestion_id, item_id=item, actor="a")
    with pytest.raises(Invalid):  # a finance answer cannot be pinned in hr
        create_pin(kb, collection="hr", item_id=item, actor="user:hr@t", logged_query="退货运费")
    pin = create_pin(kb, collection="default", item_id=item, actor=MANAGER, intent_id=intent)
    assert list_pins(kb, hr) == [] and [p.id for p in list_pins(kb, finance)] == [pin.id]
    for act in (approve_pin, delete_pin):
        with pytest.raises(NotFound):
            act(kb, readable=hr, pin_id=pin.id, actor="user:hr@t")
    assert model(kb, "default").adjustments  # nothing hr tried moved finance's answers
