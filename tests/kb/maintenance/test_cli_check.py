"""``kb check`` on the command line: exit status, --json, --repair saying what it did."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from checking import COLLECTION, ingested
from typer.testing import CliRunner

from kb.cli import app
from kb.context import KnowledgeBase


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


def test_check_reports_repairs_and_then_passes(
    make_kb: Callable[..., KnowledgeBase],
    embedding_cache_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KB_CACHE_DIR", str(embedding_cache_dir))
    kb = ingested(make_kb)
    data = str(kb.settings.data_dir)
    assert run("check", "--data-dir", data) == (0, "no inconsistencies found\n")

    base = kb.index_store.collection_dir(COLLECTION)
    (base / ".20991231T000000000000-dead00.tmp").mkdir()  # a killed build's staging folder
    (base / "CURRENT").write_text("20991231T000000000000-gone00\n")  # names nothing
    code, output = run("check", "--json", "--data-dir", data)
    assert code == 1
    report = json.loads(output)
    kinds = sorted(f["kind"] for f in report["findings"])
    assert kinds == ["generation-missing", "staging-leftover"]
    assert all(f["repairable"] and f["repaired"] is None for f in report["findings"])

    code, output = run("check", "--repair", "--data-dir", data)
    assert code == 0, output
    assert "rebuilt" in output and "removed" in output
    assert run("check", "--data-dir", data) == (0, "no inconsistencies found\n")
