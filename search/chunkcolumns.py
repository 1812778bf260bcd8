"""The chunk fields a searcher filters on, as arrays: one column per field over a generation's rows.

A searcher masks rows by document type, product, language, document, tags and validity dates.
Building those masks from one ``IndexedChunk`` per row costs a pass over every chunk at
start-up; a segment stored as columns (``search/chunktable.py``) hands them over as they are
on disk, and a generation of several segments concatenates its segments' live rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Protocol, runtime_checkable

import numpy as np

from search.types import IndexedChunk

NO_DATE = 0  # a date column's "none": ordinals start at 1


@dataclass(frozen=True)
class Categorical:
    """A field of few distinct values: per row the index of its value, -1 for none."""

    codes: np.ndarray  # int32
    values: list[str]

    @classmethod
    def of(cls, items: Iterable[str | None]) -> Categorical:
        index: dict[str, int] = {}
        codes = [-1 if v is None else index.setdefault(v, len(index)) for v in items]
        return cls(np.asarray(codes, dtype=np.int32), list(index))

    def take(self, rows: np.ndarray) -> Categorical:
        return Categorical(np.asarray(self.codes[rows], dtype=np.int32), self.values)

    def mapped(self, change: Callable[[str], str | None]) -> Categorical:
        """Each value changed by ``change`` (None: no value); values that become equal merge."""
        index: dict[str, int] = {}
        remap = []
        for value in self.values:
            new = change(value)
            remap.append(-1 if new is None else index.setdefault(new, len(index)))
        return Categorical(_recode(self.codes, remap), list(index))

    def mask(self, wanted: Sequence[str]) -> np.ndarray:
        """Rows whose value is one of ``wanted``."""
        wanted_set = set(wanted)
        chosen = [i for i, v in enumerate(self.values) if v in wanted_set]
        return np.isin(self.codes, np.asarray(chosen, dtype=np.int32))


def _recode(codes: np.ndarray, remap: Sequence[int]) -> np.ndarray:
    table = np.asarray([*remap, -1], dtype=np.int32)  # code -1 reads the last entry: none
    return table[np.asarray(codes, dtype=np.int64)]


def _union(parts: Sequence[Categorical]) -> Categorical:
    index: dict[str, int] = {}
    pieces = []
    for part in parts:
        remap = [index.setdefault(v, len(index)) for v in part.values]
        pieces.append(_recode(part.codes, remap))
    codes = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.int32)
    return Categorical(codes.astype(np.int32, copy=False), list(index))


@dataclass(frozen=True)
class ChunkColumns:
    """What a searcher filters on, per row; tags as (row, tag) pairs."""

    rows: int
    document_id: Categorical
    doc_type: Categorical
    product: Categorical
    language: Categorical
    tag_rows: np.ndarray  # int64, ascending: the row of each pair
    tags: Categorical  # the tag of each pair
    valid_from: np.ndarray  # int64 ordinals, NO_DATE for none
    valid_to: np.ndarray

    @classmethod
    def of(cls, chunks: Sequence[IndexedChunk]) -> ChunkColumns:
        """The columns of chunks held as objects (a list, or an older segment's chunks.json)."""
        tag_rows = [row for row, c in enumerate(chunks) for _ in c.tags]
        return cls(
            rows=len(chunks),
            document_id=Categorical.of(c.document_id for c in chunks),
            doc_type=Categorical.of(c.doc_type for c in chunks),
            product=Categorical.of(c.product for c in chunks),
            language=Categorical.of(c.language for c in chunks),
            tag_rows=np.asarray(tag_rows, dtype=np.int64),
            tags=Categorical.of(tag for c in chunks for tag in c.tags),
            valid_from=_ordinals(c.valid_from for c in chunks),
            valid_to=_ordinals(c.valid_to for c in chunks),
        )

    def take(self, rows: np.ndarray) -> ChunkColumns:
        """The columns of ``rows`` (ascending), renumbered from 0."""
        position = np.full(self.rows, -1, dtype=np.int64)
        position[rows] = np.arange(rows.size)
        kept = position[self.tag_rows] >= 0
        return ChunkColumns(
            rows=int(rows.size),
            document_id=self.document_id.take(rows),
            doc_type=self.doc_type.take(rows),
            product=self.product.take(rows),
            language=self.language.take(rows),
            tag_rows=position[self.tag_rows[kept]],
            tags=self.tags.take(np.flatnonzero(kept)),
            valid_from=np.asarray(self.valid_from[rows], dtype=np.int64),
            valid_to=np.asarray(self.valid_to[rows], dtype=np.int64),
        )

    @classmethod
    def concat(cls, parts: Sequence[ChunkColumns]) -> ChunkColumns:
        """The rows of ``parts`` one after the other."""
        offsets = np.cumsum([0, *(p.rows for p in parts)])
        tag_rows = [p.tag_rows + offset for p, offset in zip(parts, offsets, strict=False)]
        return cls(
            rows=int(offsets[-1]),
            document_id=_union([p.document_id for p in parts]),
            doc_type=_union([p.doc_type for p in parts]),
            product=_union([p.product for p in parts]),
            language=_union([p.language for p in parts]),
            tag_rows=np.concatenate(tag_rows) if parts else np.zeros(0, dtype=np.int64),
            tags=_union([p.tags for p in parts]),
            valid_from=_joined([p.valid_from for p in parts]),
            valid_to=_joined([p.valid_to for p in parts]),
        )


@runtime_checkable
class Columnar(Protocol):
    """Chunks that can give their columns without one object per row."""

    def columns(self) -> ChunkColumns: ...


def chunk_columns(chunks: Sequence[IndexedChunk]) -> ChunkColumns:
    """The columns of ``chunks``: read from their columns when they have them."""
    if isinstance(chunks, Columnar):
        return chunks.columns()
    return ChunkColumns.of(chunks)


def _ordinals(days: Iterable[date | None]) -> np.ndarray:
    return np.asarray([d.toordinal() if d else NO_DATE for d in days], dtype=np.int64)


def _joined(arrays: Sequence[np.ndarray]) -> np.ndarray:
    return np.concatenate(arrays).astype(np.int64) if arrays else np.zeros(0, dtype=np.int64)
