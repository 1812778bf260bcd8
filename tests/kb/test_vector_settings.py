"""KB_VECTOR_BACKEND and the Milvus settings: checked at start-up, with the bad value named."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from pydantic import ValidationError

from kb.context import KnowledgeBase
from kb.settings import Settings
from search.milvus_index import MilvusBackend
from search.vectorindex import FaissBackend


@pytest.mark.parametrize(
    ("field", "value", "says"),
    [
        ("milvus_uri", "milvus.sqlite", "neither a Milvus server URI"),
        ("milvus_uri", "ftp://host/x", "neither a Milvus server URI"),
        ("milvus_prefix", "1abc", "milvus_prefix"),
        ("milvus_prefix", "a-b", "milvus_prefix"),
        ("vector_backend", "qdrant", "vector_backend"),
    ],
)
def test_a_bad_vector_setting_stops_start_up_naming_it(
    tmp_path: Path, field: str, value: str, says: str
) -> None:
    with pytest.raises(ValidationError, match=says):
        Settings(data_dir=tmp_path, **{field: value})  # type: ignore[arg-type]


@pytest.mark.parametrize("uri", ["http://milvus:19530", "https://a.example/x", "/srv/kb/v.db"])
def test_server_uris_and_lite_files_are_accepted(tmp_path: Path, uri: str) -> None:
    assert Settings(data_dir=tmp_path, milvus_uri=uri).milvus_uri == uri


def test_the_backend_follows_the_setting(make_kb: Callable[..., KnowledgeBase]) -> None:
    assert isinstance(make_kb().vector_backend, FaissBackend)
    kb = make_kb(vector_backend="milvus", hnsw_threshold=7)
    backend = kb.vector_backend
    assert isinstance(backend, MilvusBackend)
    # No URI: Milvus Lite in the data dir (nothing is opened until the index is used).
    assert backend.config.uri == str((kb.settings.data_dir / "milvus.db").resolve())
    assert (backend.config.prefix, backend.config.hnsw_threshold) == ("assistkb", 7)
    assert kb.index_store.vector_backend is backend
