"""Which script a text is written in: the CJK share of its letters, per chunk.

The searcher needs every chunk's share (BM25's reach by script, ``search/hybrid.py``). It is
computed once, when a segment is written, and stored beside its chunks (``cjk_share.npy``), so
loading a generation reads one array instead of scanning every chunk's text; a segment written
before the file existed has it computed at load.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from search.types import IndexedChunk

CJK_SHARE_FILE = "cjk_share.npy"
CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
LATIN = re.compile(r"[A-Za-z]")


def cjk_share(text: str) -> float:
    """Share of a text's letters that are CJK ideographs (the rest Latin); 1.0 when it has none."""
    cjk, latin = len(CJK.findall(text)), len(LATIN.findall(text))
    return cjk / (cjk + latin) if cjk + latin else 1.0


def cjk_shares(chunks: Sequence[IndexedChunk]) -> np.ndarray:
    """Each chunk's :func:`cjk_share` of its indexed text, in row order."""
    return np.asarray([cjk_share(c.index_text) for c in chunks], dtype=np.float32)


def save_shares(directory: Path, chunks: Sequence[IndexedChunk]) -> None:
    np.save(directory / CJK_SHARE_FILE, cjk_shares(chunks), allow_pickle=False)


def load_shares(directory: Path, chunks: Sequence[IndexedChunk]) -> np.ndarray:
    """The stored shares of a segment's ``chunks``; computed when the file is missing (written
    by an older release) or does not fit them."""
    try:
        shares = np.load(directory / CJK_SHARE_FILE, allow_pickle=False)
    except (FileNotFoundError, ValueError, OSError):
        return cjk_shares(chunks)
    if shares.dtype != np.float32 or shares.shape != (len(chunks),):
        return cjk_shares(chunks)
    return shares
