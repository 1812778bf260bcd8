"""Gaps: the questions the knowledge base fails on, clustered by intent and ranked.

A gap event is a logged suggestion that had no answer, only a low-confidence one
(``kb.insight.analytics``'s rule), or an item an agent marked not helpful. Events are grouped
per collection by the intent of their query (``kb.upkeep.clustering``) and ranked by how often
agents met them, each event weighing less as it ages (half-life ``HALF_LIFE_DAYS``).
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select as select_columns
from sqlmodel import col, select

from kb.context import KnowledgeBase
from kb.db import session_scope
from kb.insight.analytics import GAP_CONFIDENCE
from kb.models import FeedbackRecord, SuggestionLog, UpkeepDraft, as_utc, utcnow
from kb.upkeep.clustering import average_link, center, medoid, similarity
from kb.upkeep.reference import query_vectors, reference_mean
from search.normalize import normalize

WINDOW_DAYS = 90  # gaps are the suggestions of this many days (older ones weigh < 1/80 anyway)
HALF_LIFE_DAYS = 14.0  # an event a fortnight old counts half as much as one today
MAX_QUERIES = 500  # distinct wordings clustered per collection: the most frequent
SHOWN_WORDINGS = 8


@dataclass(frozen=True)
class GapEvent:
    suggestion_id: str
    collection: str
    query: str  # as logged: redacted
    at: datetime
    actor: str | None
    reasons: frozenset[str]  # unanswered | low_confidence | not_helpful


@dataclass(frozen=True)
class Gap:
    """One intent agents met without a good answer."""

    key: str  # stable while its most typical wording stays the same
    collection: str
    question: str  # the medoid: the wording most like the others, by how often each was asked
    wordings: tuple[str, ...]  # the distinct wordings, most asked first
    normalized: tuple[str, ...]  # every member's normalised form (drafts remember them)
    events: int
    agents: int  # distinct actors who met it
    unanswered: int
    low_confidence: int
    not_helpful: int
    last_seen: datetime
    score: float  # events weighted by recency
    suggestion_ids: tuple[str, ...]


def gap_events(
    kb: KnowledgeBase, *, readable: frozenset[str] | None, since: datetime
) -> list[GapEvent]:
    """Every gap event since ``since`` in the ``readable`` collections (None: all), one per
    suggestion with all its reasons."""
    suggestions = select_columns(
        col(SuggestionLog.id),
        col(SuggestionLog.collection),
        col(SuggestionLog.query),
        col(SuggestionLog.created_at),
        col(SuggestionLog.actor),
        col(SuggestionLog.best_confidence),
    ).where(col(SuggestionLog.created_at) >= since)
    unhelpful = (
        select_columns(col(FeedbackRecord.suggestion_id), col(FeedbackRecord.actor))
        .join(SuggestionLog, col(SuggestionLog.id) == col(FeedbackRecord.suggestion_id))
        .where(col(FeedbackRecord.action) == "not_helpful")
        .where(col(SuggestionLog.created_at) >= since)
    )
    if readable is not None:
        suggestions = suggestions.where(col(SuggestionLog.collection).in_(sorted(readable)))
        unhelpful = unhelpful.where(col(SuggestionLog.collection).in_(sorted(readable)))
    with session_scope(kb.engine) as session:
        connection = session.connection()
        flagged: dict[str, str | None] = {}
        for sid, flagger in connection.execute(unhelpful):
            flagged.setdefault(sid, flagger)
        rows = list(connection.execute(suggestions))
    events = []
    for row in rows:
        reasons = set()
        if row.best_confidence is None:
            reasons.add("unanswered")
        elif row.best_confidence in GAP_CONFIDENCE:
            reasons.add("low_confidence")
        if row.id in flagged:
            reasons.add("not_helpful")
        if reasons and normalize(row.query):
            actor = row.actor or flagged.get(row.id)
            at = as_utc(row.created_at)
            events.append(
                GapEvent(row.id, row.collection, row.query, at, actor, frozenset(reasons))
            )
    return events


def find_gaps(
    kb: KnowledgeBase,
    *,
    readable: frozenset[str] | None = None,
    collection: str | None = None,
    now: datetime | None = None,
) -> list[Gap]:
    """The gaps of the last ``WINDOW_DAYS``, highest score first."""
    now = now or utcnow()
    since = now - timedelta(days=WINDOW_DAYS)
    answered = _answered(kb)
    events = [
        e
        for e in gap_events(kb, readable=readable, since=since)
        if e.at > answered.get((e.collection, normalize(e.query)), since)
    ]
    by_collection: dict[str, list[GapEvent]] = defaultdict(list)
    for event in events:
        if collection is None or event.collection == collection:
            by_collection[event.collection].append(event)
    gaps = [gap for name in sorted(by_collection) for gap in _cluster(kb, by_collection[name], now)]
    return sorted(gaps, key=lambda g: (-g.score, -g.events, g.key))


def _answered(kb: KnowledgeBase) -> dict[tuple[str, str], datetime]:
    """When each (collection, normalised query) was answered by an accepted draft: events
    before that are closed, so the gap leaves the list (and returns if agents still fail)."""
    with session_scope(kb.engine) as session:
        rows = session.exec(
            select(UpkeepDraft.collection, UpkeepDraft.queries, UpkeepDraft.decided_at).where(
                UpkeepDraft.status == "accepted"
            )
        ).all()
    out: dict[tuple[str, str], datetime] = {}
    for collection, queries, decided in rows:
        if decided is None:
            continue
        for query in queries:
            key = (collection, query)
            out[key] = max(out.get(key, as_utc(decided)), as_utc(decided))
    return out


def find_gap(kb: KnowledgeBase, key: str, *, readable: frozenset[str] | None) -> Gap | None:
    """The gap of ``key`` among those the caller may read, or None (gone, or another team's)."""
    return next((g for g in find_gaps(kb, readable=readable) if g.key == key), None)


def _cluster(kb: KnowledgeBase, events: list[GapEvent], now: datetime) -> list[Gap]:
    by_query: dict[str, list[GapEvent]] = defaultdict(list)
    for event in events:
        by_query[normalize(event.query)].append(event)
    keys = sorted(by_query, key=lambda k: (-len(by_query[k]), k))[:MAX_QUERIES]
    wordings = [Counter(e.query.strip() for e in by_query[k]).most_common(1)[0][0] for k in keys]
    vectors = center(query_vectors(kb, wordings), reference_mean(kb))
    tokens = [frozenset(kb.tokenizer.tokenize(text)) for text in wordings]
    sim = similarity(vectors, tokens)
    weights = [float(len(by_query[k])) for k in keys]
    gaps = []
    for members in average_link(sim, kb.settings.upkeep_cluster_similarity):
        centre = medoid(sim, members, weights)
        member_events = [e for i in members for e in by_query[keys[i]]]
        ordered = sorted(members, key=lambda i: (-weights[i], keys[i]))
        gaps.append(
            _gap(
                keys[centre],
                wordings[centre],
                [wordings[i] for i in ordered],
                [keys[i] for i in ordered],
                member_events,
                now,
            )
        )
    return gaps


def _gap(
    centre: str,
    question: str,
    wordings: list[str],
    normalized: list[str],
    events: list[GapEvent],
    now: datetime,
) -> Gap:
    collection = events[0].collection
    digest = hashlib.sha256(f"{collection}\n{centre}".encode()).hexdigest()[:16]
    reasons: Counter[str] = Counter(r for e in events for r in e.reasons)
    return Gap(
        key=digest,
        collection=collection,
        question=question,
        wordings=tuple(wordings[:SHOWN_WORDINGS]),
        normalized=tuple(normalized),
        events=len(events),
        agents=len({e.actor for e in events if e.actor}),
        unanswered=reasons["unanswered"],
        low_confidence=reasons["low_confidence"],
        not_helpful=reasons["not_helpful"],
        last_seen=max(e.at for e in events),
        score=round(sum(_weight(e.at, now) for e in events), 3),
        suggestion_ids=tuple(e.suggestion_id for e in events),
    )


def _weight(at: datetime, now: datetime) -> float:
    age_days = max(0.0, (now - at).total_seconds() / 86400)
    return float(0.5 ** (age_days / HALF_LIFE_DAYS))
