"""DOCX: body paragraphs and tables in document order, headings from styles or outline level."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from typing import Any

import docx
from docx.table import Table
from docx.text.paragraph import Paragraph

from ingest.loaders._package import check_package
from ingest.loaders._table import row_texts
from ingest.model import Block, LoadedDocument

_HEADING_STYLE = re.compile(r"^(?:heading|标题|標題)\s*(\d)$", re.I)
_TITLE_STYLES = frozenset({"title", "标题", "標題"})
_LIST_STYLE = re.compile(r"^(?:list|列表|清單|项目符号|項目符號|编号|編號)", re.I)
_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_SPACE = re.compile(r"[ \t\u00a0]+")


def _outline_level(element: Any) -> int | None:
    """``w:outlineLvl`` (0-based) from paragraph or style properties; 9 means body text."""
    if element is None:
        return None
    ppr = element.find(f"{_W}pPr")
    if ppr is None:
        return None
    node = ppr.find(f"{_W}outlineLvl")
    if node is None:
        return None
    try:
        level = int(node.get(f"{_W}val"))
    except (TypeError, ValueError):
        return None
    return level + 1 if 0 <= level < 9 else None


def _style_chain(paragraph: Paragraph) -> list[Any]:
    styles: list[Any] = []
    style = paragraph.style
    while style is not None and len(styles) < 10:
        styles.append(style)
        style = style.base_style
    return styles


@dataclass(frozen=True)
class _StyleFacts:
    """What a paragraph style says, read once per style: python-docx resolves a paragraph's
    style by scanning every style of the document, which made long documents crawl."""

    heading: int | None  # from a Heading N / 标题 N name in the chain
    outline: int | None  # from the first style in the chain with an outline level
    title: bool
    list_style: bool

    @classmethod
    def of(cls, paragraph: Paragraph) -> _StyleFacts:
        chain = _style_chain(paragraph)
        names = [(s.name or "").strip() for s in chain]
        heading = next((int(m.group(1)) for n in names if (m := _HEADING_STYLE.match(n))), None)
        outline = next((lv for s in chain if (lv := _outline_level(s.element)) is not None), None)
        return cls(
            heading=None if heading is None else max(1, heading),
            outline=outline,
            title=any(n.lower() in _TITLE_STYLES for n in names),
            list_style=any(_LIST_STYLE.match(n) for n in names),
        )


class _Styles:
    """``_StyleFacts`` by the paragraph's style id (``w:pStyle``; None for the default)."""

    def __init__(self) -> None:
        self._facts: dict[str | None, _StyleFacts] = {}

    def __call__(self, paragraph: Paragraph) -> _StyleFacts:
        style_id = paragraph._p.style
        if style_id not in self._facts:
            self._facts[style_id] = _StyleFacts.of(paragraph)
        return self._facts[style_id]


def _heading_level(paragraph: Paragraph, facts: _StyleFacts) -> int | None:
    """Level from a Heading N/标题 N style (or one based on it), else from the outline level."""
    if facts.heading is not None:
        return facts.heading
    level = _outline_level(paragraph._p)
    return level if level is not None else facts.outline


def _is_list(paragraph: Paragraph, facts: _StyleFacts) -> bool:
    ppr = paragraph._p.pPr
    if ppr is not None and ppr.numPr is not None:
        return True
    return facts.list_style


def _table_rows(table: Table) -> list[list[str]]:
    """Cell texts per row; a horizontally merged cell is read once, nested tables inline."""
    rows = []
    for row in table.rows:
        cells: list[str] = []
        seen: set[int] = set()
        for cell in row.cells:
            if id(cell._tc) in seen:
                continue
            seen.add(id(cell._tc))
            parts = [p.text for p in cell.paragraphs]
            for inner in cell.tables:
                parts.extend(" | ".join(r) for r in _table_rows(inner))
            cells.append(" ".join(_SPACE.sub(" ", " ".join(parts)).split()))
        rows.append(cells)
    return rows


def _header_marked(table: Table) -> bool:
    """Word's "repeat as header row" flag on the first row."""
    if not table.rows:
        return False
    trpr = table.rows[0]._tr.trPr
    return trpr is not None and trpr.find(f"{_W}tblHeader") is not None


def load_docx(data: bytes) -> LoadedDocument:
    """Read a Word document's body in order (after the package passed its bomb and DTD checks)."""
    check_package(data, "Word (DOCX)")
    document = docx.Document(io.BytesIO(data))
    blocks: list[Block] = []
    title: str | None = None
    styles = _Styles()
    for item in document.iter_inner_content():
        if isinstance(item, Table):
            header = True if _header_marked(item) else None
            rows = row_texts(_table_rows(item), header=header)
            blocks.extend(Block(text, kind="table_row") for text in rows)
            continue
        raw = item.text.strip()
        text = _SPACE.sub(" ", raw.replace("\n", " ")).strip()
        if not text:
            continue
        facts = styles(item)
        if facts.title:
            # The document title names the whole file; a second Title is a top heading.
            if title is None:
                title = text
            else:
                blocks.append(Block(text, kind="heading", level=1))
            continue
        level = _heading_level(item, facts)
        if level is not None:
            blocks.append(Block(text, kind="heading", level=min(level, 6)))
        elif _is_list(item, facts):
            blocks.append(Block(text, kind="list_item"))
        else:
            # Soft line breaks (Shift+Enter) separate lines the author meant as separate.
            lines = (_SPACE.sub(" ", line).strip() for line in raw.split("\n"))
            blocks.extend(Block(line) for line in lines if line)
    core_title = (document.core_properties.title or "").strip()
    title = title or core_title or next((b.text for b in blocks if b.kind == "heading"), None)
    return LoadedDocument(blocks=blocks, format="docx", title=title)
