"""The API on a Milvus-backed knowledge base (KB_VECTOR_BACKEND=milvus) whose engine goes away:
a clear 503 that names the engine, in the caller's language, never a 500."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from milvus_lite.server_manager import server_manager_instance

from kb.settings import Settings
from web.app import create_app

GUIDE = "# 保修\n\n整机保修一年，电机和电池保修两年。\n"


def test_a_vector_engine_that_goes_away_is_a_503_that_names_it(
    tmp_path: Path, embedding_cache_dir: Path, sign_in: Callable[..., Any]
) -> None:
    uri = str(tmp_path / "engine.db")  # a Milvus Lite of its own: this test stops it
    settings = Settings(
        data_dir=tmp_path / "data",
        cache_dir=embedding_cache_dir,
        vector_backend="milvus",
        milvus_uri=uri,
    )
    with TestClient(create_app(settings)) as client:
        sign_in(client)
        uploaded = client.post("/api/v1/documents", files=[("files", ("g.md", GUIDE.encode()))])
        assert uploaded.status_code == 200
        found = client.post("/api/v1/search", json={"query": "电池保修多久", "mode": "vector"})
        assert found.status_code == 200
        assert "两年" in found.json()["hits"][0]["text"]

        server_manager_instance.release_server(uri)  # the engine stops under the server
        for mode, language, start in [
            ("vector", "zh-Hans", f"向量引擎 {uri} 无法使用"),
            ("hybrid", "en", f"the vector engine {uri} cannot be used"),
        ]:
            answer = client.post(
                "/api/v1/search",
                json={"query": "电机保修几年", "mode": mode},
                headers={"Accept-Language": language},
            )
            assert answer.status_code == 503, answer.text
            error = answer.json()["error"]
            assert error["code"] == "vector_engine_unavailable"
            assert error["field"] == "vector_backend"
            assert error["message"].startswith(start)
            assert "KB_MILVUS_URI" in error["message"]
