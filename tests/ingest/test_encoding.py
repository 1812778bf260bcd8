"""decode_text: UTF-8/16 with and without BOM, GBK/GB18030 and Big5 twins of UTF-8 text."""

from __future__ import annotations

import codecs

import pytest

from ingest.encoding import DecodeError, decode_text
from ingest.loaders import load_document

SIMPLIFIED = (
    "尊敬的客户您好，您的订单已经发货，预计三天内送达。如果在签收后发现商品有质量问题，"
    "请在七天内联系在线客服申请退换货，我们会在一个工作日内为您处理。\n"
    "退款将按原支付方式退回，银行卡一般需要三到五个工作日到账。"
)
TRADITIONAL = (
    "親愛的顧客您好，您購買的軟體授權已經開通，請於七日內完成帳號啟用。若在使用過程中遇到"
    "任何問題，歡迎透過客服專線或線上表單與我們聯絡，我們將盡快為您處理。\n"
    "保固期間內，非人為損壞的硬體可以免費維修或更換零件。"
)
SHORT = ["退款", "您好", "订单号", "怎么退货？", "發票", "保固期", "軟體授權", "中文"]


@pytest.mark.parametrize(
    ("text", "encoding", "expected_encoding"),
    [
        pytest.param(SIMPLIFIED, "gbk", "gb18030", id="gbk-paragraph"),
        pytest.param(SIMPLIFIED, "gb18030", "gb18030", id="gb18030-paragraph"),
        pytest.param(TRADITIONAL, "big5", "big5", id="big5-paragraph"),
        pytest.param(TRADITIONAL, "gbk", "gb18030", id="traditional-text-in-gbk"),
        pytest.param(SIMPLIFIED, "utf-8", "utf-8", id="utf-8"),
        pytest.param(SIMPLIFIED, "utf-8-sig", "utf-8-sig", id="utf-8-bom"),
        pytest.param(TRADITIONAL, "utf-16", "utf-16-le", id="utf-16-bom"),
        pytest.param("Hello 客服 world", "utf-16-le", "utf-16-le", id="utf-16-le-no-bom"),
        pytest.param("Hello 客服 world", "utf-16-be", "utf-16-be", id="utf-16-be-no-bom"),
        *[pytest.param(s, "gbk", "gb18030", id=f"short-gbk-{s}") for s in SHORT[:4]],
        *[pytest.param(s, "big5", "big5", id=f"short-big5-{s}") for s in SHORT[4:]],
    ],
)
def test_decode_twins(text: str, encoding: str, expected_encoding: str) -> None:
    assert decode_text(text.encode(encoding)) == (text, expected_encoding)


def test_utf_16_be_bom() -> None:
    data = codecs.BOM_UTF16_BE + TRADITIONAL.encode("utf-16-be")
    assert decode_text(data) == (TRADITIONAL, "utf-16-be")


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"line one\r\nline two\rline three\n", "line one\nline two\nline three\n"),
        (b"a\x00b\x00", "ab"),
        (b"", ""),
        ("签收后".encode() + "七".encode()[:2], "签收后"),  # cut mid-character at the end
    ],
)
def test_normalisation(data: bytes, expected: str) -> None:
    assert decode_text(data)[0] == expected


def test_binary_is_refused() -> None:
    with pytest.raises(DecodeError):
        decode_text(bytes(range(256)) * 8)


@pytest.mark.parametrize("encoding", ["gbk", "big5", "utf-16", "utf-8-sig"])
def test_text_files_ingest_like_their_utf8_twin(encoding: str) -> None:
    text = TRADITIONAL if encoding == "big5" else SIMPLIFIED
    twin = load_document("twin.txt", text.encode("utf-8"))
    doc = load_document("file.txt", text.encode(encoding))
    assert [b.text for b in doc.blocks] == [b.text for b in twin.blocks]
    assert len(doc.blocks) == 2


def test_undecodable_text_file_is_an_ingest_error() -> None:
    from ingest.model import IngestError

    with pytest.raises(IngestError, match="cannot decode"):
        load_document("noise.txt", bytes(range(256)) * 8)
