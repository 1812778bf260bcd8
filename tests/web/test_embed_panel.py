"""The panel in a CRM's iframe through the real app: minting, the panel with a token, refusals,
and the token opening nothing but the panel (real database, embedder and index)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import select

from kb.accounts.embed import mint_embed_token
from kb.accounts.keys import authenticate_key, create_key, revoke_key
from kb.context import KnowledgeBase
from kb.db import session_scope
from kb.documents.ingestion import DocumentMeta, IngestItem, ingest_items
from kb.models import FeedbackRecord, SuggestionLog, utcnow
from kb.settings import Settings
from web.app import create_app

CRM = "'self' https://crm.example"
FRAMED = {"Sec-Fetch-Dest": "iframe"}
POLICY = "# 退货政策\n\n## 退货运费\n\n质量问题退货的运费由商家承担，非质量问题由买家承担。\n"
REFUSED = "此面板链接已过期或无效"
SignIn = Callable[..., Any]


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, embedding_cache_dir: Path) -> Iterator[FastAPI]:
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("embed"),
        cache_dir=embedding_cache_dir,
        frame_ancestors=CRM,
    )
    application = create_app(settings, warm=False)
    with TestClient(application):
        meta = DocumentMeta(doc_type="policy")
        ingest_items(
            _kb(application),
            [IngestItem("returns.md", POLICY.encode(), meta)],
            collection="default",
        )
        yield application


def _kb(app: FastAPI) -> KnowledgeBase:
    kb: KnowledgeBase = app.state.kb
    return kb


def _client(app: FastAPI) -> TestClient:
    """A browser with no cookie at all, as a cross-site iframe is."""
    return TestClient(app, follow_redirects=False)


def _key(app: FastAPI, scopes: str = "embed", collections: tuple[str, ...] = ("default",)) -> str:
    return create_key(
        _kb(app), name="crm", scopes=[scopes], collections=collections, actor="test"
    ).key


def _token(app: FastAPI, agent: str = "agent-7", **options: Any) -> str:
    key = options.pop("key", None) or _key(app)
    issuer = authenticate_key(_kb(app), bearer=key)
    assert issuer is not None
    return mint_embed_token(_kb(app), issuer=issuer, agent=agent, **options).token


def test_a_key_with_scope_embed_mints_a_token_and_its_panel_url(app: FastAPI) -> None:
    key = _key(app)
    before = utcnow()
    response = _client(app).post(
        "/api/v1/embed-tokens",
        json={"agent": "agent-7", "minutes": 5},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == {"token", "agent", "collections", "expires_at", "panel_url"}
    assert body["agent"] == "agent-7" and body["collections"] == ["default"]
    assert body["panel_url"] == f"/assist?embed={body['token']}"
    expires = before.replace(microsecond=0) + timedelta(minutes=5)
    assert abs((_parse(body["expires_at"]) - expires).total_seconds()) <= 2
    page = _client(app).get(body["panel_url"], headers=FRAMED)
    assert page.status_code == 200 and 'id="assist-form"' in page.text


def _parse(moment: str) -> Any:
    from datetime import datetime

    return datetime.fromisoformat(moment.replace("Z", "+00:00"))


@pytest.mark.parametrize(
    ("caller", "body", "status", "field"),
    [
        ("anonymous", {"agent": "a1"}, 401, None),
        ("key:suggest", {"agent": "a1"}, 403, None),
        ("admin", {"agent": "a1"}, 403, None),  # a person has no key whose revocation ends it
        ("key:embed", {"agent": "a1", "collections": ["hr"]}, 403, "collections"),
        ("key:embed", {"agent": "a1", "minutes": 0}, 422, "minutes"),
        ("key:embed", {"agent": "a1", "minutes": 16}, 422, "minutes"),
        ("key:embed", {"agent": ""}, 422, "agent"),
        ("key:embed", {"agent": "a1", "admin": True}, 422, "admin"),
    ],
)
def test_minting_refusals_say_what_was_wrong(
    app: FastAPI, sign_in: SignIn, caller: str, body: dict[str, Any], status: int, field: str
) -> None:
    client = _client(app)
    headers: dict[str, str] = {}
    if caller.startswith("key:"):
        headers["Authorization"] = f"Bearer {_key(app, scopes=caller[4:])}"
    elif caller == "admin":
        sign_in(client, "admin")
    response = client.post("/api/v1/embed-tokens", json=body, headers=headers)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["message"]
    assert error.get("field") == field


def test_the_openapi_schema_documents_the_route(app: FastAPI) -> None:
    operation = app.openapi()["paths"]["/api/v1/embed-tokens"]["post"]
    assert operation["responses"]["201"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/EmbedTokenOut"
    }
    for code in ("401", "403", "422"):
        schema = operation["responses"][code]["content"]["application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/ErrorBody"}, code


def test_the_token_opens_the_panel_for_its_agent_without_a_login(app: FastAPI) -> None:
    token = _token(app, agent="agent-7")
    client = _client(app)
    page = client.get(f"/assist?embed={token}&text=退货运费谁出？", headers=FRAMED)
    assert page.status_code == 200
    assert f'<meta name="embed-token" content="{token}">' in page.text
    assert 'type="password"' not in page.text and "console-link" not in page.text
    assert page.headers["content-security-policy"].endswith(f"; frame-ancestors {CRM}")
    assert "商家承担" in page.text  # the suggestion for ?text= came with the page
    assert not client.cookies  # nothing ambient was handed out for the iframe to rely on

    # The HTMX sub-routes: the token rides in the header app.js sets; no CSRF token needed.
    hx = {"HX-Request": "true", "X-Embed-Token": token}
    suggested = client.post("/assist/suggest", data={"conversation": "退货运费谁出？"}, headers=hx)
    assert suggested.status_code == 200 and "商家承担" in suggested.text
    suggestion_id = suggested.headers["x-suggestion-id"]
    answer = re.findall(r'<article class="answer" data-item-id="(\w+)"', suggested.text)[0]
    searched = client.get("/assist/search", params={"q": "退货运费"}, headers=hx)
    assert searched.status_code == 200 and "退货运费" in searched.text
    rated = client.post(
        "/assist/feedback",
        data={"suggestion_id": suggestion_id, "item_id": answer, "action": "helpful"},
        headers=hx,
    )
    assert rated.status_code == 200
    with session_scope(_kb(app).engine) as session:
        log = session.get(SuggestionLog, suggestion_id)
        feedback = session.exec(
            select(FeedbackRecord).where(FeedbackRecord.suggestion_id == suggestion_id)
        ).all()
    assert log is not None and log.actor == "embed:agent-7"  # the agent the token names
    assert [f.actor for f in feedback] == ["embed:agent-7"]


def _expired(app: FastAPI) -> str:
    # An explicit clock: minted twenty minutes ago for one minute.
    return _token(app, minutes=1, now=utcnow() - timedelta(minutes=20))


def _tampered(app: FastAPI) -> str:
    token = _token(app)
    payload, signature = token.rsplit(".", 1)
    return f"{payload}.{'A' if signature[0] != 'A' else 'B'}{signature[1:]}"


def _revoked(app: FastAPI) -> str:
    key = _key(app)
    token = _token(app, key=key)
    revoke_key(_kb(app), prefix=key[:12], actor="test")
    return token


@pytest.mark.parametrize(
    ("make", "query"),
    [
        (_expired, ""),
        (_tampered, ""),
        (_revoked, ""),
        (_token, "&agent=agent-8"),  # the CRM opened the panel for another agent
    ],
    ids=["expired", "tampered", "revoked issuing key", "wrong agent"],
)
def test_a_bad_token_gets_a_refusal_page_not_the_login_form(
    app: FastAPI, make: Callable[[FastAPI], str], query: str
) -> None:
    token = make(app)
    client = _client(app)
    page = client.get(f"/assist?embed={token}{query}", headers=FRAMED)
    assert page.status_code == 401
    assert REFUSED in page.text and "请从 CRM 重新打开面板" in page.text
    assert "location" not in page.headers and 'type="password"' not in page.text
    if query:
        return  # the token itself is sound: only the CRM's claim about the agent was wrong
    fragment = client.post(
        "/assist/suggest",
        data={"conversation": "退货运费谁出？"},
        headers={"HX-Request": "true", "X-Embed-Token": token},
    )
    assert fragment.status_code == 401 and REFUSED in fragment.text
    assert "hx-redirect" not in fragment.headers


@pytest.mark.parametrize(
    ("dest", "status"),
    [("iframe", 200), (None, 200), ("document", 403), ("embed", 403), ("empty", 403)],
)
def test_the_token_link_opens_only_inside_a_frame(
    app: FastAPI, dest: str | None, status: int
) -> None:
    """Sec-Fetch-Dest: iframe (the CRM's frame) or none (not a browser); a browser opening the
    link as a page of its own (document) or otherwise is refused."""
    headers = {"Sec-Fetch-Dest": dest} if dest else {}
    page = _client(app).get(f"/assist?embed={_token(app)}", headers=headers)
    assert page.status_code == status
    if status == 403:
        assert "只能在嵌入它的 CRM 页面中使用" in page.text


def test_a_forbidden_collection_is_refused(app: FastAPI) -> None:
    token = _token(app)
    client = _client(app)
    page = client.get(f"/assist?embed={token}&collection=hr", headers=FRAMED)
    assert page.status_code == 403 and "集合 &#39;hr&#39;" in page.text
    hx = {"HX-Request": "true", "X-Embed-Token": token}
    for response in (
        client.post(
            "/assist/suggest", data={"conversation": "退货", "collection": "hr"}, headers=hx
        ),
        client.get("/assist/search", params={"q": "退货", "collection": "hr"}, headers=hx),
    ):
        assert response.status_code == 403


def test_a_token_for_other_collections_opens_the_panel_on_the_first_of_them(app: FastAPI) -> None:
    key = _key(app, collections=("hr", "finance"))
    token = _token(app, key=key, collections=["finance"])
    page = _client(app).get(f"/assist?embed={token}", headers=FRAMED)
    assert page.status_code == 200
    assert re.findall(r'name="collection" value="(\w+)"', page.text) == ["finance", "finance"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/"),
        ("GET", "/kb/documents"),
        ("GET", "/kb/rules"),
        ("GET", "/openapi.json"),
        ("POST", "/api/v1/search"),
        ("POST", "/api/v1/suggest"),
        ("GET", "/api/v1/documents"),
        ("POST", "/api/v1/embed-tokens"),
    ],
)
def test_the_token_opens_nothing_but_the_panel(app: FastAPI, method: str, path: str) -> None:
    token = _token(app)
    client = _client(app)
    tries = [
        client.request(method, f"{path}?embed={token}", headers=FRAMED),
        client.request(method, path, headers={"X-Embed-Token": token, "HX-Request": "true"}),
        client.request(method, path, headers={"Authorization": f"Bearer {token}"}),
    ]
    for response in tries:
        if path.startswith("/api/"):
            assert response.status_code == 401, response.text
        else:  # no credential at all here: the console's usual answer to a stranger
            assert response.status_code in (303, 401), response.text
            where = response.headers.get("location") or response.headers.get("hx-redirect")
            assert where is not None and where.startswith("/login?next=")
