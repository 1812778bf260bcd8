"""Fixtures shared by the web tests; each module brings its own ``client`` (app and data)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from backends import BACKENDS
from fastapi import FastAPI
from fastapi.testclient import TestClient

from kb.settings import Settings
from web.app import create_app
from web.rendering import Rendered, Renderer


@pytest.fixture
def renders(client: TestClient) -> Iterator[list[Rendered]]:
    """Every render during the test, as the renderer's listeners see it."""
    renderer: Renderer = client.app.state.renderer  # type: ignore[attr-defined]
    seen: list[Rendered] = []
    renderer.listeners.append(seen.append)
    yield seen
    renderer.listeners.remove(seen.append)


@pytest.fixture(params=BACKENDS)
def backend_app(
    request: pytest.FixtureRequest, tmp_path: Path, embedding_cache_dir: Path
) -> Iterator[FastAPI]:
    """A running app on SQLite and on PostgreSQL, for pages whose state is all in the database
    (accounts, sessions, keys, the audit log). Later clients use it without ``with``."""
    overrides: dict[str, object] = {}
    if request.param == "postgresql":
        overrides["database_url"] = request.getfixturevalue("postgres_url")
    settings = Settings(data_dir=tmp_path / "data", cache_dir=embedding_cache_dir, **overrides)  # type: ignore[arg-type]
    app = create_app(settings, warm=False)
    with TestClient(app):
        yield app


def _login_token(form_html: str) -> str:
    found = re.search(r'name="csrf_token" value="([0-9a-f]{64})"', form_html)
    assert found, "the sign-in form has no login token"
    return found.group(1)


def form_sign_in(client: TestClient, email: str, password: str) -> Any:
    """Sign in through the real /login form (its pre-session cookie and token), as a browser."""
    token = _login_token(client.get("/login").text)
    data = {"email": email, "password": password, "csrf_token": token}
    return client.post("/login", data=data, follow_redirects=False)


@pytest.fixture(scope="session")
def sign_in_by_form() -> Callable[[TestClient, str, str], Any]:
    """``sign_in_by_form(client, email, password)``: the /login answer (303 when it worked)."""
    return form_sign_in
