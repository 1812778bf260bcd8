"""Builders of real PDF, DOCX and XLSX files for loader tests (made at test time, not committed)."""

from __future__ import annotations

import io
import random
from collections.abc import Sequence
from dataclasses import dataclass, field

import docx
import openpyxl
from docx.enum.style import WD_STYLE_TYPE
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.text.paragraph import Paragraph
from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

CJK_FONT = "STSong-Light"
_WIDTH = 400.0
_LEFT = 72.0


@dataclass(frozen=True)
class Heading:
    """A heading printed on a PDF page, with an outline entry unless ``bookmark`` is False."""

    text: str
    level: int = 1
    printed: bool = True
    positioned: bool = True  # outline entry points at the heading's position, not the page


@dataclass
class PdfSpec:
    """What to draw: pages of headings and paragraphs, plus running heads and feet."""

    pages: list[list[Heading | str]]
    font: str = "Helvetica"
    header: str | None = None
    page_numbers: bool = False
    footer: str = "Page {n} of {total}"
    title: str | None = None
    encrypt: str | None = None
    owner_only: bool = False  # encrypted with an empty user password (printing restrictions)
    extra: dict[str, str] = field(default_factory=dict)


def _wrap(text: str, font: str, size: float) -> list[str]:
    """Wrap to the text width: at spaces for Latin text, at any character for CJK."""
    lines: list[str] = []
    current = ""
    tokens = text.split(" ") if " " in text else list(text)
    sep = " " if " " in text else ""
    for token in tokens:
        candidate = f"{current}{sep}{token}" if current else token
        if pdfmetrics.stringWidth(candidate, font, size) > _WIDTH and current:
            lines.append(current)
            current = token
        else:
            current = candidate
    if current:
        lines.append(current)
    return lines


def pdf_bytes(spec: PdfSpec) -> bytes:
    """Draw ``spec`` with reportlab; CJK text needs ``font=CJK_FONT``."""
    if spec.font == CJK_FONT:
        pdfmetrics.registerFont(UnicodeCIDFont(CJK_FONT))
    encrypt: object = spec.encrypt
    if spec.owner_only:
        from reportlab.lib.pdfencrypt import StandardEncryption

        encrypt = StandardEncryption("", ownerPassword="owner", canPrint=0)
    buf = io.BytesIO()
    pdf = canvas.Canvas(buf, pagesize=A4, encrypt=encrypt)
    if spec.title:
        pdf.setTitle(spec.title)
    _, height = A4
    total = len(spec.pages)
    key = 0
    for number, items in enumerate(spec.pages, start=1):
        if spec.header:
            pdf.setFont(spec.font, 9)
            pdf.drawString(_LEFT, height - 40, spec.header)
        y = height - 90
        for item in items:
            if isinstance(item, Heading):
                size = 16 - 2 * item.level
                key += 1
                name = f"h{key}"
                if item.positioned:
                    pdf.bookmarkHorizontal(name, 0, y + size + 2)
                else:
                    pdf.bookmarkPage(name)
                pdf.addOutlineEntry(item.text, name, level=item.level - 1)
                if item.printed:
                    pdf.setFont(spec.font, size)
                    pdf.drawString(_LEFT, y, item.text)
                    y -= size + 12
                continue
            pdf.setFont(spec.font, 11)
            for line in _wrap(item, spec.font, 11):
                pdf.drawString(_LEFT, y, line)
                y -= 15
            y -= 12  # paragraph spacing
        if spec.page_numbers:
            pdf.setFont(spec.font, 9)
            pdf.drawString(_LEFT + 180, 40, spec.footer.format(n=number, total=total))
        pdf.showPage()
    pdf.save()
    return buf.getvalue()


def _outline_level(paragraph: Paragraph, level: int) -> None:
    ppr = paragraph._p.get_or_add_pPr()
    node = OxmlElement("w:outlineLvl")
    node.set(qn("w:val"), str(level - 1))
    ppr.append(node)


def docx_bytes(items: Sequence[tuple[str, object]], core_title: str | None = None) -> bytes:
    """A Word file from (kind, value) items, in order.

    Kinds: title, heading1..heading3, zh_heading1 (a style named "标题 1"), outline2 (a plain
    paragraph with outline level 2), bullet, numbered, para, table (a list of rows),
    header_table (rows whose first row is marked "repeat as header").
    """
    document = docx.Document()
    if core_title:
        document.core_properties.title = core_title
    zh_style = document.styles.add_style("标题 1", WD_STYLE_TYPE.PARAGRAPH)
    zh_style.base_style = document.styles["Normal"]
    for kind, value in items:
        if kind == "title":
            document.add_heading(str(value), level=0)
        elif kind.startswith("heading"):
            document.add_heading(str(value), level=int(kind[-1]))
        elif kind == "zh_heading1":
            document.add_paragraph(str(value), style="标题 1")
        elif kind == "outline2":
            _outline_level(document.add_paragraph(str(value)), 2)
        elif kind == "bullet":
            document.add_paragraph(str(value), style="List Bullet")
        elif kind == "numbered":
            document.add_paragraph(str(value), style="List Number")
        elif kind == "para":
            document.add_paragraph(str(value))
        elif kind in ("table", "header_table"):
            rows = list(value)  # type: ignore[call-overload]
            table = document.add_table(rows=len(rows), cols=len(rows[0]))
            for r, row in enumerate(rows):
                for c, cell in enumerate(row):
                    table.cell(r, c).text = cell
            if kind == "header_table":
                trpr = table.rows[0]._tr.get_or_add_trPr()
                trpr.append(OxmlElement("w:tblHeader"))
        else:
            raise ValueError(kind)
    buf = io.BytesIO()
    document.save(buf)
    return buf.getvalue()


def xlsx_bytes(sheets: dict[str, list[list[object]]]) -> bytes:
    """A workbook with one sheet per entry, rows as given."""
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for name, rows in sheets.items():
        sheet = workbook.create_sheet(name)
        for row in rows:
            sheet.append(row)
    buf = io.BytesIO()
    workbook.save(buf)
    return buf.getvalue()


# Sentences of a robot-vacuum manual; each numbered paragraph draws three to five, with its own
# parts, rooms and figures, so paragraphs share phrasing (as a real manual's do) without being
# copies (figures alone would not do: the cleaner rightly takes those for near copies).
MANUAL_SENTENCES = [
    "Press and hold the {part} button for {n} seconds until the indicator turns {colour}.",
    "If the robot stops at the {room} doorway, lift it and place it {n} cm further in.",
    "Empty the {part} after every {n} runs in the {room} and rinse it under cold water.",
    "The {part} should be replaced every {n} months, or sooner if it looks {worn}.",
    "Do not use the mop module in the {room} on rugs thicker than {n} mm.",
    "When error code E{n} appears, check that the {part} turns freely.",
    "Keep the charging dock at least {n} cm away from the {room} stairs.",
    "The battery reaches full charge in about {n} minutes; the {part} light then turns {colour}.",
    "Open the app, choose Map {n} and rename the {room}.",
    "Clean the {part} with a dry cloth once every {n} weeks.",
    "Fill the water tank to the MAX line before mopping the {room}; it holds {n} ml.",
    "Schedules for the {room} can run up to {n} times a day.",
    "A firmware update takes about {n} minutes; the {part} light blinks {colour} meanwhile.",
    "Quiet mode lowers suction to {n} Pa, which suits the {room} at night.",
    "If the robot cannot find the dock from the {room}, press Home for {n} seconds.",
    "A {worn} {part} can cut the run time by {n} minutes.",
]
WORDS = {
    "part": [
        "side brush",
        "main brush",
        "dust bin",
        "HEPA filter",
        "cliff sensor",
        "left wheel",
        "right wheel",
        "bumper",
        "mop pad",
        "water tank",
        "power",
        "home",
        "spot clean",
    ],
    "room": [
        "kitchen",
        "hallway",
        "bedroom",
        "living room",
        "study",
        "bathroom",
        "balcony",
        "dining room",
        "nursery",
        "garage",
    ],
    "colour": ["white", "blue", "orange", "red", "green"],
    "worn": ["worn", "bent", "clogged", "frayed", "cracked", "matted"],
}


def manual_items(paragraphs: int, seed: int = 17) -> list[tuple[str, object]]:
    """A manual of numbered paragraphs with a chapter heading every 50, as ``docx_bytes`` items
    ("heading1", "numbered"); tests/ingest and bench/cleaning.py build every format from it."""
    rng = random.Random(seed)
    items: list[tuple[str, object]] = []
    for i in range(paragraphs):
        if i % 50 == 0:
            items.append(("heading1", f"Chapter {i // 50 + 1}"))
        said = rng.sample(MANUAL_SENTENCES, rng.randint(3, 5))
        words = {k: rng.choice(v) for k, v in WORDS.items()}
        text = " ".join(s.format(n=rng.randint(2, 999), **words) for s in said)
        items.append(("numbered", f"{i + 1}. {text}"))
    return items
