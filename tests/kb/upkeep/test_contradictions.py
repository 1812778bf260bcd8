"""Contradictions between answers worded alike: tables of hand-written pairs in both scripts and
English, and properties (symmetric; never with itself, nor with its own re-spacing,
re-punctuation or other script)."""

from __future__ import annotations

import re
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kb.assist.script import convert
from kb.upkeep.contradictions import Difference, claims, contradiction

CONTRADICTING = [
    # who bears a cost
    ("退货运费由您承担。", "退货运费由云舟承担。", "payer", "由您承担", "由云舟承担"),
    ("寄回的运费需要您自行承担。", "寄回的运费由我们承担。", "payer", "您自行承担", "由我们承担"),
    ("退貨運費由您負擔。", "退貨運費由雲舟負擔。", "payer", "由您負擔", "由雲舟負擔"),
    ("买家承担来回运费。", "商家承担来回运费。", "payer", "买家承担", "商家承担"),
    ("You pay the return shipping.", "We cover the return shipping.", "payer", "You pay",
     "We cover"),
    ("Return shipping is at your own expense.", "Return shipping is at our expense.", "payer",
     "at your own expense", "at our expense"),
    # allowed or not
    ("可以，退款可以退到另一张银行卡。", "不可以，退款只能按原支付方式退回。", "permission",
     "可以，退款", "不可以，退款"),
    ("支持七天无理由退货。", "不支持七天无理由退货。", "permission", "支持七天", "不支持七天"),
    ("拆封后可以申请退货。", "拆封后无法申请退货。", "permission", "可以申请退货",
     "无法申请退货"),
    ("拆封後可以申請退貨。", "拆封後不能申請退貨。", "permission", "可以申請退貨",
     "不能申請退貨"),
    ("The refund can be paid to another card.", "The refund cannot be paid to another card.",
     "permission", "can be paid", "cannot be paid"),
    ("You can't change the address after shipping.",
     "You can change the address after shipping.", "permission", "can't change the",
     "can change the"),
    ("Gift cards are refundable.", "Gift cards are not refundable.", "permission",
     "are refundable", "are not refundable"),
    # free or not
    ("保修期内的维修免费。", "保修期内的维修收费。", "charge", "免费", "收费"),
    ("Repairs under warranty are free of charge.", "Repairs under warranty are charged.",
     "charge", "free of charge", "charged"),
    # the same number in another unit
    ("退款会在 7 天内到账。", "退款会在 7 个工作日内到账。", "unit", "7 天", "7 个工作日"),
    ("退款會在 3–5 天內到帳。", "退款會在 3–5 個工作天內到帳。", "unit", "3–5 天",
     "3–5 個工作天"),
    ("The refund arrives within 5 days.", "The refund arrives within 5 business days.", "unit",
     "5 days", "5 business days"),
    # added after the first measurement's misses
    ("已拆封的商品恕不退换。", "已拆封的商品可以退换。", "permission", "恕不退换", "可以退换"),
    ("寄回运费需自理。", "寄回运费由云舟承担。", "payer", "自理", "由云舟承担"),
    ("十五天內到帳。", "十五個工作天內到帳。", "unit", "十五天", "十五個工作天"),
]  # fmt: skip

AGREEING = [
    # both cases named in both answers, in another order and wording
    ("质量问题的退货由云舟承担运费，其他情况的寄回运费由您承担。",
     "其他情况的寄回运费由您自己承担，质量问题的退货运费由云舟承担。"),
    # one answer adds a case the other leaves out
    ("经检测确认是质量问题的，运费由云舟承担。",
     "没有质量问题的退货运费由您承担；确认是质量问题的，运费由云舟承担。"),
    ("运费由云舟承担，无需您垫付。", "运费由云舟承担，不用您承担。"),
    ("可以。签收 7 天内可以申请无理由退货。", "可以。簽收 7 天內可以申請無理由退貨。"),
    ("退款在 3–5 个工作日内到账。", "退款在 3–5 個工作天內到帳。"),
    ("退款可能需要 3 天。", "退款需要 3 天，可能更快。"),  # 可能 is not 可
    ("会员可以享受免费维修。", "会员享受免费维修。"),
    ("保修期内免费维修，过保按价目收费。", "过保维修收费。"),
    ("Shipping is free on orders of ¥99 or more.", "Orders of ¥99 or more ship free."),
    ("Feel free to contact us; repairs are charged.", "Repairs are charged."),
    ("Orders paid before 16:00 ship the same day.", "Orders paid before 16:00 ship today."),
]  # fmt: skip


@pytest.mark.parametrize(("a", "b", "kind", "first", "second"), CONTRADICTING)
def test_answers_that_contradict_each_other(
    a: str, b: str, kind: str, first: str, second: str
) -> None:
    assert contradiction(a, b) == Difference(kind, first, second)  # type: ignore[arg-type]
    assert contradiction(b, a) == Difference(kind, second, first)  # type: ignore[arg-type]


@pytest.mark.parametrize(("a", "b"), AGREEING)
def test_answers_that_agree_or_only_add_a_case(a: str, b: str) -> None:
    assert contradiction(a, b) is None


def test_a_generic_verb_at_the_end_is_read_to_the_end() -> None:
    # Found by the properties: 申请 wants four characters, and the text ended after two.
    assert contradiction("可以申请", "退货") is None
    assert contradiction("可以申请", "无法申请") == Difference("permission", "可以申请", "无法申请")


@pytest.mark.parametrize(
    "text", ["9" * 30, "1 " * 2500, "1到" * 2500, "需要" * 2500 + "x", "您" * 5000]
)
def test_long_runs_are_read_in_linear_time(text: str) -> None:
    # Found by the properties: 30 digits took seconds (a range's separators were optional).
    started = time.perf_counter()
    assert contradiction(text, "1/0") is None
    assert time.perf_counter() - started < 0.5


def test_a_payer_slot_naming_both_sides_holds_both() -> None:
    found = claims("运费由商家和您各承担一半。")
    assert set(found[(0, "")]) == {"customer", "company"}


# Texts built from the phrases the detector reads (and neutral ones), so the properties
# exercise it rather than random characters it ignores.
FRAGMENTS = [
    "退货", "运费", "由您承担", "由云舟承担", "我们承担", "您需要支付", "无需您承担", "可以",
    "不可以", "不能", "无法", "支持", "不支持", "申请", "换货", "退款", "免费", "收费", "维修",
    "7 天", "7 个工作日", "3–5 天", "15 天内", "质量问题", "会员", "可能", "功能", "到账",
    "you pay", "we cover", "can", "cannot", "can't", "is", "is not", "free", "charged",
    "5 days", "5 business days", "the refund", "return", "shipping", "at your expense",
]  # fmt: skip
SEPARATORS = ["", " ", "  ", "，", "。", ", ", "; ", "\n", "、", "！"]
answers = st.lists(
    st.tuples(st.sampled_from(FRAGMENTS), st.sampled_from(SEPARATORS)), min_size=1, max_size=10
)


def joined(parts: list[tuple[str, str]]) -> str:
    # A Latin word never runs into the next: that would be another word, not another spacing.
    text = ""
    for fragment, separator in parts:
        if text and _latin_end(text) and _latin_start(fragment):
            separator = separator or " "
        text += fragment + separator
    return text


def _latin_end(text: str) -> bool:
    return re.search(r"[a-z0-9']$", text) is not None


def _latin_start(text: str) -> bool:
    return re.match(r"[a-z0-9]", text) is not None


@given(answers, answers)
def test_symmetric(a: list[tuple[str, str]], b: list[tuple[str, str]]) -> None:
    there, back = contradiction(joined(a), joined(b)), contradiction(joined(b), joined(a))
    if there is None:
        assert back is None
    else:
        assert back == Difference(there.kind, there.second, there.first)


@given(answers)
def test_an_answer_never_contradicts_itself(a: list[tuple[str, str]]) -> None:
    assert contradiction(joined(a), joined(a)) is None


@given(answers, st.lists(st.sampled_from(SEPARATORS), min_size=10, max_size=10), st.booleans())
def test_spacing_punctuation_and_script_never_contradict(
    a: list[tuple[str, str]], separators: list[str], traditional: bool
) -> None:
    respaced = joined([(fragment, s) for (fragment, _), s in zip(a, separators, strict=False)])
    if traditional:
        respaced = convert(respaced, "zh-Hant")
    assert contradiction(joined(a), respaced) is None


@given(st.text(max_size=60), st.text(max_size=60))
def test_any_text_is_read_without_error_and_symmetrically(a: str, b: str) -> None:
    there, back = contradiction(a, b), contradiction(b, a)
    assert (there is None) == (back is None)
    assert contradiction(a, a) is None
