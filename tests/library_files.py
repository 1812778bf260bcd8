"""A small library the console, analytics and state tests share: FAQ, replies, rules, golden set.

Imported by name (``from library_files import ...``): pytest puts ``tests/`` on the path for the
conftest beside this file.
"""

from __future__ import annotations

FAQ = (
    "问题,答案\n退货运费谁出？,非质量问题退货由顾客承担运费。\n"
    "发什么快递？,默认顺丰，满99元包邮。\n保修多久？,整机保修一年，电池保修两年。\n"
).encode()

_REPLIES = {
    "shipping-info": """
  - id: shipping-info
    title: 快递说明
    body: "{name}您好，我们默认发顺丰。"
    tags: [物流]
    applies_to: [发什么快递]
""",
    "refund-ok": """
  - id: refund-ok
    title: 退款受理
    body: "{name}您好，订单 {order_id} 的退款已受理。"
    tags: [退款, 售后]
    variables: {order_id: 订单编号}
    applies_to: [我要退款, 退货运费谁出]
""",
    "return-en": """
  - id: return-en
    title: Return shipping
    body: "Hello {name}, the return shipping is paid by you."
    tags: [售后]
""",
    "thanks": """
  - id: thanks
    title: 致谢
    body: "感谢您的耐心等待。"
""",
}


def replies(*ids: str) -> str:
    """A replies file with the named replies, in that order."""
    return "version: 1\nreplies:" + "".join(_REPLIES[i] for i in ids)


RULES = """version: 1
rules:
  - id: complaint
    name: 投诉
    priority: 10
    when:
      keywords: [投诉]
    then:
      level: tier2
      team: billing
      steps: [记录诉求, 转交主管]
"""
# RULES with a second rule whose level is unknown (line 17).
BROKEN_RULES = (
    RULES
    + """  - id: broken
    name: 坏规则
    when:
      keywords: [退款]
    then:
      level: tier9
      steps: [x]
"""
)

# A golden set in the format of ../shared/bench/data: q3 names one passage (p9) the corpus lacks.
CORPUS = "\n".join(
    [
        '{"id": "p1", "title": "运费", "text": "非质量问题退货由顾客承担运费。"}',
        '{"id": "p2", "title": "快递", "text": "默认使用顺丰快递发货，满99元包邮。"}',
        '{"id": "p3", "title": "保修", "text": "整机保修一年，电池保修两年。"}',
        '{"id": "p4", "title": "发票", "text": "下单后可在订单页申请电子发票。"}',
    ]
).encode()
QUERIES = "\n".join(
    [
        '{"id": "q1", "query": "退货的运费由谁承担", "relevant_ids": ["p1"]}',
        '{"id": "q2", "query": "用什么快递发货", "relevant_ids": ["p2"]}',
        '{"id": "q3", "query": "电池保修几年", "relevant_ids": ["p3", "p9"]}',
    ]
).encode()
# Broken golden sets: (corpus, queries, the field at fault, what its message says).
GOLDEN_ERRORS = [
    (b"", QUERIES, "corpus", "corpus.jsonl is empty"),
    (CORPUS + b"\n{oops", QUERIES, "corpus", "corpus.jsonl line 5: invalid JSON"),
    (CORPUS + b'\n{"id": "p1", "text": "x"}', QUERIES, "corpus", "line 5: id 'p1' is used"),
    (b'{"id": "p1", "text": ""}', QUERIES, "corpus", "line 1: 'text' must be non-empty"),
    (b"[1, 2]", QUERIES, "corpus", "line 1: expected a JSON object"),
    (CORPUS, b'\n\n{"id": "q", "query": "x"}', "queries", "queries.jsonl line 3: 'relevant"),
    (CORPUS, b'{"id": "q", "relevant_ids": ["p1"]}', "queries", "line 1: 'query' must"),
    (CORPUS, b"\xff\xfe", "queries", "queries.jsonl line 1: not UTF-8"),
]
