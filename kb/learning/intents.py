"""Query intents: clusters of queries that mean the same, what adjustments and pins are keyed to.

A query is known by the hash of its logged text (folded and redacted, as the suggestion log and
feedback events keep it). A query is given an intent when agents' feedback on it is read into the
learned state (``assign_intents``, from kb/learning/adjustments.py) or a manager pins by it: it
joins the nearest intent of its collection when the two mean the same by embedding and keyword
similarity (see ``same_intent``), else it starts a new intent.

A suggestion only reads (``intent_of``): each collection's intents, centroids and query keys are
held in memory, read again with the learned state (or after RELOAD_SECONDS); a query of no
stored intent takes the nearest one that means the same, by the vector the suggestion already
has (the QueryEncoder's memo holds it; nothing on that path embeds a second time), and nothing
is written for it. Writing an intent per new query cost a suggestion ~28 ms (112 vs 84 ms).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from kb.context import KnowledgeBase, Slot
from kb.db import session_scope
from kb.learning_models import LearningIntent, LearningQuery
from kb.models import utcnow
from search.framing import without_framing
from search.normalize import normalize

# Cosine (e5-small, normalised query vectors) at or above which two queries are one intent
# whatever their words; between KEYWORD_COSINE and it, their character bigrams must also
# overlap (Jaccard >= KEYWORD_OVERLAP). Measured on insuranceqa_zh and tara dev questions
# that share an answer (same intent) against those that do not: README "Learning from feedback".
# The bigrams leave out the chat framing (search/framing.py): close questions of different
# answers, both framed alike, met the rule 45 % of the time on raw bigrams and 18.5 % without
# the framing, while every question still joins itself framed (bench/intent_rule.py).
SAME_COSINE = 0.95
KEYWORD_COSINE = 0.90
KEYWORD_OVERLAP = 0.3
# Intents another process created are read again after this long (a miss reads the key anyway).
RELOAD_SECONDS = 30.0
LABEL_CHARS = 200


def query_key(logged_query: str) -> str:
    """The stable key of a query as logged (already redacted): the hash of its folded text."""
    return hashlib.sha256(normalize(logged_query).encode("utf-8")).hexdigest()


def bigrams(text: str) -> frozenset[str]:
    """The character bigrams of a query's words, its framing (greetings, "我想问问", thanks)
    taken out: two questions that share only how they are asked share nothing."""
    folded = "".join(without_framing(normalize(text)).split())
    return frozenset(folded[i : i + 2] for i in range(len(folded) - 1)) or frozenset([folded])


def keyword_overlap(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def same_intent(cosine: float, overlap: float) -> bool:
    """Whether a query this close (cosine) and this alike in words (bigram Jaccard) to an
    intent's centroid and label means the same."""
    return cosine >= SAME_COSINE or (cosine >= KEYWORD_COSINE and overlap >= KEYWORD_OVERLAP)


@dataclass
class _Collection:
    """One collection's intents in memory: ids, unit centroids (rows), label bigrams."""

    loaded_at: float = 0.0
    ids: list[str] = field(default_factory=list)
    centroids: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.float32))
    counts: list[int] = field(default_factory=list)
    labels: list[frozenset[str]] = field(default_factory=list)
    keys: dict[str, str] = field(default_factory=dict)  # query key -> intent id


@dataclass
class _Intents:
    guard: threading.RLock = field(default_factory=threading.RLock)
    collections: dict[str, _Collection] = field(default_factory=dict)


_INTENTS: Slot[_Intents] = Slot("learning.intents", lambda kb: _Intents())


def known_intent(kb: KnowledgeBase, collection: str, logged_query: str) -> str | None:
    """The intent a logged query was assigned to, or None (from the in-memory index)."""
    key = query_key(logged_query)
    state = kb.state(_INTENTS)
    with state.guard:
        return _loaded(kb, state, collection).keys.get(key)


def intent_of(
    kb: KnowledgeBase, collection: str, logged_query: str, vector: np.ndarray | None
) -> str | None:
    """The intent a query belongs to, read only: its own, else the nearest stored intent that
    means the same (by ``vector``; None: only a query of its own intent has one)."""
    known = known_intent(kb, collection, logged_query)
    if known is not None or vector is None:
        return known
    return nearest_intent(kb, collection, logged_query, vector)


def assign_intents(kb: KnowledgeBase, collection: str, logged_queries: Iterable[str]) -> int:
    """Give every one of ``logged_queries`` of no stored intent one (embedding them in one
    batch); how many were new. Called as the learned state is read from the logs."""
    new = [
        q
        for q in dict.fromkeys(q for q in logged_queries if normalize(q))
        if known_intent(kb, collection, q) is None
    ]
    if not new:
        return 0
    vectors = kb.encoder.embed_queries([normalize(q) for q in new])
    for query, vector in zip(new, vectors, strict=True):
        assign_intent(kb, collection, query, vector)
    return len(new)


def nearest_intent(
    kb: KnowledgeBase, collection: str, logged_query: str, vector: np.ndarray
) -> str | None:
    """The stored intent ``logged_query`` (of that ``vector``) means, or None."""
    state = kb.state(_INTENTS)
    with state.guard:
        c = _loaded(kb, state, collection)
        if not c.ids:
            return None
        unit = _unit(vector)
        cosines = c.centroids @ unit
        words = bigrams(logged_query)
        best, best_cos = None, -1.0
        for i in np.argsort(-cosines)[:5]:
            cos = float(cosines[i])
            if same_intent(cos, keyword_overlap(words, c.labels[i])) and cos > best_cos:
                best, best_cos = c.ids[i], cos
        return best


def assign_intent(
    kb: KnowledgeBase, collection: str, logged_query: str, vector: np.ndarray | None
) -> str | None:
    """The intent of a query as logged: known, else the nearest that means the same, else a
    new one. Without a vector (the embedder is down) only a known query has an intent."""
    known = known_intent(kb, collection, logged_query)
    if known is not None or vector is None:
        return known
    intent = nearest_intent(kb, collection, logged_query, vector)
    key = query_key(logged_query)
    state = kb.state(_INTENTS)
    try:
        with session_scope(kb.engine) as session:
            if intent is None:
                row = LearningIntent(
                    collection=collection,
                    label=logged_query[:LABEL_CHARS],
                    centroid=[float(x) for x in _unit(vector)],
                )
                session.add(row)
                session.flush()
                intent = row.id
            else:
                _join(session, intent, vector)
            session.add(LearningQuery(collection=collection, key=key, intent_id=intent))
    except IntegrityError:  # another process stored this query first: take its intent
        forget_cached(kb, collection)
        return known_intent(kb, collection, logged_query)
    with state.guard:
        state.collections.pop(collection, None)  # reload with the new member
    return intent


def forget_cached(kb: KnowledgeBase, collection: str | None = None) -> None:
    """Read ``collection``'s intents (None: every collection's) again on next use."""
    state = kb.state(_INTENTS)
    with state.guard:
        if collection is None:
            state.collections.clear()
        else:
            state.collections.pop(collection, None)


def _join(session: Session, intent_id: str, vector: np.ndarray) -> None:
    """The intent's centroid moves to the mean of its members' vectors (kept unit length)."""
    row = session.get(LearningIntent, intent_id)
    if row is None:
        return
    old = np.asarray(row.centroid, dtype=np.float32)
    mean = old * row.query_count + _unit(vector)
    row.centroid = [float(x) for x in _unit(mean)]
    row.query_count += 1
    row.updated_at = utcnow()
    session.add(row)


def _loaded(kb: KnowledgeBase, state: _Intents, collection: str) -> _Collection:
    c = state.collections.get(collection)
    if c is not None and time.monotonic() - c.loaded_at < RELOAD_SECONDS:
        return c
    with session_scope(kb.engine) as session:
        rows = session.exec(
            select(LearningIntent)
            .where(LearningIntent.collection == collection)
            .order_by(LearningIntent.created_at, LearningIntent.id)  # type: ignore[arg-type]
        ).all()
        data = [(r.id, r.centroid, r.query_count, r.label) for r in rows]
        keys = dict(
            session.exec(
                select(LearningQuery.key, LearningQuery.intent_id).where(
                    LearningQuery.collection == collection
                )
            ).all()
        )
    fresh = _Collection(loaded_at=time.monotonic(), keys=keys)
    if data:
        fresh.ids = [d[0] for d in data]
        fresh.centroids = np.asarray([d[1] for d in data], dtype=np.float32)
        fresh.counts = [d[2] for d in data]
        fresh.labels = [bigrams(d[3]) for d in data]
    state.collections[collection] = fresh
    return fresh


def _unit(vector: np.ndarray) -> np.ndarray:
    v = np.asarray(vector, dtype=np.float32).reshape(-1)
    norm = float(np.linalg.norm(v))
    return v / norm if norm > 0 else v
