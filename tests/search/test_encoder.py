"""The query memo answers repeats without re-embedding and never changes a vector."""

from __future__ import annotations

import numpy as np

from search.embedders.base import Embedder
from search.encoder import QueryEncoder


class Counting:
    """The real embedder, counting the texts it is asked to embed."""

    def __init__(self, inner: Embedder) -> None:
        self.inner, self.name, self.version, self.dim = inner, inner.name, inner.version, inner.dim
        self.embedded: list[str] = []

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        self.embedded += texts
        return self.inner.embed_queries(texts)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return self.inner.embed_passages(texts)


def test_repeats_are_embedded_once_and_identical(e5: Embedder) -> None:
    counting = Counting(e5)
    memo = QueryEncoder(counting, size=2)
    first = memo.embed_queries(["退款多久到账", "电池保修多久"])
    again = memo.embed_queries(["电池保修多久", "退款多久到账", "退款多久到账"])
    assert counting.embedded == ["退款多久到账", "电池保修多久"]
    assert np.array_equal(again[0], first[1]) and np.array_equal(again[2], first[0])
    assert np.allclose(first, e5.embed_queries(["退款多久到账", "电池保修多久"]), atol=1e-6)


def test_least_recently_used_is_evicted(e5: Embedder) -> None:
    counting = Counting(e5)
    memo = QueryEncoder(counting, size=2)
    for text in ["a", "b", "a", "c", "a", "b"]:
        memo.embed_queries([text])
    assert counting.embedded == ["a", "b", "c", "b"]
    assert memo.embed_queries([]).shape == (0, e5.dim)
