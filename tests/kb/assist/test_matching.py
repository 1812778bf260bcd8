"""Matching by meaning shares one query vector: a suggestion embeds its texts in one call."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from kb.assist.conversation import Turn, build_query
from kb.assist.matching import ReplyMatcher, names_cue, similarity_function, warm_up
from kb.assist.suggest import SuggestInput, suggest
from kb.context import KnowledgeBase
from kb.library.escalation import examples_of
from kb.library.store import active_rules
from search.embedders.base import Embedder
from search.normalize import normalize


class Counting:
    """The real embedder, recording each call's texts (a spy: every vector is the real one)."""

    def __init__(self, inner: Embedder) -> None:
        self.inner, self.name, self.version, self.dim = inner, inner.name, inner.version, inner.dim
        self.calls: list[list[str]] = []

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        self.calls.append(list(texts))
        return self.inner.embed_queries(texts)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return self.inner.embed_passages(texts)


@pytest.fixture
def counted(sample_kb: KnowledgeBase) -> Iterator[tuple[KnowledgeBase, Counting]]:
    """A second process-like view of the sample knowledge base, its embedder counted."""
    spy = Counting(sample_kb.encoder.inner)
    kb = KnowledgeBase(sample_kb.settings, embedder=spy)
    yield kb, spy
    kb.close()


# The turn has a story and a question: the bounded query and the question alone are searched,
# and the sample's safety rule compares the turn with its example utterances by meaning.
TURNS = [Turn(role="customer", text="机器充电的时候冒烟了，我很害怕，怎么退货？")]


def test_one_suggestion_embeds_its_texts_in_one_call(
    counted: tuple[KnowledgeBase, Counting],
) -> None:
    kb, spy = counted
    warm_up(kb)  # reply cues and rule examples: once, when the library is first used
    cues = sum(len(c) for c in spy.calls)
    assert cues > 10 and len(spy.calls) <= 2  # the whole library in (at most) two batches
    spy.calls.clear()
    plan = build_query(TURNS)
    assert plan.query != plan.question  # two searches run

    result = suggest(kb, SuggestInput(conversation=TURNS))
    assert result.answers and result.escalation.recommended
    # search ×2, replies and rules: one call, each text once (the latest turn is the query)
    assert spy.calls == [[normalize(plan.query), normalize(plan.question)]]

    spy.calls.clear()  # the same turn again (a CRM re-sending it): nothing to embed
    again = suggest(kb, SuggestInput(conversation=TURNS))
    assert spy.calls == []
    assert [a.id for a in again.answers] == [a.id for a in result.answers]


def test_a_changed_library_is_embedded_again_once(
    counted: tuple[KnowledgeBase, Counting],
) -> None:
    kb, spy = counted
    matcher = ReplyMatcher.for_kb(kb)
    assert ReplyMatcher.for_kb(kb) is matcher  # unchanged replies: the same matrix
    spy.calls.clear()
    matcher.best("退货运费谁出", language="zh-Hans")
    matcher.best("退货运费谁出", language="zh-Hans")
    assert spy.calls == [["退货运费谁出"]]


def test_reply_scores_are_each_replys_best_cue(sample_kb: KnowledgeBase) -> None:
    matcher = ReplyMatcher.for_kb(sample_kb)
    query = "东西坏了想退货，运费怎么算"
    q = sample_kb.encoder.encode(normalize(query))
    expected = []
    for reply in matcher.replies:
        if not reply.language.startswith("zh"):
            continue
        cues = [normalize(c) for c in (reply.title, *reply.applies_to)]
        score = float(np.max(sample_kb.encoder.embed_queries(cues) @ q))
        if names_cue(normalize(query), reply.applies_to):
            score = 1.0
        if score >= sample_kb.settings.reply_min_similarity:
            expected.append((score, reply.id))
    expected.sort(key=lambda pair: -pair[0])
    assert len(expected) >= 2
    chosen = matcher.best(query, language="zh-Hans", limit=3)
    assert [r.id for r in chosen] == [rid for _, rid in expected[:3]]


def test_rule_similarity_is_the_best_example(sample_kb: KnowledgeBase) -> None:
    rules = active_rules(sample_kb)
    similarity = similarity_function(sample_kb, rules)
    examples = next(e for r in rules if (e := examples_of(r.when)))
    text = "充电时机器冒烟了"
    vectors = sample_kb.encoder.embed_queries([normalize(e) for e in examples])
    q = sample_kb.encoder.encode(normalize(text))
    assert similarity(text, examples) == pytest.approx(float(np.max(vectors @ q)), abs=1e-6)
    assert similarity("", examples) == 0.0 and similarity(text, []) == 0.0
