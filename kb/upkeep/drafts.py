"""Draft FAQ entries made from gaps, and the review queue that turns them into documents.

A draft's question is its gap's most typical wording; its answer is the item agents inserted
*and* marked helpful on that gap's suggestions (the most often so), else empty for the manager
to write. Both are redacted of personal data before they are stored.

An accepted draft becomes its own FAQ document (``upkeep-<draft id>.csv``, one question and
answer) ingested through the ordinary path, so it is versioned, owned and reviewed like any
other document, searchable as soon as the call returns (incremental re-index), and can be
edited or deleted alone; appending to a shared FAQ file would re-chunk and re-embed that whole
file for each entry, and tie unrelated entries' histories together.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from collections.abc import Collection
from datetime import datetime, timedelta

from sqlalchemy import select as select_columns
from sqlmodel import Session, col, func, select

from kb.assist.redaction import redact
from kb.audit import SYSTEM_ACTOR, record
from kb.context import KnowledgeBase
from kb.db import session_scope
from kb.documents.ingestion import DocumentMeta, IngestItem, column_limit, ingest_items
from kb.errors import Conflict, Forbidden, Invalid, NotFound
from kb.models import ChunkRecord, FeedbackRecord, ReplyRecord, UpkeepDraft, as_utc, utcnow
from kb.types import DRAFT_STATUSES, collection_name
from kb.upkeep.gaps import Gap
from kb.upkeep.pinning import check_pinnable, pin_for_gap
from kb.upkeep.schemas import MAX_ANSWER, MAX_QUESTION, DraftPublic, ReviewStats

USED_AND_HELPFUL = ("inserted", "helpful")
_PLACEHOLDER = re.compile(r"\{\s*[A-Za-z_][A-Za-z0-9_]*\s*\}")  # a scripted reply's variable


def draft_from_gap(kb: KnowledgeBase, gap: Gap, *, actor: str = SYSTEM_ACTOR) -> DraftPublic:
    """A pending draft for ``gap``; Conflict if one is pending for it already."""
    source, answer = helpful_answer(kb, gap.suggestion_ids)
    now = utcnow()
    with session_scope(kb.engine) as session:
        if (pending := _pending_for(session, gap)) is not None:
            raise Conflict(
                "draft {id} for this gap is waiting for review already", field="gap", id=pending
            )
        draft = UpkeepDraft(
            collection=gap.collection,
            question=redact(gap.question)[:MAX_QUESTION],
            answer=redact(answer)[:MAX_ANSWER],
            answer_source=source,
            queries=list(gap.normalized),
            events=gap.events,
            created_at=now,
            created_by=actor[:300],
            expires_at=now + timedelta(days=kb.settings.upkeep_draft_days),
        )
        session.add(draft)
        session.flush()
        record(session, actor=actor, action="upkeep.draft", target=draft.id,
               detail={"collection": gap.collection, "question": draft.question})  # fmt: skip
        return DraftPublic.model_validate(draft.model_dump())


def helpful_answer(kb: KnowledgeBase, suggestion_ids: Collection[str]) -> tuple[str | None, str]:
    """The item agents both inserted and marked helpful on the most of these suggestions, with
    its text (a reply's body, an answer's chunk); (None, "") when there is none."""
    if not suggestion_ids:
        return None, ""
    query = select_columns(
        col(FeedbackRecord.suggestion_id), col(FeedbackRecord.item_id), col(FeedbackRecord.action)
    ).where(
        col(FeedbackRecord.suggestion_id).in_(sorted(suggestion_ids)),
        col(FeedbackRecord.action).in_(USED_AND_HELPFUL),
    )
    with session_scope(kb.engine) as session:
        actions: dict[tuple[str, str], set[str]] = {}
        for row in session.connection().execute(query):
            actions.setdefault((row.suggestion_id, row.item_id), set()).add(row.action)
        votes = Counter(item for (_, item), did in actions.items() if did >= set(USED_AND_HELPFUL))
        for item, _count in sorted(votes.items(), key=lambda kv: (-kv[1], kv[0])):
            text = _item_text(session, item)
            if text:
                return item, text
    return None, ""


def _item_text(session: Session, item_id: str) -> str | None:
    reply = session.get(ReplyRecord, item_id)
    if reply is not None:
        return reply.body
    chunk = session.get(ChunkRecord, item_id)
    return chunk.text if chunk is not None else None


def _pending_for(session: Session, gap: Gap) -> str | None:
    pending = session.exec(
        select(UpkeepDraft).where(
            UpkeepDraft.collection == gap.collection, UpkeepDraft.status == "pending"
        )
    ).all()
    members = set(gap.normalized)
    return next((d.id for d in pending if members & set(d.queries)), None)


def expire_drafts(kb: KnowledgeBase, *, now: datetime | None = None) -> int:
    """Mark every pending draft past its expiry expired; returns how many."""
    now = now or utcnow()
    with session_scope(kb.engine) as session:
        stale = session.exec(
            select(UpkeepDraft).where(
                UpkeepDraft.status == "pending", col(UpkeepDraft.expires_at) < now
            )
        ).all()
        for draft in stale:
            draft.status, draft.decided_at, draft.decided_by = "expired", now, SYSTEM_ACTOR
            session.add(draft)
        return len(stale)


def list_drafts(
    kb: KnowledgeBase,
    *,
    readable: frozenset[str] | None = None,
    collection: str | None = None,
    status: str | None = "pending",
) -> list[DraftPublic]:
    """Drafts (pending ones by default, oldest first) in the collections the caller may read."""
    if status is not None and status not in DRAFT_STATUSES:
        raise Invalid(
            "status must be one of {statuses}, not {status!r}",
            field="status",
            statuses=", ".join(DRAFT_STATUSES),
            status=status,
        )
    expire_drafts(kb)
    query = select(UpkeepDraft).order_by(col(UpkeepDraft.created_at), col(UpkeepDraft.id))
    if status is not None:
        query = query.where(UpkeepDraft.status == status)
    if collection is not None:
        query = query.where(UpkeepDraft.collection == collection)
    if readable is not None:
        query = query.where(col(UpkeepDraft.collection).in_(sorted(readable)))
    with session_scope(kb.engine) as session:
        return [DraftPublic.model_validate(d.model_dump()) for d in session.exec(query).all()]


def review_stats(
    kb: KnowledgeBase, *, readable: frozenset[str] | None = None, collection: str | None = None
) -> ReviewStats:
    """How many drafts are in each state: the approval rate is accepted among those decided."""
    expire_drafts(kb)
    query = select(UpkeepDraft.status, func.count()).group_by(col(UpkeepDraft.status))
    if collection is not None:
        query = query.where(UpkeepDraft.collection == collection)
    if readable is not None:
        query = query.where(col(UpkeepDraft.collection).in_(sorted(readable)))
    with session_scope(kb.engine) as session:
        counts = dict(session.exec(query).all())
    return ReviewStats(**{s: int(counts.get(s, 0)) for s in DRAFT_STATUSES})


def get_draft(
    kb: KnowledgeBase, draft_id: str, *, readable: frozenset[str] | None = None
) -> DraftPublic:
    """One draft; NotFound for an unknown id and for one in a collection the caller may not
    read, in the same words."""
    expire_drafts(kb)
    with session_scope(kb.engine) as session:
        draft = session.get(UpkeepDraft, draft_id)
        if draft is None or (readable is not None and draft.collection not in readable):
            raise NotFound("no draft with id {id!r}", field="draft_id", id=draft_id[:64])
        return DraftPublic.model_validate(draft.model_dump())


def edit_draft(
    kb: KnowledgeBase,
    draft_id: str,
    *,
    question: str | None = None,
    answer: str | None = None,
    readable: frozenset[str] | None = None,
    actor: str = SYSTEM_ACTOR,
) -> DraftPublic:
    """Save a manager's wording of a pending draft (redacted like the rest)."""
    get_draft(kb, draft_id, readable=readable)
    with session_scope(kb.engine) as session:
        draft = _pending(session, draft_id)
        _apply(draft, question, answer)
        session.add(draft)
        record(session, actor=actor, action="upkeep.draft.edit", target=draft.id)
        return DraftPublic.model_validate(draft.model_dump())


def reject_draft(
    kb: KnowledgeBase,
    draft_id: str,
    *,
    readable: frozenset[str] | None = None,
    actor: str = SYSTEM_ACTOR,
) -> DraftPublic:
    """Take a pending draft off the queue: it never becomes a document."""
    get_draft(kb, draft_id, readable=readable)
    with session_scope(kb.engine) as session:
        draft = _pending(session, draft_id)
        draft.status, draft.decided_at, draft.decided_by = "rejected", utcnow(), actor[:300]
        session.add(draft)
        record(session, actor=actor, action="upkeep.draft.reject", target=draft.id)
        return DraftPublic.model_validate(draft.model_dump())


def accept_draft(
    kb: KnowledgeBase,
    draft_id: str,
    *,
    collection: str | None = None,
    question: str | None = None,
    answer: str | None = None,
    readable: frozenset[str] | None = None,
    actor: str = SYSTEM_ACTOR,
    pin: bool = False,
) -> DraftPublic:
    """Publish a pending draft (with the manager's last edits) as a FAQ document in
    ``collection`` (default: the draft's), searchable when this returns; with ``pin``, also
    pinned for the intents of its gap's queries (kb/upkeep/pinning.py)."""
    if pin:
        check_pinnable(kb)
    current = get_draft(kb, draft_id, readable=readable)
    target = collection_name(collection or current.collection)
    if readable is not None and target not in readable:
        raise Forbidden(
            "you may not use the collection {collection!r}", field="collection", collection=target
        )
    with session_scope(kb.engine) as session:
        draft = _pending(session, draft_id)
        _apply(draft, question, answer)
        if not draft.answer.strip():
            raise Invalid("write an answer before accepting the draft", field="answer")
        if unfilled := _PLACEHOLDER.search(draft.answer):
            # A reply's "{name}您好" would reach every customer as braces: the manager rewrites.
            raise Invalid(
                "the answer still holds the reply variable {variable}: write what the customer "
                "should read instead",
                field="answer",
                variable=unfilled.group(0),
            )
        entry = (draft.question, draft.answer)
    item = IngestItem(
        f"upkeep-{draft_id}.csv",
        _faq_sheet(*entry),
        DocumentMeta(doc_type="faq", title=entry[0][: column_limit("title")]),
    )
    [result] = ingest_items(kb, [item], collection=target, actor=actor)
    if result.status == "failed" or result.document_id is None:
        raise Invalid("the FAQ entry could not be stored: {reason}", reason=result.reason or "")
    with session_scope(kb.engine) as session:
        draft = _pending(session, draft_id)
        draft.question, draft.answer = entry
        draft.status, draft.decided_at, draft.decided_by = "accepted", utcnow(), actor[:300]
        draft.document_id, draft.collection = result.document_id, target
        session.add(draft)
        record(session, actor=actor, action="upkeep.draft.accept", target=draft.id,
               detail={"document_id": result.document_id, "collection": target})  # fmt: skip
        accepted = DraftPublic.model_validate(draft.model_dump())
    if pin:
        accepted.pins = pin_for_gap(kb, target, result.document_id, accepted.queries, actor)
    return accepted


def _pending(session: Session, draft_id: str) -> UpkeepDraft:
    draft = session.get(UpkeepDraft, draft_id)
    if draft is None:
        raise NotFound("no draft with id {id!r}", field="draft_id", id=draft_id[:64])
    if draft.status != "pending" or as_utc(draft.expires_at) < utcnow():
        status = "expired" if draft.status == "pending" else draft.status
        raise Conflict(
            "draft {id} is {status}: only a pending draft can change",
            field="draft_id",
            id=draft.id,
            status=status,
        )
    return draft


def _apply(draft: UpkeepDraft, question: str | None, answer: str | None) -> None:
    if question is not None:
        if not question.strip():
            raise Invalid("the question is empty", field="question")
        draft.question = redact(question.strip())[:MAX_QUESTION]
    if answer is not None:
        draft.answer = redact(answer.strip())[:MAX_ANSWER]


def _faq_sheet(question: str, answer: str) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["question", "answer"])
    writer.writerow([question, answer])
    return out.getvalue().encode("utf-8")
