"""What the `kb` commands print: whole values in a pipe, user text never read as markup, JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from kb.cli import app

LONG_NAME = "yunzhou-x1-robot-vacuum-user-manual-2026-edition-for-agents.md"
LONG_TITLE = "[/] 云舟 X1 扫地机器人使用说明书（2026 年版，适用于 YZ-X1 与 YZ-X1 Pro 两款机型）"
MARKUP_NAME = "[draft] 云舟售后.md"

# Commands that change something and print one line about it, or nothing but a file's own
# format (YAML exports, a backup archive), or run until stopped (a worker): no records to print
# as JSON.
NO_RECORDS = {
    "serve", "backup", "restore", "index rebuild", "rules import", "rules export",
    "replies import", "replies export", "vocabulary set", "db upgrade", "db current",
    "db revision", "documents delete", "users add", "users disable", "users set-password",
    "users ensure-admin", "keys revoke", "worker", "index merge",
}  # fmt: skip


def _commands(group: Any, prefix: str = "") -> dict[str, Any]:
    """Every command by its full name ("documents list"); typer's groups have ``commands``."""
    found: dict[str, Any] = {}
    for name, command in group.commands.items():
        if hasattr(command, "commands"):
            found |= _commands(command, f"{prefix}{name} ")
        else:
            found[prefix + name] = command
    return found


def test_every_command_that_prints_records_takes_json() -> None:
    commands = _commands(typer.main.get_group(app))
    assert commands.keys() >= NO_RECORDS
    without = [
        name
        for name, command in commands.items()
        if name not in NO_RECORDS and not any("--json" in p.opts for p in command.params)
    ]
    assert without == []


@pytest.fixture
def data(tmp_path: Path, embedding_cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("KB_CACHE_DIR", str(embedding_cache_dir))
    monkeypatch.setenv("COLUMNS", "80")
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / LONG_NAME).write_text(f"# {LONG_TITLE}\n\n机身尺寸 600*580*820 毫米。\n", "utf-8")
    (docs / MARKUP_NAME).write_text("# 退货\n\n签收后七天内可以申请无理由退货。\n", "utf-8")
    return tmp_path


def _run(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


def test_tables_in_a_pipe_show_whole_values(data: Path) -> None:
    """Not a terminal: no 80-column fit, so no "yunzhou-x1-robot…"; names that look like rich
    markup are shown as written ("[/]" made the listing fail, "[draft]" vanished)."""
    where = ("--data-dir", str(data / "data"))
    ingested = _run("ingest", str(data / "docs"), *where)
    documents = _run("documents", "list", *where)
    for output in (ingested, documents):
        assert "…" not in output
        assert LONG_NAME in output and MARKUP_NAME in output
    assert LONG_TITLE in documents
    [row] = [line for line in documents.splitlines() if LONG_NAME in line]
    assert LONG_TITLE in row  # one line per document: a script can grep it

    listed = json.loads(_run("documents", "list", "--json", *where))
    assert {d["source_name"] for d in listed} == {LONG_NAME, MARKUP_NAME}
    assert json.loads(_run("vocabulary", "cut", "满多少钱包邮", "--json", *where))[-1] == "邮"
