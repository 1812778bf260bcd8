"""Matching by meaning for the suggest service: scripted replies and escalation examples."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

import numpy as np

from kb.context import KnowledgeBase, Slot
from kb.library.escalation import Rule, examples_of
from kb.library.replies import ReplyTemplate
from kb.library.store import active_rules, list_replies, replies_version
from search.normalize import normalize


class _ExampleVectors:
    """The rule examples' vectors, embedded in one batch when the rule set in force changes;
    each example list a matrix, so a rule's similarity is one matrix product."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.rules: Sequence[Rule] | None = None
        self.vectors: dict[str, np.ndarray] = {}
        self.matrices: dict[tuple[str, ...], np.ndarray] = {}

    def refresh(self, kb: KnowledgeBase, rules: Sequence[Rule]) -> None:
        """Embed every example of ``rules`` (one call) unless this rule set is the one held."""
        with self.lock:
            if rules is self.rules:
                return
        texts = [normalize(e) for rule in rules for e in examples_of(rule.when)]
        vectors = _embed(kb, texts)
        with self.lock:
            self.rules, self.vectors, self.matrices = rules, vectors, {}

    def matrix(self, kb: KnowledgeBase, examples: Sequence[str]) -> np.ndarray:
        key = tuple(examples)
        with self.lock:
            held = self.matrices.get(key)
        if held is not None:
            return held
        folded = [normalize(e) for e in examples]
        with self.lock:
            missing = [t for t in folded if t not in self.vectors]
        found = _embed(kb, missing)  # examples of a rule set not refreshed (a direct caller)
        with self.lock:
            self.vectors.update(found)
            matrix = np.stack([self.vectors[t] for t in folded])
            self.matrices[key] = matrix
        return matrix


_EXAMPLES: Slot[_ExampleVectors] = Slot("assist.example_vectors", lambda kb: _ExampleVectors())


def _embed(kb: KnowledgeBase, folded: Sequence[str]) -> dict[str, np.ndarray]:
    """Utterance vectors (query side, like the customer's words they are compared with)."""
    unique = list(dict.fromkeys(folded))
    if not unique:
        return {}
    return dict(zip(unique, kb.encoder.embed_queries(unique), strict=True))


def _query(kb: KnowledgeBase, text: str) -> np.ndarray:
    # The suggestion prefetched it with the searches' texts: a memo hit, not an embedding.
    return kb.encoder.encode(normalize(text))


def similarity_function(
    kb: KnowledgeBase, rules: Sequence[Rule] | None = None
) -> Callable[[str, Sequence[str]], float]:
    """Best cosine similarity between an utterance and a rule's example utterances.

    ``rules`` (the set in force) has its examples embedded at once if they changed.
    """
    examples_vectors = kb.state(_EXAMPLES)
    if rules is not None:
        examples_vectors.refresh(kb, rules)

    def similarity(text: str, examples: Sequence[str]) -> float:
        if not text.strip() or not examples:
            return 0.0
        return float(np.max(examples_vectors.matrix(kb, examples) @ _query(kb, text)))

    return similarity


def has_examples(rules: Sequence[Rule]) -> bool:
    """Whether matching ``rules`` may compare the customer's words with examples by meaning."""
    return any(examples_of(rule.when) for rule in rules)


class ReplyMatcher:
    """Scores scripted replies against a query by their cue utterances and titles."""

    def __init__(
        self, kb: KnowledgeBase, replies: list[ReplyTemplate], version: tuple[object, ...]
    ) -> None:
        self.kb = kb
        self.replies = replies
        self.version = version
        self._by_id = {r.id: r for r in replies}
        # Every reply's cues (title, then its utterances) embedded once, as one matrix: a
        # suggestion costs one product, not an embedding call per reply.
        cues = [[normalize(c) for c in (r.title, *r.applies_to)] for r in replies]
        sizes = [0, *(len(c) for c in cues[:-1])]
        self._starts = np.cumsum(np.asarray(sizes, dtype=np.intp)) if cues else np.zeros(0, np.intp)
        vectors = _embed(kb, [c for group in cues for c in group])
        dim = kb.encoder.dim
        rows = [vectors[c] for group in cues for c in group]
        self._matrix = np.stack(rows) if rows else np.zeros((0, dim), dtype=np.float32)

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

    def cue_similarity(self, vectors: np.ndarray) -> np.ndarray:
        """Each reply's best cue cosine with each row of ``vectors`` (replies × rows): how
        close the questions a reply answers are to passages, without embedding anything."""
        if not self.replies or not len(vectors):
            return np.zeros((len(self.replies), len(vectors)), dtype=np.float32)
        return np.maximum.reduceat(self._matrix @ np.asarray(vectors).T, self._starts, axis=0)

    def best(self, query: str, *, language: str, limit: int = 3) -> list[ReplyTemplate]:
        """Replies in the customer's language family whose cues are close to ``query``."""
        if not self.replies or not query.strip():
            return []
        folded_query = normalize(query)
        q = self.kb.encoder.encode(folded_query)
        # Each reply's best cue: one product over every cue, then the maximum per reply.
        best = np.maximum.reduceat(self._matrix @ q, self._starts)
        scored: list[tuple[float, ReplyTemplate]] = []
        for reply, cue_score in zip(self.replies, best.tolist(), strict=True):
            if _family(reply.language) != _family(language):
                continue
            score = float(cue_score)
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


def named_replies(
    replies: Sequence[ReplyTemplate], query: str, *, language: str, limit: int = 3
) -> list[ReplyTemplate]:
    """Replies in the customer's language family whose cue ``query`` names word for word: what
    is offered without the embedder (no comparison by meaning)."""
    folded = normalize(query)
    return [
        r
        for r in replies
        if _family(r.language) == _family(language) and names_cue(folded, r.applies_to)
    ][:limit]


def _family(language: str) -> str:
    return "zh" if language.startswith("zh") else language


def warm_up(kb: KnowledgeBase) -> None:
    """Embed every reply cue and rule example now, not during the first suggestions."""
    ReplyMatcher.for_kb(kb)
    similarity_function(kb, active_rules(kb))
