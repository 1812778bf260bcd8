"""Request limits through the real app: requests per minute per key, person and embedded agent
(429 with Retry-After, on an injected clock), request body size (413, declared or chunked),
upload file count and size."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from kb.accounts.embed import mint_embed_token
from kb.accounts.keys import authenticate_key, create_key
from kb.accounts.principal import Principal
from kb.context import KnowledgeBase
from kb.settings import Settings
from web.app import create_app
from web.limits import RATE_LIMITER, RateLimiter, check_rate

SignIn = Callable[..., Any]
KEY_LIMIT, USER_LIMIT = 3, 2
BODY_LIMIT, FILE_LIMIT, UPLOAD_LIMIT = 4096, 2, 600


class Clock:
    """The limiter's clock, moved by hand: no test sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, embedding_cache_dir: Path) -> Iterator[FastAPI]:
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("limits"),
        cache_dir=embedding_cache_dir,
        rate_limit_key_per_minute=KEY_LIMIT,
        rate_limit_user_per_minute=USER_LIMIT,
        max_request_bytes=BODY_LIMIT,
        max_upload_files=FILE_LIMIT,
        max_upload_bytes=UPLOAD_LIMIT,
    )
    application = create_app(settings, warm=False)
    with TestClient(application):
        yield application


@pytest.fixture
def clock(app: FastAPI) -> Clock:
    """A fresh limiter on a hand-moved clock for each test."""
    fake = Clock()
    _kb(app).replace_state(RATE_LIMITER, RateLimiter(clock=fake))
    return fake


def _kb(app: FastAPI) -> KnowledgeBase:
    kb: KnowledgeBase = app.state.kb
    return kb


def _bearer(app: FastAPI, scopes: str = "documents:read,documents:write,embed") -> dict[str, str]:
    key = create_key(_kb(app), name="crm", scopes=[scopes], actor="test").key
    return {"Authorization": f"Bearer {key}"}


# --- requests per minute --------------------------------------------------------------------


def test_a_key_over_its_minute_gets_429_with_retry_after_until_the_window_slides(
    app: FastAPI, clock: Clock
) -> None:
    client, crm, other = TestClient(app), _bearer(app), _bearer(app)
    for _ in range(KEY_LIMIT):
        assert client.get("/api/v1/documents", headers=crm).status_code == 200
        clock.now += 10
    refused = client.get("/api/v1/documents", headers=crm)
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "30"  # the first of the three leaves the window
    message = refused.json()["error"]["message"]
    assert f"the limit is {KEY_LIMIT} a minute (KB_RATE_LIMIT_KEY_PER_MINUTE)" in message
    assert client.get("/api/v1/documents", headers=other).status_code == 200  # per key
    clock.now += 29
    assert client.get("/api/v1/documents", headers=crm).status_code == 429
    clock.now += 1
    assert client.get("/api/v1/documents", headers=crm).status_code == 200


def test_a_person_over_the_limit_gets_an_html_page_with_retry_after(
    app: FastAPI, clock: Clock, sign_in: SignIn
) -> None:
    client = TestClient(app)
    sign_in(client, "agent", email="busy@assistkb.test")
    for _ in range(USER_LIMIT):
        assert client.get("/assist").status_code == 200
    refused = client.get("/assist")
    assert refused.status_code == 429 and refused.headers["retry-after"] == "60"
    assert refused.text.startswith("<!doctype html>")
    assert "KB_RATE_LIMIT_USER_PER_MINUTE" in refused.text
    other = TestClient(app)
    sign_in(other, "agent", email="calm@assistkb.test")
    assert other.get("/assist").status_code == 200  # per person


def test_embedded_agents_count_per_agent_not_per_crm_key(app: FastAPI, clock: Clock) -> None:
    issuer = authenticate_key(_kb(app), bearer=_bearer(app)["Authorization"][7:])
    assert issuer is not None

    def panel(agent: str) -> int:
        token = mint_embed_token(_kb(app), issuer=issuer, agent=agent).token
        return TestClient(app).get(f"/assist?embed={token}").status_code

    assert [panel("agent-1") for _ in range(USER_LIMIT + 1)] == [200] * USER_LIMIT + [429]
    assert panel("agent-2") == 200


@pytest.mark.parametrize("kind", ["key", "user", "embed"])
def test_a_limit_of_zero_is_no_limit(make_kb: Callable[..., KnowledgeBase], kind: str) -> None:
    kb = make_kb(rate_limit_key_per_minute=0, rate_limit_user_per_minute=0)
    caller = Principal(kind=kind, name="x", key_id="k", user_id="u")  # type: ignore[arg-type]
    for _ in range(500):
        check_rate(kb, caller)


def test_the_window_slides_exactly() -> None:
    clock = Clock()
    limiter = RateLimiter(clock=clock)
    waits = []
    for step in (0, 20, 20, 0, 19, 1, 0):  # seconds between requests, limit 3
        clock.now += step
        waits.append(limiter.hit("c", 3))
    # t=0, 20, 40 go; t=40 and t=59 wait for t=0 to leave at 60; t=60 goes; t=60 waits to 80.
    assert waits == [0, 0, 0, 20, 1, 0, 20]


# --- request body size ----------------------------------------------------------------------


def _chunks(size: int) -> Iterator[bytes]:
    """A body with no Content-Length (chunked), as a streaming client sends it."""
    for _ in range(size // 512):
        yield b"x" * 512


@pytest.mark.parametrize("chunked", [False, True], ids=["declared", "chunked"])
def test_a_body_over_the_limit_is_413_naming_it(app: FastAPI, clock: Clock, chunked: bool) -> None:
    client = TestClient(app)
    size = BODY_LIMIT + 1024
    body: Any = _chunks(size) if chunked else b"x" * size
    headers = {**_bearer(app, "search"), "Content-Type": "application/json"}
    api = client.post("/api/v1/search", content=body, headers=headers)
    assert api.status_code == 413
    if chunked:
        assert "content-length" not in api.request.headers
    assert api.json()["error"] == {
        "code": "too_large",
        "message": f"the request body is over the {BODY_LIMIT:,}-byte limit (KB_MAX_REQUEST_BYTES)",
        "field": "body",
    }
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    page = client.post("/kb/vocabulary", content=_chunks(size) if chunked else body, headers=form)
    assert page.status_code == 413 and "KB_MAX_REQUEST_BYTES" in page.text
    assert page.text.startswith("<!doctype html>")


def test_a_body_within_the_limit_goes_through(app: FastAPI, clock: Clock) -> None:
    query = {"query": "退货" * 100}  # about 700 bytes
    response = TestClient(app).post("/api/v1/search", json=query, headers=_bearer(app, "search"))
    assert response.status_code == 404  # no index in this empty knowledge base: it got that far


# --- uploads --------------------------------------------------------------------------------


def _files(count: int, size: int = 20) -> list[tuple[str, tuple[str, bytes, str]]]:
    return [("files", (f"f{n}.txt", b"a" * size, "text/plain")) for n in range(count)]


def test_more_files_than_the_limit_is_413_on_the_api_and_the_console(
    app: FastAPI, clock: Clock, sign_in: SignIn
) -> None:
    api = TestClient(app).post(
        "/api/v1/documents", files=_files(FILE_LIMIT + 1), headers=_bearer(app)
    )
    assert api.status_code == 413
    error = api.json()["error"]
    assert error["field"] == "files"
    assert error["message"].startswith(
        f"{FILE_LIMIT + 1} files in one upload is over the limit of {FILE_LIMIT} "
        "(KB_MAX_UPLOAD_FILES)"
    )
    console = TestClient(app)
    sign_in(console, "manager")
    page = console.post("/kb/documents", files=_files(FILE_LIMIT + 1))
    assert page.status_code == 413 and "KB_MAX_UPLOAD_FILES" in page.text


def test_a_file_over_the_upload_size_fails_alone(app: FastAPI, clock: Clock) -> None:
    files = [
        ("files", ("big.txt", b"a" * (UPLOAD_LIMIT + 1), "text/plain")),
        ("files", ("small.txt", "退货运费由商家承担。".encode(), "text/plain")),
    ]
    response = TestClient(app).post("/api/v1/documents", files=files, headers=_bearer(app))
    assert response.status_code == 200, response.text
    results = {f["filename"]: f for f in response.json()["files"]}
    assert results["big.txt"]["status"] == "failed"
    # the API reads limit + 1 bytes of a file: enough to refuse it, too few to claim its size
    assert results["big.txt"]["reason"] == f"file is over the {UPLOAD_LIMIT:,}-byte upload limit"
    assert results["small.txt"]["status"] == "ingested"


def test_a_form_upload_over_the_size_names_the_limit_in_bytes(
    app: FastAPI, clock: Clock, sign_in: SignIn
) -> None:
    console = TestClient(app, headers={"Accept-Language": "en"})
    sign_in(console, "manager")
    big = ("replies.yaml", b"#" * (UPLOAD_LIMIT * 3), "text/yaml")
    page = console.post("/kb/replies/import", files={"file": big})
    assert page.status_code == 422, page.text
    # this said "replies.yaml is over 600 bytes"
    assert f"replies.yaml is over the {UPLOAD_LIMIT:,}-byte limit" in page.text
