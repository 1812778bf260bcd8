"""Text loader: blank-line paragraphs, one block per line for copied web text, wrap joining."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.loaders import load_document

SAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "samples" / "messy"

WRAPPED = (
    "Our support team answers e-mails within one working day. Urgent\n"
    "issues, such as a payment taken twice, are handled by phone and\n"
    "should be escalated to the billing team at once.\n"
    "\n"
    "Opening hours\n"
    "Monday to Friday, nine to six. Closed on public holidays in the\n"
    "country of the customer's contract.\n"
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            WRAPPED,
            [
                "Our support team answers e-mails within one working day. Urgent issues, such as "
                "a payment taken twice, are handled by phone and should be escalated to the "
                "billing team at once.",
                "Opening hours",
                "Monday to Friday, nine to six. Closed on public holidays in the country of the "
                "customer's contract.",
            ],
            id="blank-line-paragraphs-with-heading-line",
        ),
        pytest.param(
            "第一章 售后服务\n一、退货政策\n签收后七天内可申请退货，商品需保持完好。\n"
            "1、退款时效\n退款三个工作日内原路返回\n二、换货政策\n",
            [
                "第一章 售后服务",
                "一、退货政策",
                "签收后七天内可申请退货，商品需保持完好。",
                "1、退款时效",
                "退款三个工作日内原路返回",
                "二、换货政策",
            ],
            id="no-blank-lines-one-block-per-line",
        ),
        pytest.param(
            "云舟 Air 空气净化器 使用说明书\n适用型号：YZ-A2\n\n"
            "使用前请仔细阅读本说明书，并妥善保存。\n\n"
            "第一章 产品概述\n\n一台净化器就能覆盖客厅与卧室，机身内置激光传感器，能根据空气质量"
            "自动调节风速，适用面积为三十五到六十平方米。\n",
            [
                "云舟 Air 空气净化器 使用说明书",
                "适用型号：YZ-A2",
                "使用前请仔细阅读本说明书，并妥善保存。",
                "第一章 产品概述",
                "一台净化器就能覆盖客厅与卧室，机身内置激光传感器，能根据空气质量自动调节风速，"
                "适用面积为三十五到六十平方米。",
            ],
            # A two-line paragraph's first line is its widest: it is not "full" for that alone.
            id="title-over-model-line-stays-two-blocks",
        ),
        pytest.param(
            "\u3000\u3000段落缩进的第一段。\r\n\r\n\u3000\u3000第二段。\r\n",
            ["段落缩进的第一段。", "第二段。"],
            id="crlf-and-full-width-indent",
        ),
        pytest.param(
            "这是一段被硬换行的中文文本，每一行的长度几乎完全相同，因为它是\n"
            "从固定宽度的排版里复制出来的，所以这些行应该被重新连接成一个完\n"
            "整的段落，而不是被当作许多个独立的块来处理，否则句子会被拆散。\n"
            "这一行也来自同样的排版，长度与上面的行几乎一模一样，只是为了凑\n"
            "足行数。\n",
            [
                "这是一段被硬换行的中文文本，每一行的长度几乎完全相同，因为它是"
                "从固定宽度的排版里复制出来的，所以这些行应该被重新连接成一个完"
                "整的段落，而不是被当作许多个独立的块来处理，否则句子会被拆散。",
                "这一行也来自同样的排版，长度与上面的行几乎一模一样，只是为了凑足行数。",
            ],
            id="hard-wrapped-cjk-without-blank-lines",
        ),
    ],
)
def test_text_blocks(text: str, expected: list[str]) -> None:
    doc = load_document("notes.txt", text.encode("utf-8"))
    assert doc.format == "text"
    assert [b.text for b in doc.blocks] == expected
    assert {b.kind for b in doc.blocks} == {"paragraph"}


def test_messy_web_copy_keeps_every_line() -> None:
    data = (SAMPLES / "cs-problem-solving-article.txt").read_bytes()
    lines = [line.strip() for line in data.decode("utf-8").splitlines() if line.strip()]
    doc = load_document("article.txt", data)
    assert [b.text for b in doc.blocks] == lines
    assert "一、強化專業知識與技能培訓" in lines
