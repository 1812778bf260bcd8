"""detect_format: magic bytes first, then the extension, then a sniff of the content."""

from __future__ import annotations

import pytest
from loader_files import docx_bytes, xlsx_bytes

from ingest.detect import detect_format
from ingest.loaders import load_document
from ingest.model import IngestError

DOCX = docx_bytes([("para", "hello")])
XLSX = xlsx_bytes({"S": [["question", "answer"]]})


@pytest.mark.parametrize(
    ("filename", "data", "expected"),
    [
        ("manual.pdf", b"%PDF-1.7\n...", "pdf"),
        ("download.bin.dat", b"%PDF-1.4\n...", "pdf"),  # magic wins over any name
        ("report", DOCX, "docx"),
        ("sheet.zip", XLSX, "xlsx"),
        ("cut.docx", DOCX[: len(DOCX) // 2], "docx"),  # truncated: members named in local headers
        ("faq.XLSX", b"PK\x03\x04junk", "xlsx"),
        ("C:\\docs\\page.HTM", b"<p>x</p>", "html"),
        ("saved.txt", b"\xef\xbb\xbf  <!DOCTYPE html><html>", "html"),
        ("notes.txt", b"plain words", "text"),
        ("README", b"# Title\n\ntext", "markdown"),
        ("README.md", b"text", "markdown"),
        ("data", b'[{"q": 1}]', "json"),
        ("data", b'{"id": 1}\n{"id": 2}\n', "jsonl"),
        ("corpus.ndjson", b"{}", "jsonl"),
        ("faq.tsv", b"a\tb", "csv"),
        ("noext", "第一章 总则\n".encode("gbk"), "text"),
    ],
)
def test_detect_format(filename: str, data: bytes, expected: str) -> None:
    assert detect_format(filename, data) == expected


@pytest.mark.parametrize(
    ("filename", "data", "reason"),
    [
        ("old.doc", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1rest", "save as .docx"),
        ("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1rest", "save as .xlsx"),
        ("renamed.bin", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1rest", "not supported"),
        ("photo.png", b"\x89PNG\r\n\x1a\n....", "PNG image"),
        ("script.exe", b"binary", "unsupported file type '.exe'"),
        ("slides.pptx", b"whatever", "PowerPoint"),
        ("bundle.zip", b"PK\x03\x04junk", "zip archives are not supported"),
    ],
)
def test_unsupported_files_are_named(filename: str, data: bytes, reason: str) -> None:
    with pytest.raises(IngestError) as info:
        detect_format(filename, data)
    assert reason in info.value.reason
    assert info.value.filename == filename


@pytest.mark.parametrize("data", [b"", b"  \r\n\t", b"\xef\xbb\xbf\n"])
def test_empty_files_are_refused(data: bytes) -> None:
    with pytest.raises(IngestError, match="empty"):
        load_document("empty.txt", data)
