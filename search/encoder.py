"""The query encoder: the one owner of query vectors, a memo and a micro-batcher in front of
any embedder.

One suggestion embeds the same customer text for the search, the reply matcher and the
escalation examples, and CRMs re-send the same turn; at ~10-25 ms a query on two cores,
embedding it once matters. A vector is computed only when a caller asks for it (a BM25-only
search never does). Passages are not memoised here: they have the on-disk cache.

Texts that concurrent callers need are embedded together: while one batch runs in the embedder,
the texts that arrive wait for it and then go in as the next batch, in one call. A batch of eight
short queries costs far less than eight calls, and a lone caller never waits for company.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np

from search.embedders.base import Embedder


class _Job:
    """One caller's missing texts, waiting for (or carried by) a batch."""

    __slots__ = ("done", "error", "texts", "vectors")

    def __init__(self, texts: Sequence[str]) -> None:
        self.texts = texts
        self.done = False
        self.vectors: dict[str, np.ndarray] = {}
        self.error: BaseException | None = None


class QueryEncoder:
    """Wraps an embedder (local or remote); ``embed_queries`` answers repeated texts from an LRU
    and gathers concurrent callers' new texts into one call of the embedder.

    It is an :class:`Embedder` itself, so an index store or a searcher takes it where they take
    an embedder, and every query vector of a process goes through this one memo.
    """

    def __init__(self, inner: Embedder, size: int = 4096) -> None:
        self.inner = inner
        self.name = inner.name
        self._size = size
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self._batch = threading.Condition()
        self._queue: list[_Job] = []
        self._running = False

    @property
    def version(self) -> str:
        # Asked of the inner embedder each time: a remote one learns it from its server, which
        # may be down when the encoder is made (a knowledge base still opens, serving keywords).
        return self.inner.version

    @property
    def dim(self) -> int:
        return self.inner.dim

    @classmethod
    def of(cls, embedder: Embedder) -> QueryEncoder:
        """``embedder`` as a query encoder: itself when it already is one (no memo over a memo)."""
        return embedder if isinstance(embedder, QueryEncoder) else cls(embedder)

    def encode(self, text: str) -> np.ndarray:
        """The vector of one (normalised) query text."""
        return self.embed_queries([text])[0]

    def has(self, text: str) -> bool:
        """Whether ``text``'s vector is at hand (no embedding needed to use it)."""
        with self._lock:
            return text in self._vectors

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        found: dict[str, np.ndarray] = {}
        with self._lock:
            for text in dict.fromkeys(texts):
                vector = self._vectors.get(text)
                if vector is not None:
                    self._vectors.move_to_end(text)
                    found[text] = vector
        missing = [t for t in dict.fromkeys(texts) if t not in found]
        if missing:
            computed = self._embed_batched(missing)
            found.update(computed)
            with self._lock:
                for text, vector in computed.items():
                    self._vectors[text] = vector
                while len(self._vectors) > self._size:
                    self._vectors.popitem(last=False)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([found[t] for t in texts])

    def _embed_batched(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        """``texts`` embedded in the next batch: this thread runs it unless one is running, in
        which case it waits, and the first waiter to find the embedder free runs every waiting
        caller's texts in one call."""
        job = _Job(texts)
        with self._batch:
            self._queue.append(job)
            while self._running and not job.done:
                self._batch.wait()
            if job.done:
                return _result(job)
            self._running = True
            jobs, self._queue = self._queue, []
        unique = list(dict.fromkeys(t for j in jobs for t in j.texts))
        vectors: dict[str, np.ndarray] = {}
        error: BaseException | None = None
        try:
            vectors = dict(zip(unique, self.inner.embed_queries(unique), strict=True))
        except BaseException as exc:  # every caller of the batch gets the embedder's error
            error = exc
        finally:
            with self._batch:
                for j in jobs:
                    j.vectors = {t: vectors[t] for t in j.texts if t in vectors}
                    j.error = error
                    j.done = True
                self._running = False
                self._batch.notify_all()
        return _result(job)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return self.inner.embed_passages(texts)


def _result(job: _Job) -> dict[str, np.ndarray]:
    if job.error is not None:
        raise job.error
    return job.vectors
