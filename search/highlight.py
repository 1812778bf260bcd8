"""Mark query terms in display text: HTML-escaped output with ``<mark>`` around matches.

Terms are in normalised form (Simplified, lower-case, half-width); they are found in a folded
copy of the original text that stays aligned with it character by character, and the marks are
placed on the original. Latin words and numbers only match whole (``app`` does not light up
inside ``apple``); CJK terms match anywhere.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from functools import lru_cache

from search.normalize import aligned_fold

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_LETTER = rf"[^\W\d_{_CJK}]"


def highlight(text: str, terms: Iterable[str]) -> str:
    """``text`` HTML-escaped, with every occurrence of a term wrapped in ``<mark>…</mark>``."""
    pattern = _pattern(terms)
    if pattern is None or not text:
        return html.escape(text)
    folded, origin = aligned_fold(text)
    spans: list[list[int]] = []
    for match in pattern.finditer(folded):
        start, end = origin[match.start()], origin[match.end() - 1] + 1
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


def _pattern(terms: Iterable[str]) -> re.Pattern[str] | None:
    unique = tuple(sorted({t for t in terms if t.strip()}, key=lambda t: (-len(t), t)))
    return _compiled(unique) if unique else None


@lru_cache(maxsize=1024)
def _compiled(unique: tuple[str, ...]) -> re.Pattern[str]:
    # A search highlights each of its hits with the same terms, and ``re``'s own cache (512
    # patterns, keyed by the whole source string) is shared with every other module: building
    # the alternation string alone was ~8 % of a search at 156k chunks. Longest first: at each
    # position the regex takes the first alternative that matches.
    return re.compile("|".join(_bounded(t) for t in unique))


def _bounded(term: str) -> str:
    body = re.escape(term)
    before = _boundary(term[0])
    after = _boundary(term[-1])
    return f"{f'(?<!{before})' if before else ''}{body}{f'(?!{after})' if after else ''}"


def _boundary(char: str) -> str | None:
    # Mirrors the tokenizer: letters and digits split from each other, so "iphone15" has words
    # "iphone" and "15", but "app" is not a word of "apple".
    if char.isdigit():
        return r"\d"
    if re.fullmatch(_LETTER, char):
        return _LETTER
    return None
