"""Learning in the suggestion ranking, through the real suggest and feedback paths, on SQLite
and PostgreSQL: what enough agents use rises, by its adjustment and no more; nothing changes
without events, with learning off, for one agent alone, or once the document changes."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from learning_faq import AGENTS, FAQ, QUESTION, ask, faq_kb, ranking, use
from sqlalchemy import func
from sqlmodel import select

from kb.assist.redaction import redact
from kb.context import KnowledgeBase
from kb.db import session_scope
from kb.documents.ingestion import IngestItem, ingest_items
from kb.insight.feedback import record_feedback
from kb.learning import query_vector, refresh
from kb.learning.adjustments import CAP, model
from kb.learning.intents import intent_of, known_intent
from kb.learning_models import LearningIntent, LearningQuery
from kb.retrieval.schemas import SearchBody
from kb.retrieval.searching import search_body


def test_with_no_events_suggestions_equal_learning_off(
    make_db_kb: Callable[..., KnowledgeBase],
) -> None:
    kb = faq_kb(make_db_kb)
    on = ask(kb)
    kb.settings = kb.settings.model_copy(update={"learning": False})
    off = ask(kb)
    assert ranking(on) == ranking(off)
    assert [a.confidence for a in on.answers] == [a.confidence for a in off.answers]


def stored_intents(kb: KnowledgeBase) -> tuple[int, int]:
    with session_scope(kb.engine) as session:
        intents = session.exec(select(func.count()).select_from(LearningIntent)).one()
        queries = session.exec(select(func.count()).select_from(LearningQuery)).one()
    return intents, queries


def test_a_suggestion_only_reads_feedback_gives_its_query_an_intent(
    make_db_kb: Callable[..., KnowledgeBase],
) -> None:
    """Suggestions write nothing for learning (they did: one intent per new query, ~28 ms
    each); the query agents gave feedback on gets its intent as the learned state is read, and
    a paraphrase then finds that intent, read only, and its adjustment with it."""
    kb = faq_kb(make_db_kb)
    for text in (QUESTION, "我想退", "发票怎么开"):  # half-typed drafts among them
        ask(kb, text)
    assert stored_intents(kb) == (0, 0)
    item = use(kb, 3, AGENTS, times=2)
    assert stored_intents(kb) == (1, 1)
    intent = known_intent(kb, "default", redact(QUESTION))
    assert intent is not None
    paraphrase = "退货的运费谁出？"
    made = ask(kb, paraphrase)
    assert stored_intents(kb) == (1, 1)  # the paraphrase was read, not stored
    assert intent_of(kb, "default", redact(paraphrase), query_vector(kb, paraphrase)) == intent
    moves = model(kb, "default").adjustments[intent]
    assert set(moves) == {item}
    kb.settings = kb.settings.model_copy(update={"learning": False})
    plain = dict(ranking(ask(kb, paraphrase)))
    assert dict(ranking(made))[item] == round(plain[item] + moves[item], 4)


def test_what_enough_agents_use_rises_by_its_capped_adjustment(
    make_db_kb: Callable[..., KnowledgeBase],
) -> None:
    kb = faq_kb(make_db_kb)
    before = dict(ranking(ask(kb)))
    item = use(kb, 3, AGENTS, times=2)
    learned = model(kb, "default")
    [moves] = learned.adjustments.values()
    assert set(moves) == {item} and 0 < moves[item] <= CAP
    [evidence] = [e for e in learned.evidence if e.item_id == item]
    assert evidence.agents == len(AGENTS) and evidence.clicks > evidence.expected
    after = ask(kb)
    scores = dict(ranking(after))
    assert scores[item] == round(before[item] + moves[item], 4)
    for other, score in before.items():  # the others keep their fused scores
        if other != item:
            assert scores[other] == score
    assert [a.score for a in after.answers] == sorted(
        (a.score for a in after.answers), reverse=True
    )
    order = {"high": 2, "medium": 1, "low": 0}
    badges = [order[a.confidence] for a in after.answers]
    assert badges == sorted(badges, reverse=True)  # a badge never contradicts the order


def test_one_agent_alone_moves_nothing(make_db_kb: Callable[..., KnowledgeBase]) -> None:
    kb = faq_kb(make_db_kb)
    before = ranking(ask(kb))
    use(kb, 4, AGENTS[:1], times=8)
    assert model(kb, "default").adjustments == {}
    assert ranking(ask(kb)) == before


def test_learning_off_ignores_the_evidence(make_db_kb: Callable[..., KnowledgeBase]) -> None:
    kb = faq_kb(make_db_kb)
    before = ranking(ask(kb))
    use(kb, 3, AGENTS)
    assert ranking(ask(kb)) != before
    kb.settings = kb.settings.model_copy(update={"learning": False})
    assert ranking(ask(kb)) == before


def test_a_new_version_of_the_document_starts_afresh(
    make_db_kb: Callable[..., KnowledgeBase],
) -> None:
    kb = faq_kb(make_db_kb)
    use(kb, 3, AGENTS)
    assert model(kb, "default").adjustments
    changed = FAQ.replace("一到三个工作日", "三到五个工作日")
    [result] = ingest_items(kb, [IngestItem("faq.csv", changed.encode())], collection="default")
    assert result.status == "ingested"
    refresh(kb, "default")
    learned = model(kb, "default")
    assert learned.adjustments == {} and learned.evidence == []


def test_search_applies_what_agents_taught_for_a_query_of_a_known_intent(
    make_db_kb: Callable[..., KnowledgeBase],
) -> None:
    kb = faq_kb(make_db_kb)
    body = SearchBody(query=QUESTION, limit=5)
    before = {h.id: h.score for h in search_body(kb, body).hits}
    item = use(kb, 3, AGENTS, times=2)
    [moves] = model(kb, "default").adjustments.values()
    after = {h.id: h.score for h in search_body(kb, body).hits}
    assert after[item] == pytest.approx(before[item] + moves[item], abs=1e-3)
    assert {k: v for k, v in after.items() if k != item} == {
        k: v for k, v in before.items() if k != item
    }
    # A query of no intent agents met is searched as before: nothing is stored for it.
    unrelated = SearchBody(query="发票怎么开", limit=5)
    assert search_body(kb, unrelated).hits[0].question == "发票怎么开？"
    kb.settings = kb.settings.model_copy(update={"learning": False})
    assert {h.id: h.score for h in search_body(kb, body).hits} == before


def test_a_collections_first_lessons_apply_without_anyone_refreshing(
    make_db_kb: Callable[..., KnowledgeBase],
) -> None:
    """Feedback is read into the learned state by the suggestions themselves (at most once a
    minute), the collection's first intent too: it used to wait for the learning page."""
    kb = faq_kb(make_db_kb)
    before = ranking(ask(kb))
    for agent in AGENTS:
        for _ in range(2):
            made = ask(kb, actor=agent)
            record_feedback(kb, suggestion_id=made.suggestion_id, item_id=made.answers[2].id,
                            action="inserted", actor=agent)  # fmt: skip
    restarted = make_db_kb(data_dir=kb.settings.data_dir, database_url=kb.settings.database_url)
    assert ranking(ask(restarted)) != before
