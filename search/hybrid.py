"""Hybrid retrieval over one loaded generation: filtered BM25 + vector candidates, fused."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Literal

import numpy as np

from search.bm25 import lucene_idf, top_positive
from search.chunkcolumns import NO_DATE, chunk_columns
from search.decisive import SkipRule, is_decisive, keyword_evidence
from search.embedders.base import Embedder, EmbedderUnavailableError
from search.fusion import FusionConfig, Signals, fuse
from search.highlight import highlight
from search.index import Generation
from search.normalize import normalize
from search.query_budget import bound
from search.scripts import CJK, LATIN, cjk_shares
from search.tokenize import Tokenizer
from search.types import Hit, SearchFilters, SearchResult

Mode = Literal["hybrid", "bm25", "vector"]

_FULL_REACH = 0.25  # share of a chunk's letters in the query's scripts that BM25 counts in full
_NO_DATE_BEFORE = np.iinfo(np.int32).min
_NO_DATE_AFTER = np.iinfo(np.int32).max


class HybridSearcher:
    """Searches one generation; everything filters need is precomputed at construction."""

    def __init__(
        self,
        generation: Generation,
        embedder: Embedder,
        tokenizer: Tokenizer,
        config: FusionConfig,
        skip: SkipRule | None = None,
    ) -> None:
        self.generation = generation
        self.embedder = embedder
        self.tokenizer = tokenizer
        self.config = config
        self.skip = skip  # None: a hybrid search always embeds its query
        chunks = generation.chunks
        share = generation.cjk_share  # stored with its segments (None: assembled by hand)
        fits = share is not None and len(share) == len(chunks)
        self._cjk_share = share if share is not None and fits else cjk_shares(chunks)
        # Columns, not one object per chunk: a mapped segment hands them over as stored.
        columns = chunk_columns(chunks)
        self._doc_types = columns.doc_type.mapped(lambda v: v or None)
        self._products = columns.product.mapped(lambda v: v or None)
        self._languages = columns.language.mapped(lambda v: v.lower() or None)
        self._documents = columns.document_id.mapped(lambda v: v or None)
        self._tags: dict[str, np.ndarray] = {}
        tags = columns.tags
        by_tag = np.argsort(tags.codes, kind="stable")
        bounds = np.searchsorted(tags.codes[by_tag], np.arange(len(tags.values) + 1))
        for code, tag in enumerate(tags.values):
            rows = columns.tag_rows[by_tag[bounds[code] : bounds[code + 1]]]
            self._tags.setdefault(tag, np.zeros(len(chunks), dtype=bool))[rows] = True
        self._valid_from = np.where(
            columns.valid_from == NO_DATE, _NO_DATE_BEFORE, columns.valid_from
        )
        self._valid_to = np.where(columns.valid_to == NO_DATE, _NO_DATE_AFTER, columns.valid_to)
        # Most collections carry no validity dates: then a date filter restricts nothing, and
        # must not turn every suggestion's vector search into a filtered one (issue 17).
        self._dated = bool(
            (self._valid_from != _NO_DATE_BEFORE).any() or (self._valid_to != _NO_DATE_AFTER).any()
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
        return self.run(query, limit=limit, filters=filters, mode=mode).hits

    def run(
        self,
        query: str,
        *,
        limit: int = 10,
        filters: SearchFilters | None = None,
        mode: Mode = "hybrid",
        may_skip: bool = True,
        may_embed: bool = True,
        may_degrade: bool = True,
    ) -> SearchResult:
        """:meth:`search`, saying whether a hybrid search served BM25 alone without embedding
        (allowed by the searcher's skip rule, unless ``may_skip`` is False), or ``degraded``
        to BM25 alone: the embedder is down (unless ``may_degrade`` is False: then its error is
        raised), or the caller knows so (``may_embed`` False)."""
        text = normalize(query)
        chunks = self.generation.chunks
        if not text or limit <= 0 or not chunks:
            return SearchResult([])
        mask = self.mask(filters) if filters else None
        if mask is not None and not mask.any():
            return SearchResult([])
        # A search asking for more hits than the depth takes that many candidates from each side.
        config = self.config if limit <= self.config.depth else replace(self.config, depth=limit)
        wanted = may_skip and mode == "hybrid"
        # Never "unless the vector is memoised": the memo is this process's, and a query must rank
        # alike in every process and at every time (a caller that wants fusion says may_skip).
        skip = self.skip if wanted else None
        degraded = None if may_embed or mode != "hybrid" else "embedder_unavailable"
        try:
            signals = self.signals(text, config.depth, mask, "bm25" if degraded else mode, skip)
        except EmbedderUnavailableError:
            if mode == "vector" or not may_degrade:
                raise
            # The embedder is down: an agent still gets the keyword answers, told so.
            degraded = "embedder_unavailable"
            signals = self.signals(text, config.depth, mask, "bm25")
        if signals.skipped or degraded:
            # BM25 decided: its order, scored on the idf scale fusion gives its side ([0, 1]).
            ceiling = signals.bm25_ceiling
            ranked = [(row, min(1.0, raw / ceiling)) for row, raw in signals.keyword]
        elif mode == "bm25":
            ranked = sorted(signals.keyword, key=lambda item: (-item[1], item[0]))
        elif mode == "vector":
            # The exact cosine, as reported: the ANN index's own score can differ in the last bits.
            ranked = sorted(
                ((row, signals.cosine[row]) for row, _ in signals.dense),
                key=lambda item: (-item[1], item[0]),
            )
        else:
            ranked = fuse(signals, config)
        keyword_rank = {row: rank for rank, (row, _) in enumerate(signals.keyword, start=1)}
        dense_rank = {row: rank for rank, (row, _) in enumerate(signals.dense, start=1)}
        terms = signals.terms
        best = ranked[:limit]
        marks = [token for group in terms for alternative in group for token in alternative]
        picked = [(chunks[row], row, score) for row, score in best]  # a mapped row decodes once
        hits = [
            Hit(
                chunk=chunk,
                score=float(score),
                highlight=highlight(chunk.text, marks),
                bm25_score=signals.bm25.get(row),
                vector_score=signals.cosine.get(row),
                bm25_rank=keyword_rank.get(row),
                vector_rank=dense_rank.get(row),
            )
            for chunk, row, score in picked
        ]
        return SearchResult(hits, embedding_skipped=signals.skipped, degraded=degraded)

    def signals(
        self,
        text: str,
        depth: int,
        mask: np.ndarray | None = None,
        mode: Mode = "hybrid",
        skip: SkipRule | None = None,
    ) -> Signals:
        """Both retrievers' top ``depth`` for normalised ``text``, with both scores for each.

        With ``skip``, the vector side is left out (``skipped``) when BM25 is decisive.
        """
        bm25 = self.generation.bm25
        # A long message is read within a budget (search/query_budget.py); a short one as is.
        bounded = bound(text, bm25.idf, self.tokenizer.query_terms)
        terms = bounded.terms
        keyword: list[tuple[int, float]] = []
        bm25_scores: np.ndarray | None = None
        ceiling = 0.0
        evidence = None
        if mode != "vector":
            bm25_scores = np.zeros(len(self.generation.chunks), dtype=np.float32)
            matched_idf = np.zeros(len(self.generation.chunks), dtype=np.float64)
            for group in terms:
                scores = bm25.scores([group])
                bm25_scores += scores
                # A term adds at most its idf (Lucene BM25, tf -> inf). A term no chunk holds
                # counts with the highest idf: a query whose words the corpus lacks (another
                # language) keeps its few chance matches low instead of stretching them to 1.
                holders = scores > 0
                df = int(np.count_nonzero(holders))
                idf = lucene_idf(df, bm25.doc_count)
                ceiling += idf
                matched_idf[holders] += idf
            keyword = top_positive(bm25_scores, depth, mask)
            top_matched = float(matched_idf[keyword[0][0]]) if keyword else 0.0
            evidence = keyword_evidence(keyword, top_matched, ceiling)
        skipped = skip is not None and evidence is not None and is_decisive(evidence, skip)
        dense: list[tuple[int, float]] = []
        query_vector: np.ndarray | None = None
        if mode != "bm25" and not skipped:
            query_vector = self.embedder.embed_queries([bounded.embed])[0]
            dense = self.generation.vectors.search(query_vector[np.newaxis], depth, mask)[0]
        rows = sorted({row for row, _ in keyword} | {row for row, _ in dense})
        candidates = np.asarray(rows, dtype=np.int64)
        raw: dict[int, float] = {}
        cosine: dict[int, float] = {}
        if bm25_scores is not None:
            raw = dict(zip(rows, bm25_scores[candidates].tolist(), strict=True))
        if query_vector is not None:
            # Exact cosine for BM25-only candidates too, so fusion sees both signals for each.
            query = np.asarray(query_vector, dtype=np.float32).reshape(-1)
            sims = self.generation.vectors.vectors(candidates) @ query
            cosine = dict(zip(rows, sims.tolist(), strict=True))
        without = self.generation.unembedded  # rows whose vectors are not written yet
        keyword_only: frozenset[int] = frozenset()
        if without is not None:  # only while an upload's vectors are being embedded
            keyword_only = frozenset(candidates[without[candidates]].tolist())
            for row in keyword_only:
                cosine.pop(row, None)
        reach = self._reach(text, candidates)
        return Signals(
            terms, keyword, dense, raw, cosine, ceiling, reach, evidence, skipped, keyword_only
        )

    def _reach(self, text: str, candidates: np.ndarray) -> dict[int, float]:
        """How much of each candidate BM25 can read with the query's words, by script.

        An English query's terms can never match a Chinese chunk: there BM25's zero is no
        evidence against it, so fusion should leave that chunk to the vector side.
        """
        cjk, latin = bool(CJK.search(text)), bool(LATIN.search(text))
        share = self._cjk_share[candidates]
        # A query in both scripts (or in neither, e.g. digits only) may match any chunk.
        share = np.ones_like(share) if cjk == latin else share if cjk else 1.0 - share
        # A Chinese answer quoting an API name or URL is still Chinese: full reach from a quarter.
        reach = np.minimum(1.0, share / _FULL_REACH)
        return dict(zip(candidates.tolist(), reach.tolist(), strict=True))

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
        if filters.valid_on is not None and self._dated:
            day = filters.valid_on.toordinal()
            narrow((self._valid_from <= day) & (day <= self._valid_to))
        # A filter every chunk passes (today's date when none has expired) restricts nothing:
        # the unfiltered search is the same ranking and skips the row filter's cost.
        return None if mask is None or mask.all() else mask

    def _language_values(self, wanted: Sequence[str]) -> list[str]:
        # "zh" also admits "zh-hans" and "zh-tw"; a chunk without a language never matches.
        prefixes = [w.lower() for w in wanted]
        return [
            value
            for value in self._languages.values
            if any(value == p or value.startswith(p + "-") for p in prefixes)
        ]
