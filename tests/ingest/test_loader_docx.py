"""DOCX loader on Word files built with python-docx: headings, lists, tables in body order."""

from __future__ import annotations

import re

import pytest
from loader_files import docx_bytes, manual_items

from ingest.chunking import DEFAULT_MAX_CHARS
from ingest.fence import ParseLimits, parser_pool
from ingest.loaders import load_document
from ingest.model import IngestError, ParsedFile
from ingest.pipeline import DEFAULT_MAX_BYTES, DEFAULT_MAX_CHUNKS


def _first_half(data: bytes) -> bytes:
    return data[: len(data) // 2]


PRICES = [["Plan", "Price", "Support"], ["Basic", "9.90", "E-mail"], ["Pro", "29", "Phone"]]
NUMBERS = [["1", "2"], ["3", "4"]]


@pytest.mark.parametrize(
    ("items", "expected"),
    [
        pytest.param(
            [
                ("heading1", "Returns"),
                ("para", "Unopened items can be returned within 30 days."),
                ("heading2", "Refunds"),
                ("bullet", "Card payments: 3-5 working days"),
                ("numbered", "Step one: open the order"),
            ],
            [
                ("heading", "Returns", 1),
                ("paragraph", "Unopened items can be returned within 30 days.", 0),
                ("heading", "Refunds", 2),
                ("list_item", "Card payments: 3-5 working days", 0),
                ("list_item", "Step one: open the order", 0),
            ],
            id="headings-and-lists",
        ),
        pytest.param(
            [("para", "Plans:"), ("table", PRICES), ("para", "Prices include VAT.")],
            [
                ("paragraph", "Plans:", 0),
                ("table_row", "Plan: Basic; Price: 9.90; Support: E-mail", 0),
                ("table_row", "Plan: Pro; Price: 29; Support: Phone", 0),
                ("paragraph", "Prices include VAT.", 0),
            ],
            id="table-with-header-in-body-order",
        ),
        pytest.param(
            [("table", NUMBERS)],
            [("table_row", "1 | 2", 0), ("table_row", "3 | 4", 0)],
            id="table-without-header",
        ),
        pytest.param(
            [("header_table", [["1", "2"], ["3", "4"]])],
            [("table_row", "1: 3; 2: 4", 0)],
            id="table-marked-header-row",
        ),
        pytest.param(
            [
                ("zh_heading1", "第一章 售后服务"),
                ("outline2", "退款时效"),
                ("para", "三天内到账。"),
            ],
            [
                ("heading", "第一章 售后服务", 1),
                ("heading", "退款时效", 2),
                ("paragraph", "三天内到账。", 0),
            ],
            id="chinese-style-name-and-outline-level",
        ),
        pytest.param(
            [("para", "第一行\n第二行")],
            [("paragraph", "第一行", 0), ("paragraph", "第二行", 0)],
            id="soft-line-breaks-split",
        ),
    ],
)
def test_docx_blocks(items: list[tuple[str, object]], expected: list[tuple[str, str, int]]) -> None:
    doc = load_document("manual.docx", docx_bytes(items))
    assert doc.format == "docx"
    assert [(b.kind, b.text, b.level) for b in doc.blocks] == expected


@pytest.mark.parametrize(
    ("items", "core_title", "expected"),
    [
        pytest.param(
            [("title", "Service Manual"), ("para", "x")], None, "Service Manual", id="style"
        ),
        pytest.param([("para", "x")], "Core Title", "Core Title", id="core-properties"),
        pytest.param([("heading1", "Intro"), ("para", "x")], None, "Intro", id="first-heading"),
    ],
)
def test_docx_title(items: list[tuple[str, object]], core_title: str | None, expected: str) -> None:
    doc = load_document("m.docx", docx_bytes(items, core_title=core_title))
    assert doc.title == expected
    assert all(b.text != "Service Manual" for b in doc.blocks)  # the title is not a heading


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        pytest.param(
            _first_half(docx_bytes([("para", "hello " * 200)])), "damaged", id="truncated"
        ),
        pytest.param(docx_bytes([]), "no text", id="empty-document"),
        pytest.param(b"PK\x03\x04 not really a zip", "damaged", id="garbage-zip"),
    ],
)
def test_bad_docx_raise_ingest_error(data: bytes, reason: str) -> None:
    with pytest.raises(IngestError, match=reason):
        load_document("bad.docx", data)


# --- a long manual: loading and cleaning grow with the document, not its pairs ---------------

# Parse time a 3,000-paragraph manual may take. The old loader needed 61 s of processor time
# for this one (python-docx resolved each paragraph's style by scanning every style; near-repeat
# detection compared all pairs), so it could never finish within this limit, whatever the
# machine's load (the fence caps processor time too); the linear one needs about 3.4 s, which
# leaves room for the two cores to be oversubscribed several times over.
TIGHT = ParseLimits(memory_mb=1024, seconds=30)


def _fenced(name: str, data: bytes) -> ParsedFile:
    return parser_pool(TIGHT).parse(
        name,
        data,
        max_bytes=DEFAULT_MAX_BYTES,
        max_chars=DEFAULT_MAX_CHARS,
        max_chunks=DEFAULT_MAX_CHUNKS,
    )


def test_a_3000_paragraph_manual_parses_well_within_a_tight_parse_fence() -> None:
    data = docx_bytes(manual_items(3000))
    assert len(data) > 100_000
    # A worker that has imported its parsers, as in a running server: the limit is the parse's.
    assert _fenced("small.docx", docx_bytes(manual_items(3))).chunks
    parsed = _fenced("manual.docx", data)
    text = "\n".join(c.text for c in parsed.chunks)
    # Every paragraph is kept: shared phrasing is not a near copy.
    numbers = {int(m) for m in re.findall(r"(?m)(?:^|\n)(\d{1,4})\. ", text)}
    assert numbers == set(range(1, 3001))
    assert {c.heading_path[0] for c in parsed.chunks} == {f"Chapter {n}" for n in range(1, 61)}
