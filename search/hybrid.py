"""Hybrid retrieval over one loaded generation: filtered BM25 + vector candidates, fused."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np

from search import fusion
from search.bm25 import top_positive
from search.embedders.base import Embedder
from search.highlight import highlight
from search.index import Generation
from search.normalize import normalize
from search.tokenize import Tokenizer
from search.types import Hit, SearchFilters

Mode = Literal["hybrid", "bm25", "vector"]
FusionMethod = Literal["convex", "rrf"]

_NO_DATE_BEFORE = np.iinfo(np.int32).min
_NO_DATE_AFTER = np.iinfo(np.int32).max


class _Codes:
    """One categorical chunk field as integer codes, for vectorised ``isin`` masks."""

    def __init__(self, values: Sequence[str | None]) -> None:
        self.codes_of: dict[str, int] = {}
        codes = [self.codes_of.setdefault(v, len(self.codes_of)) if v else -1 for v in values]
        self.codes = np.asarray(codes, dtype=np.int32)

    def mask(self, wanted: Sequence[str]) -> np.ndarray:
        chosen = [self.codes_of[v] for v in wanted if v in self.codes_of]
        return np.isin(self.codes, np.asarray(chosen, dtype=np.int32))


class HybridSearcher:
    """Searches one generation; everything filters need is precomputed at construction."""

    def __init__(
        self,
        generation: Generation,
        embedder: Embedder,
        tokenizer: Tokenizer,
        *,
        fusion: FusionMethod = "convex",
        alpha: float = 0.5,
        rrf_k: int = 60,
        bm25_weight: float = 1.0,
        vector_weight: float = 1.0,
    ) -> None:
        if fusion not in ("convex", "rrf"):
            raise ValueError(f"unknown fusion method {fusion!r}: expected 'convex' or 'rrf'")
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"alpha must lie in [0, 1], got {alpha}")
        self.generation = generation
        self.embedder = embedder
        self.tokenizer = tokenizer
        self.fusion: FusionMethod = fusion
        self.alpha = alpha
        self.rrf_k = rrf_k
        self.bm25_weight = bm25_weight
        self.vector_weight = vector_weight
        chunks = generation.chunks
        self._doc_types = _Codes([c.doc_type for c in chunks])
        self._products = _Codes([c.product for c in chunks])
        self._languages = _Codes([(c.language or "").lower() for c in chunks])
        self._documents = _Codes([c.document_id for c in chunks])
        self._tags: dict[str, np.ndarray] = {}
        for row, chunk in enumerate(chunks):
            for tag in chunk.tags:
                self._tags.setdefault(tag, np.zeros(len(chunks), dtype=bool))[row] = True
        self._valid_from = np.asarray(
            [c.valid_from.toordinal() if c.valid_from else _NO_DATE_BEFORE for c in chunks],
            dtype=np.int64,
        )
        self._valid_to = np.asarray(
            [c.valid_to.toordinal() if c.valid_to else _NO_DATE_AFTER for c in chunks],
            dtype=np.int64,
        )

    def search(
        self,
        query: str,
        *,
        limit: int = 10,
        filters: SearchFilters | None = None,
        mode: Mode = "hybrid",
    ) -> list[Hit]:
        """Best ``limit`` chunks for ``query`` among those ``filters`` allow."""
        text = normalize(query)
        chunks = self.generation.chunks
        if not text or limit <= 0 or not chunks:
            return []
        mask = self.mask(filters) if filters else None
        if mask is not None and not mask.any():
            return []
        depth = max(50, 5 * limit)
        terms = self.tokenizer.query_terms(text)

        bm25_scores: np.ndarray | None = None
        keyword: list[tuple[int, float]] = []
        if mode != "vector":
            bm25_scores = self.generation.bm25.scores(terms)
            keyword = top_positive(bm25_scores, depth, mask)
        dense: list[tuple[int, float]] = []
        query_vector: np.ndarray | None = None
        if mode != "bm25":
            query_vector = self.embedder.embed_queries([text])[0]
            dense = self.generation.vectors.search(query_vector, depth, mask)

        keyword_rank = {row: rank for rank, (row, _) in enumerate(keyword, start=1)}
        dense_rank = {row: rank for rank, (row, _) in enumerate(dense, start=1)}
        candidates = np.asarray(sorted(keyword_rank.keys() | dense_rank.keys()), dtype=np.int64)
        keyword_of: dict[int, float] = {}
        dense_of: dict[int, float] = {}
        if bm25_scores is not None:
            keyword_of = dict(
                zip(candidates.tolist(), bm25_scores[candidates].tolist(), strict=True)
            )
        if query_vector is not None:
            # Exact cosine for BM25-only candidates too, so fusion sees both signals for each.
            sims = self.generation.vectors.similarities(query_vector, candidates)
            dense_of = dict(zip(candidates.tolist(), sims.tolist(), strict=True))

        if mode == "bm25":
            fused = dict(keyword)
        elif mode == "vector":
            # The exact cosine, not FAISS's own float32 sum: a hit's score is its vector_score.
            fused = {row: dense_of[row] for row, _ in dense}
        elif self.fusion == "convex":
            fused = fusion.convex(keyword_of, dense_of, self.alpha)
        else:
            fused = fusion.rrf(
                [[row for row, _ in keyword], [row for row, _ in dense]],
                [self.bm25_weight, self.vector_weight],
                k=self.rrf_k,
            )

        best = sorted(fused.items(), key=lambda item: (-item[1], item[0]))[:limit]
        marks = [token for group in terms for alternative in group for token in alternative]
        return [
            Hit(
                chunk=chunks[row],
                score=float(score),
                highlight=highlight(chunks[row].text, marks),
                bm25_score=keyword_of.get(row),
                vector_score=dense_of.get(row),
                bm25_rank=keyword_rank.get(row),
                vector_rank=dense_rank.get(row),
            )
            for row, score in best
        ]

    def mask(self, filters: SearchFilters) -> np.ndarray | None:
        """Boolean mask of the chunks ``filters`` allow, or None when nothing is restricted."""
        mask: np.ndarray | None = None

        def narrow(condition: np.ndarray) -> None:
            nonlocal mask
            mask = condition if mask is None else mask & condition

        if filters.doc_types:
            narrow(self._doc_types.mask(filters.doc_types))
        if filters.products:
            narrow(self._products.mask(filters.products))
        if filters.document_ids:
            narrow(self._documents.mask(filters.document_ids))
        if filters.languages:
            narrow(self._languages.mask(self._language_values(filters.languages)))
        for tag in filters.tags:
            narrow(self._tags.get(tag, np.zeros(len(self.generation.chunks), dtype=bool)))
        if filters.valid_on is not None:
            day = filters.valid_on.toordinal()
            narrow((self._valid_from <= day) & (day <= self._valid_to))
        return mask

    def _language_values(self, wanted: Sequence[str]) -> list[str]:
        # "zh" also admits "zh-hans" and "zh-tw"; a chunk without a language never matches.
        prefixes = [w.lower() for w in wanted]
        return [
            value
            for value in self._languages.codes_of
            if any(value == p or value.startswith(p + "-") for p in prefixes)
        ]
