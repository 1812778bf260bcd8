"""Security headers on every kind of response, from the app's own route table (web/headers.py)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from kb.settings import Settings
from web.app import create_app
from web.auth import api_routes
from web.headers import content_security_policy

CRM = "'self' https://crm.example"
SignIn = Callable[..., Any]


@pytest.fixture(scope="module")
def client(
    tmp_path_factory: pytest.TempPathFactory, embedding_cache_dir: Path
) -> Iterator[TestClient]:
    """An empty knowledge base whose panel one CRM origin may frame; it fails on /boom."""
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("headers"),
        cache_dir=embedding_cache_dir,
        frame_ancestors=CRM,
    )
    app = create_app(settings, warm=False)

    @app.get("/boom", include_in_schema=False)
    def boom() -> None:
        raise RuntimeError("a bug")

    with TestClient(app, raise_server_exceptions=False, follow_redirects=False) as c:
        yield c


def _get_paths(client: TestClient) -> list[str]:
    """Every GET route the app serves, with an unknown id in each path parameter."""
    paths = {
        re.sub(r"\{[^}]+\}", "nope", r.path)
        for r in api_routes(client.app)  # type: ignore[arg-type]
        if "GET" in (r.methods or ())
    }
    return sorted(paths)


def _directives(response: Any) -> dict[str, str]:
    policy = response.headers["content-security-policy"]
    return dict(d.strip().split(" ", 1) for d in policy.split(";"))


def _assert_secured(response: Any, path: str) -> None:
    where = f"{response.request.method} {path} → {response.status_code}"
    assert response.headers.get("x-content-type-options") == "nosniff", where
    assert response.headers.get("referrer-policy") == "same-origin", where
    csp = _directives(response)
    if path != "/docs":  # Swagger UI's own page: see test_the_api_viewer_names_no_outside_host
        assert csp["script-src"] == "'self'", where
        assert csp["style-src"] == "'self'", where
        assert "unsafe" not in response.headers["content-security-policy"], where
    assert csp["object-src"] == "'none'" and csp["base-uri"] == "'none'", where
    if path == "/assist" or path.startswith("/assist/"):
        assert csp["frame-ancestors"] == CRM, where
        assert "x-frame-options" not in response.headers, where  # it cannot name a CRM
    else:
        assert csp["frame-ancestors"] == "'none'", where
        assert response.headers.get("x-frame-options") == "DENY", where


def test_the_walk_covers_every_kind_of_route(client: TestClient) -> None:
    paths = _get_paths(client)
    assert {"/healthz", "/login", "/assist", "/kb/documents", "/openapi.json", "/docs"} <= set(
        paths
    )
    assert any(p.startswith("/api/") for p in paths) and any("nope" in p for p in paths)


def test_every_get_route_signed_out_then_in(client: TestClient, sign_in: SignIn) -> None:
    paths = _get_paths(client)
    statuses: set[int] = set()
    for path in paths:  # signed out: redirects to /login, 401 JSON, the open pages
        response = client.get(path)
        statuses.add(response.status_code)
        _assert_secured(response, path)
    sign_in(client, role="admin")
    try:
        for path in paths:  # signed in: pages, JSON, 404s for the unknown ids, the / redirect
            response = client.get(path)
            statuses.add(response.status_code)
            _assert_secured(response, path)
    finally:
        client.cookies.clear()
    assert {200, 303, 401, 404} <= statuses


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/static/app.js", 200),
        ("GET", "/static/missing.js", 404),
        ("HEAD", "/healthz", 405),
        ("GET", "/no/such/page", 404),
        ("GET", "/api/v1/no-such-thing", 404),
        ("GET", "/boom", 500),
        ("POST", "/assist/suggest", 303),
        ("POST", "/api/v1/search", 401),
        # A login post without its pre-session CSRF pair is refused before any password check.
        ("POST", "/login", 403),
    ],
)
def test_static_errors_and_redirects(
    client: TestClient, method: str, path: str, status: int
) -> None:
    response = client.request(method, path)
    assert response.status_code == status, response.text
    _assert_secured(response, path)


def test_a_refused_csrf_post_is_secured_too(client: TestClient, sign_in: SignIn) -> None:
    sign_in(client, role="manager")
    try:
        response = client.post("/assist/suggest", data={"conversation": "退货"}, headers={
            "X-CSRF-Token": "stale"
        })  # fmt: skip
    finally:
        client.cookies.clear()
        client.headers.pop("X-CSRF-Token", None)
    assert response.status_code == 403
    _assert_secured(response, "/assist/suggest")


def test_the_api_viewer_names_no_outside_host(client: TestClient, sign_in: SignIn) -> None:
    sign_in(client, role="agent")
    try:
        response = client.get("/docs")
        assets = re.findall(r'(?:src|href)="([^"]+)"', response.text)
        fetched = [client.get("/" + a.split("?")[0]) for a in assets]
    finally:
        client.cookies.clear()
    assert response.status_code == 200
    policy = response.headers["content-security-policy"]
    # Every source is a keyword or data: (Swagger's icons): no scheme://host anywhere.
    sources = {s for value in _directives(response).values() for s in value.split()}
    assert sources <= {"'self'", "'none'", "'unsafe-inline'", "data:"}, policy
    assert "://" not in policy and "*" not in policy
    csp = _directives(response)
    assert csp["script-src"] == "'self'" and csp["default-src"] == "'self'"
    assert csp["frame-ancestors"] == "'none'"
    # The page's scripts and styles are ours, relative, and served.
    assert sorted(a.split("?")[0] for a in assets) == [
        "static/docs.js",
        "static/swagger/swagger-ui-bundle.js",
        "static/swagger/swagger-ui.css",
    ]
    assert [r.status_code for r in fetched] == [200, 200, 200]
    assert "<script>" not in response.text  # no inline script: script-src needs no hash


@pytest.mark.parametrize(
    ("ancestors", "expected"),
    [
        ("'none'", "frame-ancestors 'none'"),
        ("'self' https://crm.example", "frame-ancestors 'self' https://crm.example"),
    ],
)
def test_content_security_policy_ends_with_the_ancestors(ancestors: str, expected: str) -> None:
    policy = content_security_policy(ancestors)
    assert policy.startswith("default-src 'self'; script-src 'self'; style-src 'self';")
    assert policy.endswith(expected)
