"""Milvus as the second ``VectorIndex`` backend, for corpora beyond one machine's memory.

The mapping is one Milvus collection per *segment* (``search/segments.py``). A segment never
changes once written, a generation serves a main segment and a few deltas, and a searcher that
loaded the old generation goes on reading the old segments while a new one is switched in: so a
segment's collection is created and filled when the segment is built, never written again, and
dropped when its directory is pruned (:meth:`MilvusBackend.sweep`). Which generation is live
stays the ``GenerationCatalog``'s business; Milvus holds only vectors. The segment's directory
keeps ``vectors.milvus`` (the collection's name, dim and rows) where FAISS keeps
``vectors.faiss``.

Rows are the collection's INT64 primary key; inner product over unit vectors, as FAISS's
cosine; FLAT (exact) below the HNSW threshold and HNSW above, with FAISS's parameters. A row
filter travels as runs of consecutive rows (a document's chunks are consecutive, so a filter on
document metadata is a few runs) or as the runs it excludes, whichever is shorter. Every call
of a segment is at ``Session`` consistency (a server's ``Strong`` waits for its next time tick:
200 ms a search, measured on Milvus 2.3): a segment is flushed before any generation names it,
so every reader sees it whole; only an index changed after its build (the contract tests do;
segments never are) reads at ``Strong``, to see its own deletes.

The URI is a Milvus server (``http://host:19530``, many processes and hosts) or a Milvus Lite
file (``….db``): Lite runs inside the process that opens it and locks the file, so it serves
one process (tests, a single ``kb serve``). pymilvus is imported here only.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from search.durable import write_atomically
from search.vectorindex import Ranked, RowFilter, VectorEngineError
from search.vectorstore import DEFAULT_HNSW_THRESHOLD

try:
    from pymilvus import DataType, MilvusClient
except ImportError as exc:  # pragma: no cover - the extra is installed wherever tests run
    raise ImportError(
        "KB_VECTOR_BACKEND=milvus needs pymilvus (and milvus-lite for a local file): "
        "pip install 'assistkb[milvus]'"
    ) from exc

POINTER_SUFFIX = ".milvus"  # beside (instead of) a segment's vectors.faiss
MAX_TOPK = 16_384  # the most rows one Milvus search or query returns
BATCH = 2_000  # rows per insert or vector query: well under gRPC's message limit at dim 1024
HNSW_M, EF_CONSTRUCTION, EF_SEARCH = 32, 200, 128  # as search/vectorstore.py's HNSW
_ROW, _VECTOR = "row", "vector"
_PREFIX = re.compile(r"[A-Za-z][A-Za-z0-9]{0,31}")
_NAME_PART = re.compile(r"[A-Za-z0-9_-]+")
T = TypeVar("T")
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class MilvusConfig:
    """Where the vectors live and what this deployment's collections are called."""

    uri: str  # http(s)://host:port of a server, or a Milvus Lite file path ending in .db
    token: str | None = None  # a server's "user:password" or API key
    prefix: str = "assistkb"  # every collection name starts with it: deployments may share one
    hnsw_threshold: int = DEFAULT_HNSW_THRESHOLD

    def __post_init__(self) -> None:
        if not _PREFIX.fullmatch(self.prefix):
            raise ValueError(
                f"invalid Milvus prefix {self.prefix!r}: 1-32 letters and digits, a letter first"
            )


class MilvusBackend:
    """Builds and loads segments' vectors as Milvus collections, over one client."""

    name = "milvus"

    def __init__(self, config: MilvusConfig) -> None:
        self.config = config
        self._client: Any = None
        self._guard = threading.Lock()

    def reads(self, kind: str) -> bool:
        return kind.startswith("milvus-")

    @property
    def client(self) -> Any:
        """The connection, opened on first use (a Milvus Lite file: its server starts here)."""
        with self._guard:
            if self._client is None:
                uri, token = self.config.uri, self.config.token
                try:
                    self._client = self.call(lambda: MilvusClient(uri=uri, token=token or ""))
                except VectorEngineError as exc:
                    if not uri.endswith(".db"):
                        raise
                    raise VectorEngineError(
                        uri,
                        f"{exc.reason}; a Milvus Lite file serves one process, so another (kb "
                        "serve, kb ingest) may hold it: several processes need a Milvus server",
                    ) from exc
            return self._client

    def call(self, action: Callable[[], T]) -> T:
        """Run one request; an engine that is down, locked or refusing is a
        :class:`VectorEngineError` (an ``OSError``: the request answers 503, not 500)."""
        try:
            return action()
        except VectorEngineError:
            raise
        except Exception as exc:  # pymilvus, grpc and milvus_lite each raise their own
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise VectorEngineError(self.config.uri, reason) from exc

    def collection_name(self, collection: str, segment: str) -> str:
        """``<prefix>_c<collection>_x<segment>``, ``_`` and ``-`` escaped so no two collide and
        one knowledge-base collection's names are found by their start."""
        return f"{self._stem(collection)}{_escape(segment)}"

    def _stem(self, collection: str) -> str:
        return f"{self.config.prefix}_c{_escape(collection)}_x"

    def build(
        self, vectors: np.ndarray, *, dim: int, collection: str, segment: str
    ) -> MilvusVectorIndex:
        """A new collection for ``segment`` holding ``vectors`` (n, dim) as rows 0..n-1."""
        name = self.collection_name(collection, segment)
        kind = "milvus-hnsw" if len(vectors) >= self.config.hnsw_threshold else "milvus-flat"
        client = self.client
        schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field(_ROW, DataType.INT64, is_primary=True)
        schema.add_field(_VECTOR, DataType.FLOAT_VECTOR, dim=dim)
        params = client.prepare_index_params()
        if kind == "milvus-hnsw":
            hnsw = {"M": HNSW_M, "efConstruction": EF_CONSTRUCTION}
            params.add_index(_VECTOR, index_type="HNSW", metric_type="IP", params=hnsw)
        else:
            params.add_index(_VECTOR, index_type="FLAT", metric_type="IP")

        def create() -> None:
            if client.has_collection(name):  # left by a build killed before its pointer
                client.drop_collection(name)
            client.create_collection(name, schema=schema, consistency_level="Session")
            # Not waiting for the index of an empty collection: pymilvus's wait polls every 0.5 s.
            client.create_index(name, params, sync=False)
            client.load_collection(name)

        self.call(create)
        index = MilvusVectorIndex(self, name, dim=dim, rows=0, kind=kind)
        index.add(vectors)
        index.changed = False
        # Sealed and indexed now, not at the first save: Milvus Lite searches unflushed rows
        # row by row (1.5 s at 10k against 20-40 ms flushed, bench/milvus_latency.py).
        self.call(partial(client.flush, name))
        return index

    def load(self, path: Path) -> MilvusVectorIndex:
        """The index whose pointer :meth:`MilvusVectorIndex.save` wrote for ``path``."""
        pointer = json.loads(_pointer(path).read_text(encoding="utf-8"))
        name = str(pointer["collection"])
        client = self.client
        if not self.call(lambda: client.has_collection(name)):
            raise FileNotFoundError(f"Milvus at {self.config.uri} has no collection {name!r}")
        self.call(lambda: client.load_collection(name))
        rows, dim, kind = int(pointer["rows"]), int(pointer["dim"]), str(pointer["kind"])
        return MilvusVectorIndex(self, name, dim=dim, rows=rows, kind=kind)

    def sweep(self, collection: str, keep: set[str]) -> None:
        """Drop ``collection``'s Milvus collections but ``keep``'s: pruned segments and what
        killed builds left (the caller holds the writer's lease, so none is being built)."""
        stem = self._stem(collection)
        kept = {self.collection_name(collection, segment) for segment in keep}
        try:
            client = self.client
            for name in self.call(client.list_collections):
                if name.startswith(stem) and name not in kept:
                    self.call(partial(client.drop_collection, name))
        except VectorEngineError as exc:  # the switch is done: the next sweep drops them
            logger.warning("could not drop the old vectors of %r: %s", collection, exc)

    def close(self) -> None:
        with self._guard:
            if self._client is not None:
                self._client.close()
                self._client = None


class MilvusVectorIndex:
    """One segment's vectors in one Milvus collection; rows are its primary keys."""

    def __init__(
        self, backend: MilvusBackend, name: str, *, dim: int, rows: int, kind: str
    ) -> None:
        self.backend = backend
        self.name = name
        self.dim = dim
        self.kind = kind
        self._rows = rows
        self.changed = False  # rows added or removed since the build: read at Strong

    def __len__(self) -> int:
        return self._rows

    def add(self, vectors: np.ndarray) -> np.ndarray:
        """Insert unit ``vectors`` as the rows after the existing ones."""
        matrix = np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1, self.dim)
        start = self._rows
        client = self.backend.client
        for first in range(0, len(matrix), BATCH):
            part = matrix[first : first + BATCH]
            data = [{_ROW: start + first + i, _VECTOR: v} for i, v in enumerate(part)]
            self.backend.call(partial(client.insert, self.name, data))
        self._rows += len(matrix)
        self.changed = self.changed or bool(len(matrix))
        return np.arange(start, start + len(matrix), dtype=np.int64)

    def remove(self, rows: np.ndarray) -> None:
        """Delete ``rows`` from the collection; the others keep their numbers."""
        rows = np.asarray(rows, dtype=np.int64)
        if rows.size and (rows.min() < 0 or rows.max() >= self._rows):
            raise IndexError(f"rows out of range 0..{self._rows - 1}: {rows.tolist()[:5]}")
        if rows.size:
            ids = [int(r) for r in np.unique(rows)]
            client = self.backend.client
            self.backend.call(lambda: client.delete(self.name, ids=ids))
            self.changed = True

    def search(self, queries: np.ndarray, k: int, allowed: RowFilter | None = None) -> list[Ranked]:
        """For each query, its best ``k`` rows by cosine among ``allowed``, best first."""
        q = np.ascontiguousarray(queries, dtype=np.float32).reshape(-1, self.dim)
        if k <= 0 or self._rows == 0 or len(q) == 0:
            return [[] for _ in q]
        expression = "" if allowed is None else row_filter(allowed)
        if expression is None:
            return [[] for _ in q]
        limit = min(k, MAX_TOPK, self._rows)
        params: dict[str, Any] = {"metric_type": "IP"}
        if self.kind == "milvus-hnsw":
            params["params"] = {"ef": max(EF_SEARCH, limit)}
        client = self.backend.client
        found = self.backend.call(
            lambda: client.search(
                self.name,
                data=list(q),
                limit=limit,
                filter=expression,
                anns_field=_VECTOR,
                search_params=params,
                output_fields=[_ROW],
                **self._consistency(),
            )
        )
        return [
            sorted(((int(h[_ROW]), float(h["distance"])) for h in hits), key=_best_first)
            for hits in found
        ]

    def vectors(self, rows: np.ndarray) -> np.ndarray:
        """The stored vectors of ``rows``; a row that is not stored is an ``IndexError``."""
        rows = np.asarray(rows, dtype=np.int64).reshape(-1)
        wanted, back = np.unique(rows, return_inverse=True)
        stored = np.zeros((wanted.size, self.dim), dtype=np.float32)
        seen = np.zeros(wanted.size, dtype=bool)
        client = self.backend.client
        for first in range(0, wanted.size, BATCH):
            part = [int(r) for r in wanted[first : first + BATCH]]
            expression = f"{_ROW} in {part}"
            found = self.backend.call(
                partial(
                    client.query,
                    self.name,
                    filter=expression,
                    output_fields=[_VECTOR],
                    limit=len(part),
                    **self._consistency(),
                )
            )
            for entity in found:
                at = int(np.searchsorted(wanted, int(entity[_ROW])))
                stored[at] = entity[_VECTOR]
                seen[at] = True
        if not seen.all():
            missing = wanted[~seen].tolist()[:5]
            raise IndexError(f"rows not stored in Milvus collection {self.name!r}: {missing}")
        return stored[back]

    def _consistency(self) -> dict[str, str]:
        return {"consistency_level": "Strong"} if self.changed else {}

    def save(self, path: Path) -> None:
        """Flush the collection (rows added since the build) and write its pointer beside
        ``path`` (``….milvus``)."""
        client = self.backend.client
        self.backend.call(lambda: client.flush(self.name))
        pointer = {"collection": self.name, "dim": self.dim, "rows": self._rows, "kind": self.kind}
        write_atomically(_pointer(path), json.dumps(pointer) + "\n")


def row_filter(allowed: RowFilter) -> str | None:
    """A Milvus filter keeping the rows ``allowed`` marks: "" for every row, None for none."""
    mask = np.asarray(allowed, dtype=bool)
    if not mask.any():
        return None
    if mask.all():
        return ""
    keep, drop = _runs(mask), _runs(~mask)
    if len(drop) < len(keep):
        return f"not ({_expression(drop)})"
    return _expression(keep)


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(first, last) of each run of True in ``mask``."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1
    return list(zip(starts.tolist(), ends.tolist(), strict=True))


def _expression(runs: list[tuple[int, int]]) -> str:
    singles = [first for first, last in runs if first == last]
    terms = [f"({_ROW} >= {first} and {_ROW} <= {last})" for first, last in runs if first < last]
    if singles:
        terms.append(f"{_ROW} in {singles}")
    return " or ".join(terms)


def _best_first(hit: tuple[int, float]) -> tuple[float, int]:
    return (-hit[1], hit[0])


def _escape(part: str) -> str:
    if not _NAME_PART.fullmatch(part):
        raise ValueError(f"cannot name a Milvus collection after {part!r}")
    return part.replace("_", "_0").replace("-", "_1")


def _pointer(path: Path) -> Path:
    return path.with_suffix(POINTER_SUFFIX)
