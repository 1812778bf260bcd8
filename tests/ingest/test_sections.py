"""Heading detection in plain paragraphs and heading paths."""

from __future__ import annotations

import pytest

from ingest.model import Block
from ingest.sections import assign_sections, detect_headings, heading_rank


@pytest.mark.parametrize(
    ("text", "rank"),
    [
        ("第一部分 总则", 1),
        ("第3章 退货政策", 2),
        ("第十二章：售后", 2),
        ("Chapter 4 Refunds", 2),
        ("第二节 退款时效", 3),
        ("一、背景介绍", 4),
        ("（三）投诉升级", 5),
        ("(二)话术示例", 5),
        ("1、深入业务知识", 6),
        ("1. 登录后台", 6),
        ("2．查询订单", 6),
        ("1.2 退款时效", 7),
        ("1.2.3 特殊商品", 8),
        ("(1)明确团队目标", 10),
        ("（2）定期会议", 10),
        ("2024年起实施", None),
        ("3.5倍积分", 7),  # shape alone says heading; length and context decide later
        ("VIP客户专线", None),
        ("第1頁", None),
    ],
)
def test_heading_rank(text: str, rank: int | None) -> None:
    assert heading_rank(text) == rank


def _detect(texts: list[str]) -> list[tuple[str, int]]:
    """(kind initial, level) per block: ('h', 2) or ('p', 0)."""
    return [(b.kind[0], b.level) for b in detect_headings([Block(t) for t in texts])]


BODY = "退款申请提交后，财务会在三个工作日内审核。"


@pytest.mark.parametrize(
    ("texts", "expected"),
    [
        (  # levels follow the numbering convention, compressed to the styles used
            ["第1章 总则", "1.1 适用范围", BODY, "1.2 名词解释", BODY],
            [("h", 1), ("h", 2), ("p", 0), ("h", 2), ("p", 0)],
        ),
        (
            ["一、强化培训", "（一）产品知识", "1、深入业务知识：", BODY, "(1)每周考核", BODY],
            [("h", 1), ("h", 2), ("h", 3), ("p", 0), ("h", 4), ("p", 0)],
        ),
        (  # a numbered sentence is a list item, not a heading
            ["1. 客服人员需在收到投诉后二十四小时内联系客户，并记录处理结果。", BODY],
            [("p", 0), ("p", 0)],
        ),
        (  # consecutive short numbered lines are steps of a list
            ["操作步骤", "1. 打开订单", "2. 点击退款", "3. 填写原因", BODY],
            [("p", 0), ("p", 0), ("p", 0), ("p", 0), ("p", 0)],
        ),
        (  # a heading needs content after it
            [BODY, "二、结语"],
            [("p", 0), ("p", 0)],
        ),
        (  # too long for a title
            ["一、" + "很长的标题" * 10, BODY],
            [("p", 0), ("p", 0)],
        ),
        (
            ["Chapter 2 Returns", "Customers may return items within 30 days. See below."],
            [("h", 1), ("p", 0)],
        ),
        (
            ["1. Returns policy", "Customers may return items within 30 days."],
            [("h", 1), ("p", 0)],
        ),
    ],
)
def test_detect_headings(texts: list[str], expected: list[tuple[str, int]]) -> None:
    assert _detect(texts) == expected


def test_detected_heading_text_drops_trailing_colon() -> None:
    out = detect_headings([Block("1、深入业务知识："), Block(BODY)])
    assert out[0].text == "1、深入业务知识"


def test_detected_levels_nest_under_loader_headings() -> None:
    blocks = [
        Block("退货手册", kind="heading", level=1),
        Block("售后政策", kind="heading", level=2),
        Block("一、退款", kind="paragraph"),
        Block(BODY),
        Block("常见问题", kind="heading", level=2),
        Block(BODY),
    ]
    out = detect_headings(blocks)
    assert [(b.kind, b.level) for b in out][:3] == [("heading", 1), ("heading", 2), ("heading", 3)]
    paths = [path for path, _ in assign_sections(out)]
    assert paths == [
        ("退货手册",),
        ("退货手册", "售后政策"),
        ("退货手册", "售后政策", "一、退款"),
        ("退货手册", "售后政策", "一、退款"),
        ("退货手册", "常见问题"),
        ("退货手册", "常见问题"),
    ]


def test_list_items_are_never_promoted() -> None:
    out = detect_headings([Block("1. 打开订单", kind="list_item"), Block(BODY)])
    assert out[0].kind == "list_item"


def test_assign_sections_pops_to_the_right_level() -> None:
    blocks = detect_headings(
        [Block(t) for t in ["第1章 总则", "1.1 范围", BODY, "第2章 退货", BODY, "2.1 时限", BODY]]
    )
    paths = [(path, b.text) for path, b in assign_sections(blocks) if b.kind != "heading"]
    assert paths == [
        (("第1章 总则", "1.1 范围"), BODY),
        (("第2章 退货",), BODY),
        (("第2章 退货", "2.1 时限"), BODY),
    ]


def test_text_before_any_heading_has_empty_path() -> None:
    assert assign_sections([Block(BODY)]) == [((), Block(BODY))]
