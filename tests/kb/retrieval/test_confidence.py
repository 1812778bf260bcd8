"""Confidence grading: margin over the next *different* answer, with a cosine floor."""

from __future__ import annotations

import pytest

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
        ([hit(REFUND, 1.0), hit(SHIPPING, 0.99)], ["low", "medium"]),
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
