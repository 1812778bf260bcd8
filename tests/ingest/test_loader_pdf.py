"""PDF loader on PDFs drawn with reportlab: text layer, outline headings, running heads."""

from __future__ import annotations

import pytest
from loader_files import CJK_FONT, Heading, PdfSpec, pdf_bytes

from ingest.loaders import load_document
from ingest.model import Block, IngestError

REFUND = (
    "Customers may return any unopened item within thirty days of delivery for a full refund "
    "to the original payment method, provided that the receipt or order number is supplied."
)
EXCHANGE = (
    "Opened items can be exchanged for the same product in another size or colour, once, "
    "within fourteen days of delivery, when the original packaging is intact."
)
SHIPPING = (
    "Orders placed before three in the afternoon ship the same working day; orders placed "
    "later ship the next working day, and tracking numbers are sent by e-mail."
)
ZH_REFUND = (
    "订单发货后七天内，客户可以申请无理由退货退款，退款将在收到退回商品后三个工作日内"
    "原路退回到客户的支付账户中。"
)
ZH_INVOICE = (
    "如需开具增值税专用发票，请在下单时填写公司名称、纳税人识别号、注册地址和开户银行等"
    "完整信息，发票将随商品一同寄出。"
)
ZH_HANT = "軟體與硬體的保固期為一年，保固期內非人為損壞可免費維修或更換零件。"


def _first_half(data: bytes) -> bytes:
    return data[: len(data) // 2]


def _paragraphs(blocks: list[Block]) -> list[str]:
    return [b.text for b in blocks if b.kind == "paragraph"]


def _headings(blocks: list[Block]) -> list[tuple[str, int, int | None]]:
    return [(b.text, b.level, b.page) for b in blocks if b.kind == "heading"]


MANUAL = PdfSpec(
    pages=[
        [Heading("1 Returns"), Heading("1.1 Refunds", 2), REFUND, Heading("1.2 Exchanges", 2)],
        [EXCHANGE, Heading("2 Shipping"), SHIPPING],
        [Heading("3 Contact"), "Call us on weekdays between nine and five."],
    ],
    header="ACME Customer Handbook - Internal",
    page_numbers=True,
    title="ACME Customer Handbook",
)


def test_manual_reads_in_order_with_outline_headings_and_no_running_heads() -> None:
    doc = load_document("handbook.pdf", pdf_bytes(MANUAL))
    assert doc.format == "pdf"
    assert doc.title == "ACME Customer Handbook"
    assert [(b.kind, b.text, b.page) for b in doc.blocks] == [
        ("heading", "1 Returns", 1),
        ("heading", "1.1 Refunds", 1),
        ("paragraph", REFUND, 1),
        ("heading", "1.2 Exchanges", 1),
        ("paragraph", EXCHANGE, 2),
        ("heading", "2 Shipping", 2),
        ("paragraph", SHIPPING, 2),
        ("heading", "3 Contact", 3),
        ("paragraph", "Call us on weekdays between nine and five.", 3),
    ]
    assert [b.level for b in doc.blocks if b.kind == "heading"] == [1, 2, 2, 1, 1]
    text = " ".join(b.text for b in doc.blocks)
    assert "Internal" not in text and "Page" not in text


@pytest.mark.parametrize(
    ("spec", "expected_paragraphs", "expected_headings"),
    [
        pytest.param(
            PdfSpec(pages=[[Heading("第一章 退货政策"), ZH_REFUND, ZH_INVOICE]], font=CJK_FONT),
            [ZH_REFUND, ZH_INVOICE],
            [("第一章 退货政策", 1, 1)],
            id="simplified-cid-font",
        ),
        pytest.param(
            PdfSpec(
                pages=[[ZH_REFUND], [Heading("发票"), ZH_INVOICE], [ZH_REFUND]],
                font=CJK_FONT,
                header="云舟售后服务手册（内部资料）",
                page_numbers=True,
                footer="第 {n} 页 共 {total} 页",
            ),
            [ZH_REFUND, ZH_INVOICE, ZH_REFUND],
            [("发票", 1, 2)],
            id="chinese-running-header-and-page-footer",
        ),
        pytest.param(
            PdfSpec(pages=[[ZH_HANT]], font=CJK_FONT),
            [ZH_HANT],
            [],
            id="traditional-cid-font",
        ),
        pytest.param(
            PdfSpec(
                pages=[[Heading("Overview", printed=False, positioned=False), REFUND], [SHIPPING]]
            ),
            [REFUND, SHIPPING],
            [("Overview", 1, 1)],
            id="outline-title-not-printed-opens-page",
        ),
        pytest.param(
            PdfSpec(pages=[[REFUND, Heading("Later", printed=False), SHIPPING]]),
            [REFUND, SHIPPING],
            [("Later", 1, 1)],
            id="outline-position-without-printed-title",
        ),
        pytest.param(
            PdfSpec(pages=[[REFUND]], owner_only=True),
            [REFUND],
            [],
            id="owner-password-only-opens",
        ),
    ],
)
def test_pdf_cases(
    spec: PdfSpec,
    expected_paragraphs: list[str],
    expected_headings: list[tuple[str, int, int | None]],
) -> None:
    doc = load_document("doc.pdf", pdf_bytes(spec))
    assert _paragraphs(doc.blocks) == expected_paragraphs
    assert _headings(doc.blocks) == expected_headings


def test_positioned_outline_heading_lands_between_paragraphs() -> None:
    spec = PdfSpec(pages=[[REFUND, Heading("Later", printed=False), SHIPPING]])
    kinds = [b.kind for b in load_document("a.pdf", pdf_bytes(spec)).blocks]
    assert kinds == ["paragraph", "heading", "paragraph"]


def test_title_falls_back_to_first_heading() -> None:
    spec = PdfSpec(pages=[[Heading("Warranty terms"), REFUND]])
    assert load_document("w.pdf", pdf_bytes(spec)).title == "Warranty terms"


def test_short_lines_stay_separate_blocks() -> None:
    spec = PdfSpec(pages=[["Opening hours", "Monday to Friday", REFUND]])
    assert _paragraphs(load_document("h.pdf", pdf_bytes(spec)).blocks) == [
        "Opening hours",
        "Monday to Friday",
        REFUND,
    ]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        pytest.param(pdf_bytes(PdfSpec(pages=[[REFUND]], encrypt="s3cret")), "encrypted", id="enc"),
        pytest.param(_first_half(pdf_bytes(MANUAL)), "damaged", id="truncated"),
        pytest.param(pdf_bytes(PdfSpec(pages=[[]])), "no text", id="no-text-layer"),
        pytest.param(b"%PDF-1.4\n garbage that is not a pdf", "damaged", id="garbage"),
    ],
)
def test_bad_pdfs_raise_ingest_error(data: bytes, reason: str) -> None:
    with pytest.raises(IngestError) as info:
        load_document("bad.pdf", data)
    assert reason in info.value.reason
    assert info.value.filename == "bad.pdf"
