"""Index-side text normalisation, applied identically to chunks and queries.

NFKC (which also folds full-width Latin, digits and punctuation to half-width), lower-case,
OpenCC phrase-level Traditional → Simplified (``tw2sp``: 軟體 → 软件, 網路 → 网络), whitespace
collapsed. The original text is kept elsewhere for display.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from functools import lru_cache
from typing import Protocol

OPENCC_CONFIG = "tw2sp"

_WHITESPACE = re.compile(r"\s+")
_lock = threading.Lock()
_converter: _Converter | None = None


class _Converter(Protocol):
    def convert(self, text: str) -> str: ...


def _opencc() -> _Converter:
    # Built once, on first use: no work at import time, and the converter is thread-safe to share.
    global _converter
    if _converter is None:
        with _lock:
            if _converter is None:
                import opencc

                _converter = opencc.OpenCC(OPENCC_CONFIG)
    return _converter


def to_simplified(text: str) -> str:
    """Phrase-level Traditional → Simplified conversion (Simplified text passes through)."""
    return _opencc().convert(text)


def fold(text: str) -> str:
    """NFKC + lower-case + Traditional → Simplified, without touching whitespace."""
    return to_simplified(unicodedata.normalize("NFKC", text).lower())


@lru_cache(maxsize=4096)
def normalize(text: str) -> str:
    """Return the form of ``text`` that BM25 and the embedder see."""
    return _WHITESPACE.sub(" ", fold(text)).strip()
