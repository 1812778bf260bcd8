"""Learning in the suggestion ranking, through the real suggest and feedback paths, on SQLite
and PostgreSQL: what enough agents use rises, by its adjustment and no more; nothing changes
without events, with learning off, for one agent alone, or once the document changes."""

from __future__ import annotations

from collections.abc import Callable

from learning_faq import AGENTS, FAQ, ask, faq_kb, ranking, use

from kb.assist.redaction import redact
from kb.context import KnowledgeBase
from kb.documents.ingestion import IngestItem, ingest_items
from kb.learning import refresh
from kb.learning.adjustments import CAP, model
from kb.learning.intents import known_intent


def test_with_no_events_suggestions_equal_learning_off(
    make_db_kb: Callable[..., KnowledgeBase],
) -> None:
    kb = faq_kb(make_db_kb)
    on = ask(kb)
    assert known_intent(kb, "default", redact(on.query)) is not None  # the intent was stored
    kb.settings = kb.settings.model_copy(update={"learning": False})
    off = ask(kb)
    assert ranking(on) == ranking(off)
    assert [a.confidence for a in on.answers] == [a.confidence for a in off.answers]


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
