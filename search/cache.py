"""Embedding cache: (embedder name@version, sha256 of the normalised text) → float32 vector.

Replacing a document re-embeds only the chunks whose normalised text changed. The cache is a
SQLite file in WAL mode, shared by the web workers and ingestion processes of one host. Its
format version is SQLite's ``user_version`` (0, as the first format left it, means 1).
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from search.embedders.base import Embedder
from search.pause import pause_point

CacheKey = tuple[str, str]  # (embedder key, text hash)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS embeddings (
    embedder TEXT NOT NULL,
    text_hash TEXT NOT NULL,
    vector BLOB NOT NULL,
    PRIMARY KEY (embedder, text_hash)
) WITHOUT ROWID
"""
_CHUNK = 500  # stay well under SQLite's bound-parameter limit
FORMAT_VERSION = 1
# When the format changes: bump FORMAT_VERSION and add the step from the old one here, e.g.
# {1: "ALTER TABLE embeddings ADD COLUMN ..."}; vectors are never dropped to upgrade.
_UPGRADES: dict[int, str] = {}


class CacheFormatError(Exception):
    """The cache file was written by a newer build, in a format this one cannot read."""


def embedder_key(embedder: Embedder) -> str:
    """The cache namespace of an embedder: vectors from another name or version never mix."""
    return f"{embedder.name}@{embedder.version}"


def text_hash(text: str) -> str:
    """sha256 of ``text`` as UTF-8, hex."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class EmbeddingCache:
    """A thread-safe key → vector store; one connection guarded by a lock."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, timeout=30.0)
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(_SCHEMA)
            self._upgrade()
            self._db.commit()

    def _upgrade(self) -> None:
        stored = int(self._db.execute("PRAGMA user_version").fetchone()[0])
        version = stored or 1
        if version > FORMAT_VERSION:
            self._db.close()
            raise CacheFormatError(
                f"embedding cache {self.path} has format {version}, this build reads up to "
                f"{FORMAT_VERSION}: use the newer build, or another KB_CACHE_DIR"
            )
        while version < FORMAT_VERSION:
            self._db.executescript(_UPGRADES[version])
            version += 1
        if stored != FORMAT_VERSION:
            self._db.execute(f"PRAGMA user_version = {FORMAT_VERSION}")

    def format_version(self) -> int:
        with self._lock:
            return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    def get_many(self, keys: Iterable[CacheKey]) -> dict[CacheKey, np.ndarray]:
        """Vectors for the keys that are present; missing keys are simply absent."""
        by_embedder: dict[str, list[str]] = {}
        for embedder, digest in keys:
            by_embedder.setdefault(embedder, []).append(digest)
        found: dict[CacheKey, np.ndarray] = {}
        with self._lock:
            for embedder, digests in by_embedder.items():
                unique = list(dict.fromkeys(digests))
                for start in range(0, len(unique), _CHUNK):
                    part = unique[start : start + _CHUNK]
                    marks = ",".join("?" * len(part))
                    rows = self._db.execute(
                        "SELECT text_hash, vector FROM embeddings "
                        f"WHERE embedder = ? AND text_hash IN ({marks})",
                        [embedder, *part],
                    )
                    for digest, blob in rows:
                        found[(embedder, digest)] = np.frombuffer(blob, dtype=np.float32)
        return found

    def put_many(self, items: Mapping[CacheKey, np.ndarray]) -> None:
        """Store vectors (float32); an existing key is overwritten."""
        rows = [
            (embedder, digest, np.asarray(vector, dtype=np.float32).tobytes())
            for (embedder, digest), vector in items.items()
        ]
        with self._lock:
            self._db.executemany(
                "INSERT OR REPLACE INTO embeddings (embedder, text_hash, vector) VALUES (?, ?, ?)",
                rows,
            )
            self._db.commit()

    def count(self) -> int:
        """Number of stored vectors (all embedders)."""
        with self._lock:
            return int(self._db.execute("SELECT count(*) FROM embeddings").fetchone()[0])

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._db.close()


@dataclass(frozen=True)
class CachedEmbeddings:
    vectors: np.ndarray  # (len(texts), dim) float32, rows in input order
    computed: int  # how many distinct texts had to be embedded


def uncached(embedder: Embedder, cache: EmbeddingCache, texts: Sequence[str]) -> int:
    """How many distinct ``texts`` (normalised) the cache holds no vector of for ``embedder``."""
    namespace = embedder_key(embedder)
    keys = {(namespace, text_hash(t)) for t in texts}
    return len(keys) - len(cache.get_many(keys))


def embed_passages_cached(
    embedder: Embedder,
    cache: EmbeddingCache,
    texts: Sequence[str],
    *,
    batch_size: int = 32,
    progress: Callable[[int, int], None] | None = None,
) -> CachedEmbeddings:
    """Embed ``texts`` (already normalised) as passages, computing only cache misses, in batches."""
    namespace = embedder_key(embedder)
    keys = [(namespace, text_hash(t)) for t in texts]
    vectors = {k: v for k, v in cache.get_many(keys).items() if v.shape == (embedder.dim,)}
    missing: dict[CacheKey, str] = {}
    for key, text in zip(keys, texts, strict=True):
        if key not in vectors:
            missing.setdefault(key, text)
    pending = list(missing.items())
    done = len(texts) - len(pending)
    if progress:
        progress(done, len(texts))
    for start in range(0, len(pending), batch_size):
        batch = pending[start : start + batch_size]
        embedded = embedder.embed_passages([text for _, text in batch])
        fresh = {key: embedded[i] for i, (key, _) in enumerate(batch)}
        cache.put_many(fresh)
        pause_point("mid-embedding")
        vectors.update(fresh)
        done += len(batch)
        if progress:
            progress(min(done, len(texts)), len(texts))
    matrix = np.zeros((len(texts), embedder.dim), dtype=np.float32)
    for row, key in enumerate(keys):
        matrix[row] = vectors[key]
    return CachedEmbeddings(matrix, len(pending))
