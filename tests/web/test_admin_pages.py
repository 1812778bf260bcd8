"""The admin console (issue 9, points 1, 3, 10): people, API keys and the audit log through the
pages, on SQLite and PostgreSQL; disabling or a new password ends the person's sessions at once
(two clients), every change is audited with the acting admin, everything shown is escaped."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from kb.accounts.audit import list_audit
from kb.accounts.keys import create_key, list_keys
from kb.accounts.users import get_user
from kb.audit import record
from kb.context import KnowledgeBase
from kb.db import session_scope
from web.auth import CSRF_HEADER

SignIn = Callable[..., Any]
FormSignIn = Callable[[TestClient, str, str], Any]
ADMIN = "admin@assistkb.test"
HX = {"HX-Request": "true"}
# The page in English, where a domain error reads as kb wrote it.
EN = {"Accept-Language": "en"}


def _kb(app: FastAPI) -> KnowledgeBase:
    kb: KnowledgeBase = app.state.kb
    return kb


@pytest.fixture
def admin(backend_app: FastAPI, sign_in: SignIn) -> TestClient:
    client = TestClient(backend_app, follow_redirects=False)
    sign_in(client, "admin", email=ADMIN)
    return client


def _one_time(html: str, element: str) -> str:
    found = re.search(rf'<code id="{element}">([^<]+)</code>', html)
    assert found, f"no {element} on the page"
    return found.group(1)


def test_adding_a_user_shows_a_one_time_password_that_signs_them_in(
    backend_app: FastAPI, admin: TestClient, sign_in_by_form: FormSignIn
) -> None:
    kb = _kb(backend_app)
    data = {"email": "Hr.Lead@Example.com", "role": "manager", "collections": "hr, finance"}
    added = admin.post("/kb/admin/users", data=data)
    assert added.status_code == 200 and added.headers["cache-control"] == "no-store"
    password = _one_time(added.text, "one-time-password")
    user = get_user(kb, email="hr.lead@example.com")
    assert (user.role, user.collections, user.disabled) == ("manager", ["hr", "finance"], False)
    listing = admin.get("/kb/admin/users").text
    assert password not in listing  # shown once, never again
    row = re.search(r'<tr data-user="hr.lead@example.com">.*?</tr>', listing, re.S)
    assert row and "知识库管理员" in row.group(0) and "从未" in row.group(0)
    assert ">hr<" in row.group(0) and ">finance<" in row.group(0)

    person = TestClient(backend_app, follow_redirects=False)
    assert sign_in_by_form(person, "hr.lead@example.com", password).status_code == 303
    assert person.get("/kb/documents").status_code == 200
    assert "从未" not in re.search(  # type: ignore[union-attr]
        r'<tr data-user="hr.lead@example.com">.*?</tr>', admin.get("/kb/admin/users").text, re.S
    ).group(0)  # the last sign-in is shown now
    [entry] = list_audit(kb, action="user.add")
    assert (entry.actor, entry.target) == (f"user:{ADMIN}", "hr.lead@example.com")


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"email": "not-an-email", "role": "agent"}, "email", "is not an e-mail address"),
        ({"email": "a@example.com", "role": "root"}, "role", "is not one of agent"),
        ({"email": "a@example.com", "role": "agent", "collections": "Bad Name!"}, "collections",
         "collection"),
        ({"email": ADMIN, "role": "agent"}, "email", "exists already"),
    ],
)  # fmt: skip
def test_a_refused_new_user_is_shown_on_its_field(
    backend_app: FastAPI, admin: TestClient, data: dict[str, str], field: str, message: str
) -> None:
    refused = admin.post("/kb/admin/users", data=data, headers=EN)
    assert refused.status_code in (409, 422)
    error = re.search(rf'<p class="field-error" id="user-{field}-msg">([^<]+)</p>', refused.text)
    assert error and message in error.group(1)
    assert "one-time-password" not in refused.text


def test_disabling_a_user_ends_their_sessions_at_once(
    backend_app: FastAPI, admin: TestClient, sign_in: SignIn
) -> None:
    agent = TestClient(backend_app, follow_redirects=False)
    sign_in(agent, "agent", email="leaving@example.com")
    assert agent.get("/assist").status_code == 200
    done = admin.post("/kb/admin/users/disable", data={"email": "leaving@example.com"})
    assert done.status_code == 200 and "已停用 leaving@example.com" in done.text
    assert agent.get("/assist").headers["location"] == "/login?next=/assist"
    assert agent.get("/assist/search", params={"q": "x"}, headers=HX).status_code == 401
    assert agent.post("/api/v1/search", json={"query": "x"}).status_code == 401
    [entry] = list_audit(_kb(backend_app), action="user.disable")
    assert (entry.actor, entry.detail["sessions_ended"]) == (f"user:{ADMIN}", 1)


def test_a_new_password_from_the_admin_page_ends_sessions_and_replaces_the_old_one(
    backend_app: FastAPI, admin: TestClient, sign_in_by_form: FormSignIn
) -> None:
    added = admin.post("/kb/admin/users", data={"email": "kim@example.com", "role": "agent"})
    old = _one_time(added.text, "one-time-password")
    agent = TestClient(backend_app, follow_redirects=False)
    assert sign_in_by_form(agent, "kim@example.com", old).status_code == 303
    changed = admin.post("/kb/admin/users/password", data={"email": "kim@example.com"})
    assert changed.status_code == 200 and changed.headers["cache-control"] == "no-store"
    new = _one_time(changed.text, "one-time-password")
    assert new != old
    assert agent.get("/assist").status_code == 303  # out at once
    # The new one first: a failure makes that account wait (growing delay) at that address.
    assert sign_in_by_form(agent, "kim@example.com", new).status_code == 303
    assert sign_in_by_form(TestClient(backend_app), "kim@example.com", old).status_code == 401
    [entry] = list_audit(_kb(backend_app), action="user.set_password")
    assert (entry.actor, entry.target, entry.detail["generated"]) == (
        f"user:{ADMIN}", "kim@example.com", True,
    )  # fmt: skip
    assert new not in str(entry.detail) and old not in str(entry.detail)


def test_the_last_admin_cannot_be_disabled_and_an_unknown_email_is_named(
    backend_app: FastAPI, admin: TestClient
) -> None:
    last = admin.post("/kb/admin/users/disable", data={"email": ADMIN})
    assert last.status_code == 409 and "是最后一个启用的系统管理员" in last.text
    assert get_user(_kb(backend_app), email=ADMIN).disabled is False
    unknown = admin.post(
        "/kb/admin/users/password", data={"email": "nobody@example.com"}, headers=EN
    )
    assert unknown.status_code == 404 and "no user nobody@example.com" in unknown.text


def test_admin_forms_without_the_csrf_token_change_nothing(
    backend_app: FastAPI, admin: TestClient, sign_in: SignIn
) -> None:
    other = TestClient(backend_app)
    sign_in(other, "agent", email="target@example.com")
    admin.headers.pop(CSRF_HEADER)  # a cross-site form: the cookie goes along, the token not
    forms = [
        ("/kb/admin/users/disable", {"email": "target@example.com"}),
        ("/kb/admin/users/password", {"email": "target@example.com"}),
        ("/kb/admin/users", {"email": "new@example.com", "role": "admin"}),
        ("/kb/admin/keys", {"name": "stolen", "scopes": "search"}),
    ]
    for path, data in forms:
        assert admin.post(path, data=data).status_code == 403, path
    assert other.get("/assist").status_code == 200
    assert list_keys(_kb(backend_app)) == [] and list_audit(_kb(backend_app)) == []


def test_every_post_form_of_the_admin_pages_carries_the_csrf_token(
    backend_app: FastAPI, admin: TestClient, sign_in: SignIn
) -> None:
    sign_in(TestClient(backend_app), "agent", email="someone@example.com")
    admin.post("/kb/admin/keys", data={"name": "crm", "scopes": "search"})
    token = admin.headers[CSRF_HEADER]
    field = f'<input type="hidden" name="csrf_token" value="{token}">'
    for path in ("/kb/admin/users", "/kb/admin/keys", "/kb/admin/audit", "/account"):
        html = admin.get(path).text
        assert html.count(field) == html.count('method="post"') >= 1, path


def test_a_key_is_shown_once_works_and_stops_when_revoked(
    backend_app: FastAPI, admin: TestClient
) -> None:
    kb = _kb(backend_app)
    data = {"name": "CRM prod", "scopes": ["documents:read", "search"], "collections": "hr",
            "expires_days": "30"}  # fmt: skip
    created = admin.post("/kb/admin/keys", data=data)
    assert created.status_code == 200 and created.headers["cache-control"] == "no-store"
    key = _one_time(created.text, "one-time-key")
    [stored] = list_keys(kb)
    assert key.startswith(stored.prefix) and stored.collections == ["hr"]
    assert stored.scopes == ["documents:read", "search"] and stored.expires_at is not None
    listing = admin.get("/kb/admin/keys").text
    assert key not in listing and stored.prefix in listing and "从未" in listing
    crm = TestClient(backend_app)
    bearer = {"Authorization": f"Bearer {key}"}
    assert crm.get("/api/v1/documents", headers=bearer).status_code == 200
    assert crm.get("/api/v1/documents?collection=finance", headers=bearer).status_code == 403
    assert "从未" not in admin.get("/kb/admin/keys").text  # its last use is shown

    revoked = admin.post("/kb/admin/keys/revoke", data={"prefix": stored.prefix})
    assert revoked.status_code == 200 and "已吊销" in revoked.text
    assert crm.get("/api/v1/documents", headers=bearer).status_code == 401
    actions = [(e.action, e.actor, e.target) for e in list_audit(kb)]
    assert actions == [
        ("key.revoke", f"user:{ADMIN}", stored.prefix),
        ("key.create", f"user:{ADMIN}", stored.prefix),
    ]


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"name": "crm"}, "scopes", "needs at least one scope"),
        ({"name": "crm", "scopes": "admin"}, "scopes", "is not one of search"),
        ({"name": "", "scopes": "search"}, "name", "1-128 characters"),
        ({"name": "crm", "scopes": "search", "expires_days": "soon"}, "expires_days",
         "not a whole number"),
        ({"name": "crm", "scopes": "search", "expires_days": "0"}, "expires_days", "1-3650"),
    ],
)  # fmt: skip
def test_a_refused_key_is_shown_on_its_field(
    backend_app: FastAPI, admin: TestClient, data: dict[str, str], field: str, message: str
) -> None:
    refused = admin.post("/kb/admin/keys", data=data, headers=EN)
    assert refused.status_code == 422
    assert message in refused.text and "one-time-key" not in refused.text
    assert list_keys(_kb(backend_app)) == []


def test_names_and_addresses_are_shown_as_text(backend_app: FastAPI, admin: TestClient) -> None:
    payload = "<img src=x onerror=alert(1)>"
    admin.post("/kb/admin/keys", data={"name": payload, "scopes": "search"})
    admin.post("/kb/admin/users", data={"email": "<b>x</b>@example.com", "role": "agent"})
    for path in ("/kb/admin/keys", "/kb/admin/users", "/kb/admin/audit"):
        html = admin.get(path).text
        assert "<img src=x" not in html and "<b>x</b>" not in html, path
    assert "&lt;img src=x onerror=alert(1)&gt;" in admin.get("/kb/admin/keys").text


def test_the_audit_log_is_newest_first_paginated_and_filtered(
    backend_app: FastAPI, admin: TestClient
) -> None:
    kb = _kb(backend_app)
    with session_scope(kb.engine) as session:
        for n in range(60):
            actor = "user:a@example.com" if n % 2 else "key:akb_test0000"
            record(session, actor=actor, action=f"doc.{'delete' if n % 3 else 'upload'}",
                   target=f"doc-{n:02d}")  # fmt: skip
    first = admin.get("/kb/admin/audit").text
    targets = re.findall(r'<td data-label="对象">(doc-\d+)</td>', first)
    assert targets == [f"doc-{n:02d}" for n in range(59, 9, -1)]  # 50, newest first
    assert 'rel="next" href="/kb/admin/audit?page=2"' in first and 'rel="prev"' not in first
    second = admin.get("/kb/admin/audit", params={"page": 2}).text
    assert re.findall(r'<td data-label="对象">(doc-\d+)</td>', second) == [
        f"doc-{n:02d}" for n in range(9, -1, -1)
    ]
    assert 'rel="next"' not in second
    mine = admin.get(
        "/kb/admin/audit", params={"actor": "user:a@example.com", "action": "doc.upload"}
    )
    found = re.findall(r'<td data-label="对象">(doc-\d+)</td>', mine.text)
    assert found == [f"doc-{n:02d}" for n in range(59, -1, -1) if n % 2 and not n % 3]
    assert 'method="post"' not in mine.text.split("<main", 1)[1]  # read-only: no form posts


def test_only_admins_see_the_admin_pages_in_the_nav(
    backend_app: FastAPI, admin: TestClient, sign_in: SignIn
) -> None:
    assert 'href="/kb/admin/users"' in admin.get("/kb/documents").text
    manager = TestClient(backend_app, follow_redirects=False)
    sign_in(manager, "manager")
    page = manager.get("/kb/documents").text
    assert "/kb/admin/" not in page and 'href="/account"' in page
    assert manager.get("/kb/admin/users").status_code == 403


def test_an_upload_and_a_delete_by_a_key_show_in_the_audit_log(
    backend_app: FastAPI, admin: TestClient
) -> None:
    new = create_key(
        _kb(backend_app), name="crm", scopes=["documents:read", "documents:write"], actor="test"
    )
    crm, bearer = TestClient(backend_app), {"Authorization": f"Bearer {new.key}"}
    files = {"files": ("policy.md", "年假政策\n\n员工每年享有十天带薪年假。\n".encode())}
    uploaded = crm.post("/api/v1/documents", headers=bearer, files=files, data={"collection": "hr"})
    assert uploaded.status_code == 200, uploaded.text
    doc = uploaded.json()["files"][0]["document_id"]
    assert crm.delete(f"/api/v1/documents/{doc}", headers=bearer).status_code == 200

    actor = f"key:{new.api_key.prefix}"
    page = admin.get("/kb/admin/audit", params={"actor": actor}).text
    rows = re.findall(r'<td data-label="操作"><code>([a-z.]+)</code></td>\s*'
                      r'<td data-label="对象">([^<]+)</td>', page)  # fmt: skip
    assert rows == [("document.delete", doc), ("document.ingest", doc)]
    assert "filename: policy.md" in page and "version: 1" in page
