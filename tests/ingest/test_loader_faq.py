"""FAQ sheets: CSV (any encoding, sniffed delimiter), XLSX and JSON records."""

from __future__ import annotations

import json

import pytest
from loader_files import xlsx_bytes

from ingest.loaders import load_document
from ingest.model import IngestError


def _first_half(data: bytes) -> bytes:
    return data[: len(data) // 2]


def _pairs(filename: str, data: bytes) -> list[tuple[str | None, str | None]]:
    doc = load_document(filename, data)
    assert doc.format == "faq"
    assert all(b.kind == "faq" and b.text == b.answer for b in doc.blocks)
    return [(b.question, b.answer) for b in doc.blocks]


@pytest.mark.parametrize(
    ("filename", "data", "expected"),
    [
        pytest.param(
            "faq.csv",
            "问题,答案\n怎么退货？,在订单页点击申请退货。\n发票怎么开？,下单时填写抬头。\n".encode(
                "gbk"
            ),
            [("怎么退货？", "在订单页点击申请退货。"), ("发票怎么开？", "下单时填写抬头。")],
            id="gbk-csv-chinese-headers",
        ),
        pytest.param(
            "faq.tsv",
            b"Question\tAnswer\nHow do I reset my password?\tUse the 'Forgot password' link.\n",
            [("How do I reset my password?", "Use the 'Forgot password' link.")],
            id="tab-separated",
        ),
        pytest.param(
            "faq.csv",
            '\ufeff Q ;Reply\n"Can I pay, later?";"Yes; within 30 days."\n'.encode(),
            [("Can I pay, later?", "Yes; within 30 days.")],
            id="semicolon-bom-short-headers",
        ),
        pytest.param(
            "faq.csv",
            "常见问题汇总\n分类,标准问题,相似问题,标准答案\n账户,忘记密码,找回密码,点击忘记密码。\n".encode(),
            [("忘记密码\n找回密码", "点击忘记密码。")],
            id="title-row-above-header-and-similar-questions",
        ),
        pytest.param(
            "faq.xlsx",
            xlsx_bytes(
                {
                    "常見問題": [
                        ["標準問題", "標準答案"],
                        ["如何申請保固？", "請攜帶發票至門市。"],
                        [3.0, 42],
                    ]
                }
            ),
            [("如何申請保固？", "請攜帶發票至門市。"), ("3", "42")],
            id="xlsx-traditional-headers",
        ),
        pytest.param(
            "faq.xlsx",
            xlsx_bytes({"Notes": [["hello"]], "FAQ": [["QUESTION ", "answer:"], ["Q1?", "A1."]]}),
            [("Q1?", "A1.")],
            id="xlsx-second-sheet",
        ),
        pytest.param(
            "faq.json",
            json.dumps(
                {"faqs": [{"问": "能开发票吗？", "答": "可以。"}]}, ensure_ascii=False
            ).encode(),
            [("能开发票吗？", "可以。")],
            id="json-wrapped",
        ),
        pytest.param(
            "faq.jsonl",
            b'{"question": "Q1", "answer": "A1"}\n\n'
            b'{"question": "Q2", "response": "x", "answer": "A2"}\n',
            [("Q1", "A1"), ("Q2", "A2")],
            id="jsonl",
        ),
    ],
)
def test_faq_rows(filename: str, data: bytes, expected: list[tuple[str, str]]) -> None:
    assert _pairs(filename, data) == expected


def test_skipped_rows_are_counted_with_sheet_row_numbers() -> None:
    csv = "question,answer\nq1,a1\nq2,\nq3,a3\n,a4\nq5,\n\nq7,\n"
    doc = load_document("faq.csv", csv.encode())
    assert [b.question for b in doc.blocks] == ["q1", "q3"]
    assert doc.warnings == [
        "1 row skipped: empty question (row 5)",
        "3 rows skipped: empty answer (rows 3, 6, 8)",
    ]


def test_xlsx_skips_rows_and_reports_them() -> None:
    data = xlsx_bytes({"S": [["問題", "答覆"], ["有貨嗎？", None], ["何時出貨？", "三天內。"]]})
    doc = load_document("faq.xlsx", data)
    assert [b.question for b in doc.blocks] == ["何時出貨？"]
    assert doc.warnings == ["1 row skipped: empty answer (row 2)"]


@pytest.mark.parametrize(
    ("filename", "data", "reason"),
    [
        ("faq.csv", b"name,email\nAnn,a@example.com\n", "headers seen: 'name', 'email'"),
        ("faq.xlsx", xlsx_bytes({"S": [["foo", "bar"], ["1", "2"]]}), "'foo', 'bar'"),
        ("faq.xlsx", _first_half(xlsx_bytes({"S": [["question", "answer"]]})), "damaged"),
        ("faq.json", b'[{"question": "q"', "invalid JSON at line 1"),
    ],
)
def test_bad_faq_sheets(filename: str, data: bytes, reason: str) -> None:
    with pytest.raises(IngestError) as info:
        load_document(filename, data)
    assert reason in info.value.reason
