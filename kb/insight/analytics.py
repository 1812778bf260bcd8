"""Analytics over the suggestion log and feedback: what is asked, what goes unanswered, what fails.

Rows are read with plain SELECTs (the same on SQLite and PostgreSQL) and grouped here, because
questions are grouped by ``search.normalize.normalize``, which SQL cannot express.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

from sqlalchemy import select as select_columns
from sqlmodel import col, select

from kb.context import KnowledgeBase
from kb.db import session_scope
from kb.errors import Invalid
from kb.library.store import list_replies
from kb.models import (
    ChunkRecord,
    Document,
    FeedbackRecord,
    ReplyRecord,
    SuggestionLog,
    as_utc,
)
from kb.retrieval.evaluation import percentile
from kb.types import FEEDBACK_ACTIONS, HANDLINGS, RATINGS
from search.normalize import normalize

# An answer graded "low" (or no answer at all) is a question the knowledge base cannot answer.
GAP_CONFIDENCE = frozenset({"low"})
USED = frozenset({"copied", "inserted"})
MAX_DAYS = 366


@dataclass(frozen=True)
class Period:
    """Whole days ``start`` … ``end`` (both included) in ``tz``."""

    start: date
    end: date
    tz: tzinfo = UTC

    def __post_init__(self) -> None:
        if self.end >= date.max:  # its end is the next midnight, which does not exist
            raise Invalid("the period ends too late ({end})", field="end", end=self.end)
        if self.end < self.start:
            raise Invalid(
                "the period ends ({end}) before it starts ({start})",
                field="end",
                end=self.end,
                start=self.start,
            )
        if self.length > MAX_DAYS:
            raise Invalid(
                "the period is {length} days, over {MAX_DAYS}",
                field="start",
                length=self.length,
                MAX_DAYS=MAX_DAYS,
            )

    @classmethod
    def last(cls, days: int, *, today: date | None = None, tz: tzinfo = UTC) -> Period:
        """The last ``days`` days, today included."""
        if days < 1:
            raise Invalid("a period needs at least one day, not {days}", field="days", days=days)
        end = today or datetime.now(tz).date()
        return cls(end - timedelta(days=days - 1), end, tz)

    @property
    def length(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def since(self) -> datetime:
        return datetime.combine(self.start, time(), self.tz).astimezone(UTC)

    @property
    def until(self) -> datetime:
        return datetime.combine(self.end + timedelta(days=1), time(), self.tz).astimezone(UTC)

    def days(self) -> list[date]:
        return [self.start + timedelta(days=n) for n in range(self.length)]

    def day_of(self, moment: datetime) -> date:
        return as_utc(moment).astimezone(self.tz).date()


@dataclass(frozen=True)
class Question:
    """One question as asked (grouped by normalised text) and how it fared."""

    text: str  # the most frequent wording (redacted, as logged)
    normalized: str
    count: int
    gaps: int  # times with no answer or only a low-confidence one
    no_answer: int
    last_asked: datetime


@dataclass(frozen=True)
class NegativeItem:
    """An answer (or reply) agents marked not helpful, with what it is if it still exists."""

    item_id: str
    not_helpful: int
    helpful: int
    kind: str  # answer | reply | unknown (deleted chunk, or an id nobody knows)
    title: str | None
    text: str | None
    document_id: str | None
    comments: tuple[str, ...]
    queries: tuple[str, ...]


@dataclass(frozen=True)
class UnusedReply:
    id: str
    title: str
    language: str
    tags: tuple[str, ...]
    suggested: int  # times it was offered in the period without being copied or inserted


@dataclass(frozen=True)
class Day:
    day: date
    suggestions: int = 0
    escalated: int = 0
    gaps: int = 0
    helpful: int = 0
    not_helpful: int = 0


@dataclass(frozen=True)
class Totals:
    suggestions: int
    questions: int  # distinct normalised questions
    escalated: int
    gaps: int
    handling: dict[str, int]
    feedback: dict[str, int]
    p50_ms: float | None
    p95_ms: float | None

    @property
    def escalation_rate(self) -> float:
        return self.escalated / self.suggestions if self.suggestions else 0.0

    @property
    def gap_rate(self) -> float:
        return self.gaps / self.suggestions if self.suggestions else 0.0


@dataclass(frozen=True)
class Report:
    period: Period
    collection: str | None
    totals: Totals
    top_questions: list[Question]
    content_gaps: list[Question]
    negative: list[NegativeItem]
    unused_replies: list[UnusedReply]
    days: list[Day] = field(default_factory=list)


@dataclass
class _Group:
    wordings: Counter[str] = field(default_factory=Counter)
    count: int = 0
    gaps: int = 0
    no_answer: int = 0
    last: datetime | None = None


def report(
    kb: KnowledgeBase,
    period: Period,
    *,
    collection: str | None = None,
    readable: frozenset[str] | None = None,
    limit: int = 10,
) -> Report:
    """Everything the analytics page shows, for one period (and optionally one collection),
    from the ``readable`` collections only (None: all; ``Principal.readable_collections``)."""
    suggestions = _suggestions(kb, period, collection, readable)
    feedback = _feedback(kb, period, collection, readable)
    groups = _questions(suggestions)
    questions = [_question(key, g) for key, g in groups.items()]
    top = sorted(questions, key=lambda q: (-q.count, -q.last_asked.timestamp(), q.normalized))
    gaps = sorted(
        (q for q in questions if q.gaps),
        key=lambda q: (-q.gaps, -q.last_asked.timestamp(), q.normalized),
    )
    return Report(
        period=period,
        collection=collection,
        totals=_totals(suggestions, feedback, len(groups)),
        top_questions=top[:limit],
        content_gaps=gaps[:limit],
        negative=negative_items(kb, feedback, limit=limit),
        unused_replies=unused_replies(kb, suggestions, feedback),
        days=_days(period, suggestions, feedback),
    )


def _suggestions(
    kb: KnowledgeBase, period: Period, collection: str | None, readable: frozenset[str] | None
) -> list[Any]:
    # sqlmodel's select() is typed up to four columns; SQLAlchemy's takes any number (and is
    # run on the connection, since Session.exec is typed for sqlmodel's select only).
    query = select_columns(
        col(SuggestionLog.created_at),
        col(SuggestionLog.query),
        col(SuggestionLog.escalation),
        col(SuggestionLog.handling),
        col(SuggestionLog.best_confidence),
        col(SuggestionLog.took_ms),
        col(SuggestionLog.replies),
    ).where(
        col(SuggestionLog.created_at) >= period.since, col(SuggestionLog.created_at) < period.until
    )
    if collection:
        query = query.where(col(SuggestionLog.collection) == collection)
    if readable is not None:
        query = query.where(col(SuggestionLog.collection).in_(sorted(readable)))
    with session_scope(kb.engine) as session:
        return list(session.connection().execute(query.order_by(col(SuggestionLog.created_at))))


def _feedback(
    kb: KnowledgeBase, period: Period, collection: str | None, readable: frozenset[str] | None
) -> list[Any]:
    query = (
        select_columns(
            col(FeedbackRecord.created_at),
            col(FeedbackRecord.item_id),
            col(FeedbackRecord.action),
            col(FeedbackRecord.comment),
            col(SuggestionLog.query),
        )
        .join(SuggestionLog, col(SuggestionLog.id) == col(FeedbackRecord.suggestion_id))
        .where(
            col(FeedbackRecord.created_at) >= period.since,
            col(FeedbackRecord.created_at) < period.until,
        )
    )
    if collection:
        query = query.where(col(SuggestionLog.collection) == collection)
    if readable is not None:
        # Feedback belongs to its suggestion's collection: another team's ratings stay theirs.
        query = query.where(col(SuggestionLog.collection).in_(sorted(readable)))
    with session_scope(kb.engine) as session:
        newest_first = query.order_by(col(FeedbackRecord.created_at).desc())
        return list(session.connection().execute(newest_first))


def _is_gap(best_confidence: str | None) -> bool:
    return best_confidence is None or best_confidence in GAP_CONFIDENCE


def _questions(rows: list[Any]) -> dict[str, _Group]:
    groups: dict[str, _Group] = defaultdict(_Group)
    for row in rows:
        key = normalize(row.query)
        if not key:
            continue
        group = groups[key]
        group.wordings[row.query.strip()] += 1
        group.count += 1
        group.gaps += _is_gap(row.best_confidence)
        group.no_answer += row.best_confidence is None
        group.last = row.created_at if group.last is None else max(group.last, row.created_at)
    return groups


def _question(key: str, group: _Group) -> Question:
    assert group.last is not None
    text = group.wordings.most_common(1)[0][0]
    return Question(text, key, group.count, group.gaps, group.no_answer, as_utc(group.last))


def _totals(suggestions: list[Any], feedback: list[Any], questions: int) -> Totals:
    handling: dict[str, int] = dict.fromkeys(HANDLINGS, 0)
    handling.update(Counter(row.handling for row in suggestions))
    actions: dict[str, int] = dict.fromkeys(FEEDBACK_ACTIONS, 0)
    actions.update(Counter(row.action for row in feedback))
    took = [float(row.took_ms) for row in suggestions]
    return Totals(
        suggestions=len(suggestions),
        questions=questions,
        escalated=sum(_escalated(row) for row in suggestions),
        gaps=sum(_is_gap(row.best_confidence) for row in suggestions),
        handling=handling,
        feedback=actions,
        p50_ms=percentile(took, 50),
        p95_ms=percentile(took, 95),
    )


def _escalated(row: Any) -> bool:
    return bool((row.escalation or {}).get("recommended"))


def negative_items(kb: KnowledgeBase, feedback: list[Any], *, limit: int) -> list[NegativeItem]:
    """Items by not-helpful count, each resolved to its chunk (and document) or reply."""
    bad: Counter[str] = Counter(r.item_id for r in feedback if r.action == "not_helpful")
    good: Counter[str] = Counter(r.item_id for r in feedback if r.action == "helpful")
    ranked = sorted(bad, key=lambda item: (-bad[item], good[item], item))[:limit]
    comments: dict[str, list[str]] = defaultdict(list)
    queries: dict[str, list[str]] = defaultdict(list)
    for row in feedback:  # newest first
        if row.action != "not_helpful" or row.item_id not in ranked:
            continue
        if row.comment and len(comments[row.item_id]) < 3:
            comments[row.item_id].append(row.comment)
        if row.query not in queries[row.item_id] and len(queries[row.item_id]) < 3:
            queries[row.item_id].append(row.query)
    with session_scope(kb.engine) as session:
        chunks = session.exec(
            select(ChunkRecord, Document)
            .join(Document, col(Document.id) == col(ChunkRecord.document_id))
            .where(col(ChunkRecord.id).in_(ranked))
        ).all()
        replies = session.exec(select(ReplyRecord).where(col(ReplyRecord.id).in_(ranked))).all()
    found: dict[str, tuple[str, str, str, str | None]] = {
        chunk.id: ("answer", chunk.question or doc.title, chunk.text, doc.id)
        for chunk, doc in chunks
    }
    for reply in replies:
        found.setdefault(reply.id, ("reply", reply.title, reply.body, None))
    out = []
    for item in ranked:
        kind, title, text, document_id = found.get(item, ("unknown", None, None, None))
        out.append(
            NegativeItem(
                item_id=item,
                not_helpful=bad[item],
                helpful=good[item],
                kind=kind,
                title=title,
                text=text,
                document_id=document_id,
                comments=tuple(comments[item]),
                queries=tuple(queries[item]),
            )
        )
    return out


def unused_replies(
    kb: KnowledgeBase, suggestions: list[Any], feedback: list[Any]
) -> list[UnusedReply]:
    """Library replies nobody copied or inserted in the period; most often offered first."""
    used = {r.item_id for r in feedback if r.action in USED}
    offered: Counter[str] = Counter(rid for row in suggestions for rid in row.replies or ())
    unused = [
        UnusedReply(r.id, r.title, r.language, r.tags, offered[r.id])
        for r in list_replies(kb)
        if r.id not in used
    ]
    return sorted(unused, key=lambda r: (-r.suggested, r.id))


def _days(period: Period, suggestions: list[Any], feedback: list[Any]) -> list[Day]:
    counts: dict[date, Counter[str]] = {day: Counter() for day in period.days()}
    for row in suggestions:
        day = counts.get(period.day_of(row.created_at))
        if day is not None:
            day["suggestions"] += 1
            day["escalated"] += _escalated(row)
            day["gaps"] += _is_gap(row.best_confidence)
    for row in feedback:
        day = counts.get(period.day_of(row.created_at))
        if day is not None and row.action in RATINGS:
            day[row.action] += 1
    return [Day(day, **c) for day, c in counts.items()]
