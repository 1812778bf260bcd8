"""A generation of several segments read as one: its rows are the live rows of each segment, in
order (deleted rows are not rows at all), so a searcher sees one BM25 and one vector index.

BM25 statistics are global, as a full rebuild of the same chunks would have them: the number
of live rows, their average length and each term's document frequency are taken over every
segment's live rows at query time (Lucene BM25, as ``bm25s``'s ``lucene`` method scores), so a
delta's scores equal a rebuild's. Vector search asks each segment (FAISS exact for the small
deltas) with its deleted rows filtered out and merges by score.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from search.bm25 import lucene_idf, top_positive
from search.postings import Postings
from search.tokenize import TermGroup
from search.vectorindex import Ranked, RowFilter, VectorIndex


@dataclass(frozen=True)
class Part:
    """One segment as a generation serves it: its live rows (ascending), postings and vectors."""

    live: np.ndarray  # int64 local rows
    rows: int  # all its rows, deleted ones included
    postings: Postings
    vectors: VectorIndex


class _Layout:
    """Where each part's live rows sit among the generation's rows."""

    def __init__(self, parts: Sequence[Part]) -> None:
        self.parts = list(parts)
        sizes = [p.live.size for p in self.parts]
        self.offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        self.count = int(self.offsets[-1])
        self.whole = [p.live.size == p.rows for p in self.parts]
        # Local row -> generation row (-1 where deleted).
        self.position = []
        for part, offset in zip(self.parts, self.offsets[:-1], strict=True):
            where = np.full(part.rows, -1, dtype=np.int64)
            where[part.live] = offset + np.arange(part.live.size)
            self.position.append(where)


class SegmentedBM25:
    """Lucene BM25 over the live rows of several segments, with global statistics."""

    def __init__(self, parts: Sequence[Part], *, k1: float, b: float) -> None:
        self._layout = _Layout(parts)
        self.k1, self.b = k1, b
        self.doc_count = self._layout.count
        self._alive = []
        total_length = 0.0
        for part in parts:
            alive = np.zeros(part.rows, dtype=bool)
            alive[part.live] = True
            self._alive.append(alive)
            total_length += float(part.postings.lengths[part.live].sum(dtype=np.float64))
        average = total_length / self.doc_count if self.doc_count else 1.0
        average = average or 1.0
        self._norm = [
            k1 * ((1.0 - b) + b * p.postings.lengths.astype(np.float64) / average) for p in parts
        ]

    def scores(self, terms: Sequence[str | TermGroup]) -> np.ndarray:
        """BM25 score of every live row (float32, zeros where nothing matched)."""
        total = np.zeros(self.doc_count, dtype=np.float64)
        frequencies: dict[str, int] = {}
        singles: list[str] = []
        for term in terms:
            if isinstance(term, str):
                term = ((term,),)
            if len(term) == 1:
                if self._present(term[0], frequencies):
                    singles.extend(term[0])
                continue
            best = np.zeros(self.doc_count, dtype=np.float64)
            for alternative in term:
                if self._present(alternative, frequencies):
                    np.maximum(best, self._sum(alternative, frequencies), out=best)
            total += best
        if singles:
            total += self._sum(singles, frequencies)
        return total.astype(np.float32)

    def top_k(
        self, terms: Sequence[str | TermGroup], k: int, mask: np.ndarray | None = None
    ) -> list[tuple[int, float]]:
        return top_positive(self.scores(terms), k, mask)

    def idf(self, term: str | TermGroup) -> float:
        """The most ``term`` can add to one row's score (its Lucene idf over the live rows); 0 if
        no live row holds it. As ``BM25Index.idf``: a group counts as its best alternative, a
        phrase as the sum of its tokens."""
        if isinstance(term, str):
            term = ((term,),)
        known: dict[str, int] = {}
        best = 0.0
        for alternative in term:
            if alternative and self._present(alternative, known):
                total = sum(lucene_idf(known[t], self.doc_count) for t in alternative)
                best = max(best, total)
        return best

    def _frequency(self, token: str, known: dict[str, int]) -> int:
        if token not in known:
            df = 0
            for part, alive in zip(self._layout.parts, self._alive, strict=True):
                found = part.postings.lookup(token)
                if found is not None:
                    df += int(np.count_nonzero(alive[found[0]]))
            known[token] = df
        return known[token]

    def _present(self, tokens: Sequence[str], known: dict[str, int]) -> bool:
        # As in a rebuild's vocabulary: a phrase with a word no live row holds cannot match.
        return all(self._frequency(t, known) > 0 for t in tokens)

    def _sum(self, tokens: Sequence[str], known: dict[str, int]) -> np.ndarray:
        layout = self._layout
        local = [np.zeros(part.rows, dtype=np.float64) for part in layout.parts]
        for token in tokens:
            df = self._frequency(token, known)
            idf = lucene_idf(df, self.doc_count)
            for i, part in enumerate(layout.parts):
                found = part.postings.lookup(token)
                if found is not None:
                    rows, tfs = found
                    local[i][rows] += idf * tfs / (tfs + self._norm[i][rows])
        pieces = [
            scores if whole else scores[part.live]
            for scores, whole, part in zip(local, layout.whole, layout.parts, strict=True)
        ]
        return np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.float64)


class SegmentedVectors:
    """The ``VectorIndex`` reading side over several segments; read-only (a write is a delta)."""

    def __init__(self, parts: Sequence[Part], *, dim: int, kind: str) -> None:
        self._layout = _Layout(parts)
        self.dim = dim
        self.kind = kind

    def __len__(self) -> int:
        return self._layout.count

    def search(self, queries: np.ndarray, k: int, allowed: RowFilter | None = None) -> list[Ranked]:
        q = np.ascontiguousarray(queries, dtype=np.float32).reshape(-1, self.dim)
        merged: list[list[tuple[int, float]]] = [[] for _ in q]
        layout = self._layout
        for i, part in enumerate(layout.parts):
            start, end = layout.offsets[i], layout.offsets[i + 1]
            local: np.ndarray | None = None
            if allowed is not None or not layout.whole[i]:
                local = np.zeros(part.rows, dtype=bool)
                local[part.live] = True if allowed is None else allowed[start:end]
            if part.live.size == 0 or (local is not None and not local.any()):
                continue
            where = layout.position[i]
            for found, ranked in zip(part.vectors.search(q, k, local), merged, strict=True):
                ranked.extend((int(where[row]), score) for row, score in found)
        return [sorted(r, key=lambda item: (-item[1], item[0]))[:k] for r in merged]

    def vectors(self, rows: np.ndarray) -> np.ndarray:
        rows = np.asarray(rows, dtype=np.int64)
        out = np.zeros((rows.size, self.dim), dtype=np.float32)
        layout = self._layout
        which = np.searchsorted(layout.offsets, rows, side="right") - 1
        for i, part in enumerate(layout.parts):
            chosen = np.flatnonzero(which == i)
            if chosen.size:
                local = part.live[rows[chosen] - layout.offsets[i]]
                out[chosen] = part.vectors.vectors(local)
        return out

    def add(self, vectors: np.ndarray) -> np.ndarray:
        raise NotImplementedError("a segmented generation is read-only: changes are new deltas")

    def remove(self, rows: np.ndarray) -> None:
        raise NotImplementedError("a segmented generation is read-only: changes are new deltas")

    def save(self, path: Path) -> None:
        raise NotImplementedError("segments are saved one by one as they are built")
