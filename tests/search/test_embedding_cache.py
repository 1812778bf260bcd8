import shutil
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from pathlib import Path

import numpy as np
import pytest

from search.cache import (
    FORMAT_VERSION,
    CacheFormatError,
    EmbeddingCache,
    embed_passages_cached,
    embedder_key,
    text_hash,
)
from search.embedders import Embedder
from search.embedders.e5 import E5Embedder


@pytest.fixture
def cache(tmp_path: Path) -> EmbeddingCache:
    return EmbeddingCache(tmp_path / "cache.sqlite")


def test_put_and_get_many(cache: EmbeddingCache) -> None:
    a, b = np.arange(4, dtype=np.float32), np.ones(4, dtype=np.float32)
    cache.put_many({("m@1", "h1"): a, ("m@1", "h2"): b})
    found = cache.get_many([("m@1", "h1"), ("m@1", "h2"), ("m@1", "h3"), ("other@1", "h1")])
    assert set(found) == {("m@1", "h1"), ("m@1", "h2")}
    assert np.array_equal(found[("m@1", "h1")], a)
    assert cache.get_many([]) == {}


def test_cache_persists_across_connections(tmp_path: Path) -> None:
    first = EmbeddingCache(tmp_path / "cache.sqlite")
    first.put_many({("m@1", "h"): np.full(3, 0.5, dtype=np.float32)})
    first.close()
    again = EmbeddingCache(tmp_path / "cache.sqlite")
    assert np.array_equal(again.get_many([("m@1", "h")])[("m@1", "h")], np.full(3, 0.5))


FIXTURE_CACHE = (
    Path(__file__).resolve().parents[1]
    / "fixtures"
    / "datadir-040a051"
    / "cache"
    / "embeddings.sqlite3"
)


def _raw(path: Path) -> tuple[int, int]:
    """(user_version, rows), read without the cache's code."""
    with closing(sqlite3.connect(path)) as db:
        version = db.execute("PRAGMA user_version").fetchone()[0]
        return version, db.execute("SELECT count(*) FROM embeddings").fetchone()[0]


def test_a_cache_from_040a051_is_the_first_format_and_keeps_its_vectors(tmp_path: Path) -> None:
    path = tmp_path / "embeddings.sqlite3"
    shutil.copy(FIXTURE_CACHE, path)
    version, rows = _raw(path)
    assert version == 0 and rows > 0  # 040a051 wrote no format version
    cache = EmbeddingCache(path)
    assert (cache.format_version(), cache.count()) == (FORMAT_VERSION, rows)
    cache.close()
    assert _raw(path) == (FORMAT_VERSION, rows)


def test_a_cache_of_a_newer_format_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "embeddings.sqlite3"
    shutil.copy(FIXTURE_CACHE, path)
    with closing(sqlite3.connect(path)) as db:
        db.execute(f"PRAGMA user_version = {FORMAT_VERSION + 1}")
    before = _raw(path)
    with pytest.raises(CacheFormatError, match=f"has format {FORMAT_VERSION + 1}"):
        EmbeddingCache(path)
    assert _raw(path) == before


def test_only_misses_are_embedded(e5: Embedder, cache: EmbeddingCache) -> None:
    texts = ["退款政策说明", "发票下载方式", "电池更换流程"]
    first = embed_passages_cached(e5, cache, texts)
    assert first.computed == 3
    assert np.allclose(first.vectors, e5.embed_passages(texts), atol=1e-5)
    again = embed_passages_cached(e5, cache, texts)
    assert again.computed == 0
    assert np.array_equal(again.vectors, first.vectors)
    changed = embed_passages_cached(e5, cache, ["退款政策说明（已更新）", *texts[1:]])
    assert changed.computed == 1
    assert np.array_equal(changed.vectors[1:], first.vectors[1:])


def test_duplicates_are_embedded_once(e5: Embedder, cache: EmbeddingCache) -> None:
    progress: list[tuple[int, int]] = []
    result = embed_passages_cached(
        e5,
        cache,
        ["同一段文字", "同一段文字", "另一段"],
        progress=lambda d, t: progress.append((d, t)),
    )
    assert result.computed == 2
    assert np.array_equal(result.vectors[0], result.vectors[1])
    assert progress[-1] == (3, 3)


def test_embedders_do_not_share_entries(e5: Embedder, cache: EmbeddingCache) -> None:
    other = E5Embedder(variant="enpt")
    assert embedder_key(other) != embedder_key(e5)
    embed_passages_cached(e5, cache, ["退款政策说明"])
    assert embed_passages_cached(other, cache, ["退款政策说明"]).computed == 1
    assert cache.count() == 2


def test_concurrent_threads(cache: EmbeddingCache) -> None:
    def work(n: int) -> int:
        key = ("m@1", text_hash(str(n)))
        cache.put_many({key: np.full(8, n, dtype=np.float32)})
        return int(cache.get_many([key])[key][0])

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert list(pool.map(work, range(200))) == list(range(200))
    assert cache.count() == 200
