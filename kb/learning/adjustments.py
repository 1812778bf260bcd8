"""Adjustments of the fused score, learned per (intent, answer), and the pins, applied to hits.

Each collection's model (evidence turned into adjustments, and the active pins) is computed
from the database and kept in memory for REFRESH_SECONDS; ``refresh`` recomputes it at once
(the replay benchmark and the services that change pins or reset call it).

CAP: an adjustment moves an answer's fused score by at most ±0.05. The confidence margins
(``confidence_medium_margin`` .016, ``confidence_high_margin`` .075) say how far apart
answers usually are: ±.05 reorders close calls and answers within a medium lead, but a clear
winner ahead by more than .10 (one answer promoted .05, the other demoted .05) is never
overturned by clicks alone; that is what pins are for.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

import kb.learning.evidence as ev
from kb.context import KnowledgeBase, Slot
from kb.db import session_scope
from kb.learning.intents import assign_intents, forget_cached, query_key
from kb.learning_models import LearningPin, LearningQuery, LearningReset
from kb.models import (
    ChunkRecord,
    Document,
    DocumentVersion,
    FeedbackRecord,
    SuggestionLog,
    as_utc,
    utcnow,
)
from search.embedders.base import EmbedderUnavailableError
from search.types import Hit

CAP = 0.05
REFRESH_SECONDS = 60.0
# Evidence older than this is not read at all (it has decayed to under 2 % by then).
HORIZON_DAYS = 180
# A pinned answer leads the best other hit by this much (the newest of several pins first).
PIN_LEAD = 0.01


@dataclass(frozen=True)
class ItemVersion:
    document_id: str
    version: int
    current: bool  # the chunk belongs to its document's current version


@dataclass
class Model:
    """One collection's learned state at ``computed_at``."""

    computed_at: datetime
    adjustments: dict[str, dict[str, float]] = field(default_factory=dict)  # intent -> item
    evidence: list[ev.Evidence] = field(default_factory=list)
    versions: dict[str, ItemVersion] = field(default_factory=dict)
    pins: dict[str, list[str]] = field(default_factory=dict)  # intent -> items, first leads
    rates: list[float] = field(default_factory=list)
    loaded: float = 0.0  # monotonic time it was computed


@dataclass
class _Models:
    guard: threading.Lock = field(default_factory=threading.Lock)
    by_collection: dict[str, Model] = field(default_factory=dict)


_MODELS: Slot[_Models] = Slot("learning.models", lambda kb: _Models())


def model(kb: KnowledgeBase, collection: str) -> Model:
    """The collection's learned state, recomputed when older than REFRESH_SECONDS."""
    state = kb.state(_MODELS)
    with state.guard:
        found = state.by_collection.get(collection)
    if found is not None and time.monotonic() - found.loaded < REFRESH_SECONDS:
        return found
    return refresh(kb, collection)


def refresh(kb: KnowledgeBase, collection: str) -> Model:
    """Recompute the collection's adjustments and pins from the database now; the intents
    suggestions read are read again with them."""
    forget_cached(kb, collection)
    fresh = compute(kb, collection)
    state = kb.state(_MODELS)
    with state.guard:
        state.by_collection[collection] = fresh
    return fresh


def forget(kb: KnowledgeBase) -> None:
    """Drop every collection's learned state: the next use recomputes it."""
    state = kb.state(_MODELS)
    with state.guard:
        state.by_collection.clear()


def apply(
    kb: KnowledgeBase, collection: str, intent_id: str | None, hits: Sequence[Hit]
) -> list[Hit]:
    """``hits`` with the intent's adjustments added to their fused scores and its pinned
    answers leading, re-sorted; the same hits, in the same order, when nothing applies."""
    if intent_id is None or not kb.settings.learning or not hits:
        return list(hits)
    learned = model(kb, collection)
    moves = learned.adjustments.get(intent_id, {})
    pins = [p for p in learned.pins.get(intent_id, []) if any(h.chunk.chunk_id == p for h in hits)]
    if not pins and not any(h.chunk.chunk_id in moves for h in hits):
        return list(hits)
    out = [replace(h, score=h.score + moves.get(h.chunk.chunk_id, 0.0)) for h in hits]
    if pins:
        top = max(h.score for h in out)
        lead = {item: top + PIN_LEAD * (len(pins) - n) for n, item in enumerate(pins)}
        out = [
            replace(h, score=lead[h.chunk.chunk_id]) if h.chunk.chunk_id in lead else h for h in out
        ]
    out.sort(key=lambda h: (-h.score, h.chunk.chunk_id))
    return out


def pinned(
    kb: KnowledgeBase, collection: str, intent_id: str | None, hits: Sequence[Hit]
) -> frozenset[str]:
    """The answers among ``hits`` that ``apply`` leads with as the intent's pins."""
    if intent_id is None or not kb.settings.learning or not hits:
        return frozenset()
    pins = model(kb, collection).pins.get(intent_id, [])
    return frozenset(pins) & {h.chunk.chunk_id for h in hits}


def compute(kb: KnowledgeBase, collection: str) -> Model:
    """The collection's model from its logs, intents, resets, documents and pins."""
    now = utcnow()
    since = now - timedelta(days=HORIZON_DAYS)
    assign_feedback_intents(kb, collection, since)
    with session_scope(kb.engine) as session:
        intents = dict(
            session.exec(
                select(LearningQuery.key, LearningQuery.intent_id).where(
                    LearningQuery.collection == collection
                )
            ).all()
        )
        feedback = (
            session.exec(
                select(FeedbackRecord).where(
                    FeedbackRecord.collection == collection,
                    FeedbackRecord.item_kind == "answer",
                    col(FeedbackRecord.created_at) >= since,
                )
            ).all()
            if intents
            else []
        )
        events = []
        for f in feedback:
            intent = intents.get(query_key(f.query)) if f.query else None
            if intent is not None and f.rank is not None:
                events.append(
                    ev.Event(
                        f.suggestion_id,
                        intent,
                        f.item_id,
                        f.rank,
                        f.action,
                        f.actor,
                        as_utc(f.created_at),
                    )
                )
        # The impressions matter only where agents acted: without events the log is not read.
        logs = (
            session.exec(
                select(  # type: ignore[call-overload]  # sqlmodel types up to four columns
                    SuggestionLog.id,
                    SuggestionLog.query,
                    SuggestionLog.answers,
                    SuggestionLog.created_at,
                    SuggestionLog.actor,
                ).where(
                    SuggestionLog.collection == collection, col(SuggestionLog.created_at) >= since
                )
            ).all()
            if events
            else []
        )
        resets = [
            ev.Reset(r.intent_id, r.item_id, as_utc(r.at))
            for r in session.exec(
                select(LearningReset).where(LearningReset.collection == collection)
            ).all()
        ]
        pin_rows = session.exec(
            select(LearningPin)
            .where(LearningPin.collection == collection, LearningPin.status == "active")
            .order_by(col(LearningPin.created_at).desc(), col(LearningPin.id))
        ).all()
        pins = [
            (p.intent_id, p.item_id, p.document_id, p.document_version, p.expires_at)
            for p in pin_rows
        ]
        impressions = []
        for sid, query, answers, at, actor in logs:
            # A suggestion of a query no feedback gave an intent still tells the click model
            # how often agents use each rank ("": it is evidence for no intent).
            intent = intents.get(query_key(query), "")
            shown = [str(a.get("id")) for a in answers if not a.get("draft")]
            impressions += [
                ev.Impression(sid, intent, item, n + 1, as_utc(at), actor)
                for n, item in enumerate(shown)
            ]
        found, rates = ev.gather(impressions, events, resets, now)
        versions = item_versions(session, {item for _, item in found} | {p[1] for p in pins})
        current = current_versions(session, {p[2] for p in pins})
    learned = Model(computed_at=now, rates=rates, versions=versions, loaded=time.monotonic())
    for (intent, item), evidence in found.items():
        held = versions.get(item)
        if held is None or not held.current:
            continue  # a new version of the document starts afresh
        learned.evidence.append(evidence)
        if evidence.eligible and evidence.score != 0.0:
            learned.adjustments.setdefault(intent, {})[item] = ev.adjustment(evidence.score, CAP)
    for intent, item, document_id, version, expires in pins:
        if expires is not None and as_utc(expires) <= now:
            continue
        if current.get(document_id) != version:
            continue  # the document changed: the pin lapsed
        learned.pins.setdefault(intent, []).append(item)
    learned.evidence.sort(key=lambda e: -abs(e.score))
    return learned


def assign_feedback_intents(kb: KnowledgeBase, collection: str, since: datetime) -> None:
    """Give the queries agents gave feedback on since ``since`` their intents (suggestions never
    write one). An embedder that is down leaves them for the next refresh."""
    with session_scope(kb.engine) as session:
        asked = session.exec(
            select(FeedbackRecord.query)
            .where(
                FeedbackRecord.collection == collection,
                FeedbackRecord.item_kind == "answer",
                col(FeedbackRecord.rank).is_not(None),
                col(FeedbackRecord.created_at) >= since,
            )
            .distinct()
        ).all()
    with suppress(EmbedderUnavailableError):
        assign_intents(kb, collection, [q for q in asked if q])


def item_versions(session: Session, items: set[str]) -> dict[str, ItemVersion]:
    """Each answer's document and version, and whether that version is the current one."""
    if not items:
        return {}
    rows = session.exec(
        select(ChunkRecord.id, Document.id, DocumentVersion.number, Document.current_version)
        .join(DocumentVersion, col(DocumentVersion.id) == col(ChunkRecord.version_id))
        .join(Document, col(Document.id) == col(ChunkRecord.document_id))
        .where(col(ChunkRecord.id).in_(items))
    ).all()
    return {chunk: ItemVersion(doc, number, number == live) for chunk, doc, number, live in rows}


def current_versions(session: Session, documents: set[str]) -> dict[str, int]:
    if not documents:
        return {}
    rows = session.exec(
        select(Document.id, Document.current_version).where(col(Document.id).in_(documents))
    ).all()
    return dict(rows)
