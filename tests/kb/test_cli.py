"""The `kb` command, run in-process with real files and a real index."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kb.cli import app
from kb.cli.documents import expand

MANUAL = (
    "# 第1章 安装\n\n## 1.1 连接 Wi-Fi\n\n"
    "本产品只支持 2.4GHz 的 Wi-Fi 网络，请在路由器中开启 2.4GHz 频段。\n"
)


@pytest.fixture
def env(tmp_path: Path, embedding_cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("KB_CACHE_DIR", str(embedding_cache_dir))
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "manual.md").write_text(MANUAL, encoding="utf-8")
    (docs / "broken.pdf").write_bytes(b"%PDF-1.4 truncated")
    return tmp_path


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


def test_ingest_search_documents(env: Path) -> None:
    data = str(env / "data")
    code, output = run("ingest", str(env / "docs"), "--data-dir", data)
    assert code == 2  # one file failed
    assert "manual.md" in output and "ingested" in output
    assert "broken.pdf" in output and "failed" in output

    code, output = run("ingest", str(env / "docs" / "manual.md"), "--data-dir", data)
    assert code == 0 and "unchanged" in output

    code, output = run("search", "wifi 连不上", "--data-dir", data, "--limit", "2")
    assert code == 0
    assert "第1章 安装 › 1.1 连接 Wi-Fi" in output and "2.4GHz" in output

    code, output = run("documents", "list", "--json", "--data-dir", data)
    [doc] = json.loads(output)
    assert doc["source_name"] == "manual.md" and doc["chunk_count"] == 1

    assert doc["stage"] == "live"

    code, output = run("documents", "show", doc["id"], "--json", "--data-dir", data)
    shown = json.loads(output)
    assert shown["chunks"][0]["heading_path"] == ["第1章 安装", "1.1 连接 Wi-Fi"]
    assert shown["versions"][0]["number"] == 1
    assert shown["stage"] == "live"
    code, output = run("documents", "show", doc["id"], "--data-dir", data)
    assert code == 0 and "stage: live" in output


def test_documents_owner_reviewed_and_overdue(env: Path) -> None:
    data = str(env / "data")
    run("ingest", str(env / "docs" / "manual.md"), "--data-dir", data)
    run("users", "add", "mia@assistkb.test", "--role", "manager", "--data-dir", data)
    _, output = run("documents", "list", "--json", "--data-dir", data)
    [doc] = json.loads(output)
    code, output = run(
        "documents", "owner", doc["id"], "--owner", "mia@assistkb.test", "--interval", "30",
        "--data-dir", data,
    )  # fmt: skip
    assert code == 0, output
    assert "owner mia@assistkb.test, every 30 days, due " in output
    code, output = run("documents", "show", doc["id"], "--json", "--data-dir", data)
    shown = json.loads(output)
    assert (shown["owner"], shown["review_interval_days"], shown["due_for_review"]) == (
        "mia@assistkb.test", 30, False,
    )  # fmt: skip
    code, output = run("documents", "list", "--overdue", "--json", "--data-dir", data)
    assert (code, json.loads(output)) == (0, [])
    code, output = run("documents", "reviewed", doc["id"], "--json", "--data-dir", data)
    assert code == 0 and json.loads(output)["reviewed_at"]
    code, output = run("audit", "--data-dir", data)
    assert "document.ownership" in output and "document.reviewed" in output
    code, output = run("documents", "owner", doc["id"], "--owner", "", "--interval", "0",
                       "--data-dir", data)  # fmt: skip
    assert code == 0 and "owner -, no review" in output
    code, output = run("documents", "owner", doc["id"], "--owner", "x@assistkb.test",
                       "--data-dir", data)  # fmt: skip
    assert code == 1 and "no user x@assistkb.test" in output
    code, output = run("documents", "owner", doc["id"], "--data-dir", data)
    assert code == 1 and "--owner, --interval or both" in output


def test_errors_are_clear(env: Path) -> None:
    data = str(env / "data")
    code, output = run("documents", "show", "nope", "--data-dir", data)
    assert code == 1 and "no document with id 'nope'" in output
    code, output = run("ingest", "--data-dir", data)
    assert code == 1 and "PATH" in output
    code, output = run("search", "x", "--mode", "fuzzy", "--data-dir", data)
    assert code == 1 and "fuzzy" in output


def test_vocabulary_set_show_and_cut(env: Path) -> None:
    data = str(env / "data")
    assert run("ingest", str(env / "docs" / "manual.md"), "--data-dir", data)[0] == 0
    code, output = run("vocabulary", "cut", "满多少钱包邮", "--data-dir", data)
    assert code == 0 and "钱包" in output.split(" / ")

    words = env / "words.txt"
    words.write_text("包邮 50000\n", encoding="utf-8")
    code, output = run("vocabulary", "set", "--user-dict", str(words), "--data-dir", data)
    assert code == 0, output
    assert "vocabulary saved; re-indexed 1 collection(s)" in output
    code, output = run("vocabulary", "cut", "满多少钱包邮", "--data-dir", data)
    assert "包邮" in output.strip().split(" / ") and "钱包" not in output

    bad = env / "synonyms.txt"
    bad.write_text("退款,退钱\n发票\n", encoding="utf-8")
    code, output = run("vocabulary", "set", "--synonyms", str(bad), "--data-dir", data)
    assert code == 1
    assert "synonyms.txt: line 2: a synonym set needs" in " ".join(output.split())
    code, output = run("vocabulary", "show", "--json", "--data-dir", data)
    assert json.loads(output) == {"user_dict": "包邮 50000", "synonyms": ""}

    code, output = run("vocabulary", "set", "--user-dict", str(words), "--data-dir", data)
    assert code == 0 and "vocabulary unchanged" in output


def test_a_database_from_an_older_build_is_refused_by_name(env: Path) -> None:
    import sqlite3

    data = env / "data"
    data.mkdir()
    old = sqlite3.connect(data / "assistkb.sqlite3")
    old.execute("CREATE TABLE suggestion (id VARCHAR(32) PRIMARY KEY, query TEXT NOT NULL)")
    old.commit()
    old.close()
    for args in (["documents", "list"], ["serve", "--port", "1"]):
        code, output = run(*args, "--data-dir", str(data))
        text = " ".join(output.split())
        assert code == 1, output
        assert "not release 040a051's" in text and "suggestion.created_at is missing" in text
        assert "left unchanged" in text
        assert "Traceback" not in output


@pytest.mark.parametrize(
    ("name", "picked"),
    [
        ("faq.tsv", True),
        ("corpus.ndjson", True),
        ("macro.docm", True),
        ("sheet.xlsm", True),
        ("guide.md", True),
        ("FAQ.CSV", True),
        ("old.doc", False),
        ("old.xls", False),
        ("slides.pptx", False),
        ("notes.xyz", False),
    ],
)
def test_a_folder_gives_every_file_ingest_can_read(tmp_path: Path, name: str, picked: bool) -> None:
    """The folder filter is ``ingest.detect``'s list of formats, not a copy of it."""
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / name).write_bytes(b"x")
    assert [p.name for p in expand([tmp_path])] == ([name] if picked else [])


def test_the_default_collection_is_the_setting(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KB_DEFAULT_COLLECTION", "other")
    data = str(env / "data")
    code, output = run("ingest", str(env / "docs" / "manual.md"), "--json", "--data-dir", data)
    assert code == 0, output
    code, output = run("documents", "list", "--json", "--data-dir", data)
    assert [d["collection"] for d in json.loads(output)] == ["other"]

    code, output = run("search", "wifi 连不上", "--json", "--data-dir", data)
    assert code == 0, output
    assert "2.4GHz" in json.loads(output)[0]["text"]
    code, output = run("search", "wifi 连不上", "-c", "default", "--data-dir", data)
    assert code == 1 and "unknown collection 'default'" in output
