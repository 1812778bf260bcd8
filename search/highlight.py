"""Mark query terms in display text: HTML-escaped output with ``<mark>`` around matches.

Terms are in normalised form (Simplified, lower-case, half-width); they are found in a folded
copy of the original text that stays aligned with it character by character, and the marks are
placed on the original. Latin words and numbers only match whole (``app`` does not light up
inside ``apple``); CJK terms match anywhere.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Iterator
from functools import lru_cache

from search.normalize import aligned_fold

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_LETTER = rf"[^\W\d_{_CJK}]"
_LETTER_RE = re.compile(_LETTER)
_DIGIT = r"\d"


def highlight(text: str, terms: Iterable[str]) -> str:
    """``text`` HTML-escaped, with every occurrence of a term wrapped in ``<mark>…</mark>``."""
    matcher = _pattern(terms)
    if matcher is None or not text:
        return html.escape(text)
    folded, origin = aligned_fold(text)
    spans: list[list[int]] = []
    for match_start, match_end in matcher.finditer(folded):
        start, end = origin[match_start], origin[match_end - 1] + 1
        if spans and start <= spans[-1][1]:  # touching or sharing a source character: merge
            spans[-1][1] = max(spans[-1][1], end)
        else:
            spans.append([start, end])
    out: list[str] = []
    cursor = 0
    for start, end in spans:
        out.append(html.escape(text[cursor:start]))
        out.append(f"<mark>{html.escape(text[start:end])}</mark>")
        cursor = end
    out.append(html.escape(text[cursor:]))
    return "".join(out)


class _Terms:
    """Finds the terms in folded text as a regex alternation of them would, longest first, with
    a Latin or digit end matching only at a word's end, but without compiling those bounds.

    Compiling a bound's letter class costs ~2.4 ms per Latin term (``re`` builds its charset
    for all of Unicode), 10 ms for an English query of four words: more than a third of a
    query embedding, paid by every new query. The alternation without bounds compiles in
    microseconds and finds where some term starts; there the terms are tried longest first
    and the first whose bounds hold is the match, as the bounded alternation would take it.
    """

    def __init__(self, unique: tuple[str, ...]) -> None:
        self.terms = [(t, _boundary(t[0]), _boundary(t[-1])) for t in unique]
        self.starts = re.compile("|".join(re.escape(t) for t in unique))

    def finditer(self, folded: str) -> Iterator[tuple[int, int]]:
        pos = 0
        while (found := self.starts.search(folded, pos)) is not None:
            at = found.start()
            end = next((at + len(t) for t, before, after in self.terms
                        if folded.startswith(t, at) and _free(folded, at - 1, before)
                        and _free(folded, at + len(t), after)), None)  # fmt: skip
            if end is None:
                pos = at + 1
            else:
                yield at, end
                pos = end


def _pattern(terms: Iterable[str]) -> _Terms | None:
    unique = tuple(sorted({t for t in terms if t.strip()}, key=lambda t: (-len(t), t)))
    return _compiled(unique) if unique else None


@lru_cache(maxsize=1024)
def _compiled(unique: tuple[str, ...]) -> _Terms:
    # A search highlights each of its hits with the same terms, and ``re``'s own cache (512
    # patterns, keyed by the whole source string) is shared with every other module: building
    # the alternation string alone was ~8 % of a search at 156k chunks.
    return _Terms(unique)


def _free(folded: str, index: int, kind: str | None) -> bool:
    """Whether the character at ``index`` (none outside the text) is not of ``kind``."""
    if kind is None or not 0 <= index < len(folded):
        return True
    char = folded[index]
    return not (char.isdecimal() if kind == _DIGIT else _LETTER_RE.fullmatch(char))


def _boundary(char: str) -> str | None:
    # Mirrors the tokenizer: letters and digits split from each other, so "iphone15" has words
    # "iphone" and "15", but "app" is not a word of "apple".
    if char.isdigit():
        return _DIGIT
    if _LETTER_RE.fullmatch(char):
        return _LETTER
    return None
