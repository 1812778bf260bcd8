"""Gaps: unanswered, low-confidence and not-helpful queries, clustered by intent and ranked by
how often and how recently agents met them (real embedder, SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable

from gap_log import CHARGING, INVOICE, logged, not_helpful, tiny_kb

from kb.context import KnowledgeBase
from kb.upkeep.gaps import find_gaps


def test_ten_not_helpful_paraphrases_are_one_gap_apart_from_another_intent(
    make_db_kb: Callable[..., KnowledgeBase],
) -> None:
    kb = tiny_kb(make_db_kb)
    charging = not_helpful(kb, CHARGING)
    invoice = not_helpful(kb, INVOICE)
    logged(kb, "退货的运费谁出？", actor="user:a@assistkb.test", confidence="high")  # answered

    gaps = find_gaps(kb)

    assert [g.events for g in gaps] == [10, 3]
    first, second = gaps
    assert set(first.suggestion_ids) == set(charging) and set(second.suggestion_ids) == set(invoice)
    assert (first.agents, first.not_helpful, first.unanswered) == (10, 10, 0)
    assert first.question in CHARGING and set(first.wordings) <= set(CHARGING)
    assert second.question in INVOICE


def test_unanswered_and_low_confidence_queries_are_gaps_and_recent_ones_rank_first(
    make_db_kb: Callable[..., KnowledgeBase],
) -> None:
    kb = tiny_kb(make_db_kb)
    for n, query in enumerate(INVOICE):
        logged(kb, query, actor=f"user:{n}@assistkb.test", confidence=None)
    not_helpful(kb, CHARGING[:3], days_ago=40)  # as many events, long ago
    logged(kb, "保修期是多久？", actor="user:x@assistkb.test", confidence="low")

    gaps = find_gaps(kb)

    assert gaps[0].question in INVOICE and gaps[0].unanswered == 3
    assert gaps[0].score > next(g.score for g in gaps if g.question in CHARGING)
    assert any(g.low_confidence == 1 and g.question == "保修期是多久？" for g in gaps)


def test_a_collection_the_caller_may_not_read_shows_no_gaps(
    make_db_kb: Callable[..., KnowledgeBase],
) -> None:
    kb = tiny_kb(make_db_kb)
    for n, query in enumerate(INVOICE):
        logged(kb, query, actor=f"user:{n}@assistkb.test", collection="billing", confidence=None)
    not_helpful(kb, CHARGING[:2])

    assert {g.collection for g in find_gaps(kb)} == {"default", "billing"}
    assert {g.collection for g in find_gaps(kb, readable=frozenset({"default"}))} == {"default"}
