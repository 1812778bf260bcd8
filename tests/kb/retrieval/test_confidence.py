"""Confidence grading: margin over the next *different* answer, with a cosine floor."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kb.retrieval.confidence import are_twins, grade, top_margin
from search.types import Hit, IndexedChunk

LIMITS = {"high_margin": 0.14, "medium_margin": 0.03, "min_cosine": 0.88}


def hit(text: str, score: float, cosine: float = 0.92) -> Hit:
    chunk = IndexedChunk(
        chunk_id=text[:8],
        text=text,
        index_text=text,
        document_id="d",
        document_title="t",
        version=1,
    )
    return Hit(chunk=chunk, score=score, vector_score=cosine)


REFUND = "退款会在仓库检测合格后三到五个工作日内原路退回。"
REFUND_HANT = "退款會在倉庫檢測合格後三到五個工作日內原路退回。"
SHIPPING = "下午四点前付款的订单当天发货。"
WARRANTY = "整机保修一年，电机和电池保修两年。"


@pytest.mark.parametrize(
    ("hits", "expected"),
    [
        ([hit(REFUND, 1.0), hit(SHIPPING, 0.7)], ["high", "low"]),
        ([hit(REFUND, 1.0), hit(SHIPPING, 0.9)], ["medium", "low"]),
        # A close rival of a low top answer is low too: no badge rises down the list.
        ([hit(REFUND, 1.0), hit(SHIPPING, 0.99)], ["low", "low"]),
        ([hit(REFUND, 1.0, cosine=0.85), hit(SHIPPING, 0.99)], ["low", "low"]),
        ([hit(REFUND, 1.0), hit(SHIPPING, 0.95), hit(WARRANTY, 0.5)], ["medium", "low", "low"]),
        # A twin in the other script is no rival: the margin is taken against SHIPPING.
        ([hit(REFUND, 1.0), hit(REFUND_HANT, 0.99), hit(SHIPPING, 0.6)], ["high", "high", "low"]),
        # Nothing in the KB is really about the question: the floor makes it low.
        ([hit(REFUND, 1.0, cosine=0.85), hit(SHIPPING, 0.5, cosine=0.84)], ["low", "low"]),
        ([hit(WARRANTY, 1.0)], ["high"]),
        ([], []),
    ],
)
def test_grade(hits: list[Hit], expected: list[str]) -> None:
    assert grade(hits, **LIMITS) == expected


def test_twins_and_margin() -> None:
    assert are_twins(hit(REFUND, 1), hit(REFUND_HANT, 1))
    assert not are_twins(hit(REFUND, 1), hit(SHIPPING, 1))
    assert top_margin([hit(REFUND, 1.0), hit(REFUND_HANT, 0.99), hit(SHIPPING, 0.4)]) == 0.6


RANK = {"low": 0, "medium": 1, "high": 2}


@given(
    scores=st.lists(st.floats(0.0, 1.0), min_size=1, max_size=8),
    cosines=st.lists(st.floats(0.7, 1.0), min_size=8, max_size=8),
    texts=st.lists(st.sampled_from([REFUND, REFUND_HANT, SHIPPING, WARRANTY]), min_size=8,
                   max_size=8),
)  # fmt: skip
def test_badges_never_rise_down_the_list(
    scores: list[float], cosines: list[float], texts: list[str]
) -> None:
    hits = [
        hit(text, score, cosine)
        for text, score, cosine in zip(texts, sorted(scores, reverse=True), cosines, strict=False)
    ]
    grades = [RANK[g] for g in grade(hits, **LIMITS)]
    assert grades == sorted(grades, reverse=True)
