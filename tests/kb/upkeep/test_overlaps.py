"""Near-duplicates and conflicts on a tiny hand-made FAQ: stored vectors for the questions,
the answers' words and numbers for what they say (real ingest, index and embedder)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from kb.context import KnowledgeBase
from kb.db import session_scope
from kb.documents.ingestion import IngestItem, ingest_items
from kb.errors import Invalid
from kb.models import ReplyRecord
from kb.upkeep.contradictions import Difference
from kb.upkeep.overlaps import answer_similarity, classify, difference, find_overlaps

FAQ = (
    "question,answer\n"
    "退货的运费谁出？,质量问题的退货由云舟承担运费，其他情况的寄回运费由您承担。\n"
    "退货运费要我自己出吗？,质量问题的退货运费由云舟承担，其他情况的寄回运费由您自己承担。\n"
    "退款多久能到账？,仓库检测无误后，退款在 3–5 个工作日内原路退回。\n"
    "退款要多久才能到账？,仓库检测无误后，退款在 10 个工作日内原路退回。\n"
    "空气净化器的滤网多久换一次？,建议每 6 个月更换一次滤网。\n"
    "换货的来回运费谁出？,签收后十五天内换货，来回运费由您承担。\n"
    "换货的来回运费由谁出？,签收后十五天内换货，来回运费由云舟承担。\n"
).encode()


@pytest.mark.parametrize(
    ("similarity", "a", "b", "kind"),
    [
        (0.99, "退款 3–5 个工作日内到账。", "退款会在 3–5 个工作日内到账。", "duplicate"),
        (0.99, "退款 3–5 个工作日内到账。", "退款 10 个工作日内到账。", "conflict"),
        (0.99, "请联系客服处理。", "保修期内免费维修，过保按价目收费。", "conflict"),
        (0.90, "退款 3–5 个工作日内到账。", "退款 10 个工作日内到账。", None),  # other questions
        (0.99, "{name}您好，退款 3–5 天到账。", "退款 3–5 天到账。", "duplicate"),
        # Worded alike, Dice high, no number apart: these were duplicates before.
        (0.99, "换货的来回运费由您承担。", "换货的来回运费由云舟承担。", "conflict"),
        (0.99, "拆封后可以申请退货。", "拆封后无法申请退货。", "conflict"),
        (0.99, "Repairs under warranty are free of charge.", "Repairs are charged.", "conflict"),
        (0.99, "退款 7 天内到账。", "退款 7 个工作日内到账。", "conflict"),
        (0.99, "退款 3–5 个工作日内到账。", "退款 3–5 個工作天內到帳。", "duplicate"),
        (0.90, "换货的来回运费由您承担。", "换货的来回运费由云舟承担。", None),
    ],
)
def test_classify(similarity: float, a: str, b: str, kind: str | None) -> None:
    assert classify(similarity, a, b, 0.96) == kind


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("退款 3–5 个工作日到账。", "退款 10 个工作日到账。", Difference("numbers", "3, 5", "10")),
        ("运费由您承担。", "运费由云舟承担。", Difference("payer", "由您承担", "由云舟承担")),
        ("退款 3–5 个工作日到账。", "退款会在 3–5 个工作日内到账。", None),
    ],
)
def test_difference_names_what_disagrees(a: str, b: str, expected: Difference | None) -> None:
    assert difference(a, b) == expected


def test_answer_similarity_folds_scripts() -> None:
    assert answer_similarity("七天無理由退貨", "七天无理由退货") == 1.0
    assert answer_similarity("退款", "保修") == 0.0


def test_duplicates_and_conflicts_in_a_tiny_faq(make_kb: Callable[..., KnowledgeBase]) -> None:
    kb = make_kb()
    [result] = ingest_items(kb, [IngestItem("faq.csv", FAQ)], collection="default")
    assert result.status == "ingested"

    overlaps = find_overlaps(kb, "default")
    found = {(o.kind, o.first.question, o.second.question) for o in overlaps}

    assert ("duplicate", "退货的运费谁出？", "退货运费要我自己出吗？") in found
    assert ("conflict", "退款多久能到账？", "退款要多久才能到账？") in found
    assert ("conflict", "换货的来回运费谁出？", "换货的来回运费由谁出？") in found
    differs = {o.difference for o in overlaps if o.kind == "conflict"}
    assert Difference("payer", "由您承担", "由云舟承担") in differs
    assert Difference("numbers", "3, 5", "10") in differs
    assert not any("滤网" in q for _, *pair in found for q in pair)
    assert find_overlaps(kb, "nothing-here") == []
    with pytest.raises(Invalid):  # found by fuzzing: was a 500
        find_overlaps(kb, "用户")


def test_a_reply_that_answers_a_faq_question_differently_is_a_conflict(
    make_kb: Callable[..., KnowledgeBase],
) -> None:
    kb = make_kb()
    [result] = ingest_items(kb, [IngestItem("faq.csv", FAQ)], collection="default")
    assert result.status == "ingested"
    with session_scope(kb.engine) as session:
        session.add(ReplyRecord(id="refund-time", title="退款多久能到账",
                                body="{name}您好，退款会在 7 个工作日内原路退回。",
                                applies_to=["退款多久能到账", "退款什么时候到"]))  # fmt: skip
        session.add(ReplyRecord(id="greeting", title="问候", body="您好，很高兴为您服务。"))

    found = [o for o in find_overlaps(kb, "default") if o.second.kind == "reply"]

    # Both refund entries (3–5 and 10 working days) disagree with the reply's 7; the greeting
    # answers no FAQ question.
    assert {(o.kind, o.first.question, o.second.id) for o in found} == {
        ("conflict", "退款多久能到账？", "refund-time"),
        ("conflict", "退款要多久才能到账？", "refund-time"),
    }
