"""The API while the embedding server (``KB_EMBEDDER=remote``) fails: a clear 503 in the
caller's language, never a 500, and nothing half-stored; answers again once it is back."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import embedding_server
from embedding_server import control, free_port, running, stats, tei_like_server
from fastapi.testclient import TestClient

from kb.settings import Settings
from web.app import create_app

GUIDE = "# 保修\n\n整机保修一年，电机和电池保修两年。\n"
NOTES = "# 发票\n\n付款后可以在订单页下载电子发票。\n"
# Embedded by no other test (the session shares one embedding cache, and cached passages are
# never sent): its upload needs the server.
FILTERS = "# 滤网\n\n滤网与边刷建议每三个月更换一次，耗材在配件商城购买。\n"


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
            assert answer.status_code == 200  # too slow: keyword answers, said so
            assert answer.json()["degraded"] == "embedder_unavailable"
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


HX = {"HX-Request": "true"}
PANEL_EN = {**HX, "Accept-Language": "en"}


def _search(client: TestClient, query: str, mode: str = "hybrid") -> Any:
    return client.post("/api/v1/search", json={"query": query, "mode": mode})


def _suggest(client: TestClient, text: str) -> Any:
    turn = {"role": "customer", "text": text}
    return client.post("/api/v1/suggest", json={"conversation": [turn]})


def test_answers_keep_coming_from_keywords_while_the_server_is_down(
    tmp_path: Path, embedding_cache_dir: Path, sign_in: Callable[..., Any]
) -> None:
    port = free_port()
    command = (sys.executable, embedding_server.__file__, "--port", str(port))
    settings = Settings(
        data_dir=tmp_path,
        cache_dir=embedding_cache_dir,
        embedder="remote",
        embedder_url=f"http://127.0.0.1:{port}",
        embedder_retries=1,
        embedder_breaker_failures=2,
        embedder_breaker_seconds=1,
    )
    with ExitStack() as server:
        server.enter_context(running(*command, port=port))
        with TestClient(create_app(settings)) as client:
            sign_in(client)
            assert _upload(client, "guide.md", GUIDE).status_code == 200
            assert _upload(client, "notes.md", NOTES).status_code == 200
            found = _search(client, "电池保修多久").json()
            assert found["degraded"] is None and found["hits"][0]["scores"]["vector"] is not None

            server.close()  # the embedding server is killed
            found = _search(client, "电机保修几年")
            assert found.status_code == 200
            body = found.json()
            assert body["degraded"] == "embedder_unavailable"
            assert "两年" in body["hits"][0]["text"]  # BM25's hit, no vector score
            assert body["hits"][0]["scores"]["vector"] is None
            suggested = _suggest(client, "电池保修多久啊")
            assert suggested.status_code == 200
            assert suggested.json()["degraded"] == "embedder_unavailable"
            assert "两年" in suggested.json()["answers"][0]["text"]
            assert suggested.json()["handling"] == "agent"  # not sent up for want of a cosine
            # The assist panel says so, in the agent's language.
            panel = client.post(
                "/assist/suggest", data={"conversation": "电池能保修几年"}, headers=PANEL_EN
            )
            assert panel.status_code == 200 and "两年" in panel.text
            assert "The embedding service is unavailable" in panel.text
            listed = client.get("/assist/search", params={"q": "电机保修"}, headers=HX)
            assert "嵌入服务暂不可用：结果仅按关键词匹配" in listed.text and "两年" in listed.text
            vector = _search(client, "电池保修几年", mode="vector")
            assert vector.status_code == 503
            assert vector.json()["error"]["code"] == "embedder_unavailable"
            refused = _upload(client, "filters.md", FILTERS)  # nothing indexed without vectors
            assert refused.status_code == 503
            listed = client.get("/api/v1/documents").json()["documents"]
            assert sorted(d["source_name"] for d in listed) == ["guide.md", "notes.md"]

            url = server.enter_context(running(*command, port=port))  # back
            time.sleep(1)  # the breaker's pause: then one request tries the server again
            found = _search(client, "保修期是多久").json()
            assert found["degraded"] is None and found["hits"][0]["scores"]["vector"] is not None
            assert _suggest(client, "保修期有多长").json()["degraded"] is None
            listed = client.get("/assist/search", params={"q": "保修两年"}, headers=HX)
            assert "两年" in listed.text and "嵌入服务暂不可用" not in listed.text
            assert _upload(client, "filters.md", FILTERS).status_code == 200

            # Failing now: the breaker opens after two failed attempts, and the requests that
            # follow are answered without asking the server at all.
            control(url, reset=True, fail=[503] * 50)
            for query in ("发票在哪里下载", "电子发票", "付款后发票", "订单页发票"):
                body = _search(client, query).json()
                assert body["degraded"] == "embedder_unavailable"
                assert "发票" in body["hits"][0]["text"]
            for text in ("怎么开发票", "发票怎么下载"):
                assert _suggest(client, text).json()["degraded"] == "embedder_unavailable"
            assert [r["status"] for r in stats(url)] == [503, 503]

            schemas = client.get("/openapi.json").json()["components"]["schemas"]
            for name in ("SearchResponse", "SuggestResponse"):
                documented = schemas[name]["properties"]["degraded"]
                assert "embedder_unavailable" in str(documented["anyOf"])
                assert "BM25" in documented["description"] or "keyword" in documented["description"]


def test_the_server_starts_and_answers_by_keywords_while_the_embedder_is_down(
    tmp_path: Path, embedding_cache_dir: Path, sign_in: Callable[..., Any]
) -> None:
    remote = {"cache_dir": embedding_cache_dir, "embedder": "remote", "embedder_retries": 0}
    with tei_like_server() as url:
        settings = Settings(data_dir=tmp_path, embedder_url=url, **remote)
        with TestClient(create_app(settings)) as client:
            sign_in(client)
            assert _upload(client, "guide.md", GUIDE).status_code == 200
    down = Settings(data_dir=tmp_path, embedder_url=f"http://127.0.0.1:{free_port()}", **remote)
    # Warm start-up asks the server for the model of every index and a warm-up embedding: it
    # used to fail there, and the agents got nothing, not even keyword answers.
    with TestClient(create_app(down, warm=True)) as client:
        sign_in(client)
        found = _search(client, "电机保修几年")
        assert found.status_code == 200 and found.json()["degraded"] == "embedder_unavailable"
        assert "两年" in found.json()["hits"][0]["text"]
        assert _suggest(client, "电池保修多久啊").json()["degraded"] == "embedder_unavailable"
