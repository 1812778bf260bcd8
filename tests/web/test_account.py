"""One's own account (issue 9, point 2): changing one's password ends one's other sessions and
keeps this browser signed in; logout ends the session (two clients, SQLite and PostgreSQL)."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from kb.accounts.audit import list_audit
from kb.accounts.keys import create_key
from kb.accounts.users import create_user
from kb.context import KnowledgeBase
from web.auth import CSRF_HEADER, SESSION_COOKIE

FormSignIn = Callable[[TestClient, str, str], Any]
EMAIL = "lin@example.com"


@pytest.fixture
def two_browsers(
    backend_app: FastAPI, sign_in_by_form: FormSignIn
) -> tuple[TestClient, TestClient, str]:
    """The same person signed in twice through the real form (a laptop and a phone, say)."""
    kb: KnowledgeBase = backend_app.state.kb
    password = secrets.token_urlsafe(18)
    create_user(kb, email=EMAIL, role="manager", password=password, actor="test")
    browsers = []
    for _ in range(2):
        client = TestClient(backend_app, follow_redirects=False)
        assert sign_in_by_form(client, EMAIL, password).status_code == 303
        client.headers[CSRF_HEADER] = _csrf(client.get("/account").text)
        browsers.append(client)
    return browsers[0], browsers[1], password


def _csrf(html: str) -> str:
    found = re.search(r'<meta name="csrf-token" content="([0-9a-f]+)">', html)
    assert found
    return found.group(1)


def test_changing_ones_password_ends_the_other_sessions_and_keeps_this_one(
    backend_app: FastAPI,
    two_browsers: tuple[TestClient, TestClient, str],
    sign_in_by_form: FormSignIn,
) -> None:
    laptop, phone, old = two_browsers
    new = secrets.token_urlsafe(18)
    before = laptop.cookies[SESSION_COOKIE]
    form = {"current_password": old, "new_password": new, "repeat_password": new}
    changed = laptop.post("/account/password", data=form)
    assert changed.status_code == 200 and "密码已修改" in changed.text
    assert laptop.cookies[SESSION_COOKIE] != before  # a fresh session replaces this one
    assert laptop.get("/kb/documents").status_code == 200
    # The page carries the new session's CSRF token, so the next form works without a reload.
    laptop.headers[CSRF_HEADER] = _csrf(changed.text)
    again = {"current_password": new, "new_password": old, "repeat_password": old}
    assert laptop.post("/account/password", data=again).status_code == 200
    assert phone.get("/kb/documents").headers["location"] == "/login?next=/kb/documents"
    stranger = TestClient(backend_app, follow_redirects=False)
    assert sign_in_by_form(stranger, EMAIL, new).status_code == 401  # changed back to old
    entries = list_audit(backend_app.state.kb, action="user.set_password")
    assert [e.actor for e in entries] == [f"user:{EMAIL}"] * 2


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        ({"current_password": "wrong-password-1", "new_password": "N" * 16,
          "repeat_password": "N" * 16}, "current_password", "当前密码不正确"),
        ({"new_password": "N" * 16, "repeat_password": "M" * 16}, "repeat_password",
         "两次输入的新密码不一致"),
        ({"new_password": "short", "repeat_password": "short"}, "new_password",
         "至少需要 12 个"),
    ],
)  # fmt: skip
def test_a_refused_change_says_why_on_its_field_and_changes_nothing(
    backend_app: FastAPI,
    two_browsers: tuple[TestClient, TestClient, str],
    form: dict[str, str],
    field: str,
    message: str,
) -> None:
    laptop, phone, old = two_browsers
    form = {"current_password": old, **form}
    refused = laptop.post("/account/password", data=form)
    assert refused.status_code == 422
    error = re.search(rf'<p class="field-error" id="account-{field}-msg">([^<]+)</p>', refused.text)
    assert error and message in error.group(1)
    assert laptop.get("/account").status_code == phone.get("/account").status_code == 200
    assert list_audit(backend_app.state.kb, action="user.set_password") == []


def test_logout_ends_that_session_only(two_browsers: tuple[TestClient, TestClient, str]) -> None:
    laptop, phone, _ = two_browsers
    token = laptop.cookies[SESSION_COOKIE]
    assert laptop.post("/logout").status_code == 303
    laptop.cookies.set(SESSION_COOKIE, token)  # a copy of the cookie opens nothing
    assert laptop.get("/account").headers["location"] == "/login?next=/account"
    assert laptop.post("/api/v1/search", json={"query": "x"}).status_code == 401
    assert phone.get("/account").status_code == 200


def test_keys_have_no_account_page(backend_app: FastAPI) -> None:
    key = create_key(backend_app.state.kb, name="crm", scopes=["search"], actor="test").key
    client = TestClient(backend_app)
    assert client.get("/account", headers={"Authorization": f"Bearer {key}"}).status_code == 403
