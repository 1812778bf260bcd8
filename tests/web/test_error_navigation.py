"""Error pages show only what the viewer may use (issue 16, point 10): the top bar of a 403 or
404 page by role, and nothing at all for a signed-out, embedded or API-key viewer; every link
left on the page opens for that viewer. Both databases (sessions, keys and tokens are rows)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from backends import BACKENDS
from fastapi import FastAPI
from fastapi.testclient import TestClient

from kb.accounts.embed import mint_embed_token
from kb.accounts.keys import authenticate_key, create_key
from kb.context import KnowledgeBase
from kb.settings import Settings
from web.app import create_app

SignIn = Callable[..., Any]
CONSOLE = {"/kb/documents", "/kb/jobs", "/kb/hit-test", "/kb/replies", "/kb/rules",
           "/kb/vocabulary", "/kb/analytics", "/kb/upkeep", "/kb/learning",
           "/kb/evaluation"}  # fmt: skip
ADMIN = {"/kb/admin/users", "/kb/admin/keys", "/kb/admin/audit"}


@pytest.fixture(scope="module", params=BACKENDS)
def app(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    embedding_cache_dir: Path,
) -> Iterator[FastAPI]:
    overrides: dict[str, object] = {}
    if request.param == "postgresql":
        overrides["database_url"] = request.getfixturevalue("new_postgres_url")()
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("error-nav"),
        cache_dir=embedding_cache_dir,
        **overrides,  # type: ignore[arg-type]
    )
    application = create_app(settings, warm=False)
    with TestClient(application):
        yield application


def _viewer(app: FastAPI, sign_in: SignIn, viewer: str) -> tuple[TestClient, dict[str, str]]:
    kb: KnowledgeBase = app.state.kb
    client = TestClient(app, follow_redirects=False)
    if viewer in ("agent", "manager", "admin"):
        sign_in(client, viewer, email=f"{viewer}@nav.test", collections=["hr"])
        return client, {}
    if viewer.startswith("key") or viewer == "embedded":
        scope = "embed" if viewer == "embedded" else "search"
        key = create_key(kb, name=viewer, scopes=[scope], collections=["hr"], actor="t").key
        if viewer == "key":
            return client, {"Authorization": f"Bearer {key}"}
        issuer = authenticate_key(kb, bearer=key)
        assert issuer is not None
        token = mint_embed_token(kb, issuer=issuer, agent="agent-7").token
        return client, {"X-Embed-Token": token}
    return client, {}


# viewer, a page that refuses them (or is not there), its status, the links its top bar offers.
CASES = [
    ("anonymous", "/static/no-such-file.css", 404, set()),
    ("agent", "/kb/documents", 403, {"/assist", "/account"}),
    ("agent", "/kb/no-such-page", 404, set()),  # no route, no session read: nothing offered
    ("manager", "/kb/admin/users", 403, CONSOLE | {"/assist", "/account"}),
    ("manager", "/kb/documents/nosuchdocument", 404, CONSOLE | {"/assist", "/account"}),
    ("admin", "/kb/jobs/nosuchjob", 404, CONSOLE | ADMIN | {"/assist", "/account"}),
    ("embedded", "/assist?collection=finance", 403, set()),  # outside the token's collections
    ("embedded", "/assist?embed=not-a-token", 401, set()),
    ("key", "/kb/documents", 403, set()),  # an API key on a page: no role, no nav
]  # fmt: skip


@pytest.mark.parametrize(("viewer", "path", "status", "offered"), CASES)
def test_an_error_page_offers_only_what_its_viewer_may_open(
    app: FastAPI, sign_in: SignIn, viewer: str, path: str, status: int, offered: set[str]
) -> None:
    client, headers = _viewer(app, sign_in, viewer)
    if viewer == "embedded" and "embed=" in path:
        headers = {}  # the entry of a broken panel link: the token is in the URL
    page = client.get(path, headers={**headers, "Sec-Fetch-Dest": "iframe"})
    assert page.status_code == status, page.text
    assert 'id="error"' in page.text
    assert 'href="/static/app.css"' in page.text  # its own stylesheet, under a mount too
    links = set(re.findall(r'href="(/[^"]*)"', page.text)) - {"/static/app.css"}
    assert links == offered
    if not offered:
        assert "<nav" not in page.text and 'class="signout"' not in page.text
    for link in links:
        opened = client.get(link, headers=headers)
        assert opened.status_code == 200, f"{viewer} offered {link}: {opened.status_code}"
