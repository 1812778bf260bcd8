"""The interleaving analytics (kb/insight/interleaving.py) on SQLite and PostgreSQL: rows of
interleaved suggestions and agents' feedback as the suggest and feedback paths store them,
counted per collection and period, credited by what agents used."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from kb.context import KnowledgeBase
from kb.db import session_scope
from kb.insight.analytics import Period
from kb.insight.interleaving import interleaving
from kb.learning_models import LearningInterleave
from kb.models import FeedbackRecord, SuggestionLog

TEAMS = {"a1": "A", "a2": "A", "b1": "B", "b2": "B"}
# (collection, days ago, the agents' actions on its answers)
SUGGESTIONS = [
    ("finance", 0, [("b1", "copied")]),  # B
    ("finance", 1, [("b1", "copied"), ("b1", "inserted")]),  # B: one answer, one credit
    ("finance", 2, [("b2", "helpful"), ("a1", "not_helpful")]),  # B: "not helpful" credits none
    ("finance", 3, [("a1", "inserted"), ("b2", "copied")]),  # tie
    ("finance", 4, [("a1", "copied"), ("a2", "copied"), ("b1", "copied")]),  # A
    ("finance", 5, [("a2", "dismissed")]),  # nothing used: no comparison
    ("finance", 6, []),
    ("finance", 40, [("a1", "copied")]),  # before the period
    ("hr", 0, [("a1", "copied")]),
]


def seeded(make_db_kb: Callable[..., KnowledgeBase]) -> KnowledgeBase:
    kb = make_db_kb()
    now = datetime.now(UTC)
    with session_scope(kb.engine) as session:
        for n, (collection, days, actions) in enumerate(SUGGESTIONS):
            at = now - timedelta(days=days)
            sid = f"s{n}"
            answers = [{"id": item} for item in TEAMS]
            session.add(SuggestionLog(id=sid, created_at=at, collection=collection, query="q",
                                      answers=answers, handling="agent"))  # fmt: skip
            session.flush()
            session.add(LearningInterleave(suggestion_id=sid, collection=collection,
                                           created_at=at, teams=TEAMS))  # fmt: skip
            for item, action in actions:
                session.add(FeedbackRecord(suggestion_id=sid, item_id=item, action=action,
                                           created_at=at, collection=collection))  # fmt: skip
    return kb


def test_wins_ties_and_the_sign_test_per_collection_and_period(
    make_db_kb: Callable[..., KnowledgeBase],
) -> None:
    kb = seeded(make_db_kb)
    month = Period.last(30)
    finance, hr = interleaving(kb, month)
    assert (finance.collection, hr.collection) == ("finance", "hr")
    assert finance.suggestions == 7 and finance.compared == 5
    assert (finance.wins_a, finance.wins_b, finance.ties) == (1, 3, 1)
    assert finance.preference == pytest.approx(-2 / 5)
    assert finance.p_value == pytest.approx(10 / 16) and not finance.significant
    assert (hr.suggestions, hr.wins_a, hr.preference) == (1, 1, 1.0)
    # Narrower: one collection, the caller's collections, a shorter period.
    assert [r.collection for r in interleaving(kb, month, collection="hr")] == ["hr"]
    assert [r.collection for r in interleaving(kb, month, readable=frozenset({"hr"}))] == ["hr"]
    assert interleaving(kb, month, readable=frozenset()) == []
    [week] = interleaving(kb, Period.last(2), collection="finance")
    assert (week.suggestions, week.wins_b) == (2, 2)
    [longer] = interleaving(kb, Period.last(60), collection="finance")
    assert (longer.suggestions, longer.wins_a) == (8, 2)
