"""The query memo answers repeats without re-embedding and never changes a vector."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

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


QUESTIONS = [
    "退款多久到账",
    "电池鼓包可以免费更换吗",
    "How can I reset my password?",
    "印表機卡紙怎麼辦",
    "积分能抵扣现金吗",
    "信用卡付款失败",
    "订单三天了还没发货",
    "软件无法连接网络",
]


def test_concurrent_callers_share_batches_and_each_gets_its_own_vector(e5: Embedder) -> None:
    counting = Counting(e5)
    calls: list[int] = []
    embed = counting.embed_queries

    def count_calls(texts: list[str]) -> np.ndarray:
        calls.append(len(texts))
        return embed(texts)

    counting.embed_queries = count_calls  # type: ignore[method-assign]
    encoder = QueryEncoder(counting)
    start = threading.Barrier(len(QUESTIONS))

    def ask(text: str) -> np.ndarray:
        start.wait()
        return encoder.encode(text)

    with ThreadPoolExecutor(len(QUESTIONS)) as pool:
        vectors = list(pool.map(ask, QUESTIONS))
    # Real threads, real embedder: the callers that arrive while a batch runs go in together.
    assert len(calls) < len(QUESTIONS)
    assert sorted(counting.embedded) == sorted(QUESTIONS)  # each text embedded once
    for text, vector in zip(QUESTIONS, vectors, strict=True):
        assert np.allclose(vector, e5.embed_queries([text])[0], atol=1e-4), text


def test_an_embedder_error_reaches_every_caller_of_the_batch(e5: Embedder) -> None:
    class Failing(Counting):
        def embed_queries(self, texts: list[str]) -> np.ndarray:
            raise RuntimeError("embedding server unavailable")

    encoder = QueryEncoder(Failing(e5))
    with pytest.raises(RuntimeError, match="unavailable"):
        encoder.encode("退款多久到账")
    assert not encoder.has("退款多久到账")
    # the encoder is not left "busy": a later call runs (and fails) again instead of hanging
    with pytest.raises(RuntimeError, match="unavailable"):
        encoder.encode("退款多久到账")
