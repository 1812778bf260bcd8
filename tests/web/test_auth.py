"""Authentication of the web layer: the route inventory against a role × route matrix, /login and
/logout, CSRF, and the start-up refusal of a weak secret (real app, database and argon2)."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from kb.accounts.keys import create_key
from kb.accounts.principal import ROLE_SCOPES
from kb.accounts.secret import InsecureSecret
from kb.accounts.sessions import resolve_session
from kb.accounts.users import create_user
from kb.context import KnowledgeBase
from kb.settings import Settings
from kb.types import SCOPES, USER_ROLES
from web.app import create_app
from web.auth import CSRF_HEADER, SESSION_COOKIE, api_routes, local_path
from web.pages.login import PRE_SESSION_COOKIE

SignIn = Callable[..., Any]
HX = {"HX-Request": "true", "HX-Current-URL": "http://testserver/kb/rules?tab=2"}

# Who may call each route: "public", "any" (any signed-in caller), a role (people of at least
# that rank; keys never), a scope (keys holding it; people whose role grants it) or "key:S"
# (keys holding S, and no person, whatever the role grants). Every route
# of the app must be here: one added without a line (and without protection) fails the suite.
ACCESS: dict[tuple[str, str], str] = {
    ("GET", "/healthz"): "public",
    ("GET", "/login"): "public",
    ("POST", "/login"): "public",
    ("GET", "/openapi.json"): "any",
    ("GET", "/docs"): "any",
    ("POST", "/logout"): "agent",
    ("GET", "/"): "agent",
    ("GET", "/assist"): "agent",
    ("POST", "/assist/suggest"): "agent",
    ("GET", "/assist/search"): "agent",
    ("POST", "/assist/feedback"): "agent",
    ("GET", "/assist/sources/{chunk_id}"): "agent",
    ("POST", "/api/v1/search"): "search",
    ("GET", "/api/v1/sources/{chunk_id}"): "search",
    ("POST", "/api/v1/suggest"): "suggest",
    ("POST", "/api/v1/feedback"): "feedback",
    ("GET", "/api/v1/documents"): "documents:read",
    ("GET", "/api/v1/documents/{document_id}"): "documents:read",
    ("POST", "/api/v1/documents"): "documents:write",
    ("DELETE", "/api/v1/documents/{document_id}"): "documents:write",
    ("PATCH", "/api/v1/documents/{document_id}"): "documents:write",
    ("POST", "/api/v1/documents/{document_id}/reviewed"): "documents:write",
    ("GET", "/api/v1/jobs/{job_id}"): "documents:read",
    ("POST", "/api/v1/embed-tokens"): "key:embed",
    ("GET", "/api/v1/upkeep/gaps"): "documents:read",
    ("GET", "/api/v1/upkeep/drafts"): "documents:read",
    ("POST", "/api/v1/upkeep/drafts"): "documents:write",
    ("GET", "/api/v1/upkeep/drafts/{draft_id}"): "documents:read",
    ("PATCH", "/api/v1/upkeep/drafts/{draft_id}"): "documents:write",
    ("POST", "/api/v1/upkeep/drafts/{draft_id}/accept"): "documents:write",
    ("POST", "/api/v1/upkeep/drafts/{draft_id}/reject"): "documents:write",
    ("GET", "/api/v1/upkeep/overlaps"): "documents:read",
    ("GET", "/api/v1/learning/adjustments"): "documents:read",
    ("POST", "/api/v1/learning/resets"): "documents:write",
    ("GET", "/api/v1/learning/pins"): "documents:read",
    ("GET", "/api/v1/learning/interleaving"): "documents:read",
    ("POST", "/api/v1/learning/pins"): "documents:write",
    ("POST", "/api/v1/learning/pins/{pin_id}/approve"): "documents:write",
    ("DELETE", "/api/v1/learning/pins/{pin_id}"): "documents:write",
    ("POST", "/api/v1/learning/proposals"): "feedback",
    ("GET", "/kb/"): "manager",
    ("GET", "/kb/documents"): "manager",
    ("POST", "/kb/documents"): "manager",
    ("GET", "/kb/documents/{document_id}"): "manager",
    ("POST", "/kb/documents/{document_id}/metadata"): "manager",
    ("POST", "/kb/documents/{document_id}/reingest"): "manager",
    ("POST", "/kb/documents/{document_id}/delete"): "manager",
    ("POST", "/kb/documents/{document_id}/ownership"): "manager",
    ("POST", "/kb/documents/{document_id}/reviewed"): "manager",
    ("GET", "/kb/documents/{document_id}/chunks/{chunk_id}"): "manager",
    ("GET", "/kb/jobs"): "manager",
    ("GET", "/kb/jobs/{job_id}"): "manager",
    ("GET", "/kb/hit-test"): "manager",
    ("GET", "/kb/replies"): "manager",
    ("GET", "/kb/replies/export"): "manager",
    ("POST", "/kb/replies/import"): "manager",
    ("GET", "/kb/replies/new"): "manager",
    ("POST", "/kb/replies/new"): "manager",
    ("GET", "/kb/replies/{reply_id}"): "manager",
    ("POST", "/kb/replies/{reply_id}"): "manager",
    ("POST", "/kb/replies/{reply_id}/delete"): "manager",
    ("GET", "/kb/rules"): "manager",
    ("POST", "/kb/rules"): "manager",
    ("POST", "/kb/rules/import"): "manager",
    ("GET", "/kb/rules/export"): "manager",
    ("GET", "/kb/vocabulary"): "manager",
    ("POST", "/kb/vocabulary"): "manager",
    ("GET", "/kb/vocabulary/cut"): "manager",
    ("GET", "/kb/analytics"): "manager",
    ("GET", "/kb/upkeep"): "manager",
    ("POST", "/kb/upkeep/drafts"): "manager",
    ("POST", "/kb/upkeep/drafts/{draft_id}"): "manager",
    ("POST", "/kb/upkeep/drafts/{draft_id}/accept"): "manager",
    ("POST", "/kb/upkeep/drafts/{draft_id}/reject"): "manager",
    ("GET", "/kb/evaluation"): "manager",
    ("POST", "/kb/evaluation"): "manager",
    ("GET", "/kb/evaluation/{run_id}"): "manager",
    ("GET", "/kb/learning"): "manager",
    ("POST", "/kb/learning/reset"): "manager",
    ("POST", "/kb/learning/pins"): "manager",
    ("POST", "/kb/learning/pins/{pin_id}/approve"): "manager",
    ("POST", "/kb/learning/pins/{pin_id}/delete"): "manager",
    ("GET", "/account"): "agent",
    ("POST", "/account/password"): "agent",
    ("POST", "/account/language"): "agent",
    ("GET", "/kb/admin/users"): "admin",
    ("POST", "/kb/admin/users"): "admin",
    ("POST", "/kb/admin/users/disable"): "admin",
    ("POST", "/kb/admin/users/password"): "admin",
    ("GET", "/kb/admin/keys"): "admin",
    ("POST", "/kb/admin/keys"): "admin",
    ("POST", "/kb/admin/keys/revoke"): "admin",
    ("GET", "/kb/admin/audit"): "admin",
}
CALLERS = ["anonymous", *USER_ROLES, *(f"key:{s}" for s in SCOPES)]


def login_token(form_html: str) -> str:
    """The hidden login-CSRF field of a sign-in form, as a browser would send it back."""
    found = re.search(r'name="csrf_token" value="([0-9a-f]{64})"', form_html)
    assert found, "the sign-in form has no login token"
    return found.group(1)


def allowed(caller: str, need: str) -> bool:
    if need == "public" or (need == "any" and caller != "anonymous"):
        return True
    if caller == "anonymous" or need == "any":
        return False
    if need.startswith("key:"):
        return caller == need  # a token's issuer must be a key, whose revocation ends it
    if caller.startswith("key:"):
        return caller == f"key:{need}"  # a role is never a key's
    if need in USER_ROLES:
        return USER_ROLES.index(caller) >= USER_ROLES.index(need)  # type: ignore[arg-type]
    return need in ROLE_SCOPES[caller]  # type: ignore[index]


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, embedding_cache_dir: Path) -> Iterator[FastAPI]:
    settings = Settings(data_dir=tmp_path_factory.mktemp("auth"), cache_dir=embedding_cache_dir)
    application = create_app(settings, warm=False)
    with TestClient(application):
        yield application


def _kb(app: FastAPI) -> KnowledgeBase:
    kb: KnowledgeBase = app.state.kb
    return kb


def test_every_route_is_in_the_matrix(app: FastAPI) -> None:
    served = {(m, r.path) for r in api_routes(app) for m in r.methods or ()}
    assert served - set(ACCESS) == set(), "routes missing from the access matrix"
    assert set(ACCESS) - served == set(), "the matrix lists routes the app no longer has"


def test_each_caller_gets_exactly_what_its_role_or_scope_allows(
    app: FastAPI, sign_in: SignIn
) -> None:
    kb = _kb(app)
    keys = {
        s: create_key(kb, name=f"key {s}", scopes=[s], actor="test").key for s in SCOPES
    }  # fmt: skip
    wrong: list[str] = []
    with TestClient(app, follow_redirects=False) as client:
        for route in api_routes(app):
            path = route.path.replace("{", "").replace("}", "")  # {document_id} → document_id
            for method in sorted(route.methods or ()):
                need = ACCESS[(method, route.path)]
                for caller in CALLERS:
                    client.cookies.clear()
                    client.headers.pop(CSRF_HEADER, None)
                    headers: dict[str, str] = {}
                    if caller in USER_ROLES:
                        sign_in(client, caller)  # a fresh session: /logout ends the last one
                    elif caller.startswith("key:"):
                        headers["Authorization"] = f"Bearer {keys[caller[4:]]}"
                    response = client.request(method, path, headers=headers)
                    got = _outcome(response)
                    expected = "ok" if allowed(caller, need) else _refusal(caller, path)
                    if got != expected:
                        wrong.append(f"{caller} {method} {path}: {got} ({response.status_code})")
    assert wrong == []


def _refusal(caller: str, path: str) -> str:
    if caller != "anonymous":
        return "403"
    return "401" if path.startswith("/api/") else "login"


def _outcome(response: Any) -> str:
    if response.status_code == 303 and response.headers["location"].startswith("/login?next="):
        return "login"
    if response.url.path == "/login" and 'id="login-form"' in response.text:
        return "ok"  # the form's own answer (here: a post without the form's login token)
    if response.status_code in (401, 403):
        if response.status_code == 401:
            assert response.json()["error"]["message"]
        return str(response.status_code)
    return "ok"


def test_static_assets_and_health_are_public(app: FastAPI) -> None:
    with TestClient(app) as client:
        assert client.get("/static/app.js").status_code == 200
        assert client.get("/healthz").json() == {"status": "ok"}


@pytest.mark.parametrize(
    ("path", "headers", "status", "location"),
    [
        ("/kb/rules?tab=2", {}, 303, "/login?next=/kb/rules%3Ftab%3D2"),
        ("/kb/hit-test?q=x", HX, 401, "/login?next=/kb/rules%3Ftab%3D2"),  # the page it came from
        ("/assist", {}, 303, "/login?next=/assist"),
    ],
)
def test_signed_out_pages_go_to_the_login_form(
    app: FastAPI, path: str, headers: dict[str, str], status: int, location: str
) -> None:
    with TestClient(app, follow_redirects=False) as client:
        response = client.get(path, headers=headers)
    assert response.status_code == status
    where = response.headers["hx-redirect" if status == 401 else "location"]
    assert where == location


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/kb/rules?tab=2", "/kb/rules?tab=2"),
        ("//evil.example/x", "/"),
        ("/\\evil.example", "/"),
        ("https://evil.example/", "/"),
        ("javascript:alert(1)", "/"),
        ("kb/rules", "/"),
        ("/kb\r\nSet-Cookie: x=1", "/"),
        ("", "/"),
        (None, "/"),
    ],
)
def test_next_is_only_ever_a_local_path(target: str | None, expected: str) -> None:
    assert local_path(target) == expected


@pytest.fixture
def secure_app(tmp_path: Path, embedding_cache_dir: Path) -> Iterator[FastAPI]:
    """An app that sends the cookie over HTTPS only; a failed login waits a minute."""
    settings = Settings(
        data_dir=tmp_path, cache_dir=embedding_cache_dir, cookie_secure=True, login_delay_seconds=60
    )
    application = create_app(settings, warm=False)
    with TestClient(application):
        yield application


def test_login_sets_a_hardened_cookie_and_logout_ends_the_session(secure_app: FastAPI) -> None:
    kb = _kb(secure_app)
    password = secrets.token_urlsafe(18)
    create_user(kb, email="lee@example.com", role="manager", password=password, actor="test")
    with TestClient(secure_app, base_url="https://testserver", follow_redirects=False) as client:
        form = client.get("/login?next=/kb/rules")
        assert form.status_code == 200 and 'name="next" value="/kb/rules"' in form.text
        pre_session = form.headers["set-cookie"]
        assert pre_session.startswith(f"{PRE_SESSION_COOKIE}=")
        assert {"HttpOnly", "Secure", "Path=/login", "SameSite=strict"} <= {
            part.strip() for part in pre_session.split(";")
        }
        data = {"email": "Lee@Example.com ", "password": password, "next": "//evil.example",
                "csrf_token": login_token(form.text)}  # fmt: skip
        response = client.post("/login", data=data)
        assert response.status_code == 303 and response.headers["location"] == "/"
        cookie = response.headers.get_list("set-cookie")[0]
        assert cookie.startswith(f"{SESSION_COOKIE}=")
        assert {"HttpOnly", "Secure", "Path=/", "SameSite=lax"} <= {
            part.strip() for part in cookie.split(";")
        }
        token = client.cookies[SESSION_COOKIE]
        page = client.get("/kb/documents")
        assert page.status_code == 200 and "lee@example.com" in page.text
        session = resolve_session(kb, token=token)
        assert session is not None and f'content="{session.csrf_token}"' in page.text

        refused = client.post("/logout")  # no CSRF token: nothing happens
        assert refused.status_code == 403
        assert resolve_session(kb, token=token) is not None
        out = client.post("/logout", data={"csrf_token": session.csrf_token})
        assert out.status_code == 303 and out.headers["location"] == "/login"
        assert f'{SESSION_COOKIE}=""' in out.headers["set-cookie"]
        assert resolve_session(kb, token=token) is None  # ended on the server, not only here
        client.cookies.set(SESSION_COOKIE, token)  # a copied cookie opens nothing either
        assert client.get("/kb/documents").headers["location"] == "/login?next=/kb/documents"


def test_wrong_password_and_lockout_answer_on_the_form(secure_app: FastAPI) -> None:
    kb = _kb(secure_app)
    password = secrets.token_urlsafe(18)
    create_user(kb, email="kim@example.com", role="agent", password=password, actor="test")
    with TestClient(secure_app, base_url="https://testserver", follow_redirects=False) as client:
        token = login_token(client.get("/login").text)
        wrong = client.post(
            "/login", data={"email": "kim@example.com", "password": "nope" * 4, "csrf_token": token}
        )
        assert wrong.status_code == 401 and "邮箱或密码不正确" in wrong.text
        assert "set-cookie" not in wrong.headers
        assert 'value="kim@example.com"' in wrong.text  # the e-mail stays typed in
        # That account at this address now waits: even the right password, and it says how long.
        locked = client.post(
            "/login", data={"email": "kim@example.com", "password": password, "csrf_token": token}
        )
    assert locked.status_code == 429
    retry = int(locked.headers["retry-after"])
    assert retry > 0 and f"{retry} 秒后再试" in locked.text
    assert "set-cookie" not in locked.headers


def test_a_state_change_without_the_csrf_token_is_refused_and_changes_nothing(
    app: FastAPI, sign_in: SignIn
) -> None:
    with TestClient(app, follow_redirects=False) as client:
        session = sign_in(client, "manager")
        client.headers.pop(CSRF_HEADER)  # a cross-site form sends the cookie, not the token
        for token in (None, "0" * 64, session.csrf_token[:-1]):
            data = {"user_dict": "防伪词条甲", "synonyms": ""}
            if token is not None:
                data["csrf_token"] = token
            refused = client.post("/kb/vocabulary", data=data)
            assert refused.status_code == 403, token
            assert "CSRF" in refused.text
            api = client.post("/api/v1/search", json={"query": "x"}, headers={CSRF_HEADER: "x"})
            assert api.status_code == 403
        assert "防伪词条甲" not in client.get("/kb/vocabulary").text
        data = {"user_dict": "防伪词条甲", "synonyms": "", "csrf_token": session.csrf_token}
        assert client.post("/kb/vocabulary", data=data).status_code == 200  # the form's field
        assert "防伪词条甲" in client.get("/kb/vocabulary").text
        by_header = client.post(
            "/kb/vocabulary",
            data={"user_dict": "防伪词条乙", "synonyms": ""},
            headers={CSRF_HEADER: session.csrf_token, **HX},  # as HTMX sends it
        )
        assert by_header.status_code == 200
        assert "防伪词条乙" in client.get("/kb/vocabulary").text


def test_pages_carry_the_csrf_token_in_every_post_form_and_for_htmx(
    app: FastAPI, sign_in: SignIn
) -> None:
    with TestClient(app) as client:
        session = sign_in(client, "manager")
        for path in ("/kb/documents", "/kb/replies/new", "/kb/rules", "/kb/vocabulary", "/assist"):
            html = client.get(path).text
            posts = html.count('method="post"')
            assert posts >= 1, path
            field = f'<input type="hidden" name="csrf_token" value="{session.csrf_token}">'
            assert html.count(field) == posts, path
            assert f'hx-headers=\'{{"X-CSRF-Token": "{session.csrf_token}"}}\'' in html


@pytest.mark.parametrize(
    ("secret", "message"),
    [
        (None, "KB_SECRET_KEY must be set when KB_ENV=production"),
        ("changeme-" * 5, "looks like a placeholder"),
        ("short", "it needs at least 32"),
    ],
)
def test_production_refuses_to_start_without_a_good_secret(
    tmp_path: Path, embedding_cache_dir: Path, secret: str | None, message: str
) -> None:
    settings = Settings(
        data_dir=tmp_path, cache_dir=embedding_cache_dir, env="production", secret_key=secret
    )
    with pytest.raises(InsecureSecret, match=message), TestClient(create_app(settings)):
        pass
    assert not (tmp_path / "secret_key").exists()  # nor did it make one up


def test_production_starts_with_an_explicit_secret(
    tmp_path: Path, embedding_cache_dir: Path
) -> None:
    settings = Settings(
        data_dir=tmp_path,
        cache_dir=embedding_cache_dir,
        env="production",
        secret_key=secrets.token_urlsafe(48),
    )
    with TestClient(create_app(settings, warm=False)) as client:
        assert client.get("/healthz").status_code == 200


def test_an_app_with_an_unprotected_route_refuses_to_build(app: FastAPI) -> None:
    from fastapi import APIRouter

    from web.auth import check_protected

    router = APIRouter()

    @router.get("/kb/forgotten")
    def forgotten() -> dict[str, str]:
        return {}

    app.include_router(router)
    try:
        with pytest.raises(RuntimeError, match=r"without authentication: \['GET'\] /kb/forgotten"):
            check_protected(app)
    finally:
        app.router.routes.pop()  # the module's app stays as it was


@pytest.mark.parametrize(
    "authorization",
    ["Bearer akb_00000000_" + "x" * 43, "Bearer ", "Basic dXNlcjpwYXNz", "akb_nothing"],
)
def test_a_bad_authorization_header_is_401_even_with_a_session(
    app: FastAPI, sign_in: SignIn, authorization: str
) -> None:
    with TestClient(app) as client:
        sign_in(client, "admin")  # the header wins: a wrong key never falls back to the cookie
        response = client.post(
            "/api/v1/search", json={"query": "x"}, headers={"Authorization": authorization}
        )
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "the API key is unknown, revoked or expired"
    assert response.headers["www-authenticate"] == "Bearer"
