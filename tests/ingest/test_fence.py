"""The parser fence (``ingest.fence``): bombs of every format refused by a named limit, quickly.

Limits are lowered here so each bomb trips its fence in seconds: 400 MB of address space for
the memory bombs, 3 s for the one that only burns time. After every refusal the pool parses the
next file, and a fenced parse gives exactly the chunks an in-process one does.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import openpyxl
import pytest
from hostile_files import docx_paragraph_bomb, html_element_bomb, pdf_operator_bomb

from ingest.chunking import DEFAULT_MAX_CHARS
from ingest.fence import ParseLimits, parser_pool
from ingest.model import IngestError, ParsedFile
from ingest.pipeline import DEFAULT_MAX_BYTES, DEFAULT_MAX_CHUNKS, parse_file

SAMPLE = Path(__file__).resolve().parents[2] / "kb" / "sample"
MEMORY = ParseLimits(memory_mb=400, seconds=120)
TIME = ParseLimits(memory_mb=1024, seconds=3)


def _fenced(
    limits: ParseLimits, name: str, data: bytes, max_bytes: int = DEFAULT_MAX_BYTES
) -> ParsedFile:
    return parser_pool(limits).parse(
        name, data, max_bytes=max_bytes, max_chars=DEFAULT_MAX_CHARS, max_chunks=DEFAULT_MAX_CHUNKS
    )


def _faq_sheet(rows: int) -> bytes:
    """An XLSX FAQ of numbered questions: 20 000 rows are 230 KB, and 2.6 MB once parsed."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["问题", "答案"])
    for n in range(rows):
        sheet.append([f"订单{n}怎么退款？", f"订单{n}的退款会在三到五个工作日内原路退回。"])
    buf = io.BytesIO()
    workbook.save(buf)
    return buf.getvalue()


@dataclass(frozen=True)
class Bomb:
    name: str
    build: Callable[[], bytes]
    limits: ParseLimits
    reason: str  # how the refusal starts, after the file name
    most: float  # seconds to the refusal, on a loaded machine


OUT_OF_MEMORY = "parsing needed more than 400 MB"
BOMBS = [
    # Under the PDF loader's 5 MB page cap, and still gigabytes to pdfminer.
    Bomb("operators.pdf", lambda: pdf_operator_bomb(4_000_000), MEMORY, OUT_OF_MEMORY, 90),
    Bomb("elements.html", lambda: html_element_bomb(19_000_000), MEMORY, OUT_OF_MEMORY, 90),
    Bomb("paragraphs.docx", lambda: docx_paragraph_bomb(9_900_000), TIME, "parsing took longer", 8),
]


@pytest.mark.parametrize("bomb", BOMBS, ids=[b.name for b in BOMBS])
def test_bomb_is_refused_by_its_limit_and_the_next_file_parses(bomb: Bomb) -> None:
    data = bomb.build()
    assert len(data) < DEFAULT_MAX_BYTES
    started = time.monotonic()
    with pytest.raises(IngestError) as refused:
        _fenced(bomb.limits, bomb.name, data)
    took = time.monotonic() - started
    assert str(refused.value).startswith(f"{bomb.name}: {bomb.reason}"), refused.value
    assert took < bomb.most, f"{bomb.name} refused after {took:.1f} s"
    good = SAMPLE / "faq" / "policy-faq-zh.csv"
    assert _fenced(bomb.limits, good.name, good.read_bytes()).chunks


def test_answer_over_four_times_the_file_limit_is_refused_before_it_is_read() -> None:
    data = _faq_sheet(20_000)
    assert len(data) < 300_000
    with pytest.raises(IngestError, match=r"^faq\.xlsx: the parsed text is over 1\.2 MB"):
        _fenced(MEMORY, "faq.xlsx", data, max_bytes=300_000)
    # Under the product's file limit the same file is ordinary.
    assert len(_fenced(MEMORY, "faq.xlsx", data).chunks) == 20_000


def _sample_files() -> list[Path]:
    return sorted(p for p in SAMPLE.rglob("*") if p.is_file() and p.suffix != ".yaml")


@pytest.mark.parametrize("path", _sample_files(), ids=lambda p: p.name)
def test_fenced_parse_is_the_in_process_parse(path: Path) -> None:
    data = path.read_bytes()
    try:
        expected: ParsedFile | str = parse_file(path.name, data)
    except IngestError as exc:
        expected = str(exc)
    try:
        got: ParsedFile | str = _fenced(ParseLimits(), path.name, data)
    except IngestError as exc:
        got = str(exc)
    assert got == expected
