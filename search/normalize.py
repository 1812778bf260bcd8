"""The one text folding: every path that compares text folds it here, alike on both sides.

NFKC (which also folds full-width Latin, digits and punctuation to half-width), lower-case,
OpenCC phrase-level Traditional → Simplified (``tw2sp``: 軟體 → 软件, 網路 → 网络), whitespace
collapsed. Search, escalation rules, reply cues, sentiment and highlighting use it; the display
script takes its direction-specific converters from :func:`converter`. The original text is kept
elsewhere for display.
"""

from __future__ import annotations

import difflib
import re
import threading
import unicodedata
from collections.abc import Sequence
from functools import lru_cache
from typing import Protocol

OPENCC_CONFIG = "tw2sp"
# A length-changing conversion is aligned with difflib up to this many characters per run
# (quadratic); a longer run of unbroken Han text is spread evenly instead.
_ALIGN_LIMIT = 400

_WHITESPACE = re.compile(r"\s+")
_HAN_RUNS = re.compile(
    r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+|[^\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+"
)
_lock = threading.Lock()
_converters: dict[str, Converter] = {}


class Converter(Protocol):
    def convert(self, text: str) -> str: ...


def converter(config: str) -> Converter:
    """This process's one OpenCC converter for ``config`` (``tw2sp``, ``s2twp`` …).

    Built on first use, not at import (it reads its dictionaries); converters are thread-safe.
    """
    found = _converters.get(config)
    if found is None:
        with _lock:
            found = _converters.get(config)
            if found is None:
                import opencc

                found = _converters[config] = opencc.OpenCC(config)
    return found


def to_simplified(text: str) -> str:
    """Phrase-level Traditional → Simplified conversion (Simplified text passes through)."""
    return converter(OPENCC_CONFIG).convert(text)


def fold(text: str) -> str:
    """NFKC + lower-case + Traditional → Simplified, without touching whitespace."""
    return to_simplified(unicodedata.normalize("NFKC", text).lower())


@lru_cache(maxsize=4096)
def normalize(text: str) -> str:
    """Return the form of ``text`` that BM25, the embedder and every matcher see."""
    return _WHITESPACE.sub(" ", fold(text)).strip()


def aligned_fold(text: str) -> tuple[str, list[int]]:
    """``fold(text)`` with ``origin[i]``, the index in ``text`` of folded character ``i``."""
    whole = unicodedata.normalize("NFKC", text).lower()
    if len(whole) == len(text):
        folded, origin = whole, list(range(len(text)))
    else:  # NFKC or lower-casing changed lengths (ligatures, ㈱, e + U+0301 …): fold by pieces
        pieces: list[str] = []
        origin = []
        start = 0
        while start < len(text):
            # A piece is a character with those it composes with (a base and its combining
            # marks, Hangul jamo): folded one character at a time they would stay apart.
            end = start + 1
            while end < len(text) and _composes(text[start:end], text[end]):
                end += 1
            piece = unicodedata.normalize("NFKC", text[start:end]).lower()
            pieces.append(piece)
            origin.extend([start] * len(piece))
            start = end
        # Lower-casing in context (a final Σ) may differ piece by piece; lengths do not.
        folded = whole if len(whole) == len(origin) else "".join(pieces)
    simplified = to_simplified(folded)
    if len(simplified) == len(folded):
        return simplified, origin
    # A phrase conversion changed length (記憶體 → 内存): convert run by run of Han (and other)
    # text, and align each changed run with what it became.
    out: list[str] = []
    mapped: list[int] = []
    for run in _HAN_RUNS.finditer(folded):
        start, end = run.span()
        converted = to_simplified(run.group())
        out.append(converted)
        mapped.extend(_align(origin[start:end], run.group(), converted))
    return "".join(out), mapped


def _composes(piece: str, char: str) -> bool:
    nfkc = unicodedata.normalize
    return nfkc("NFKC", piece + char) != nfkc("NFKC", piece) + nfkc("NFKC", char)


def _align(origin: Sequence[int], before: str, after: str) -> list[int]:
    if len(after) == len(before):
        return list(origin)
    if len(before) > _ALIGN_LIMIT:
        return _spread(origin, len(after))
    mapped: list[int] = []
    matcher = difflib.SequenceMatcher(None, before, after, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            mapped.extend(origin[i1:i2])
        elif j2 > j1:  # replaced or inserted characters stand for the source span they replace
            mapped.extend(_spread(origin[i1:i2] or [origin[min(i1, len(origin) - 1)]], j2 - j1))
    return mapped


def _spread(origin: Sequence[int], count: int) -> list[int]:
    # First and last characters keep their sources, so a span over them covers the whole phrase.
    if count == 1:
        return [origin[0]]
    last = len(origin) - 1
    return [origin[k * last // (count - 1)] for k in range(count)]
