"""The whole path from bytes to chunks, through the real loaders."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ingest.chunking import split_sentences
from ingest.model import IngestError
from ingest.pipeline import file_stem, parse_file

SENTENCE_END = re.compile(r"[。！？；…!?;.][”’」』）)\"']*$")

REFUND = (
    "客户申请退款后，系统会自动校验订单状态。已发货的订单需要先完成退货。"
    "退款金额按原支付方式退回，银行卡一般需要三到五个工作日到账。"
    "如果客户使用了优惠券，优惠券按比例退回账户，过期的优惠券不予补发。"
    "客服应提醒客户保留物流单号，以便财务核对。"
)

TEXT_MANUAL = f"""售后服务手册

第1章 总则

本手册适用于所有线上渠道的售后咨询。客服人员应在回复前核实客户身份。

1.1 适用范围

适用于商城、小程序和App内的订单。线下门店订单请转门店处理。

1.2 服务时间

人工客服每天9:00至21:00在线，其余时间由智能客服接待。

第2章 退款

2.1 退款流程

{REFUND * 3}

2.2 退款时效

原路退回一般需要1至3个工作日。节假日顺延。
"""

MARKDOWN_MANUAL = f"""# 售后服务手册

## 第1章 总则

本手册适用于所有线上渠道的售后咨询。客服人员应在回复前核实客户身份。

### 1.1 适用范围

适用于商城、小程序和 App 内的订单。

## 第2章 退款

### 2.1 退款流程

{REFUND * 3}

### 2.2 退款时效

原路退回一般需要1至3个工作日。
"""


@pytest.mark.parametrize(
    ("filename", "text", "title", "root"),
    [
        ("售后手册.txt", TEXT_MANUAL, "售后服务手册", ()),
        ("manual.md", MARKDOWN_MANUAL, "售后服务手册", ("售后服务手册",)),
    ],
)
def test_manual_heading_paths_and_sentence_boundaries(
    filename: str, text: str, title: str, root: tuple[str, ...]
) -> None:
    parsed = parse_file(filename, text.encode("utf-8"), max_chars=120)
    assert parsed.title == title
    paths = {c.heading_path for c in parsed.chunks}
    assert (*root, "第1章 总则", "1.1 适用范围") in paths
    assert (*root, "第2章 退款", "2.1 退款流程") in paths
    assert (*root, "第2章 退款", "2.2 退款时效") in paths
    refund_chunks = [
        c for c in parsed.chunks if c.heading_path == (*root, "第2章 退款", "2.1 退款流程")
    ]
    assert len(refund_chunks) >= 3  # the long section is cut...
    for chunk in parsed.chunks:  # ...only at sentence ends, within the limit
        assert len(chunk.text) <= 120 + 24, chunk.text
        assert SENTENCE_END.search(chunk.text), chunk.text
        assert not chunk.text.startswith(
            ("第1章", "1.1", "第2章", "2.1")
        )  # titles live in the path
    all_text = "".join(c.text for c in parsed.chunks)
    for sentence in split_sentences(REFUND):
        assert sentence in all_text
    assert [c.ordinal for c in parsed.chunks] == list(range(len(parsed.chunks)))


def test_same_bytes_give_same_chunks() -> None:
    data = TEXT_MANUAL.encode("gb18030")
    first = parse_file("manual.txt", data)
    assert first.encoding is not None
    assert parse_file("manual.txt", data) == first


def test_messy_web_copy_is_cleaned_on_the_way() -> None:
    text = (
        "首页 > 帮助中心 > 退款说明\n"
        "退款(kuǎn)說(shuō)明\n"
        "第一章 退款規則\n"
        "客戶申請退款後，財務會在三個工作日內審核。審核通過後原路退回。\n"
        "相關文檔\n- 換貨流程\n- 發票說明\n"
        "版權說明：本文檔由用戶上傳，如有侵權請聯繫本站刪除\n"
    )
    parsed = parse_file("web.txt", text.encode("utf-8"))
    assert [(c.text, c.heading_path) for c in parsed.chunks] == [
        ("客戶申請退款後，財務會在三個工作日內審核。審核通過後原路退回。", ("第一章 退款規則",))
    ]
    assert parsed.title == "退款說明"


def test_faq_sheet_keeps_one_chunk_per_row() -> None:
    answer = "您好，退款会在审核通过后原路退回，" * 30 + "请耐心等待。"
    csv = f"问题,答案\n怎么退款？,{answer}\n相关文档,本站不提供下载。\n"
    parsed = parse_file("faq.csv", csv.encode("utf-8"))
    assert parsed.format == "faq"
    assert [(c.kind, c.question, c.text) for c in parsed.chunks] == [
        ("faq", "怎么退款？", answer),
        ("faq", "相关文档", "本站不提供下载。"),  # curated rows are not web-cleaned
    ]


@pytest.mark.parametrize(
    ("size", "limit", "message"),
    [
        (21_001_000, 20_000_000, "file is 21,001,000 bytes, over the 20,000,000-byte limit"),
        (1_500, 1_000, "file is 1,500 bytes, over the 1,000-byte limit"),
    ],
)
def test_size_limit(size: int, limit: int, message: str) -> None:
    with pytest.raises(IngestError) as err:
        parse_file("big.txt", b"a" * size, max_bytes=limit)
    assert err.value.filename == "big.txt"
    assert err.value.reason == message


def test_nothing_left_after_cleaning() -> None:
    text = "首页 > 文档 > 下载\n相关文档\n- 一\n- 二\n版权所有 © 2024\n"
    with pytest.raises(IngestError) as err:
        parse_file("empty.txt", text.encode("utf-8"))
    assert err.value.reason == "no text found after cleaning"


@pytest.mark.parametrize(
    ("filename", "stem"),
    [
        ("退款手册.pdf", "退款手册"),
        ("C:\\Users\\kb\\manual.v2.docx", "manual.v2"),
        ("../../etc/passwd", "passwd"),
        (".profile", ".profile"),
        ("", "untitled"),
    ],
)
def test_file_stem(filename: str, stem: str) -> None:
    assert file_stem(filename) == stem


@pytest.mark.parametrize(
    ("text", "title"),
    [
        ("退款须在七天内申请。", "退款须知"),  # no title in the text: the file name
        ("第一章 退款\n退款须在七天内申请。", "第一章 退款"),  # the first heading
        ("退款须知（2024版）\n退款须在七天内申请。", "退款须知（2024版）"),  # a title line
        ("只有一行标题", "退款须知"),  # a lone line is content, kept as a chunk
    ],
)
def test_title(text: str, title: str) -> None:
    parsed = parse_file("退款须知.txt", text.encode())
    assert parsed.title == title
    assert parsed.chunks


MESSY = Path(__file__).resolve().parents[2].parent / "shared" / "samples" / "messy"
PINYIN_LEFT = re.compile(r"[(（]\s*[a-zü]*[āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜ][a-zü]*\s*[)）]")


@pytest.mark.parametrize(
    ("name", "title", "absent"),
    [
        (
            "cs-problem-solving-article.txt",
            "客服解決問題能力的培養:構建高效服務團隊的基石",
            "2024-12-30",
        ),
        ("cs-team-guide-ch4.txt", "1、网络客服团队的组建与培训", "仙逆TXT"),
        ("ecommerce-cs-training-doc.txt", "ecommerce-cs-training-doc", "本站"),
    ],
)
def test_messy_samples_through_the_real_loader(name: str, title: str, absent: str) -> None:
    parsed = parse_file(name, (MESSY / name).read_bytes())
    text = "\n".join(c.text for c in parsed.chunks)
    assert parsed.title == title
    assert absent not in text
    assert not PINYIN_LEFT.search(text)
    assert all(len(c.text) <= 350 + 70 for c in parsed.chunks)
