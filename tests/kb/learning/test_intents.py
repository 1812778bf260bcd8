"""Query intents on SQLite and PostgreSQL: paraphrases join one intent, other questions start
their own, a known query is found again (by another process too), and nothing is embedded for
it that the suggestion did not already embed."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from learning_faq import faq_kb

from kb.context import KnowledgeBase
from kb.learning import query_vector, rerank
from kb.learning.intents import assign_intent, known_intent, same_intent
from kb.retrieval.searching import SearchRequest, search
from kb.settings import Settings
from search.normalize import normalize


@pytest.mark.parametrize(
    ("cosine", "overlap", "same"),
    [
        (0.96, 0.0, True),  # means the same whatever the words
        (0.92, 0.35, True),  # close, and shares the words
        (0.92, 0.1, False),  # close, other words: 退款多久到账 vs 退货运费谁出 (.905, 0)
        (0.89, 0.9, False),  # same words, another meaning
    ],
)
def test_the_rule(cosine: float, overlap: float, same: bool) -> None:
    assert same_intent(cosine, overlap) is same


def vector(kb: KnowledgeBase, text: str):  # type: ignore[no-untyped-def]
    return kb.encoder.encode(normalize(text))


def test_paraphrases_share_an_intent_and_other_questions_do_not(
    make_db_kb: Callable[..., KnowledgeBase],
) -> None:
    kb = make_db_kb()
    first = assign_intent(kb, "default", "退货运费谁出？", vector(kb, "退货运费谁出？"))
    assert first is not None
    for paraphrase in ("退货的运费谁出？", "退货运费由谁承担？", "我想退货，运费谁来出？"):
        assert assign_intent(kb, "default", paraphrase, vector(kb, paraphrase)) == first
    for other in ("退款多久到账？", "发票怎么开？"):
        assert assign_intent(kb, "default", other, vector(kb, other)) not in (None, first)
    # Collections keep their own intents.
    assert assign_intent(kb, "hr", "退货运费谁出？", vector(kb, "退货运费谁出？")) != first
    # Found again by its text alone, by another process on the same database.
    other = KnowledgeBase(
        Settings(**{**kb.settings.model_dump(), "data_dir": kb.settings.data_dir})
    )
    try:
        assert known_intent(other, "default", "我想退货，运费谁来出？") == first
        assert assign_intent(other, "default", "退货运费由谁承担？", None) == first
        assert assign_intent(other, "default", "一个从没见过的问题", None) is None
    finally:
        other.close()


def test_questions_asked_in_one_chat_framing_keep_their_own_intents(
    make_db_kb: Callable[..., KnowledgeBase],
) -> None:
    """Renewing a membership and redeeming points are close by embedding (.90) and, framed
    alike, shared 40 % of their bigrams through "您好，想咨询一下" alone: they were one intent,
    so what agents taught for one moved the other. The framing no longer counts."""
    kb = make_db_kb()
    renew, redeem = "您好，想咨询一下会员怎么续费？", "您好，想咨询一下积分怎么兑换？"
    first = assign_intent(kb, "default", renew, vector(kb, renew))
    second = assign_intent(kb, "default", redeem, vector(kb, redeem))
    assert None not in (first, second) and first != second
    # The framing still costs nothing when the question is the same.
    assert assign_intent(kb, "default", "会员怎么续费？", vector(kb, "会员怎么续费？")) == first


def test_learning_never_embeds_a_query_the_search_did_not(
    make_db_kb: Callable[..., KnowledgeBase],
) -> None:
    """A keyword-only search leaves no vector: a new query then has no intent, and none is
    made for it (the embedder is never called for learning)."""
    kb = faq_kb(make_db_kb)
    text = "退货运费谁出"
    hits = search(kb, SearchRequest(text, mode="bm25", limit=5))
    assert hits and not kb.encoder.has(normalize(text))
    assert query_vector(kb, text) is None
    assert rerank(kb, "default", text, hits) == hits
    assert known_intent(kb, "default", text) is None
    assert not kb.encoder.has(normalize(text))
