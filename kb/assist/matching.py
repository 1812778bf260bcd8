"""Matching by meaning for the suggest service: scripted replies and escalation examples."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from kb.context import KnowledgeBase, Slot
from kb.library.escalation import examples_of
from kb.library.replies import ReplyTemplate
from kb.library.store import active_rules, list_replies, replies_version
from search.normalize import normalize


class _QueryVectors:
    """Query-side embeddings of normalised utterances; the embedder's memo makes repeats free
    (the search has usually just embedded the same customer text)."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self._kb = kb

    def many(self, texts: Sequence[str]) -> np.ndarray:
        return self._kb.embedder.embed_queries([normalize(t) for t in texts])


_VECTORS: Slot[_QueryVectors] = Slot("assist.query_vectors", _QueryVectors)


def _query_vectors(kb: KnowledgeBase) -> _QueryVectors:
    return kb.state(_VECTORS)


def similarity_function(kb: KnowledgeBase) -> Callable[[str, Sequence[str]], float]:
    """Best cosine similarity between an utterance and a rule's example utterances."""
    vectors = _query_vectors(kb)

    def similarity(text: str, examples: Sequence[str]) -> float:
        if not text.strip() or not examples:
            return 0.0
        matrix = vectors.many([text, *examples])
        return float(np.max(matrix[1:] @ matrix[0]))

    return similarity


class ReplyMatcher:
    """Scores scripted replies against a query by their cue utterances and titles."""

    def __init__(
        self, kb: KnowledgeBase, replies: list[ReplyTemplate], version: tuple[object, ...]
    ) -> None:
        self.kb = kb
        self.replies = replies
        self.version = version
        self._by_id = {r.id: r for r in replies}
        self._cues: list[list[str]] = [[r.title, *r.applies_to] for r in replies]

    @classmethod
    def for_kb(cls, kb: KnowledgeBase) -> ReplyMatcher:
        """The matcher for the replies in force; rebuilt only when the reply table changes."""
        version = replies_version(kb)
        matcher = kb.state(_MATCHER)
        if matcher is None or matcher.version != version:
            matcher = cls(kb, list_replies(kb), version)
            kb.replace_state(_MATCHER, matcher)
        return matcher

    def get(self, reply_id: str) -> ReplyTemplate | None:
        return self._by_id.get(reply_id)

    def best(self, query: str, *, language: str, limit: int = 3) -> list[ReplyTemplate]:
        """Replies in the customer's language family whose cues are close to ``query``."""
        if not self.replies or not query.strip():
            return []
        vectors = _query_vectors(self.kb)
        q = vectors.many([query])[0]
        folded_query = normalize(query)
        scored: list[tuple[float, ReplyTemplate]] = []
        for reply, cues in zip(self.replies, self._cues, strict=True):
            if _family(reply.language) != _family(language):
                continue
            score = float(np.max(vectors.many(cues) @ q))
            # A cue written verbatim in the question is as strong a signal as there is.
            if names_cue(folded_query, reply.applies_to):
                score = max(score, 1.0)
            if score >= self.kb.settings.reply_min_similarity:
                scored.append((score, reply))
        scored.sort(key=lambda pair: -pair[0])
        return [reply for _, reply in scored[:limit]]


# The matcher for the replies in force, replaced whole when they change (None until first use).
_MATCHER: Slot[ReplyMatcher | None] = Slot("assist.reply_matcher", lambda kb: None)


def names_cue(folded_query: str, cues: Sequence[str]) -> bool:
    """A cue (two characters or more) stands in the query, folded alike (either script)."""
    return any(len(c) >= 2 and normalize(c) in folded_query for c in cues)


def _family(language: str) -> str:
    return "zh" if language.startswith("zh") else language


def warm_up(kb: KnowledgeBase) -> None:
    """Embed every reply cue and rule example now, not during the first suggestions."""
    ReplyMatcher.for_kb(kb).best("warm up", language="zh-Hans")
    similarity = similarity_function(kb)
    for rule in active_rules(kb):
        similarity("warm up", examples_of(rule.when))
