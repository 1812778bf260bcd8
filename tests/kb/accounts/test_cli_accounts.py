"""``kb users``, ``kb keys`` and ``kb audit``, run in-process on a real data directory."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kb.accounts.keys import authenticate_key
from kb.accounts.sessions import login, resolve_session
from kb.cli import app
from kb.context import KnowledgeBase
from kb.settings import Settings

PASSWORD = "correct horse battery"


@pytest.fixture
def data(tmp_path: Path) -> str:
    return str(tmp_path / "data")


def run(*args: str, stdin: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), input=stdin)
    return result.exit_code, result.output


def open_data(data: str) -> KnowledgeBase:
    return KnowledgeBase(Settings(data_dir=Path(data)))


def test_users(data: str) -> None:
    code, output = run(
        "users", "add", "Ann@Example.com", "--role", "manager", "--password-stdin",
        "-c", "hr", "--collection", "finance", "--data-dir", data, stdin=PASSWORD + "\n",
    )  # fmt: skip
    assert code == 0, output
    assert output == "added ann@example.com (manager, hr, finance)\n"  # no password echoed

    code, output = run("users", "add", "bo@example.com", "--role", "agent", "--data-dir", data)
    assert code == 0, output
    *_, label, generated = output.splitlines()
    assert label == "password (shown once, store it now):" and len(generated) == 24

    kb = open_data(data)
    try:
        token = login(kb, email="bo@example.com", password=generated, address=None).token
        code, output = run("users", "list", "--json", "--data-dir", data)
        users = json.loads(output)
        assert [(u["email"], u["role"], u["collections"]) for u in users] == [
            ("ann@example.com", "manager", ["hr", "finance"]),
            ("bo@example.com", "agent", []),
        ]
        assert "hash" not in output and "argon2" not in output
        code, output = run("users", "list", "--data-dir", data)
        assert "ann@example.com" in output and "hr, finance" in output and "argon2" not in output

        code, output = run("users", "set-password", "bo@example.com", "--data-dir", data)
        assert code == 0 and "sessions have ended" in output
        new_password = output.splitlines()[-1]
        assert len(new_password) == 24 and new_password != generated
        assert resolve_session(kb, token=token) is None
        token = login(kb, email="bo@example.com", password=new_password, address=None).token

        code, output = run("users", "disable", "BO@example.com", "--data-dir", data)
        assert (code, output) == (0, "disabled bo@example.com; their sessions have ended\n")
        assert resolve_session(kb, token=token) is None
    finally:
        kb.close()

    code, output = run(
        "users", "set-password", "ann@example.com", "--password-stdin", "--data-dir", data,
        stdin="short\n",
    )  # fmt: skip
    assert (code, output) == (1, "error: password is 5 characters long; it needs at least 12\n")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["users", "add", "x@example.com", "--role", "owner"], "role 'owner' is not one of agent"),
        (["users", "add", "nope", "--role", "agent"], "email 'nope' is not an e-mail address"),
        (["users", "disable", "ghost@example.com"], "no user ghost@example.com"),
        (["keys", "create", "crm", "--scope", "search,admin"], "scope 'admin' is not one of"),
        (["keys", "revoke", "akb_nothere1"], "no API key with prefix 'akb_nothere1'"),
    ],
)
def test_errors_are_one_line_and_exit_1(data: str, args: list[str], message: str) -> None:
    code, output = run(*args, "--data-dir", data)
    assert code == 1 and output.startswith(f"error: {message}"), output


def test_keys(data: str) -> None:
    code, output = run(
        "keys", "create", "crm", "--scope", "search,suggest", "--scope", "embed",
        "-c", "hr", "--expires", "30", "--data-dir", data,
    )  # fmt: skip
    assert code == 0, output
    key = output.splitlines()[-1]
    assert key.startswith("akb_") and len(key) == 56 and output.count(key) == 1
    code, output = run("keys", "create", "bot", "--scope", "feedback", "--json", "--data-dir", data)
    created = json.loads(output)
    json_key = created["key"]
    assert created["prefix"] == json_key[:12] and created["scopes"] == ["feedback"]

    kb = open_data(data)
    try:
        principal = authenticate_key(kb, bearer=key)
        assert principal is not None and principal.readable_collections == {"hr"}
        assert principal.can("embed") and not principal.can("feedback")
        assert authenticate_key(kb, bearer=json_key) is not None
    finally:
        kb.close()

    for listing in (["keys", "list"], ["keys", "list", "--json"]):
        code, output = run(*listing, "--data-dir", data)
        assert code == 0 and key[:12] in output and json_key[:12] in output
        assert key not in output and key[13:] not in output and json_key[13:] not in output
    code, output = run("keys", "list", "--json", "--data-dir", data)
    listed = {k["name"]: k for k in json.loads(output)}
    assert listed["crm"]["scopes"] == ["search", "suggest", "embed"]
    assert listed["crm"]["collections"] == ["hr"] and listed["crm"]["last_used_at"]
    assert listed["crm"]["expires_at"] and listed["bot"]["expires_at"] is None

    code, output = run("keys", "revoke", key[:12], "--data-dir", data)
    assert (code, output) == (0, f"revoked {key[:12]} (crm)\n")
    kb = open_data(data)
    try:
        assert authenticate_key(kb, bearer=key) is None
    finally:
        kb.close()
    code, output = run("keys", "list", "--data-dir", data)
    assert f"{key[:12]} (revoked)" in output

    code, output = run("audit", "--json", "--limit", "2", "--data-dir", data)
    entries = json.loads(output)
    assert [(e["actor"], e["action"], e["target"]) for e in entries] == [
        ("cli", "key.revoke", key[:12]),
        ("cli", "key.create", json_key[:12]),
    ]
    code, output = run("audit", "--data-dir", data)
    assert output.count("key.create") == 2 and key not in output and json_key not in output


def test_ensure_admin_on_first_run_only(data: str) -> None:
    code, output = run(
        "users", "ensure-admin", "--url", "http://127.0.0.1:8000/login", "--data-dir", data
    )
    assert code == 0, output
    lines = output.splitlines()
    assert lines[:3] == [
        "created the admin admin@localhost",
        "sign in at http://127.0.0.1:8000/login",
        "password (shown once, store it now):",
    ]
    kb = open_data(data)
    try:
        grant = login(kb, email="admin@localhost", password=lines[3], address=None)
        assert grant.session.principal.can("admin")
    finally:
        kb.close()
    code, output = run("users", "ensure-admin", "--data-dir", data)
    assert (code, output) == (0, "an admin exists; nothing to do\n")
