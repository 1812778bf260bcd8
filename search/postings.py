"""Raw BM25 postings of one segment: term frequencies and document lengths, no scores.

``bm25s`` stores scores precomputed with its own corpus's statistics, which are wrong as soon as
a generation has more than one segment. A segment therefore also keeps its postings (per term,
the rows that hold it and how often) and each row's length, so that a segmented generation
scores with statistics taken over all its live rows (``search/segments.py``).

The arrays are one ``.npy`` each, opened with ``mmap_mode="r"`` (a format-1 segment's single
``postings.npz`` is still read, whole).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np

LEGACY_FILE = "postings.npz"  # format 1
TERMS_FILE = "terms.json"
_ARRAYS = ("indptr", "rows", "tfs", "lengths")


class Postings:
    """Per term, the rows holding it (ascending) and its frequency there; per row, its length."""

    def __init__(
        self,
        terms: list[str],
        indptr: np.ndarray,
        rows: np.ndarray,
        tfs: np.ndarray,
        lengths: np.ndarray,
    ) -> None:
        self.terms = {term: i for i, term in enumerate(terms)}
        self.indptr = indptr
        self.rows = rows
        self.tfs = tfs
        self.lengths = lengths

    @property
    def row_count(self) -> int:
        return int(self.lengths.size)

    @classmethod
    def build(cls, corpus: Sequence[Sequence[str]]) -> Postings:
        """Postings of one token list per row, in row order."""
        vocab: dict[str, int] = {}
        term_ids: list[int] = []
        rows: list[int] = []
        tfs: list[int] = []
        for row, tokens in enumerate(corpus):
            for term, tf in Counter(tokens).items():
                term_ids.append(vocab.setdefault(term, len(vocab)))
                rows.append(row)
                tfs.append(tf)
        ids = np.asarray(term_ids, dtype=np.int64)
        order = np.argsort(ids, kind="stable")  # by term, rows stay ascending within one
        indptr = np.zeros(len(vocab) + 1, dtype=np.int64)
        np.cumsum(np.bincount(ids, minlength=len(vocab)), out=indptr[1:])
        return cls(
            list(vocab),
            indptr,
            np.asarray(rows, dtype=np.int32)[order],
            np.asarray(tfs, dtype=np.float32)[order],
            np.asarray([len(tokens) for tokens in corpus], dtype=np.float32),
        )

    def lookup(self, term: str) -> tuple[np.ndarray, np.ndarray] | None:
        """The rows holding ``term`` and its frequencies there, or None if no row does."""
        i = self.terms.get(term)
        if i is None:
            return None
        start, end = self.indptr[i], self.indptr[i + 1]
        return self.rows[start:end], self.tfs[start:end]

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        terms = sorted(self.terms, key=self.terms.__getitem__)
        (directory / TERMS_FILE).write_text(json.dumps(terms, ensure_ascii=False), encoding="utf-8")
        for name in _ARRAYS:
            np.save(_array_file(directory, name), getattr(self, name), allow_pickle=False)

    @classmethod
    def load(cls, directory: Path) -> Postings:
        """Read what :meth:`save` wrote, mapped; ``FileNotFoundError`` for a segment built
        without."""
        terms = json.loads((directory / TERMS_FILE).read_text(encoding="utf-8"))
        if (directory / LEGACY_FILE).is_file():
            with np.load(directory / LEGACY_FILE) as data:
                return cls(terms, *(data[name] for name in _ARRAYS))
        arrays = [np.load(_array_file(directory, n), mmap_mode="r") for n in _ARRAYS]
        postings = cls(terms, *arrays)
        size = postings.rows.size
        if postings.indptr.size != len(terms) + 1 or postings.tfs.size != size:
            raise ValueError(f"postings in {directory} do not fit together: rebuild the index")
        return postings

    @staticmethod
    def exists(directory: Path) -> bool:
        return (directory / LEGACY_FILE).is_file() or _array_file(directory, "rows").is_file()


def _array_file(directory: Path, name: str) -> Path:
    return directory / f"postings.{name}.npy"
