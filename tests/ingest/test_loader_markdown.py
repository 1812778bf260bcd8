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


# Lines of real manuals as their authors type them, and the text a reader sees. Where the two are
# equal the line holds no markup and every loader must keep it as written; the others are
# markup (escapes, code, emphasis, links, entities, HTML) that Markdown renders.
MANUAL_LINES = [
    ("机身尺寸 600*580*820 毫米", "机身尺寸 600*580*820 毫米"),
    ("机身尺寸 600*580*820mm，重量 3.2 kg", "机身尺寸 600*580*820mm，重量 3.2 kg"),
    ("8*8=64，2*4 寸的滤网各一片", "8*8=64，2*4 寸的滤网各一片"),
    ("功率 P = U*I，面积 = 长 * 宽", "功率 P = U*I，面积 = 长 * 宽"),
    ("套装含 X1*2 与 边刷*4", "套装含 X1*2 与 边刷*4"),
    ("2**10 = 1024 个地图点", "2**10 = 1024 个地图点"),
    ("续航约 120 分钟*，噪音 ≤ 65 dB**", "续航约 120 分钟*，噪音 ≤ 65 dB**"),
    ("*以上数据为实验室测得，以实际使用为准。", "*以上数据为实验室测得，以实际使用为准。"),
    ("型号 YZ_S2_PRO 与 YZ_S2 的滤网通用", "型号 YZ_S2_PRO 与 YZ_S2 的滤网通用"),
    ("固件 yz_x1_fw_2.3.bin，日志 err_log_01", "固件 yz_x1_fw_2.3.bin，日志 err_log_01"),
    ("路径 C:\\Program Files\\YunZhou\\app.exe", "路径 C:\\Program Files\\YunZhou\\app.exe"),
    ("机身尺寸 600\\*580\\*820 毫米", "机身尺寸 600*580*820 毫米"),
    ("\\*以上数据为实验室测得", "*以上数据为实验室测得"),
    ("型号 YZ\\_S2\\_PRO", "型号 YZ_S2_PRO"),
    ("请使用 `YZ_S2_PRO` 专用滤网", "请使用 YZ_S2_PRO 专用滤网"),
    ("**注意**：清洁前请关闭电源。", "注意：清洁前请关闭电源。"),
    ("请**务必**拔掉电源，*勿*用水冲洗", "请务必拔掉电源，勿用水冲洗"),
    ("***警告***：电池过热时立即停止使用", "警告：电池过热时立即停止使用"),
    ("_Note:_ keep the *dock* on a flat floor", "Note: keep the dock on a flat floor"),
    ("工作温度 0&deg;C&ndash;40&deg;C，湿度 &lt; 85%", "工作温度 0°C–40°C，湿度 < 85%"),
    ("详见[保修政策](https://example.com/w)与![充电座](dock.png)", "详见保修政策与充电座"),
    ("邮箱 <help@example.com>，官网 <https://a.cn>", "邮箱 help@example.com，官网 https://a.cn"),
    ("按 <kbd>OK</kbd> 键<br>确认", "按 OK 键 确认"),
    ("长按 <Enter> 或 <OK> 键三秒", "长按 <Enter> 或 <OK> 键三秒"),
]  # fmt: skip


def _texts(filename: str, text: str) -> list[str]:
    return [b.text for b in load_document(filename, text.encode()).blocks]


@pytest.mark.parametrize(("source", "plain"), MANUAL_LINES)
def test_markdown_keeps_what_plain_text_keeps(source: str, plain: str) -> None:
    """As a paragraph, a list item, a heading and a table cell, Markdown gives the plain line,
    and the plain line as text or as a CSV FAQ answer is kept as written."""
    assert _texts("manual.md", source) == [plain]
    assert _texts("manual.md", f"- {source}") == [plain]
    assert _texts("manual.md", f"## {source}") == [plain]
    assert _texts("manual.md", f"| 说明 |\n|---|\n| {source} |") == [f"说明: {plain}"]
    assert _texts("manual.txt", plain) == [plain]
    quoted = plain.replace('"', '""')
    assert _texts("faq.csv", f'question,answer\n规格是多少,"{quoted}"\n') == [plain]
