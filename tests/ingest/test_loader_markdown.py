"""Markdown loader: headings with levels, lists, tables, soft-wrapped paragraphs, code."""

from __future__ import annotations

import pytest

from ingest.loaders import load_document

GUIDE = """---
title: 售后手册
author: team
---
# 退换货

签收后七天内可以申请
无理由退货。
Refunds go back to the
original payment method.

## 退款时效
- 银行卡：**3-5** 个工作日
- 余额：[即时到账](https://example.com)
  （节假日顺延）
1. 打开订单
2) 点击 `申请退款`

| 方式 | 时效 |
|------|:----:|
| 原路退回 | 三天 |
| 余额 | 即时 |

```
curl -X POST /refund
```

Setext heading
--------------

> 引用的提示文字
<!-- hidden note -->
***
"""


def test_markdown_guide() -> None:
    doc = load_document("guide.md", GUIDE.encode())
    assert doc.format == "markdown"
    assert doc.title == "售后手册"
    assert [(b.kind, b.text, b.level) for b in doc.blocks] == [
        ("heading", "退换货", 1),
        (
            "paragraph",
            "签收后七天内可以申请无理由退货。Refunds go back to the original payment method.",
            0,
        ),
        ("heading", "退款时效", 2),
        ("list_item", "银行卡：3-5 个工作日", 0),
        ("list_item", "余额：即时到账（节假日顺延）", 0),
        ("list_item", "打开订单", 0),
        ("list_item", "点击 申请退款", 0),
        ("table_row", "方式: 原路退回; 时效: 三天", 0),
        ("table_row", "方式: 余额; 时效: 即时", 0),
        ("paragraph", "curl -X POST /refund", 0),
        ("heading", "Setext heading", 2),
        ("paragraph", "引用的提示文字", 0),
    ]


@pytest.mark.parametrize(
    ("source", "title"),
    [
        ("# Warranty\n\ntext", "Warranty"),
        ("Intro text\n\n## Details\n", "Details"),
        ("just text", None),
    ],
)
def test_markdown_title(source: str, title: str | None) -> None:
    assert load_document("x.md", source.encode()).title == title


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("### Deep ###\n", [("heading", "Deep", 3)]),
        ("#not a heading\n", [("paragraph", "#not a heading", 0)]),
        ("- [x] done task\n", [("list_item", "done task", 0)]),
        ("```python\nif x:\n    y()\n```\n", [("paragraph", "if x:\n    y()", 0)]),
        ("![logo](a.png) ~~old~~ *new*\n", [("paragraph", "logo old new", 0)]),
    ],
)
def test_markdown_snippets(source: str, expected: list[tuple[str, str, int]]) -> None:
    blocks = load_document("s.markdown", source.encode()).blocks
    assert [(b.kind, b.text, b.level) for b in blocks] == expected
