"""Hostile and broken files, built at test time (nothing binary is committed).

Each builder returns the bytes of one file; ``HOSTILE`` names them all. Files that try to read
the host (external entities) point at ``/etc/passwd`` and at a marker file the caller creates,
so a test can assert that neither ever reaches a chunk.
"""

from __future__ import annotations

import io
import random
import re
import struct
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import docx
import openpyxl
from pypdf import PdfWriter
from pypdf.generic import DecodedStreamObject, NameObject
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

MARKER = "HOSTILE-MARKER-7f3a9c"  # the content of the marker file; must never be ingested
PASSWD_SIGNS = ("root:x:0:0", "/bin/bash", "/usr/sbin/nologin", "daemon:")
GOOD_TEXT = "退款会原路退回，一般需要三到五个工作日到账。请提醒客户保留物流单号，以便财务核对。"
_FAQ_HEADER = ["问题", "答案"]
_FAQ_ROW = ["退款多久到账？", "一般三到五个工作日原路退回。"]
_BOMB_BYTES = 60_000_000  # unpacked size of the zip bombs (about 1000:1 deflated)


def _rezip(base: bytes, replace: dict[str, bytes], *, add: dict[str, bytes] | None = None) -> bytes:
    """``base`` with some members replaced (deflated) and others added."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(base)) as src,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst,
    ):
        for info in src.infolist():
            data = replace.get(info.filename, src.read(info.filename))
            dst.writestr(info.filename, data)
        for name, data in (add or {}).items():
            dst.writestr(name, data)
    return out.getvalue()


def _member(base: bytes, name: str) -> bytes:
    with zipfile.ZipFile(io.BytesIO(base)) as archive:
        return archive.read(name)


def _with_doctype(xml: bytes, root: str, entities: str, needle: bytes, use: bytes) -> bytes:
    """Give an XML part an internal DTD subset and put an entity reference in place of needle."""
    declaration = re.match(rb"<\?xml[^>]*\?>\s*", xml)
    head = declaration.group() if declaration else b""
    body = xml[len(head) :]
    assert needle in body, needle
    doctype = f"<!DOCTYPE {root} [{entities}]>\n".encode()
    return head + doctype + body.replace(needle, use, 1)


def _docx(text: str = GOOD_TEXT) -> bytes:
    document = docx.Document()
    document.add_heading("退款说明", level=1)
    document.add_paragraph(text)
    buf = io.BytesIO()
    document.save(buf)
    return buf.getvalue()


def _xlsx() -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "FAQ"
    sheet.append(_FAQ_HEADER)
    sheet.append(_FAQ_ROW)
    buf = io.BytesIO()
    workbook.save(buf)
    return buf.getvalue()


def _pdf(text: str, *, password: str | None = None) -> bytes:
    buf = io.BytesIO()
    pdf = canvas.Canvas(buf, pagesize=A4, encrypt=password)
    pdf.drawString(72, 720, text)
    pdf.showPage()
    pdf.save()
    return buf.getvalue()


_LAUGHS = '<!ENTITY lol0 "lololololololololololol">' + "".join(
    f'<!ENTITY lol{n} "{f"&lol{n - 1};" * 10}">' for n in range(1, 10)
)


def docx_external_entity(target: str) -> bytes:
    """A DOCX whose body text is an external entity pointing at ``target`` (a file: URL)."""
    base = _docx("ENTITY-HERE")
    xml = _with_doctype(
        _member(base, "word/document.xml"),
        "w:document",
        f'<!ENTITY xxe SYSTEM "{target}">',
        b"ENTITY-HERE",
        b"&xxe;",
    )
    return _rezip(base, {"word/document.xml": xml})


def docx_core_title_entity(target: str) -> bytes:
    """A DOCX whose core-properties title (docProps/core.xml) is an external entity."""
    base = _docx()
    core = _member(base, "docProps/core.xml")
    core = re.sub(rb"<dc:title\s*/>|<dc:title>.*?</dc:title>", b"", core)
    core = core.replace(
        b"</cp:coreProperties>", b"<dc:title>TITLE-HERE</dc:title></cp:coreProperties>"
    )
    xml = _with_doctype(
        core, "cp:coreProperties", f'<!ENTITY xxe SYSTEM "{target}">', b"TITLE-HERE", b"&xxe;"
    )
    return _rezip(base, {"docProps/core.xml": xml})


def docx_billion_laughs() -> bytes:
    """A DOCX whose body text expands ten entities ten times over, nine levels deep (1e9)."""
    base = _docx("ENTITY-HERE")
    xml = _with_doctype(
        _member(base, "word/document.xml"), "w:document", _LAUGHS, b"ENTITY-HERE", b"&lol9;"
    )
    return _rezip(base, {"word/document.xml": xml})


def _char_refs(text: str) -> bytes:
    """Text as openpyxl writes it into a sheet: one numeric character reference per character."""
    return "".join(f"&#{ord(c)};" for c in text).encode()


def xlsx_external_entity(target: str) -> bytes:
    """An XLSX FAQ whose answer cell is an external entity pointing at ``target``."""
    base = _xlsx()
    xml = _with_doctype(
        _member(base, "xl/worksheets/sheet1.xml"),
        "worksheet",
        f'<!ENTITY xxe SYSTEM "{target}">',
        _char_refs(_FAQ_ROW[1]),
        b"&xxe;",
    )
    return _rezip(base, {"xl/worksheets/sheet1.xml": xml})


def xlsx_billion_laughs() -> bytes:
    """An XLSX FAQ whose answer cell is the billion-laughs entity."""
    base = _xlsx()
    xml = _with_doctype(
        _member(base, "xl/worksheets/sheet1.xml"),
        "worksheet",
        _LAUGHS,
        _char_refs(_FAQ_ROW[1]),
        b"&lol9;",
    )
    return _rezip(base, {"xl/worksheets/sheet1.xml": xml})


def xlsx_workbook_entity(target: str) -> bytes:
    """An XLSX whose workbook part (sheet names) carries an external entity."""
    base = _xlsx()
    xml = _with_doctype(
        _member(base, "xl/workbook.xml"),
        "workbook",
        f'<!ENTITY xxe SYSTEM "{target}">',
        b'name="FAQ"',
        b'name="&xxe;"',
    )
    return _rezip(base, {"xl/workbook.xml": xml})


def docx_zip_bomb() -> bytes:
    """A DOCX with a 60 MB member of zeros (deflated to about 60 KB: a 1000:1 ratio)."""
    return _rezip(_docx(), {}, add={"word/media/image1.bin": bytes(_BOMB_BYTES)})


def docx_bomb_in_body() -> bytes:
    """A DOCX whose document.xml carries 60 MB of whitespace between elements."""
    base = _docx()
    xml = _member(base, "word/document.xml").replace(b"<w:body>", b"<w:body>" + b" " * _BOMB_BYTES)
    return _rezip(base, {"word/document.xml": xml})


def xlsx_zip_bomb() -> bytes:
    """An XLSX whose sheet holds 60 MB of whitespace inside its sheetData."""
    base = _xlsx()
    sheet = _member(base, "xl/worksheets/sheet1.xml")
    sheet = sheet.replace(b"<sheetData>", b"<sheetData>" + b" " * _BOMB_BYTES)
    return _rezip(base, {"xl/worksheets/sheet1.xml": sheet})


def _declare_size(data: bytes, member: str, size: int) -> bytes:
    """Rewrite the central directory's uncompressed size of ``member`` (a lying header)."""
    name = member.encode()
    out = bytearray(data)
    start = 0
    while (at := out.find(b"PK\x01\x02", start)) >= 0:
        name_len = struct.unpack_from("<H", out, at + 28)[0]
        if bytes(out[at + 46 : at + 46 + name_len]) == name:
            struct.pack_into("<I", out, at + 24, size)
            return bytes(out)
        start = at + 4
    raise AssertionError(f"{member} not in the archive")


def docx_declared_huge() -> bytes:
    """A small DOCX whose central directory says document.xml unpacks to 4 GB."""
    return _declare_size(_docx(), "word/document.xml", 0xFFFF_FFF0)


def xlsx_declared_huge() -> bytes:
    """A small XLSX whose central directory says its sheet unpacks to 4 GB."""
    return _declare_size(_xlsx(), "xl/worksheets/sheet1.xml", 0xFFFF_FFF0)


def docx_declared_small() -> bytes:
    """A DOCX whose central directory says document.xml is 100 bytes (it is much larger)."""
    return _declare_size(_docx(), "word/document.xml", 100)


def xlsx_many_members() -> bytes:
    """An XLSX with 20 000 empty members (a central directory that is all entries)."""
    return _rezip(_xlsx(), {}, add={f"xl/media/m{i}.bin": b"" for i in range(20_000)})


def xlsx_formulas_and_merged() -> bytes:
    """An FAQ sheet with a formula answer, a merged question cell and a merged category."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "FAQ"
    sheet.append(["分类", "问题", "答案"])
    sheet.append(["售后", "退款多久到账？", "一般三到五个工作日原路退回。"])
    sheet.append(["", "运费谁出？", "非质量问题由顾客承担运费。"])
    sheet.append(["", "保修多久？", '=CONCATENATE("整机保修", "一年")'])
    sheet.append(["", "发什么快递？", "默认顺丰快递。"])
    sheet.append(["", "", "偏远地区改发邮政。"])
    sheet.merge_cells("A2:A6")  # a category spanning its rows
    sheet.merge_cells("B5:B6")  # one question, its answer over two rows
    buf = io.BytesIO()
    workbook.save(buf)
    return buf.getvalue()


def pdf_good() -> bytes:
    return _pdf("Refunds go back to the original card within five days.")


def pdf_truncated() -> bytes:
    """The first half of a real PDF (no xref, no trailer, a stream cut mid-way)."""
    data = pdf_good()
    return data[: len(data) // 2]


def pdf_encrypted() -> bytes:
    """A PDF that needs a user password."""
    return _pdf("Refunds go back to the original card.", password="s3cret-password")


def pdf_header_then_garbage() -> bytes:
    """``%PDF-1.7`` followed by 64 KB of random bytes."""
    return b"%PDF-1.7\n" + random.Random(7).randbytes(65_536)


def pdf_fake() -> bytes:
    """Plain text saved with a .pdf name."""
    return ("这不是 PDF 文件，只是改了扩展名的文本。" * 20).encode()


def pdf_stream_bomb() -> bytes:
    """A one-page PDF whose content stream inflates to 60 MB of spaces."""
    writer = PdfWriter()
    page = writer.add_blank_page(width=595, height=842)
    stream = DecodedStreamObject()
    stream.set_data(b"BT /F1 12 Tf 72 720 Td (x) Tj ET" + b" " * _BOMB_BYTES)
    stream = stream.flate_encode()
    page[NameObject("/Contents")] = writer._add_object(stream)
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


def binary_named_txt() -> bytes:
    """64 KB of random bytes called .txt."""
    return random.Random(1).randbytes(65_536)


def invalid_utf8() -> bytes:
    """UTF-8 text with stray continuation bytes and a truncated sequence in every line."""
    line = GOOD_TEXT.encode() + b"\x80\xbf\xe4\xb8"
    return b"\n".join([line] * 40)


def mixed_encodings() -> bytes:
    """Two files pasted together: a UTF-8 half and a GBK half."""
    return (GOOD_TEXT * 5).encode("utf-8") + b"\n" + (GOOD_TEXT * 5).encode("gbk")


def single_line_10mb() -> bytes:
    """10 MB on one line: sentences without a single line break."""
    sentence = "客户申请退款后系统会自动校验订单状态，已发货的订单需要先完成退货。"
    data = sentence.encode()
    return data * (10_000_000 // len(data))


def single_line_diverse() -> bytes:
    """3 MB on one line of random hanzi with a full stop every 30 or so (nothing repeats)."""
    rng = random.Random(3)
    hanzi = [chr(c) for c in range(0x4E00, 0x4E00 + 3000)]
    sentences = []
    size = 0
    while size < 3_000_000:
        sentence = "".join(rng.choices(hanzi, k=rng.randint(10, 50))) + "。"
        sentences.append(sentence)
        size += len(sentence) * 3
    return "".join(sentences).encode()


def single_line_unpunctuated() -> bytes:
    """3 MB on one line with no punctuation or space at all (one endless 'word')."""
    return b"a" * 3_000_000


def short_lines() -> bytes:
    """20 000 one-letter lines: every one shaped like a link title."""
    return b"a\n" * 20_000


def hard_wrapped() -> bytes:
    """2 MB hard-wrapped at 60 columns with no sentence end: one paragraph of 33 000 lines."""
    line = "the refund goes back to the card the customer paid with and th"[:60]
    return ("\n".join([line] * 33_000)).encode()


def digits_line() -> bytes:
    """A line of a million digits."""
    return b"1" * 1_000_000


def brackets_markdown() -> bytes:
    """A Markdown line of a million opening brackets (no link ever closes)."""
    return b"[" * 1_000_000


def html_nested_deep() -> bytes:
    """100 000 nested ``<div>``s around one paragraph."""
    depth = 100_000
    return (
        b"<html><body>" + b"<div>" * depth + f"<p>{GOOD_TEXT}</p>".encode() + b"</div>" * depth
        + b"</body></html>"
    )  # fmt: skip


def html_unclosed_deep() -> bytes:
    """100 000 ``<span>``s never closed, then text: the parser must close them itself."""
    return b"<html><body><p>" + b"<span>" * 100_000 + GOOD_TEXT.encode() + b"</p></body></html>"


def json_nested_deep() -> bytes:
    """A JSON array nested 100 000 deep."""
    return b"[" * 100_000 + b"]" * 100_000


def csv_ragged() -> bytes:
    """An FAQ sheet whose rows have too few and too many cells, and an unbalanced quote."""
    return (
        "问题,答案,备注\n"
        "退款多久到账？,一般三到五个工作日原路退回。\n"
        "运费谁出？\n"
        "保修多久？,整机保修一年。,电池两年,多余,更多\n"
        '"发什么快递？,默认顺丰快递。\n'
        "能开发票吗？,可以，在订单页申请电子发票。\n"
    ).encode()


def nul_bytes_text() -> bytes:
    """Text with NUL bytes sprinkled through it."""
    return GOOD_TEXT.encode().replace("。".encode(), "。\x00\x00".encode()) * 10


def nul_bytes_csv() -> bytes:
    return "问题,答案\n退款多久到账？\x00,一般三到五个\x00工作日。\n".encode()


def many_chunks() -> bytes:
    """3 000 short paragraphs: over a lowered ``max_chunks``, in any case many chunks."""
    return "\n\n".join(f"第{n}条：订单{n}的退款已受理。" for n in range(3000)).encode()


@dataclass(frozen=True)
class Hostile:
    """One hostile file: its name (the extension matters) and how to build it."""

    name: str
    build: Callable[[Path], bytes]  # takes the marker file's path


def _const(builder: Callable[[], bytes]) -> Callable[[Path], bytes]:
    return lambda _marker: builder()


HOSTILE: tuple[Hostile, ...] = (
    Hostile("bomb.docx", _const(docx_zip_bomb)),
    Hostile("bomb-body.docx", _const(docx_bomb_in_body)),
    Hostile("bomb.xlsx", _const(xlsx_zip_bomb)),
    Hostile("declared-huge.docx", _const(docx_declared_huge)),
    Hostile("declared-huge.xlsx", _const(xlsx_declared_huge)),
    Hostile("declared-small.docx", _const(docx_declared_small)),
    Hostile("many-members.xlsx", _const(xlsx_many_members)),
    Hostile("xxe-passwd.docx", _const(lambda: docx_external_entity("file:///etc/passwd"))),
    Hostile("xxe-marker.docx", lambda marker: docx_external_entity(marker.as_uri())),
    Hostile("xxe-title.docx", lambda marker: docx_core_title_entity(marker.as_uri())),
    Hostile("laughs.docx", _const(docx_billion_laughs)),
    Hostile("xxe-passwd.xlsx", _const(lambda: xlsx_external_entity("file:///etc/passwd"))),
    Hostile("xxe-marker.xlsx", lambda marker: xlsx_external_entity(marker.as_uri())),
    Hostile("xxe-workbook.xlsx", lambda marker: xlsx_workbook_entity(marker.as_uri())),
    Hostile("laughs.xlsx", _const(xlsx_billion_laughs)),
    Hostile("formulas-merged.xlsx", _const(xlsx_formulas_and_merged)),
    Hostile("truncated.pdf", _const(pdf_truncated)),
    Hostile("encrypted.pdf", _const(pdf_encrypted)),
    Hostile("garbage.pdf", _const(pdf_header_then_garbage)),
    Hostile("fake.pdf", _const(pdf_fake)),
    Hostile("stream-bomb.pdf", _const(pdf_stream_bomb)),
    Hostile("operators.pdf", lambda _marker: pdf_operator_bomb(20_000_000)),
    Hostile("binary.txt", _const(binary_named_txt)),
    Hostile("invalid-utf8.txt", _const(invalid_utf8)),
    Hostile("mixed-encodings.txt", _const(mixed_encodings)),
    Hostile("one-line.txt", _const(single_line_10mb)),
    Hostile("one-word.txt", _const(single_line_unpunctuated)),
    Hostile("one-line-diverse.txt", _const(single_line_diverse)),
    Hostile("short-lines.txt", _const(short_lines)),
    Hostile("wrapped.txt", _const(hard_wrapped)),
    Hostile("digits.txt", _const(digits_line)),
    Hostile("brackets.md", _const(brackets_markdown)),
    Hostile("nested.html", _const(html_nested_deep)),
    Hostile("unclosed.html", _const(html_unclosed_deep)),
    Hostile("nested.json", _const(json_nested_deep)),
    Hostile("ragged.csv", _const(csv_ragged)),
    Hostile("nul.txt", _const(nul_bytes_text)),
    Hostile("nul.csv", _const(nul_bytes_csv)),
    Hostile("empty.txt", _const(lambda: b"")),
    Hostile("empty.docx", _const(lambda: b"")),
    Hostile("empty.pdf", _const(lambda: b"")),
    Hostile("spaces.md", _const(lambda: b" \n\t\n   \r\n" * 100)),
    Hostile("spaces.html", _const(lambda: "\u3000 \n".encode() * 100)),
    Hostile("spaces.csv", _const(lambda: b"\n\n , \n")),
    Hostile("many-chunks.txt", _const(many_chunks)),
)


# Bombs for the parser fence (tests/ingest/test_fence.py, the served upload test): small files
# that pass every format check and multiply only inside the parser.


def pdf_operator_bomb(decoded_bytes: int) -> bytes:
    """A one-page PDF whose content stream inflates to ``decoded_bytes`` of text operators.

    Each operator becomes glyph objects in the PDF library: 10 MB of them costs gigabytes
    (the 389 KB PDF of issue 16 inflated to 200 MB and took 7 GB before it was stopped).
    """
    operator = b"BT /F1 12 Tf 72 720 Td (xxxxxxxxxx) Tj ET\n"
    writer = PdfWriter()
    page = writer.add_blank_page(width=595, height=842)
    stream = DecodedStreamObject()
    stream.set_data(operator * (decoded_bytes // len(operator)))
    page[NameObject("/Contents")] = writer._add_object(stream.flate_encode())
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


def docx_paragraph_bomb(xml_bytes: int) -> bytes:
    """A DOCX whose body is ``xml_bytes`` of one-letter paragraphs (under the zip checks' size)."""
    base = _docx()
    paragraph = b"<w:p><w:r><w:t>x</w:t></w:r></w:p>"
    xml = _member(base, "word/document.xml").replace(
        b"<w:body>", b"<w:body>" + paragraph * (xml_bytes // len(paragraph))
    )
    return _rezip(base, {"word/document.xml": xml})


def html_element_bomb(size: int) -> bytes:
    """``size`` bytes of one-letter paragraphs: millions of elements from a file under the limit."""
    return b"<html><body>" + b"<p>x</p>" * (size // 8) + b"</body></html>"
