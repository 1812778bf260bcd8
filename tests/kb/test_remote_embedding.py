"""``KB_EMBEDDER=remote`` from the settings to a search: a knowledge base that embeds through a
real server process, and the settings that configure it."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from embedding_server import control, free_port, stats, tei_like_server
from pydantic import ValidationError
from typer.testing import CliRunner

from kb.cli import app
from kb.context import KnowledgeBase
from kb.documents.ingestion import IngestItem, ingest_items
from kb.errors import EmbedderUnavailable
from kb.faults import as_domain_error
from kb.retrieval.searching import SearchRequest, search
from kb.settings import Settings
from search.embedders.remote import EmbeddingServerError, RemoteEmbedder

GUIDE = "# 保修\n\n整机保修一年，电机和电池保修两年。\n"
FAQ = "问题,答案\n发什么快递？,默认顺丰快递，偏远地区用邮政。\n"


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with tei_like_server() as url:
        yield url


def test_ingest_and_search_through_the_server(
    server: str, make_kb: Callable[..., KnowledgeBase]
) -> None:
    control(server, reset=True)
    kb = make_kb(embedder="remote", embedder_url=server, embedder_batch_size=4)
    assert isinstance(kb.encoder.inner, RemoteEmbedder)
    files = [IngestItem("guide.md", GUIDE.encode()), IngestItem("faq.csv", FAQ.encode())]
    results = ingest_items(kb, files, collection="default")
    assert [r.status for r in results] == ["ingested", "ingested"]
    embedded = sum(r["size"] for r in stats(server))
    assert embedded >= sum(r.chunks for r in results)  # every passage went to the server

    hits = search(kb, SearchRequest("电池保修多久", mode="vector", limit=1))
    assert "两年" in hits[0].chunk.text
    hits = search(kb, SearchRequest("用什么快递发货", mode="vector", limit=1))
    assert "顺丰" in hits[0].chunk.text


def test_a_failure_of_the_server_is_a_clear_unavailable_error(
    make_kb: Callable[..., KnowledgeBase],
) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    kb = make_kb(embedder="remote", embedder_url=url, embedder_retries=0)
    with pytest.raises(EmbeddingServerError) as caught:
        ingest_items(kb, [IngestItem("guide.md", GUIDE.encode())], collection="default")
    error = as_domain_error(caught.value)
    assert isinstance(error, EmbedderUnavailable)
    assert (error.status_code, error.code, error.field) == (503, "embedder_unavailable", "embedder")
    assert error.message.startswith(f"the embedding server {url}/v1/embeddings cannot be reached")
    assert "KB_EMBEDDER_URL" in error.message


def test_the_cli_says_the_server_is_down(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "guide.md").write_text(GUIDE, encoding="utf-8")
    url = f"http://127.0.0.1:{free_port()}"
    for name, value in {"EMBEDDER": "remote", "EMBEDDER_URL": url, "EMBEDDER_RETRIES": "0"}.items():
        monkeypatch.setenv(f"KB_{name}", value)
    data = str(tmp_path / "data")
    result = CliRunner().invoke(app, ["ingest", str(tmp_path / "docs"), "--data-dir", data])
    assert result.exit_code != 0
    assert f"the embedding server {url}/v1/embeddings cannot be reached" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("values", "problem"),
    [
        ({"embedder": "remote"}, "KB_EMBEDDER=remote needs KB_EMBEDDER_URL"),
        ({"embedder": "remote", "embedder_url": "embed:8000"}, "an http(s) address"),
        ({"embedder_timeout": 0}, "greater than 0"),
        ({"embedder_batch_size": 0}, "greater than or equal to 1"),
        ({"embedder_prefixes": "both"}, "'auto', 'text', 'server' or 'none'"),
    ],
)
def test_bad_remote_settings_are_refused(
    tmp_path: Path, values: dict[str, object], problem: str
) -> None:
    with pytest.raises(ValidationError, match=re.escape(problem)):
        Settings(data_dir=tmp_path, **values)  # type: ignore[arg-type]


def test_remote_settings_make_the_client_config(tmp_path: Path) -> None:
    assert Settings(data_dir=tmp_path).remote_embedder is None
    key_file = tmp_path / "key"
    key_file.write_text("file-key\n", encoding="utf-8")
    settings = Settings(
        data_dir=tmp_path,
        embedder="remote",
        embedder_url="http://embed:8000/v1",
        embedder_model="intfloat/multilingual-e5-small",
        embedder_api_key="env-key",  # type: ignore[arg-type]
        embedder_api_key_file=key_file,
        embedder_timeout=5,
        embedder_query_timeout=2,
        embedder_batch_size=64,
        embedder_retries=0,
        embedder_prefixes="text",
    )
    config = settings.remote_embedder
    assert config is not None
    assert config.endpoint == "http://embed:8000/v1/embeddings"
    assert config.api_key == "file-key"  # the mounted secret wins
    assert (config.timeout, config.query_timeout) == (5, 2)
    assert (config.model, config.batch_size, config.retries, config.prefixes) == (
        "intfloat/multilingual-e5-small",
        64,
        0,
        "text",
    )
    missing = tmp_path / "absent"
    with pytest.raises(
        ValidationError, match=r"KB_EMBEDDER_API_KEY_FILE .*absent.* cannot be read"
    ):
        Settings(
            data_dir=tmp_path,
            embedder="remote",
            embedder_url="http://e",
            embedder_api_key_file=missing,
        )


REPLIES = """version: 1
replies:
  - id: warranty
    title: 保修期说明
    body: 电池保修两年。
    language: zh-Hans
    applies_to: [电池保修]
  - id: greeting
    title: 问候
    body: 您好！
    language: zh-Hans
    applies_to: [在吗]
"""
RULES = """version: 1
rules:
  - id: by-keyword
    name: 提到电池
    priority: 10
    when:
      any:
        - keywords: [电池]
    then: {level: tier2, team: warranty, steps: [核对保修]}
  - id: by-example
    name: 问保修多久
    priority: 20
    when:
      any:
        - examples: [电池保修多久]
    then: {level: tier3, team: quality, steps: [转质量组]}
"""


def test_a_suggestion_while_the_server_fails_goes_by_keywords(
    server: str, make_kb: Callable[..., KnowledgeBase]
) -> None:
    from kb.assist.conversation import Turn
    from kb.assist.suggest import SuggestInput, suggest
    from kb.library.store import import_replies, import_rules

    control(server, reset=True)
    kb = make_kb(embedder="remote", embedder_url=server, embedder_retries=0)
    ingest_items(kb, [IngestItem("guide.md", GUIDE.encode())], collection="default")
    import_replies(kb, REPLIES, "replies.yaml")
    import_rules(kb, RULES, "rules.yaml")
    turn = SuggestInput(conversation=[Turn(role="customer", text="电池保修多久")])
    normal = suggest(kb, turn)
    assert normal.degraded is None
    assert normal.escalation.rule_ids[0] == "by-example"  # its example means the same

    control(server, reset=True, fail=[503] * 50)
    turn = SuggestInput(conversation=[Turn(role="customer", text="电池保修多久呢")])
    degraded = suggest(kb, turn)
    assert degraded.degraded == "embedder_unavailable"
    assert "两年" in degraded.answers[0].text
    assert [r.id for r in degraded.replies] == ["warranty"]  # its cue is named; nothing else
    assert degraded.escalation.rule_ids == ["by-keyword"]  # examples need the embedder
    assert len(stats(server)) == 1  # asked once; its searches did not ask again
    # An evaluation run (or the hit test) is refused rather than scored on keywords alone.
    with pytest.raises(EmbeddingServerError):
        search(kb, SearchRequest("电池保修期", may_degrade=False))

    # The turn's words are in the memo, but a reply added during the outage needs its cues
    # embedded: keywords alone again, not a 503.
    import_replies(kb, REPLIES.replace("[在吗]", "[在吗, 有人在线吗]"), "replies.yaml")
    again = suggest(kb, SuggestInput(conversation=[Turn(role="customer", text="电池保修多久")]))
    assert again.degraded == "embedder_unavailable"
    assert [r.id for r in again.replies] == ["warranty"]


def test_kb_search_says_when_it_answered_by_keywords_only(
    server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    control(server, reset=True)
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "guide.md").write_text(GUIDE, encoding="utf-8")
    for name, value in {
        "EMBEDDER": "remote",
        "EMBEDDER_URL": server,
        "EMBEDDER_RETRIES": "0",
    }.items():
        monkeypatch.setenv(f"KB_{name}", value)
    data = str(tmp_path / "data")
    runner = CliRunner()
    assert runner.invoke(app, ["ingest", str(tmp_path / "docs"), "--data-dir", data]).exit_code == 0
    served = runner.invoke(app, ["search", "电池保修多久", "--data-dir", data])
    assert served.exit_code == 0 and "两年" in served.stdout
    assert "keywords only" not in served.output

    control(server, reset=True, fail=[503] * 50)
    for extra in ([], ["--json"]):
        degraded = runner.invoke(app, ["search", "电机保修几年", "--data-dir", data, *extra])
        assert degraded.exit_code == 0, degraded.output
        assert "两年" in degraded.stdout  # BM25's hit
        assert "the embedding server is unavailable: results by keywords only" in degraded.stderr
    assert json.loads(degraded.stdout)[0]["scores"]["vector"] is None  # the list kept its shape
