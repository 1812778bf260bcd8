"""Near-duplicate and conflicting entries: FAQ entries (and scripted replies) that answer the
same question alike (merge them) or differently (a conflict, shown side by side).

Question similarity is the cosine of vectors the index already holds: each FAQ chunk's stored
vector (``VectorIndex.vectors``) and each reply's cue vectors (``ReplyMatcher``); nothing is
re-embedded. Answer similarity is lexical, on folded text (Dice of character bigrams), because
what makes two answers disagree is often one number ("7 天" against "15 天"), which embeddings
barely see: answers that state different numbers, or contradict each other in who pays, what
is allowed, what is free or in which unit (``kb.upkeep.contradictions``), are never
duplicates but conflicts, with the differing phrases. Thresholds are measured
on the sample knowledge base (README, Knowledge upkeep). Entries are compared within one
collection and one language family: Chinese entries in either script reach the same agents
(the panel converts them), English ones others.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

import numpy as np

from kb.assist.matching import ReplyMatcher
from kb.context import KnowledgeBase
from kb.types import collection_name
from kb.upkeep.contradictions import Difference, contradiction
from search.normalize import normalize
from search.types import IndexedChunk

OverlapKind = Literal["duplicate", "conflict"]

# Measured on the sample knowledge base's 66 FAQ entries (README, Knowledge upkeep): the six
# mainland/Taiwan pairs that ask one question score 0.967-0.987, the 886 pairs of different
# questions in one language at most 0.950.
SAME_QUESTION = 0.96  # stored-vector cosine of two FAQ entries
SAME_REPLY_QUESTION = 0.93  # a reply's best cue against a FAQ entry (query side vs passage)
SAME_ANSWER = 0.25  # Dice of the answers' bigrams; the six same-answer pairs: 0.30-0.65
DIFFERENT_ANSWER = 0.12  # below it, unlike answers (other questions' answers: median 0.02)
LIMIT = 50

_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_NOISE = re.compile(r"[\s\W_]+")
_VARIABLE = re.compile(r"\{[A-Za-z_][A-Za-z0-9_]*\}")  # a reply template's {name}


@dataclass(frozen=True)
class Entry:
    id: str  # chunk id, or reply id
    kind: Literal["faq", "reply"]
    title: str  # the document's title, or the reply's
    document_id: str | None
    question: str
    answer: str


@dataclass(frozen=True)
class Overlap:
    kind: OverlapKind
    first: Entry
    second: Entry
    question_similarity: float
    answer_similarity: float
    difference: Difference | None = None  # a conflict's differing phrases, when one is found


def answer_similarity(a: str, b: str) -> float:
    """Dice coefficient of the character bigrams of two folded texts (0 … 1)."""
    x, y = _bigrams(a), _bigrams(b)
    return 2 * len(x & y) / (len(x) + len(y)) if x or y else 1.0


def classify(question_similarity: float, a: str, b: str, threshold: float) -> OverlapKind | None:
    """What two entries are, given how alike their questions are and their answers' texts:
    on one question, answers that state different numbers, contradict each other (who pays,
    allowed or not, free or not, days or working days) or barely share words conflict, and
    answers alike with the same numbers are duplicates; a pair in between is neither."""
    if question_similarity < threshold:
        return None
    if difference(a, b) is not None:
        return "conflict"
    dice = answer_similarity(a, b)
    if dice >= SAME_ANSWER and _numbers(a) == _numbers(b):
        return "duplicate"
    return "conflict" if dice < DIFFERENT_ANSWER else None


def difference(a: str, b: str) -> Difference | None:
    """Where two answers to one question disagree: the numbers only one of them states, else
    a contradiction (``kb.upkeep.contradictions``); None when neither is found."""
    numbers_a, numbers_b = _numbers(a), _numbers(b)
    if numbers_a and numbers_b and numbers_a != numbers_b:
        first = ", ".join(sorted(numbers_a - numbers_b, key=float))
        return Difference("numbers", first, ", ".join(sorted(numbers_b - numbers_a, key=float)))
    return contradiction(a, b)


def find_overlaps(kb: KnowledgeBase, collection: str, *, limit: int = LIMIT) -> list[Overlap]:
    """Duplicates and conflicts among the collection's live FAQ entries and the replies, the
    most alike questions first."""
    searcher = kb.searchers.get(collection_name(collection))
    if searcher is None:
        return []
    generation = searcher.generation
    rows = [i for i, c in enumerate(generation.chunks) if c.kind == "faq" and c.question]
    if not rows:
        return []
    chunks = [generation.chunks[i] for i in rows]
    vectors = np.asarray(generation.vectors.vectors(np.asarray(rows, dtype=np.int64)))
    entries = [_faq(c) for c in chunks]
    found: list[Overlap] = []
    sims = vectors @ vectors.T
    for i in range(len(chunks)):
        for j in range(i + 1, len(chunks)):
            if not _same_language(chunks[i].language, chunks[j].language):
                continue
            _add(found, entries[i], entries[j], float(sims[i, j]), SAME_QUESTION)
    matcher = ReplyMatcher.for_kb(kb)
    cues = matcher.cue_similarity(vectors)
    for r, reply in enumerate(matcher.replies):
        entry = Entry(reply.id, "reply", reply.title, None, reply.title, reply.body)
        for j, chunk in enumerate(chunks):
            if _same_language(reply.language, chunk.language):
                _add(found, entries[j], entry, float(cues[r, j]), SAME_REPLY_QUESTION)
    found.sort(key=lambda o: (-o.question_similarity, o.first.id, o.second.id))
    return found[:limit]


def _add(found: list[Overlap], a: Entry, b: Entry, similarity: float, threshold: float) -> None:
    kind = classify(similarity, a.answer, b.answer, threshold)
    if kind is not None:
        score = round(answer_similarity(a.answer, b.answer), 3)
        differs = difference(a.answer, b.answer) if kind == "conflict" else None
        found.append(Overlap(kind, a, b, round(similarity, 3), score, differs))


def _faq(chunk: IndexedChunk) -> Entry:
    return Entry(
        chunk.chunk_id, "faq", chunk.document_title, chunk.document_id, chunk.question or "",
        chunk.text,
    )  # fmt: skip


def _same_language(a: str | None, b: str | None) -> bool:
    # By family: the panel shows zh-Hant entries to zh-Hans agents converted, and vice versa.
    return a is None or b is None or a.split("-")[0] == b.split("-")[0]


def _bigrams(text: str) -> frozenset[str]:
    folded = _NOISE.sub("", normalize(_VARIABLE.sub("", text)))
    return frozenset(folded[i : i + 2] for i in range(len(folded) - 1))


def _numbers(text: str) -> frozenset[str]:
    return frozenset(_NUMBER.findall(normalize(_VARIABLE.sub("", text))))
