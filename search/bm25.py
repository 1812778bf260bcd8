"""BM25 over pre-tokenised text, backed by ``bm25s`` (Lucene variant, scores precomputed at index).

A query is a list of terms; a term is a token or a :data:`~search.tokenize.TermGroup` of
alternatives (synonyms). A group scores as its best alternative, so expanding a word to five
synonyms does not give it five times the weight of the other words; a multi-token
alternative scores as the sum of its tokens.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from search.tokenize import TermGroup

logger = logging.getLogger(__name__)


def lucene_idf(df: int, doc_count: int) -> float:
    """Lucene's BM25 idf: the most one matching term adds to a chunk's score."""
    return math.log(1.0 + (doc_count - df + 0.5) / (df + 0.5))


PARAMS_FILE = "bm25.json"


class BM25Index:
    """Scores every document for a query; the caller masks and cuts."""

    def __init__(self, model: object | None, doc_count: int, k1: float, b: float) -> None:
        # ``model`` is a bm25s.BM25, or None for an empty corpus (bm25s cannot index zero docs).
        self._model = model
        self.doc_count = doc_count
        self.k1 = k1
        self.b = b
        self._vocab: dict[str, int] = getattr(model, "vocab_dict", None) or {}

    @classmethod
    def build(
        cls,
        corpus: Sequence[Sequence[str]],
        *,
        k1: float = 1.2,
        b: float = 0.75,
    ) -> BM25Index:
        """Index one token list per document, in document order (Lucene BM25)."""
        if not corpus:
            return cls(None, 0, k1, b)
        import bm25s

        model = bm25s.BM25(k1=k1, b=b, method="lucene")
        model.index([list(doc) for doc in corpus], show_progress=False)
        return cls(model, len(corpus), k1, b)

    def scores(self, terms: Sequence[str | TermGroup]) -> np.ndarray:
        """BM25 score of every document (float32, zeros where nothing matched)."""
        total = np.zeros(self.doc_count, dtype=np.float32)
        if self._model is None:
            return total
        singles: list[int] = []
        for term in terms:
            if isinstance(term, str):
                term = ((term,),)
            if len(term) == 1:
                singles.extend(self._ids(term[0]))
                continue
            best = np.zeros(self.doc_count, dtype=np.float32)
            for alternative in term:
                ids = self._ids(alternative)
                if ids:
                    np.maximum(best, self._sum(ids), out=best)
            total += best
        if singles:
            total += self._sum(singles)
        return total

    def idf(self, term: str | TermGroup) -> float:
        """The most ``term`` can add to one chunk's score (its Lucene idf); 0 if no chunk holds it.

        A group counts as its best alternative, a phrase as the sum of its tokens, as in
        :meth:`scores`. Read from the index's postings: no scoring pass.
        """
        if isinstance(term, str):
            term = ((term,),)
        best = 0.0
        for alternative in term:
            ids = self._ids(alternative)
            if ids:
                best = max(best, sum(lucene_idf(self._df(i), self.doc_count) for i in ids))
        return best

    def _df(self, token_id: int) -> int:
        indptr = self._model.scores["indptr"]  # type: ignore[union-attr]
        return int(indptr[token_id + 1] - indptr[token_id])

    def _ids(self, tokens: Sequence[str]) -> list[int]:
        ids = [self._vocab.get(t) for t in tokens]
        # An alternative with a word absent from the corpus cannot match as a whole phrase.
        return [] if None in ids else [i for i in ids if i is not None]

    def _sum(self, ids: list[int]) -> np.ndarray:
        scores = self._model.get_scores_from_ids(ids)  # type: ignore[union-attr]
        return np.asarray(scores, dtype=np.float32)

    def top_k(
        self, terms: Sequence[str | TermGroup], k: int, mask: np.ndarray | None = None
    ) -> list[tuple[int, float]]:
        """The ``k`` best documents with a positive score, optionally only where ``mask`` is set."""
        return top_positive(self.scores(terms), k, mask)

    def save(self, directory: Path) -> None:
        """Write the index into ``directory`` (created if needed)."""
        directory.mkdir(parents=True, exist_ok=True)
        params = {"doc_count": self.doc_count, "k1": self.k1, "b": self.b, "backend": "bm25s"}
        (directory / PARAMS_FILE).write_text(json.dumps(params), encoding="utf-8")
        if self._model is not None:
            self._model.save(str(directory), show_progress=False)  # type: ignore[attr-defined]

    @classmethod
    def load(cls, directory: Path) -> BM25Index:
        """Read an index written by :meth:`save`, its arrays memory-mapped."""
        params = json.loads((directory / PARAMS_FILE).read_text(encoding="utf-8"))
        if params["doc_count"] == 0:
            return cls(None, 0, params["k1"], params["b"])
        import bm25s

        # Mapped: the score arrays' pages are read as queries touch them, shared by processes.
        model = bm25s.BM25.load(str(directory), mmap=True, show_progress=False, verbosity=0)
        return cls(model, params["doc_count"], params["k1"], params["b"])


def top_positive(
    scores: np.ndarray, k: int, mask: np.ndarray | None = None
) -> list[tuple[int, float]]:
    """Indices and values of the ``k`` largest positive ``scores`` (ties by index), best first."""
    if k <= 0:
        return []
    if mask is not None:
        scores = np.where(mask, scores, 0.0)
    candidates = np.flatnonzero(scores > 0)
    if candidates.size > k:
        part = np.argpartition(-scores[candidates], k - 1)[:k]
        candidates = candidates[part]
    order = np.lexsort((candidates, -scores[candidates]))
    return [(int(i), float(scores[i])) for i in candidates[order]]
