"""The online check of learning in the analytics: per collection and period, the suggestions
whose answers interleaved the learned ranking (A) with the unlearned one (B), who won them by
what agents used, the preference Δ and a sign test (kb/learning/interleaving.py)."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select as select_columns
from sqlmodel import col

from kb.context import KnowledgeBase
from kb.db import session_scope
from kb.insight.analytics import Period
from kb.learning.interleaving import CREDITED, Team, outcome, preference, sign_test
from kb.learning.schemas import InterleavingOut
from kb.learning_models import LearningInterleave
from kb.models import FeedbackRecord

SIGNIFICANCE = 0.05


def interleaving(
    kb: KnowledgeBase,
    period: Period,
    *,
    collection: str | None = None,
    readable: frozenset[str] | None = None,
) -> list[InterleavingOut]:
    """One line per collection with interleaved suggestions in ``period`` (by when they were
    made), of ``collection`` only when named, of the ``readable`` ones only (None: all)."""
    where = [
        col(LearningInterleave.created_at) >= period.since,
        col(LearningInterleave.created_at) < period.until,
    ]
    if collection:
        where.append(col(LearningInterleave.collection) == collection)
    if readable is not None:
        where.append(col(LearningInterleave.collection).in_(sorted(readable)))
    suggestions = select_columns(
        col(LearningInterleave.suggestion_id),
        col(LearningInterleave.collection),
        col(LearningInterleave.teams),
    ).where(*where)
    used_query = (
        select_columns(col(FeedbackRecord.suggestion_id), col(FeedbackRecord.item_id))
        .join(
            LearningInterleave,
            col(LearningInterleave.suggestion_id) == col(FeedbackRecord.suggestion_id),
        )
        .where(*where, col(FeedbackRecord.action).in_(sorted(CREDITED)))
    )
    with session_scope(kb.engine) as session:
        connection = session.connection()
        rows = list(connection.execute(suggestions))
        used: dict[str, set[str]] = defaultdict(set)
        for suggestion_id, item_id in connection.execute(used_query):
            used[suggestion_id].add(item_id)
    tallies: dict[str, dict[str, int]] = {}
    for suggestion_id, name, teams in rows:
        tally = tallies.setdefault(name, {"suggestions": 0, "A": 0, "B": 0, "tie": 0})
        tally["suggestions"] += 1
        won = outcome(_teams(teams), used.get(suggestion_id, set()))
        if won is not None:
            tally[won] += 1
    out = []
    for name in sorted(tallies):
        t = tallies[name]
        p = sign_test(t["A"], t["B"])
        out.append(
            InterleavingOut(
                collection=name,
                start=period.start,
                end=period.end,
                suggestions=t["suggestions"],
                compared=t["A"] + t["B"] + t["tie"],
                wins_a=t["A"],
                wins_b=t["B"],
                ties=t["tie"],
                preference=round(preference(t["A"], t["B"], t["tie"]), 4),
                p_value=round(p, 6),
                significant=p < SIGNIFICANCE,
            )
        )
    return out


def _teams(stored: object) -> dict[str, Team]:
    """The stored teams, anything but A or B (a row edited by hand) left out."""
    if not isinstance(stored, dict):
        return {}
    return {str(item): team for item, team in stored.items() if team in ("A", "B")}
