"""Pasted chats become turns: labels in three scripts, continuation lines, plain text."""

from __future__ import annotations

import pytest

from kb.assist.conversation import Turn
from kb.assist.transcript import parse_transcript

C, A = "customer", "agent"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("客户：我的订单还没发货\n客服：您好，我帮您查一下\n客户：那运费谁出？",
         [(C, "我的订单还没发货"), (A, "您好，我帮您查一下"), (C, "那运费谁出？")]),
        ("客戶：掃地機器人的保固是多久？\n客服：整機保固一年。\n客戶：那電池呢？",
         [(C, "掃地機器人的保固是多久？"), (A, "整機保固一年。"), (C, "那電池呢？")]),
        ("顾客:在吗\n坐席:在的\n顾客:怎么退货", [(C, "在吗"), (A, "在的"), (C, "怎么退货")]),
        ("顧客：我要退款\n座席：好的", [(C, "我要退款"), (A, "好的")]),
        ("Customer: Hi\nAgent: Hello, how can I help?\ncustomer: what about the battery?",
         [(C, "Hi"), (A, "Hello, how can I help?"), (C, "what about the battery?")]),
        ("USER: refund please\nSupport: sure", [(C, "refund please"), (A, "sure")]),
        # Names and time stamps around the label, as chat tools export them.
        ("[10:02] 客服（小王）：您好\n10:03:15 客户：快递到哪了", [(A, "您好"), (C, "快递到哪了")]),
        ("Agent [Tom]: Hi there\nCustomer (Ann): my order is late",
         [(A, "Hi there"), (C, "my order is late")]),
        # A message over several lines stays one turn; blank lines inside it are kept as breaks.
        ("客户：我上周买的净化器\n滤网坏了\n\n怎么办？\n客服：请提供订单号",
         [(C, "我上周买的净化器\n滤网坏了\n\n怎么办？"), (A, "请提供订单号")]),
        # Plain text, no labels: the customer's words.
        ("我的订单三天了还没发货，我要退款", [(C, "我的订单三天了还没发货，我要退款")]),
        ("  line one\nline two  ", [(C, "line one\nline two")]),
        # Text above the first label is the customer's.
        ("电池鼓包了\n客服：请停止使用", [(C, "电池鼓包了"), (A, "请停止使用")]),
        # Prose with a colon is not a speaker label.
        ("Customer service hours: 9-18?\nusername: abc",
         [(C, "Customer service hours: 9-18?\nusername: abc")]),
        ("客户的订单号：A123 什么时候发货", [(C, "客户的订单号：A123 什么时候发货")]),
        # A label with nothing after it takes the next lines; an empty one disappears.
        ("客户：\n我要投诉\n客服：\n客户：在吗", [(C, "我要投诉"), (C, "在吗")]),
        ("", []),
        ("   \n\n", []),
    ],
)  # fmt: skip
def test_parse_transcript(text: str, expected: list[tuple[str, str]]) -> None:
    assert parse_transcript(text) == [Turn(role=r, text=t) for r, t in expected]  # type: ignore[arg-type]
