"""Re-join lines that a layout wrapped, keeping real paragraph and heading breaks."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# A line ending in one of these (maybe followed by a closing quote/bracket) ends a paragraph.
_TERMINAL = re.compile(r"[。！？：；;!?.:…](?:[”’」』）)\]\"']*)$")
# Lines starting like a list item or a numbered heading never continue the previous line.
_STARTS_BLOCK = re.compile(
    r"^(?:[-*•·●○■□◆◇▪–]\s|\d{1,3}[.、)）]\s?|[（(][一二三四五六七八九十\d]{1,3}[)）]|"
    r"[一二三四五六七八九十百]{1,3}[、.．]|第[一二三四五六七八九十百零〇\d]{1,5}[章节節条條部篇])"
)
_HYPHENATED = re.compile(r"[A-Za-z]-$")


@dataclass(frozen=True)
class Line:
    """One visual line; ``full`` when it reaches the wrap width (so it was probably wrapped)."""

    text: str
    full: bool
    gap_before: bool = False  # extra vertical space above it (PDF): a paragraph break


def display_width(text: str) -> int:
    """Columns the text takes in a monospace view: wide (CJK) characters count twice."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def is_cjk(ch: str) -> bool:
    """True for CJK ideographs, kana, hangul and full-width punctuation."""
    return unicodedata.east_asian_width(ch) in "WF"


def join_pair(left: str, right: str) -> str:
    """Glue two wrapped line fragments: no space around CJK, one space between Latin words."""
    if not left:
        return right
    if not right:
        return left
    if _HYPHENATED.search(left[-3:]) and right[:1].islower():  # the tail: "X-" or "X-\n"
        return left[:-1] + right
    if is_cjk(left[-1]) or is_cjk(right[0]):
        return left + right
    return f"{left} {right}"


class Joined:
    """A text built by ``join_pair`` one fragment at a time, in linear time.

    ``join_pair`` looks only at the last characters of its left side, so the text is kept as
    finished pieces plus a short tail; gluing onto the whole text each time was quadratic (a
    10 MB paragraph of wrapped lines took hours).
    """

    def __init__(self, text: str = "") -> None:
        self._done: list[str] = []
        self._tail = text

    def add(self, part: str) -> None:
        self._tail = join_pair(self._tail, part)
        if len(self._tail) > 64:
            self._done.append(self._tail[:-8])
            self._tail = self._tail[-8:]

    def text(self) -> str:
        return "".join(self._done) + self._tail

    def __bool__(self) -> bool:
        return bool(self._tail)


def join_all(parts: list[str]) -> str:
    """``join_pair`` folded over ``parts``."""
    joined = Joined()
    for part in parts:
        joined.add(part)
    return joined.text()


def ends_paragraph(text: str) -> bool:
    """A line ending in sentence-final punctuation closes its paragraph."""
    return bool(_TERMINAL.search(text))


def join_wrapped(lines: list[Line]) -> list[str]:
    """Paragraphs from visual lines: join a full line without final punctuation to the next."""
    paragraphs: list[str] = []
    current = Joined()
    previous: Line | None = None
    for line in lines:
        text = line.text.strip()
        if not text:
            if current:
                paragraphs.append(current.text())
            current, previous = Joined(), None
            continue
        continues = (
            previous is not None
            and previous.full
            and not line.gap_before
            and not ends_paragraph(previous.text.strip())
            and not _STARTS_BLOCK.match(text)
        )
        if continues:
            current.add(text)
        else:
            if current:
                paragraphs.append(current.text())
            current = Joined(text)
        previous = line
    if current:
        paragraphs.append(current.text())
    return paragraphs


def _long_line(widths: list[int]) -> int:
    """Of sorted line widths, the long lines': the 90th percentile (the widest under ten)."""
    return widths[int(len(widths) * 0.9) - 1] if len(widths) >= 10 else widths[-1]


def long_line_width(texts: list[str]) -> int:
    """Width of a text's long lines (0 for no text), as :func:`wrap_width` measures them."""
    widths = sorted(display_width(t.strip()) for t in texts if t.strip())
    return _long_line(widths) if widths else 0


def wrap_width(texts: list[str]) -> int | None:
    """The column where a hard-wrapped text breaks its lines, or None if it is not wrapped.

    Hard-wrapped text has many lines of nearly the same width; free text (one paragraph per
    line, as copied from web pages) has widths all over the place.
    """
    widths = sorted(display_width(t.strip()) for t in texts if t.strip())
    if len(widths) < 4:
        return None
    width = _long_line(widths)
    if width < 30 or width > 200:
        return None
    near = sum(1 for w in widths if 0.85 * width <= w <= width)
    return width if near >= 0.4 * len(widths) and near >= 3 else None


def text_lines(texts: list[str], width: int | None) -> list[Line]:
    """Lines of a plain text, marked full when they reach ``width`` (None: never wrapped)."""
    return [
        Line(t, full=width is not None and display_width(t.strip()) >= 0.85 * width) for t in texts
    ]
