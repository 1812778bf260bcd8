"""Hostile and broken files through the real parser, each in the product's bounded parser process.

Bounds (``bounded.py``): the defaults of ``KB_PARSE_MEMORY_MB`` and ``KB_PARSE_SECONDS``,
enforced by the kernel and the parent; a file that breaks them fails its test. Every outcome
is either an ``IngestError`` naming the file and what is wrong, or chunks; no chunk, title,
warning or error ever carries the content of ``/etc/passwd`` or of the marker file an external
entity points at.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from bounded import parse_bounded
from hostile_files import GOOD_TEXT, HOSTILE, MARKER, PASSWD_SIGNS, Hostile

from ingest.chunking import DEFAULT_MAX_CHARS


@dataclass(frozen=True)
class Fails:
    """The file is refused with a reason containing ``reason``."""

    reason: str


@dataclass(frozen=True)
class Reads:
    """The file is read; its chunks contain ``text``; at least ``chunks`` of them."""

    text: str = ""
    chunks: int = 1
    warning: str = ""


DTD = Fails("declares a DTD (XML entities)")
EXPECTED: dict[str, Fails | Reads] = {
    "bomb.docx": Fails("inflates 1,029 times to 60,000,000 bytes: refusing a zip bomb"),
    "bomb-body.docx": Fails("part 'word/document.xml' of the Word (DOCX) file inflates"),
    "bomb.xlsx": Fails("part 'xl/worksheets/sheet1.xml' of the Excel (XLSX) file inflates"),
    "declared-huge.docx": Fails("would unpack to 4,295,791,892 bytes (limit 200,000,000 bytes)"),
    "declared-huge.xlsx": Fails("would unpack to 4,294,983,284 bytes (limit 200,000,000 bytes)"),
    "declared-small.docx": Fails("damaged or truncated (Bad CRC-32 for file 'word/document.xml')"),
    "many-members.xlsx": Fails("holds 20,009 parts (limit 10,000)"),
    "xxe-passwd.docx": DTD,
    "xxe-marker.docx": DTD,
    "xxe-title.docx": Fails("part 'docProps/core.xml' of the Word (DOCX) file declares a DTD"),
    "laughs.docx": DTD,
    "xxe-passwd.xlsx": DTD,
    "xxe-marker.xlsx": DTD,
    "xxe-workbook.xlsx": Fails("part 'xl/workbook.xml' of the Excel (XLSX) file declares a DTD"),
    "laughs.xlsx": DTD,
    # A formula saved without its value reads as empty (no cached result), and the second row
    # of a merged question has no question: both skipped, and said so.
    "formulas-merged.xlsx": Reads("一般三到五个工作日原路退回。", 3, "empty answer (row 4)"),
    "truncated.pdf": Fails("could not read the PDF file: it looks damaged or truncated"),
    "encrypted.pdf": Fails("the PDF is encrypted (password-protected)"),
    "garbage.pdf": Fails("could not read the PDF file: it looks damaged or truncated"),
    "fake.pdf": Fails("not a PDF file: it has no %PDF header"),
    # 60 MB of inflated spaces around one word; 20 MB of text operators (the kind of issue 16,
    # which cost 7 GB at 200 MB): each page's content is capped before pdfminer sees it.
    "stream-bomb.pdf": Fails("page 1's content inflates to over 5 MB"),
    "operators.pdf": Fails("page 1's content inflates to over 5 MB"),
    "binary.txt": Fails("not in any supported encoding"),
    "invalid-utf8.txt": Fails("not in any supported encoding"),
    "mixed-encodings.txt": Fails("not in any supported encoding"),
    "one-line.txt": Reads("客户申请退款后系统会自动校验订单状态", 10_000),
    "one-word.txt": Reads("a" * DEFAULT_MAX_CHARS, 10_000),
    "one-line-diverse.txt": Reads("。", 5_000),
    "short-lines.txt": Reads("a\na", 100),
    "wrapped.txt": Reads("the refund goes back", 5_000),
    "digits.txt": Reads("1" * DEFAULT_MAX_CHARS, 1_000),
    "brackets.md": Fails("no text found after cleaning"),
    "nested.html": Reads(GOOD_TEXT),
    "unclosed.html": Reads(GOOD_TEXT),
    "nested.json": Fails("JSON nested too deeply"),
    "ragged.csv": Reads("整机保修一年。", 2, "2 rows skipped: empty answer (rows 3, 5)"),
    "nul.txt": Reads("请提醒客户保留物流单号"),
    "nul.csv": Reads("一般三到五个工作日。"),
    "empty.txt": Fails("the file is empty"),
    "empty.docx": Fails("the file is empty"),
    "empty.pdf": Fails("the file is empty"),
    "spaces.md": Fails("the file is empty"),
    "spaces.html": Fails("no text found in the html file"),
    "spaces.csv": Fails("no question/answer columns found"),
    "many-chunks.txt": Fails("would make 360 chunks, over the limit of 100 per document"),
}
MAX_CHUNKS = {"many-chunks.txt": 100}


@pytest.fixture(scope="module")
def marker(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("host") / "marker.txt"
    path.write_text(MARKER)
    return path


def test_every_hostile_file_has_an_expectation() -> None:
    assert sorted(h.name for h in HOSTILE) == sorted(EXPECTED)


@pytest.mark.parametrize("hostile", HOSTILE, ids=[h.name for h in HOSTILE])
def test_hostile_file_fails_alone_or_reads_within_bounds(
    hostile: Hostile, marker: Path, tmp_path: Path
) -> None:
    path = tmp_path / hostile.name
    path.write_bytes(hostile.build(marker))
    outcome = parse_bounded(path, hostile.name, max_chunks=MAX_CHUNKS.get(hostile.name, 50_000))

    everything = outcome.all_text + (outcome.error or "")
    assert MARKER not in everything
    assert not any(sign in everything for sign in PASSWD_SIGNS)
    expected = EXPECTED[hostile.name]
    if isinstance(expected, Fails):
        assert outcome.error is not None, f"{hostile.name} was read: {outcome.chunks[:2]}"
        assert outcome.error.startswith(f"{hostile.name}: "), outcome.error
        assert expected.reason in (outcome.reason or ""), outcome.reason
    else:
        assert outcome.error is None, outcome.error
        assert len(outcome.chunks) >= expected.chunks
        assert any(expected.text in chunk for chunk in outcome.chunks)
        assert all("\x00" not in chunk for chunk in outcome.chunks)
        # A chunk holds at most max_chars, plus a folded-in tail of a fifth of it.
        assert max(len(c) for c in outcome.chunks) <= DEFAULT_MAX_CHARS * 6 // 5
        assert expected.warning in " ".join(outcome.warnings)
