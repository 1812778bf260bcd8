"""Login CSRF (issue 9, point 2): the sign-in form is tied to a pre-session, so another site
cannot sign a browser in to an account of its choosing (real app and argon2, SQLite and
PostgreSQL), and throttling behind a trusted reverse proxy (issue 16, point 8)."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from backends import BACKENDS
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import func, select

from kb.accounts.users import create_user
from kb.context import KnowledgeBase
from kb.db import session_scope
from kb.models import LoginFailure, UserSession
from kb.settings import Settings
from web.app import create_app
from web.auth import SESSION_COOKIE
from web.pages.login import DEVICE_COOKIE, PRE_SESSION_COOKIE

FormSignIn = Callable[[TestClient, str, str], Any]
EMAIL = "mallory@example.com"


def _attacker(app: FastAPI) -> tuple[KnowledgeBase, str]:
    """The attacker's own, valid account: the one they would like the victim to work in."""
    kb: KnowledgeBase = app.state.kb
    password = secrets.token_urlsafe(18)
    create_user(kb, email=EMAIL, role="agent", password=password, actor="test")
    return kb, password


def _counts(kb: KnowledgeBase) -> tuple[int, int]:
    with session_scope(kb.engine) as session:
        sessions = session.exec(select(func.count()).select_from(UserSession)).one()
        failures = session.exec(select(func.count()).select_from(LoginFailure)).one()
    return sessions, failures


def _token(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([0-9a-f]{64})"', html)
    assert found
    return found.group(1)


def test_a_cross_site_login_post_without_the_token_is_refused_and_changes_nothing(
    backend_app: FastAPI,
) -> None:
    kb, password = _attacker(backend_app)
    victim = TestClient(backend_app, follow_redirects=False)
    victim.get("/login")  # the victim has a pre-session of their own
    before = _counts(kb)
    # The attacker's page posts the attacker's credentials (it cannot read the victim's form).
    forged = victim.post(
        "/login",
        data={"email": EMAIL, "password": password},
        headers={"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"},
    )
    assert forged.status_code == 403
    assert "登录页已过期或来自其他网站" in forged.text
    assert SESSION_COOKIE not in victim.cookies
    assert _counts(kb) == before  # no session, and no password was even tried


def test_a_token_from_another_pre_session_is_refused(backend_app: FastAPI) -> None:
    kb, password = _attacker(backend_app)
    attacker, victim = TestClient(backend_app), TestClient(backend_app, follow_redirects=False)
    stolen = _token(attacker.get("/login").text)  # valid, but for the attacker's cookie
    victim.get("/login")
    before = _counts(kb)
    forged = victim.post(
        "/login", data={"email": EMAIL, "password": password, "csrf_token": stolen}
    )
    assert forged.status_code == 403 and SESSION_COOKIE not in victim.cookies
    assert _counts(kb) == before


def test_a_valid_token_sent_cross_site_is_refused_too(backend_app: FastAPI) -> None:
    _, password = _attacker(backend_app)
    client = TestClient(backend_app, follow_redirects=False)
    token = _token(client.get("/login").text)
    data = {"email": EMAIL, "password": password, "csrf_token": token}
    forged = client.post("/login", data=data, headers={"Sec-Fetch-Site": "cross-site"})
    assert forged.status_code == 403 and SESSION_COOKIE not in client.cookies


def test_the_form_works_and_a_refused_one_comes_back_ready_to_send(
    backend_app: FastAPI, sign_in_by_form: FormSignIn
) -> None:
    _, password = _attacker(backend_app)
    client = TestClient(backend_app, follow_redirects=False)
    refused = client.post("/login", data={"email": EMAIL, "password": password})
    assert refused.status_code == 403
    assert refused.cookies.get(PRE_SESSION_COOKIE)  # a fresh pre-session with the form
    assert f'value="{EMAIL}"' in refused.text  # the e-mail stays typed in
    data = {"email": EMAIL, "password": password, "csrf_token": _token(refused.text)}
    again = client.post("/login", data=data)
    assert again.status_code == 303 and client.cookies.get(SESSION_COOKIE)

    other = TestClient(backend_app, follow_redirects=False)
    answer = sign_in_by_form(other, EMAIL, password)
    assert answer.status_code == 303 and answer.headers["location"] == "/"
    assert other.get("/assist").status_code == 200


# --- throttling behind a reverse proxy (KB_TRUSTED_PROXIES) ---------------------------------

PROXY = ("10.0.0.2", 44321)  # the reverse proxy, as the app sees it


@pytest.fixture(params=BACKENDS)
def proxied_app(
    request: pytest.FixtureRequest, tmp_path: Path, embedding_cache_dir: Path
) -> Iterator[FastAPI]:
    """An app behind one trusted proxy; a failed login makes that pair wait a minute."""
    overrides: dict[str, Any] = {
        "trusted_proxies": "10.0.0.0/24",
        "login_delay_seconds": 60,
        "login_address_max_failures": 3,
    }
    if request.param == "postgresql":
        overrides["database_url"] = request.getfixturevalue("postgres_url")
    settings = Settings(data_dir=tmp_path / "data", cache_dir=embedding_cache_dir, **overrides)
    app = create_app(settings, warm=False)
    with TestClient(app):
        yield app


def _attempt(
    app: FastAPI,
    password: str,
    *,
    peer: tuple[str, int],
    forwarded: str = "",
    email: str = EMAIL,
    client: TestClient | None = None,
) -> int:
    client = client or TestClient(app, follow_redirects=False, client=peer)
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    token = _token(client.get("/login").text)
    data = {"email": email, "password": password, "csrf_token": token}
    return client.post("/login", data=data, headers=headers).status_code


def test_behind_the_proxy_a_guesser_waits_and_the_person_does_not(proxied_app: FastAPI) -> None:
    _, password = _attacker(proxied_app)  # here: the account the guesser is after
    guesser = "203.0.113.66"
    assert _attempt(proxied_app, "wrong" * 4, peer=PROXY, forwarded=guesser) == 401
    # The guesser's own X-Forwarded-For part is left of what the proxy appended: ignored.
    spoofed = f"198.51.100.{secrets.randbelow(200)}, {guesser}"
    assert _attempt(proxied_app, password, peer=PROXY, forwarded=spoofed) == 429
    # The account's owner, through the same proxy from her own desk, is not held up.
    assert _attempt(proxied_app, password, peer=PROXY, forwarded="198.51.100.7") == 303


def test_a_forwarded_header_from_anyone_else_is_ignored(proxied_app: FastAPI) -> None:
    _, password = _attacker(proxied_app)
    direct = ("203.0.113.66", 50000)  # not a proxy of ours: its header is its own invention
    assert _attempt(proxied_app, "wrong" * 4, peer=direct, forwarded="198.51.100.1") == 401
    assert _attempt(proxied_app, password, peer=direct, forwarded="198.51.100.2") == 429
    assert _attempt(proxied_app, password, peer=direct, forwarded="10.0.0.9") == 429
    # Nor does its header make it anyone else: the person elsewhere signs in.
    assert _attempt(proxied_app, password, peer=("198.51.100.1", 50000)) == 303


def test_a_sprayer_behind_the_office_address_does_not_keep_its_people_out(
    proxied_app: FastAPI,
) -> None:
    """One NAT address for a whole floor: the per-address cap stops the sprayer, while a browser
    where the account signed in before (its device cookie) still gets in."""
    _, password = _attacker(proxied_app)  # here: a colleague's own account
    office = ("198.51.100.20", 50000)
    desk = TestClient(proxied_app, follow_redirects=False, client=office)
    assert _attempt(proxied_app, password, peer=office, client=desk) == 303
    assert desk.cookies.get(DEVICE_COOKIE)
    for n in range(3):  # the sprayer, on the same floor, tries other people's accounts
        assert _attempt(proxied_app, "guess" * 4, peer=office, email=f"p{n}@example.com") == 401
    assert _attempt(proxied_app, password, peer=office, email="p9@example.com") == 429
    # A browser without the cookie waits with the rest of the address…
    assert _attempt(proxied_app, password, peer=office) == 429
    # …the colleague's own browser does not.
    desk.cookies.delete(SESSION_COOKIE)
    assert _attempt(proxied_app, password, peer=office, client=desk) == 303
    # A copied cookie is good for its own account only.
    sprayer = TestClient(proxied_app, follow_redirects=False, client=office)
    sprayer.cookies.set(DEVICE_COOKIE, desk.cookies[DEVICE_COOKIE], path="/login")
    refused = _attempt(proxied_app, password, peer=office, email="p9@example.com", client=sprayer)
    assert refused == 429
