"""Markdown: headings, list items, tables, paragraphs and fenced code, by a line parser.

Blocks are found line by line here; the text inside them (emphasis, links, escapes …) is
rendered by a CommonMark parser in ``_inline``.
"""

from __future__ import annotations

import re

from ingest.encoding import decode_text
from ingest.loaders._inline import References, link_references, render_inline
from ingest.loaders._lines import Joined, join_all
from ingest.loaders._table import row_texts
from ingest.model import Block, LoadedDocument

_ATX = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)(?:\s+#+)?\s*$")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)\s*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_LIST = re.compile(r"^(\s*)(?:[-*+]|\d{1,9}[.)])\s+(?:\[[ xX]\]\s+)?(.*)$")
_RULE = re.compile(r"^ {0,3}([-*_])(?:\s*\1){2,}\s*$")
_TABLE_SEP = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")
_QUOTE = re.compile(r"^\s*>\s?")
_FRONT_MATTER = re.compile(r"\A---\n(.*?)\n(?:---|\.\.\.)\n", re.S)
_FRONT_TITLE = re.compile(r"^title:\s*[\"']?(.*?)[\"']?\s*$", re.M)

_LINK_DEF = re.compile(r"^ {0,3}\[([^\]]+)\]:\s+(\S+)")


def strip_comments(text: str) -> str:
    """Remove ``<!-- … -->`` comments; an unclosed one stays (a scan, linear where a lazy regex
    tried from every ``<!--`` of a long line is quadratic)."""
    out: list[str] = []
    pos = 0
    while (start := text.find("<!--", pos)) >= 0:
        end = text.find("-->", start + 4)
        if end < 0:
            break
        out.append(text[pos:start])
        pos = end + 3
    out.append(text[pos:])
    return "".join(out)


def _cells(line: str, refs: References) -> list[str]:
    line = line.strip()
    line = line.removeprefix("|").removesuffix("|")
    # GFM: an escaped pipe belongs to its cell, inside a code span too (`a\|b` shows "a|b").
    cells = re.split(r"(?<!\\)\|", line)
    return [render_inline(c.replace("\\|", "|"), refs) for c in cells]


class _Parser:
    """Walks the lines once, emitting blocks in order."""

    def __init__(self, lines: list[str], refs: References) -> None:
        self.lines = lines
        self.refs = refs
        self.blocks: list[Block] = []
        self.paragraph: list[str] = []

    def flush(self) -> None:
        text = join_all(self.paragraph)
        if text:
            self.blocks.append(Block(render_inline(text, self.refs)))
        self.paragraph = []

    def run(self) -> list[Block]:
        i = 0
        lines = self.lines
        while i < len(lines):
            line = lines[i]
            stripped = line.strip()
            nxt = lines[i + 1] if i + 1 < len(lines) else ""
            if fence := _FENCE.match(line):
                self.flush()
                i = self.code(i, fence.group(1))
                continue
            if not stripped or _LINK_DEF.match(line):
                self.flush()
            elif m := _ATX.match(line):
                self.flush()
                self.heading(m.group(2), len(m.group(1)))
            elif self.paragraph == [] and (m := _SETEXT.match(nxt)) and not _LIST.match(line):
                self.heading(stripped, 1 if m.group(1)[0] == "=" else 2)
                i += 1
            elif _RULE.match(line):
                self.flush()
            elif "|" in stripped and _TABLE_SEP.match(nxt):
                self.flush()
                i = self.table(i)
                continue
            elif m := _LIST.match(line):
                self.flush()
                i = self.list_item(i, m)
                continue
            elif _QUOTE.match(line):
                self.paragraph.append(_QUOTE.sub("", line).strip())
            else:
                self.paragraph.append(stripped)
            i += 1
        self.flush()
        return self.blocks

    def heading(self, text: str, level: int) -> None:
        text = render_inline(text, self.refs)
        if text:
            self.blocks.append(Block(text, kind="heading", level=level))

    def code(self, i: int, fence: str) -> int:
        body = []
        i += 1
        while i < len(self.lines) and not self.lines[i].strip().startswith(fence):
            body.append(self.lines[i])
            i += 1
        text = "\n".join(body).strip("\n")
        if text.strip():
            self.blocks.append(Block(text))
        return i + 1

    def table(self, i: int) -> int:
        rows = [_cells(self.lines[i], self.refs)]
        i += 2
        while i < len(self.lines) and "|" in self.lines[i] and self.lines[i].strip():
            rows.append(_cells(self.lines[i], self.refs))
            i += 1
        self.blocks.extend(Block(t, kind="table_row") for t in row_texts(rows, header=True))
        return i

    def list_item(self, i: int, m: re.Match[str]) -> int:
        indent = len(m.group(1))
        text = Joined(m.group(2).strip())
        i += 1
        # Continuation lines: indented (or lazy) text that is not a new item or block.
        while i < len(self.lines):
            line = self.lines[i]
            if (
                not line.strip()
                or _LIST.match(line)
                or _ATX.match(line)
                or _FENCE.match(line)
                or (len(line) - len(line.lstrip()) <= indent and _QUOTE.match(line))
            ):
                break
            text.add(line.strip())
            i += 1
        if text:
            self.blocks.append(Block(render_inline(text.text(), self.refs), kind="list_item"))
        return i


def load_markdown(data: bytes) -> LoadedDocument:
    """Parse a Markdown file; the title is front matter's ``title`` or the first heading."""
    text, encoding = decode_text(data)
    title = None
    if front := _FRONT_MATTER.match(text):
        if m := _FRONT_TITLE.search(front.group(1)):
            title = m.group(1).strip() or None
        text = text[front.end() :]
    lines = strip_comments(text).split("\n")
    refs = link_references((m[1], m[2]) for line in lines if (m := _LINK_DEF.match(line)))
    blocks = _Parser(lines, refs).run()
    if title is None:
        title = next((b.text for b in blocks if b.kind == "heading"), None)
    return LoadedDocument(blocks=blocks, format="markdown", title=title, encoding=encoding)
