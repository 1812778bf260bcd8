"""Suggestions mid-conversation: cited answers, filled replies, escalation and handling tier."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from functools import partial
from typing import Any

from sqlmodel import Session, select

from kb.assist import interleave
from kb.assist.conversation import Turn, build_query
from kb.assist.handling import handling_tier
from kb.assist.matching import ReplyMatcher, has_examples, similarity_function
from kb.assist.offered import offered_replies
from kb.assist.ranking import rank_answers
from kb.assist.redaction import redact, redact_obj
from kb.assist.schemas import (
    MAX_SUGGEST_LIMIT,
    AnswerOut,
    EscalationOut,
    EscalationReply,
    SentimentOut,
    SuggestBody,
    SuggestResponse,
)
from kb.assist.script import convert_body
from kb.assist.sentiment import SentimentResult, analyse
from kb.context import KnowledgeBase
from kb.db import session_scope
from kb.errors import Invalid
from kb.learning.interleaving import Team, takes_part
from kb.library.escalation import (
    EscalationContext,
    EscalationDecision,
    Rule,
    Similarity,
    evaluate,
)
from kb.library.replies import fill, make_reply
from kb.library.store import active_rules
from kb.models import FeedbackRecord, SuggestionLog, as_utc, new_id, utcnow
from kb.retrieval.confidence import Confidence, grade
from kb.retrieval.schemas import Degraded
from kb.retrieval.searching import citation, prefetch_queries
from kb.review import due_for_review
from kb.types import DisplayScript
from search.embedders.base import EmbedderUnavailableError
from search.types import Hit, SearchFilters

log = logging.getLogger(__name__)
MAX_ID_CHARS = 32  # SuggestionLog.id
# The escalation reply is offered (and rated through feedback) under this fixed item id.
ESCALATION_REPLY_ID = "escalation-reply"
# Items of earlier drafts a logged suggestion keeps rateable (see ``_log``): a panel shows one
# suggestion of at most 10 answers and 3 replies, but may lag a few drafts behind.
MAX_DRAFT_ITEMS = 40


@dataclass(frozen=True)
class SuggestInput:
    conversation: Sequence[Turn]
    customer: Mapping[str, Any] = field(default_factory=dict)
    collection: str | None = None  # None: the settings' default_collection
    filters: SearchFilters = field(default_factory=SearchFilters)
    display_script: DisplayScript | None = None
    limit: int = 5
    # The panel's previous suggestion while the agent is still typing the same message: when it
    # is recent and nobody acted on it, this one replaces it in the log (see ``_log``).
    supersedes: str | None = None
    actor: str | None = None  # who asked, as Principal.actor: what the log records


def input_from(body: SuggestBody, *, actor: str | None = None) -> SuggestInput:
    """The service input for an API, CLI or panel request body."""
    return SuggestInput(
        actor=actor,
        conversation=[Turn(role=t.role, text=t.text) for t in body.conversation],
        customer=body.customer,
        collection=body.collection,
        filters=body.filters.to_search_filters(),
        display_script=body.display_script,
        limit=body.limit,
    )


def suggest(kb: KnowledgeBase, request: SuggestInput) -> SuggestResponse:
    """The full suggestion for one customer turn, logged (redacted) as the API publishes it."""
    start = time.perf_counter()
    request = replace(request, collection=request.collection or kb.settings.default_collection)
    _validate(kb, request)
    plan = build_query(request.conversation)
    customer_text = "\n".join(t.text for t in request.conversation if t.role == "customer")
    rules = active_rules(kb)
    # Every text this suggestion compares by meaning, embedded in one call (a batch costs less
    # than calls one by one): the searches' query and question, and the latest turn when a rule
    # has example utterances. Search, replies and rules then find them in the encoder's memo.
    latest = (plan.latest.strip() or customer_text.strip()) if has_examples(rules) else ""
    matcher, similarity = _by_meaning(kb, [plan.query, plan.question, latest], rules)
    degraded: Degraded | None = None if matcher else "embedder_unavailable"
    # The online check of learning: this suggestion's id, known now, decides whether it is one
    # of the interleaved share (nothing of it runs while the share is 0).
    share = interleave.share(kb.settings)
    planned = _planned_id(kb, request) if share else None
    ranked = rank_answers(
        kb,
        plan,
        collection=request.collection,
        filters=_with_validity(request.filters),
        limit=request.limit,
        display_script=request.display_script,
        may_embed=not degraded,
        interleave=planned if planned and takes_part(planned, share) else None,
    )
    hits = [answer.hit for answer in ranked]
    teams = {a.hit.chunk.chunk_id: a.team for a in ranked if a.team is not None}
    s = kb.settings
    graded = partial(
        grade,
        high_margin=s.confidence_high_margin,
        medium_margin=s.confidence_medium_margin,
        min_cosine=s.confidence_min_cosine,
    )
    grades = interleave.graded_as_ranked(hits, graded) if teams else graded(hits)
    answers = [_answer(hit, confidence) for hit, confidence in zip(hits, grades, strict=True)]
    due = due_for_review(kb, {answer.source.document_id for answer in answers})
    for answer in answers:
        answer.due_for_review = answer.source.document_id in due
    best: Confidence | None = answers[0].confidence if answers else None

    feeling = _sentiment(request.conversation)
    decision = evaluate(
        rules,
        EscalationContext(
            text=customer_text,
            latest=plan.latest,
            sentiment_label=feeling.label,
            sentiment_score=feeling.score,
            sentiment_categories=feeling.categories,
            customer_tier=_str(request.customer.get("tier")),
            contact_count=_contacts(request.customer),
            best_confidence=best,
            # Down, the embedder cannot compare the turn with example utterances: keywords only.
            similarity=similarity,
        ),
    )
    replies = offered_replies(
        kb, plan.query, plan.latest, request.customer, decision, answers, matcher
    )
    covered = bool(hits) and (hits[0].vector_score or 0.0) >= s.confidence_min_cosine
    if degraded:
        covered = bool(hits)  # no cosine to judge by: keyword answers are the agent's to check
    handling = handling_tier(answers, covered, decision, feeling)
    body = SuggestResponse(
        suggestion_id="",
        query=plan.query,
        answers=answers,
        replies=replies,
        escalation=_escalation(kb, decision, request.customer),
        handling=handling,
        sentiment=SentimentOut(label=feeling.label, score=feeling.score, cues=list(feeling.cues)),
        took_ms=0.0,
        degraded=degraded,
    )
    if request.display_script:
        convert_body(body, request.display_script)
    body.took_ms = round((time.perf_counter() - start) * 1000, 2)
    body.suggestion_id = _log(kb, request, body, best, planned, teams)
    return body


def _by_meaning(
    kb: KnowledgeBase, texts: Sequence[str], rules: Sequence[Rule]
) -> tuple[ReplyMatcher | None, Similarity | None]:
    """Embed the texts, and the reply cues and rule examples if they changed; (None, None) when
    the embedder cannot: the suggestion is then served by keywords alone."""
    try:
        prefetch_queries(kb, texts)
        return ReplyMatcher.for_kb(kb), similarity_function(kb, rules)
    except EmbedderUnavailableError as exc:
        log.warning("suggesting by keywords alone: %s", exc)
        return None, None


def _validate(kb: KnowledgeBase, request: SuggestInput) -> None:
    turns = request.conversation
    if not turns:
        raise Invalid("conversation is empty", field="conversation")
    if len(turns) > kb.settings.max_turns:
        raise Invalid(
            "conversation has {value} turns, over the {max_turns} limit",
            field="conversation",
            value=len(turns),
            max_turns=kb.settings.max_turns,
        )
    for n, turn in enumerate(turns):
        if turn.role not in ("customer", "agent"):
            raise Invalid(
                "role must be customer or agent, not {role!r}",
                field=f"conversation.{n}.role",
                role=turn.role,
            )
        if len(turn.text) > kb.settings.max_message_chars:
            raise Invalid(
                "message is {value} characters, over the {max_message_chars} limit",
                field=f"conversation.{n}.text",
                value=len(turn.text),
                max_message_chars=kb.settings.max_message_chars,
            )
    if not any(t.role == "customer" and t.text.strip() for t in turns):
        raise Invalid("conversation has no customer turn with text", field="conversation")
    if not 1 <= request.limit <= MAX_SUGGEST_LIMIT:
        raise Invalid(
            "limit must be between 1 and {MAX_SUGGEST_LIMIT}, got {limit}",
            field="limit",
            MAX_SUGGEST_LIMIT=MAX_SUGGEST_LIMIT,
            limit=request.limit,
        )


def _with_validity(filters: SearchFilters) -> SearchFilters:
    """Expired and not-yet-effective content is never suggested."""
    if filters.valid_on is not None:
        return filters
    return replace(filters, valid_on=date.today())


def _answer(hit: Hit, confidence: Confidence) -> AnswerOut:
    chunk = hit.chunk
    kind = "faq" if chunk.kind == "faq" else chunk.doc_type
    return AnswerOut(
        id=chunk.chunk_id,
        kind=kind,
        title=chunk.question or (chunk.section[-1] if chunk.section else chunk.document_title),
        text=chunk.text,
        highlight=hit.highlight,
        score=round(hit.score, 4),
        confidence=confidence,
        source=citation(hit),
    )


def _sentiment(turns: Sequence[Turn]) -> SentimentResult:
    """The most negative of the last three customer turns: anger does not vanish in one line."""
    recent = [t.text for t in turns if t.role == "customer"][-3:]
    results = [analyse(text) for text in recent] or [analyse("")]
    return min(results, key=lambda r: r.score)


def _escalation(
    kb: KnowledgeBase, decision: EscalationDecision, customer: Mapping[str, Any]
) -> EscalationOut:
    reply: EscalationReply | None = None
    if decision.reply:
        template = make_reply(id=ESCALATION_REPLY_ID, title="escalation", body=decision.reply)
        filled = fill(template, customer)
        reply = EscalationReply(text=filled.text, missing_variables=list(filled.missing_variables))
    return EscalationOut(
        recommended=decision.recommended,
        level=decision.level,
        team=decision.team,
        reasons=list(decision.reasons),
        steps=list(decision.steps),
        reply=reply,
        rule_ids=list(decision.matched_rule_ids),
    )


def _log(
    kb: KnowledgeBase,
    request: SuggestInput,
    body: SuggestResponse,
    best: Confidence | None,
    planned: str | None = None,
    teams: Mapping[str, Team] | None = None,
) -> str:
    """Personal data is redacted before anything is written.

    A panel that suggests as the agent types would otherwise log one suggestion per pause in
    typing and swamp the analytics with half-typed questions. A superseded suggestion that is
    recent (``suggest_draft_seconds``) and has no feedback was such a draft: its row is
    overwritten, keeping its id, so feedback sent while the next draft was on its way still lands.
    The panel may still show the draft (the newer answer came back for a text the box no longer
    holds, or the agent rated it while the next draft was on its way): the items it offered stay
    in the row's answers, marked ``draft``, so feedback on what the agent saw is recorded
    (kb/insight/feedback.py accepts only offered items).

    ``planned``: the id chosen before ranking (while interleaving is on), and ``teams`` the
    interleaved answers' teams, stored with it (a draft's replaced, or dropped).
    """
    values: dict[str, Any] = {
        "created_at": utcnow(),
        "collection": request.collection,
        "query": redact(body.query),
        "conversation": redact_obj(
            [{"role": t.role, "text": t.text} for t in request.conversation]
        ),
        "customer_tier": _str(request.customer.get("tier")),
        "answers": [a.model_dump(include={"id", "score", "confidence"}) for a in body.answers],
        "replies": [r.id for r in body.replies],
        "escalation": body.escalation.model_dump(
            include={"recommended", "level", "team", "reasons", "rule_ids"}
        ),
        "handling": body.handling,
        "best_confidence": best,
        "took_ms": body.took_ms,
        "actor": request.actor,
    }
    with session_scope(kb.engine) as session:
        record = _draft(kb, session, request)
        if record is None:
            # The planned id is the draft's when the draft was still one at ranking time; acted
            # on since, it is kept, and this suggestion takes a new id.
            if planned and planned != request.supersedes:
                values["id"] = planned
            record = SuggestionLog(**values)
        else:
            values["answers"] = [*values["answers"], *_shown_before(record, values)]
            for key, value in values.items():
                setattr(record, key, value)
        session.add(record)
        if teams or (planned is not None and record.id == request.supersedes):
            session.flush()  # the suggestion row first: PostgreSQL orders nothing for us
            interleave.record_teams(session, record.id, record.collection, teams or {})
        return record.id


def _planned_id(kb: KnowledgeBase, request: SuggestInput) -> str:
    """The id the log will give this suggestion: the draft's it overwrites, or a new one."""
    if not request.supersedes:
        return new_id()
    with session_scope(kb.engine) as session:
        draft = _draft(kb, session, request)
        return draft.id if draft is not None else new_id()


def _shown_before(draft: SuggestionLog, values: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The items an overwritten draft (and the drafts it replaced) offered that the new one
    does not, as answer entries marked ``draft`` (no score: they rank nothing now); the latest
    draft's first, at most MAX_DRAFT_ITEMS for a message typed through many pauses."""
    now = {str(a["id"]) for a in values["answers"]} | set(values["replies"])
    if values["escalation"].get("rule_ids"):
        now.add(ESCALATION_REPLY_ID)
    latest = [str(a.get("id")) for a in draft.answers if not a.get("draft")]
    latest += draft.replies
    if draft.escalation.get("rule_ids"):
        latest.append(ESCALATION_REPLY_ID)
    older = [str(a.get("id")) for a in draft.answers if a.get("draft")]
    kept = [item for item in dict.fromkeys(latest + older) if item not in now]
    return [{"id": item, "draft": True} for item in kept[:MAX_DRAFT_ITEMS]]


def _draft(kb: KnowledgeBase, session: Session, request: SuggestInput) -> SuggestionLog | None:
    """The suggestion this one may overwrite, if it was a draft of the same message."""
    if not request.supersedes or len(request.supersedes) > MAX_ID_CHARS:
        return None  # not an id this log ever handed out
    row = session.get(SuggestionLog, request.supersedes)
    if row is None or row.collection != request.collection or row.actor != request.actor:
        return None  # another caller's suggestion is never overwritten
    age = (utcnow() - as_utc(row.created_at)).total_seconds()
    if not 0 <= age <= kb.settings.suggest_draft_seconds:
        return None
    acted = session.exec(
        select(FeedbackRecord.id).where(FeedbackRecord.suggestion_id == row.id).limit(1)
    ).first()
    return None if acted is not None else row


def _str(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


def _contacts(customer: Mapping[str, Any]) -> int:
    for key in ("contact_count", "contacts", "repeat_contacts"):
        value = customer.get(key)
        if isinstance(value, int) and value >= 1:
            return value
    return 1
