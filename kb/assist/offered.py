"""The scripted replies a suggestion offers: close to the turn, and about what its answers are."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from kb.assist.matching import ReplyMatcher, named_replies, names_cue, similarity_function
from kb.assist.schemas import AnswerOut, ReplyOut
from kb.context import KnowledgeBase
from kb.library.escalation import EscalationDecision
from kb.library.replies import ReplyTemplate, detect_language, fill
from kb.library.store import list_replies
from search.normalize import normalize

# A reply must agree with one of this many leading answers (see ``_on_topic``).
TOPIC_ANSWERS = 3


def offered_replies(
    kb: KnowledgeBase,
    query: str,
    latest: str,
    customer: Mapping[str, Any],
    decision: EscalationDecision,
    answers: Sequence[AnswerOut],
    matcher: ReplyMatcher | None,
) -> list[ReplyOut]:
    """The scripted replies for the turn (at most three), the escalation's pinned one first.

    Without a ``matcher`` (the embedder is down), only replies whose cue the turn names.
    """
    language = detect_language(latest)
    if matcher is not None:
        chosen = _on_topic(kb, query, matcher.best(query, language=language, limit=3), answers)
        replies = matcher.replies
    else:
        replies = list_replies(kb)
        chosen = named_replies(replies, query, language=language, limit=3)
    if decision.reply_id:
        pinned = next((r for r in replies if r.id == decision.reply_id), None)
        if pinned is not None:
            chosen = [pinned, *[r for r in chosen if r.id != pinned.id]][:3]
    out = []
    for template in chosen:
        filled = fill(template, customer)
        out.append(
            ReplyOut(
                id=template.id,
                title=template.title,
                text=filled.text,
                missing_variables=list(filled.missing_variables),
            )
        )
    return out


def _on_topic(
    kb: KnowledgeBase,
    query: str,
    replies: Sequence[ReplyTemplate],
    answers: Sequence[AnswerOut],
) -> list[ReplyTemplate]:
    """The replies that are about what the leading answers are about.

    A reply's cues are short and the embedder scores any two customer complaints alike
    ("機器人連不上網" .904 against "掃地機器人充不進電怎麼辦"), so a cue just over the bar may
    be about something else. A reply whose cue the query names word for word stays; another
    must also come as close (``reply_min_similarity``) to one of the top answers' titles as it
    came to the query: the Wi-Fi reply scores .890 against the charging answers, the return
    replies .905-.929 against the return-shipping FAQs. With no answer there is nothing to
    disagree with.
    """
    if not answers or not replies:
        return list(replies)
    similarity = similarity_function(kb)
    titles = [a.title for a in answers[:TOPIC_ANSWERS]]
    folded = normalize(query)
    bar = kb.settings.reply_min_similarity
    return [
        r
        for r in replies
        if names_cue(folded, r.applies_to)
        or max(similarity(title, [r.title, *r.applies_to]) for title in titles) >= bar
    ]
