"""Find numbered headings in plain paragraphs and give every block its heading path."""

from __future__ import annotations

import re
from dataclasses import replace

from ingest.model import Block

_CN_NUM = "0-9一二三四五六七八九十百零〇两"

# Rank of each numbering style, outermost first: the convention of Chinese manuals and
# official documents (第X章 > 一、 > （一） > 1、/1. > (1)). Arabic multi-level numbers rank by
# depth, so 1.2.3 sits under 1.2 under 1.
_PATTERNS: list[tuple[int, re.Pattern[str]]] = [
    (1, re.compile(rf"^(?:第[{_CN_NUM}]+(?:部分|篇)|Part\s+(?:\d+|[IVXLC]+)\b)", re.IGNORECASE)),
    (2, re.compile(rf"^(?:第[{_CN_NUM}]+章|Chapter\s+(?:\d+|[IVXLC]+)\b)", re.IGNORECASE)),
    (3, re.compile(rf"^(?:第[{_CN_NUM}]+节|Section\s+\d+(?:\.\d+)*\b)", re.IGNORECASE)),
    (4, re.compile(r"^[一二三四五六七八九十]+、")),
    (5, re.compile(r"^[（(][一二三四五六七八九十]+[)）]")),
    (10, re.compile(r"^[（(]\d{1,2}[)）]")),
]
# 1、  1.  1．  1 标题  1.2  1.2.3 — one or two digits per level, so years and prices never match.
# "1.2退款" needs no separator after a multi-level number; a single number does ("1、", "1 ").
_ARABIC_RE = re.compile(
    r"^(?:(\d{1,2}(?:\.\d{1,2}){1,3})[、．.]?\s*(?=[^\s\d.])|(\d{1,2})(?:[、．.]\s*|\s+)(?=[^\s\d]))"
)
_ARABIC_RANK = 6  # depth 1; 1.2 is 7, 1.2.3 is 8, 1.2.3.4 is 9

_SENTENCE_END_RE = re.compile(r"[。！？；!?;]|\.\s")
_MAX_CJK_HEADING = 40
_MAX_LATIN_HEADING = 90


def heading_rank(text: str) -> int | None:
    """Rank of the numbering style that opens ``text`` (smaller is outer), or None."""
    for rank, pattern in _PATTERNS:
        if pattern.match(text):
            return rank
    m = _ARABIC_RE.match(text)
    if m:
        return _ARABIC_RANK + (m.group(1) or m.group(2)).count(".")
    return None


def _looks_like_heading(text: str) -> bool:
    """Short, no sentence inside, at most one comma: a title, not a list item's sentence."""
    latin = sum(1 for c in text if c.isascii() and c.isalpha())
    limit = _MAX_LATIN_HEADING if latin * 2 > len(text) else _MAX_CJK_HEADING
    body = _ARABIC_RE.sub("", text, count=1)  # "1. Returns": the marker's dot is no sentence
    if len(text) > limit or _SENTENCE_END_RE.search(body) or body.endswith(("。", ".")):
        return False
    return body.count("，") + body.count(",") <= 1


def detect_headings(blocks: list[Block]) -> list[Block]:
    """Turn numbered title paragraphs into heading blocks with levels.

    A candidate must be short, carry no sentence, and be followed by content; candidates of
    one style standing next to each other are a list (steps, a contents page), not headings.
    Detected levels nest under the loader's own headings (Markdown, DOCX styles, PDF outline).
    """
    ranks: list[int | None] = []
    for b in blocks:
        text = b.text.strip()
        rank = heading_rank(text) if b.kind == "paragraph" else None
        ranks.append(rank if rank is not None and _looks_like_heading(text) else None)
    for i, rank in enumerate(ranks):
        if rank is None:
            continue
        is_last = i + 1 >= len(blocks)
        prev_same = i > 0 and _rank_of(blocks[i - 1], ranks[i - 1]) == rank
        next_same = not is_last and _rank_of(blocks[i + 1], ranks[i + 1]) == rank
        if is_last or prev_same or next_same:
            ranks[i] = -rank  # remembered for its neighbours, but not a heading
    used = sorted({r for r in ranks if r is not None and r > 0})
    dense = {r: n + 1 for n, r in enumerate(used)}
    out = []
    base = 0  # level of the latest loader-provided heading
    for b, rank in zip(blocks, ranks, strict=True):
        if b.kind == "heading":
            base = max(b.level, 1)
            out.append(b)
        elif rank is not None and rank > 0:
            title = b.text.strip().rstrip(":：").strip()
            out.append(replace(b, kind="heading", level=base + dense[rank], text=title))
        else:
            out.append(b)
    return out


def _rank_of(block: Block, rank: int | None) -> int | None:
    if rank is not None:
        return abs(rank)
    if block.kind == "list_item":
        return heading_rank(block.text.strip())
    return None


def assign_sections(blocks: list[Block]) -> list[tuple[tuple[str, ...], Block]]:
    """Pair every block with the path of headings above it; a heading's path ends with itself."""
    stack: list[tuple[int, str]] = []
    out: list[tuple[tuple[str, ...], Block]] = []
    for b in blocks:
        if b.kind == "heading":
            level = max(b.level, 1)
            while stack and stack[-1][0] >= level:
                stack.pop()
            stack.append((level, b.text.strip()))
        out.append((tuple(title for _, title in stack), b))
    return out
