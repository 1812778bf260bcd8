"""Manual passages against FAQ entries on the bundled sample KB (issue 11, as a user tried it)."""

from __future__ import annotations

from kb.context import KnowledgeBase
from kb.retrieval.searching import SearchRequest, search

X1_MANUAL = "云舟 X1 扫地机器人使用说明书"


def _answers_charging(section: tuple[str, ...], text: str) -> bool:
    # 6.2 无法回充, or the fault-code table's 充电异常 row (C09).
    return any("无法回充" in heading for heading in section) or "C09" in text


def test_a_robot_that_will_not_charge_gets_the_manuals_troubleshooting_before_faqs(
    sample_kb: KnowledgeBase,
) -> None:
    hits = search(sample_kb, SearchRequest("扫地机器人电池充不进电", limit=5))
    kinds = [(h.chunk.document_title, h.chunk.doc_type) for h in hits]
    answers = [
        rank
        for rank, h in enumerate(hits)
        if h.chunk.document_title == X1_MANUAL and _answers_charging(h.chunk.section, h.chunk.text)
    ]
    assert answers, kinds
    faqs = [rank for rank, h in enumerate(hits) if h.chunk.doc_type == "faq"]
    # Return-policy FAQs that merely share words (机器人, 电) must not come first.
    assert all(answers[0] < rank for rank in faqs), kinds


def test_a_warranty_question_gets_the_warranty_faq_first_with_the_sample_vocabulary(
    sample_kb: KnowledgeBase,
) -> None:
    # With the sample's user dictionary and synonyms applied (as `make run` does), per-kind BM25
    # length normalisation ranked a cleaning passage above this FAQ; the panel showed it first.
    [top] = search(sample_kb, SearchRequest("掃地機器人的電池保固多久？", limit=1))
    assert top.chunk.doc_type == "faq", top.chunk.text
    assert "2" in top.chunk.text, top.chunk.text
