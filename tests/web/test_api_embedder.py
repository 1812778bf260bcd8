"""The API while the embedding server (``KB_EMBEDDER=remote``) fails: a clear 503 in the
caller's language, never a 500, and nothing half-stored; answers again once it is back."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from embedding_server import control, tei_like_server
from fastapi.testclient import TestClient

from kb.settings import Settings
from web.app import create_app

GUIDE = "# 保修\n\n整机保修一年，电机和电池保修两年。\n"
NOTES = "# 发票\n\n付款后可以在订单页下载电子发票。\n"


def _upload(client: TestClient, name: str, text: str) -> Any:
    return client.post("/api/v1/documents", files=[("files", (name, text.encode()))])


def test_a_failing_embedding_server_is_a_503_that_names_it(
    tmp_path: Path, embedding_cache_dir: Path, sign_in: Callable[..., Any]
) -> None:
    with tei_like_server() as url:
        settings = Settings(
            data_dir=tmp_path,
            cache_dir=embedding_cache_dir,
            embedder="remote",
            embedder_url=url,
            embedder_retries=0,
            embedder_timeout=1,
            embedder_query_timeout=1,
        )
        with TestClient(create_app(settings)) as client:
            sign_in(client)
            assert _upload(client, "guide.md", GUIDE).status_code == 200
            found = client.post("/api/v1/search", json={"query": "电池保修多久", "mode": "vector"})
            assert "两年" in found.json()["hits"][0]["text"]

            control(url, garbage="dim")
            answer = client.post(
                "/api/v1/search",
                json={"query": "电机保修几年", "mode": "vector"},
                headers={"Accept-Language": "zh-Hans"},
            )
            assert answer.status_code == 503
            error = answer.json()["error"]
            assert (error["code"], error["field"]) == ("embedder_unavailable", "embedder")
            assert error["message"].startswith(f"嵌入服务器 {url}/v1/embeddings 的应答无法使用")

            control(url, reset=True, delay=3)
            answer = client.post("/api/v1/suggest", json={"conversation": [
                {"role": "customer", "text": "电池坏了能保修吗"}]})  # fmt: skip
            assert answer.status_code == 503
            assert "did not answer in time" in answer.json()["error"]["message"]
            control(url, reset=True)

            # An upload whose passages cannot be embedded keeps nothing.
            control(url, fail=[503])
            refused = _upload(client, "notes.md", NOTES)
            assert refused.status_code == 503
            assert "HTTP 503" in refused.json()["error"]["message"]
            listed = client.get("/api/v1/documents").json()["documents"]
            assert [d["source_name"] for d in listed] == ["guide.md"]

            assert _upload(client, "notes.md", NOTES).status_code == 200  # back: it works
            found = client.post("/api/v1/search", json={"query": "怎么下载发票", "mode": "vector"})
            assert "发票" in found.json()["hits"][0]["text"]
