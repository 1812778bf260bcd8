"""PDF: paragraphs per page (pdfplumber), headings from the outline (pypdf), no running heads."""

from __future__ import annotations

import io
import itertools
import logging
import re
from collections import Counter
from dataclasses import dataclass
from statistics import median
from typing import Any

import pdfplumber
from pypdf import PdfReader
from pypdf.errors import LimitReachedError

from ingest.loaders._lines import Line, ends_paragraph, join_wrapped
from ingest.model import Block, IngestError, LoadedDocument

logger = logging.getLogger(__name__)

_PAGE_NUMBER = re.compile(
    r"^[-–—\s]*(?:(?:page|p\.)\s*)?(?:第\s*)?\d{1,4}\s*(?:页|頁)?"
    r"(?:\s*(?:/|of|共)\s*\d{1,4}\s*(?:页|頁)?)?[-–—\s]*$",
    re.I,
)
_PLACEHOLDER_TITLE = re.compile(
    r"^(?:|untitled(?: document)?|无标题|無標題|title|document\d*)$", re.I
)
_OFFICE_PREFIX = re.compile(r"^Microsoft (?:Word|PowerPoint|Excel) - ", re.I)
_FILE_SUFFIX = re.compile(r"\.(?:docx?|pptx?|xlsx?|pdf|txt)$", re.I)
_EDGE_LINES = 2  # running heads/feet live in the first and last lines of a page
# Drawing operators of one page once inflated. A page of text needs tens of KB; pdfminer turns
# every glyph into objects, so 2 MB of text operators cost it a gigabyte and a minute. Past the
# cap the file is refused at once; below it, the parse fence (ingest.fence) bounds the rest.
MAX_PAGE_CONTENT_BYTES = 5_000_000
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class _Heading:
    title: str
    level: int
    page: int  # 0-based
    top: float | None  # distance from the page top, when the outline says where


@dataclass
class _PageLine:
    text: str
    x0: float
    x1: float
    top: float
    bottom: float


def _outline(reader: PdfReader) -> list[_Heading]:
    """Flatten the bookmarks into headings with level, page and position."""
    headings: list[_Heading] = []

    def visit(items: list[Any], level: int) -> None:
        for item in items:
            if isinstance(item, list):
                visit(item, level + 1)
                continue
            try:
                page = reader.get_destination_page_number(item)
            except Exception:  # a dangling bookmark must not sink the document
                continue
            title = _SPACE.sub(" ", str(item.title or "")).strip()
            if page is None or page < 0 or not title:
                continue
            top = None
            try:
                raw_top = item.top
                if raw_top is not None:
                    height = float(reader.pages[page].mediabox.height)
                    top = height - float(raw_top)
            except Exception:  # /Fit destinations carry no position
                top = None
            headings.append(_Heading(title, min(level, 6), page, top))

    try:
        visit(list(reader.outline), 1)
    except Exception as exc:  # a broken outline still leaves the text usable
        logger.warning("ignoring unreadable PDF outline: %s", exc)
    return headings


def _page_lines(page: Any) -> list[_PageLine]:
    lines = []
    for raw in page.extract_text_lines(return_chars=False):
        text = raw["text"].strip()
        if text:
            lines.append(_PageLine(text, raw["x0"], raw["x1"], raw["top"], raw["bottom"]))
    return lines


def _edge_key(text: str) -> str:
    return re.sub(r"\d+", "#", _SPACE.sub("", text))


def _edge_lines(lines: list[_PageLine]) -> list[int]:
    """Indexes of a page's first and last lines, less those inside a wrapped paragraph.

    A running head stands apart; a line that fills the measure and runs on into the next
    (or is run into) is body text, even when the same text sits at the edge of another page.
    """
    right = max((line.x1 for line in lines), default=0.0)
    runs_on = [
        line.x1 >= right - 20
        and nxt.top - line.bottom < (line.bottom - line.top)
        and not ends_paragraph(line.text)
        for line, nxt in itertools.pairwise(lines)
    ]
    edge = sorted({*range(min(_EDGE_LINES, len(lines))), *range(len(lines))[-_EDGE_LINES:]})
    return [
        i for i in edge if not (i < len(runs_on) and runs_on[i]) and not (i > 0 and runs_on[i - 1])
    ]


def _strip_running(pages: list[list[_PageLine]]) -> list[list[_PageLine]]:
    """Drop bare page numbers and heads/feet repeated on most pages (page numbers abstracted)."""
    counts: Counter[str] = Counter()
    for lines in pages:
        counts.update({_edge_key(lines[i].text) for i in _edge_lines(lines)})
    with_text = sum(1 for lines in pages if lines)
    repeated = {key for key, n in counts.items() if with_text >= 2 and n >= max(2, 0.6 * with_text)}
    out = []
    for lines in pages:
        edge = set(_edge_lines(lines))
        out.append(
            [
                line
                for i, line in enumerate(lines)
                if i not in edge
                or not (_PAGE_NUMBER.match(line.text) or _edge_key(line.text) in repeated)
            ]
        )
    return out


def _paragraphs(lines: list[_PageLine]) -> list[str]:
    """Join wrapped lines: a line reaching the right margin continues unless it ends a sentence."""
    if not lines:
        return []
    right = max(line.x1 for line in lines)
    left = min(line.x0 for line in lines)
    width = max(1.0, right - left)
    gaps = [b.top - a.bottom for a, b in itertools.pairwise(lines) if b.top > a.bottom]
    usual_gap = median(gaps) if gaps else 0.0
    heights = [line.bottom - line.top for line in lines]
    line_height = median(heights) if heights else 10.0
    out: list[Line] = []
    previous: _PageLine | None = None
    for line in lines:
        gap = line.top - previous.bottom if previous else 0.0
        out.append(
            Line(
                line.text,
                full=line.x1 >= right - 0.08 * width,
                gap_before=previous is not None and gap > max(usual_gap * 1.6, line_height * 0.8),
            )
        )
        previous = line
    return join_wrapped(out)


def _same(a: str, b: str) -> bool:
    return _SPACE.sub("", a).casefold() == _SPACE.sub("", b).casefold()


def _page_blocks(lines: list[_PageLine], headings: list[_Heading], page_no: int) -> list[Block]:
    """Blocks of one page, outline headings placed at their printed title or their position.

    A heading whose title is printed on the page replaces that line; one that only has a
    position goes above the first line below it; the rest open the page.
    """

    def heading(h: _Heading) -> Block:
        return Block(h.title, kind="heading", level=h.level, page=page_no)

    printed = {id(h) for h in headings if any(_same(h.title, line.text) for line in lines)}
    pending = [h for h in headings if id(h) in printed or h.top is not None]
    blocks = [heading(h) for h in headings if id(h) not in printed and h.top is None]
    segment: list[_PageLine] = []

    def flush() -> None:
        blocks.extend(Block(p, page=page_no) for p in _paragraphs(segment))
        segment.clear()

    for line in lines:
        match = next((h for h in pending if id(h) in printed and _same(h.title, line.text)), None)
        placed = [
            h
            for h in pending
            if id(h) not in printed and h.top is not None and h.top <= line.top + 2
        ]
        if match is not None:
            placed = pending[: pending.index(match) + 1]
        if placed:
            flush()
            blocks.extend(heading(h) for h in placed)
            pending = [h for h in pending if h not in placed]
        if match is None:
            segment.append(line)
    flush()
    blocks.extend(heading(h) for h in pending)
    return blocks


def _check_page_contents(reader: PdfReader) -> None:
    """Refuse a page whose content stream inflates past ``MAX_PAGE_CONTENT_BYTES`` (a bomb)."""
    limit = MAX_PAGE_CONTENT_BYTES
    for number, page in enumerate(reader.pages, start=1):
        try:
            contents = page.get("/Contents")
            contents = contents.get_object() if contents is not None else None
            streams = contents if isinstance(contents, list) else [contents] if contents else []
            size = 0
            for stream in streams:
                size += len(stream.get_object().get_data())
                if size > limit:
                    break
        except LimitReachedError:
            size = limit + 1  # over pypdf's own inflation cap (75 MB)
        except Exception:  # an odd page is pdfplumber's to judge, as before
            continue
        if size > limit:
            raise IngestError(
                "",
                f"page {number}'s content inflates to over {limit / 1e6:g} MB: refusing a "
                "possible decompression bomb",
            )


def _metadata_title(reader: PdfReader) -> str | None:
    """The document title from metadata, unless it is a tool's placeholder or a file name."""
    try:
        meta = reader.metadata
        title = str(meta.title).strip() if meta and meta.title else ""
    except Exception:  # odd metadata encodings are not worth failing over
        return None
    title = _OFFICE_PREFIX.sub("", title).strip()
    title = _FILE_SUFFIX.sub("", title).strip()
    return None if _PLACEHOLDER_TITLE.match(title) else title


def load_pdf(data: bytes) -> LoadedDocument:
    """Extract the text layer; refuse encrypted PDFs and report pages without text."""
    if b"%PDF" not in data[:1024]:
        # Named .pdf, but no PDF header: say so rather than report a damaged PDF.
        raise IngestError("", "not a PDF file: it has no %PDF header (renamed from another type?)")
    reader = PdfReader(io.BytesIO(data))
    password: str | None = None
    if reader.is_encrypted:
        # Many PDFs are "encrypted" only to restrict printing: the empty password opens them.
        if not reader.decrypt(""):
            raise IngestError("", "the PDF is encrypted (password-protected); remove the password")
        password = ""
    _check_page_contents(reader)
    headings = _outline(reader)
    with pdfplumber.open(io.BytesIO(data), password=password) as pdf:
        pages = [_page_lines(page) for page in pdf.pages]
    pages = _strip_running(pages)
    blocks: list[Block] = []
    for index, lines in enumerate(pages):
        on_page = [h for h in headings if h.page == index]
        blocks.extend(_page_blocks(lines, on_page, index + 1))
    warnings = []
    empty = [str(i + 1) for i, lines in enumerate(pages) if not lines]
    if empty and len(empty) < len(pages):
        shown = ", ".join(empty[:20]) + (", …" if len(empty) > 20 else "")
        warnings.append(f"{len(empty)} pages have no text layer (scanned?): pages {shown}")
    if not any(lines for lines in pages):
        raise IngestError("", "no text found in the PDF (a scanned image? OCR is not supported)")
    title = _metadata_title(reader) or next((b.text for b in blocks if b.kind == "heading"), None)
    return LoadedDocument(blocks=blocks, format="pdf", title=title, warnings=warnings)
