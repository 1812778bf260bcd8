"""The one error path over HTTP: inputs fuzzing turned into 500s answer 4xx naming the field, the
OpenAPI schema publishes the real error body, pages answer in HTML, and ``/`` leads somewhere."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from kb.context import KnowledgeBase
from kb.settings import Settings
from web.app import create_app

HX = {"HX-Request": "true"}
GUIDE = "# 退货\n\n七天内可以无理由退货，运费由顾客承担。\n".encode()
# A message that fills the sample's return reply, which greets the customer by {name}.
SUGGEST = {
    "conversation": [{"role": "customer", "text": "没用过。那退货运费谁出？"}],
    "customer": {"name": "王女士", "order_id": "A123"},
}
FUZZED_NAMES = ["_x", "-x", "__main__", "../x", "Default", "z" * 65]

SignIn = Callable[..., Any]


@pytest.fixture(scope="module")
def sample(sample_kb: KnowledgeBase, sign_in: SignIn) -> Iterator[TestClient]:
    """The sample knowledge base, read-only: nothing here writes to it."""
    with TestClient(create_app(sample_kb.settings, warm=False)) as c:
        sign_in(c)
        yield c


@pytest.fixture
def client(tmp_path: Path, embedding_cache_dir: Path, sign_in: SignIn) -> Iterator[TestClient]:
    app = create_app(Settings(data_dir=tmp_path, cache_dir=embedding_cache_dir), warm=False)
    with TestClient(app) as c:
        sign_in(c)
        yield c


def _raw(client: TestClient, path: str, payload: dict[str, Any]) -> Any:
    """POST JSON with ``\\uXXXX`` escapes kept, as a CRM may send them (lone surrogates too)."""
    body = json.dumps(payload).encode("ascii")
    return client.post(path, content=body, headers={"content-type": "application/json"})


# --- (a) collection names the index refused ------------------------------------------------


@pytest.mark.parametrize("name", FUZZED_NAMES)
@pytest.mark.parametrize(
    ("path", "payload"),
    [("/api/v1/search", {"query": "退货运费"}), ("/api/v1/suggest", SUGGEST)],
)
def test_search_and_suggest_refuse_a_bad_collection_name_with_422(
    sample: TestClient, path: str, payload: dict[str, Any], name: str
) -> None:
    response = sample.post(path, json={**payload, "collection": name})
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["field"] == "collection"
    assert "a-z, 0-9" in error["message"]


# --- (b), (c) uploads: refused before anything is stored ------------------------------------


@pytest.mark.parametrize("name", FUZZED_NAMES)
def test_upload_to_a_bad_collection_is_422_and_stores_nothing(
    client: TestClient, name: str
) -> None:
    response = client.post(
        "/api/v1/documents", files=[("files", ("guide.md", GUIDE))], data={"collection": name}
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"]["field"] == "collection"
    assert client.get("/api/v1/documents").json()["documents"] == []
    # Nothing half-stored: the collection's searches answer as for any bad name, never 500.
    search = client.post("/api/v1/search", json={"query": "退货", "collection": name})
    assert search.status_code == 422 and search.json()["error"]["field"] == "collection"


@pytest.mark.parametrize("name", ["_x", "Default", "z" * 65])
def test_console_upload_to_a_bad_collection_shows_the_error_and_stores_nothing(
    client: TestClient, name: str
) -> None:
    response = client.post(
        "/kb/documents",
        files=[("files", ("guide.md", GUIDE))],
        data={"collection": name},
        headers=HX,
    )
    assert response.status_code == 422
    assert 'id="upload-collection-msg">collection name' in response.text
    assert client.get("/api/v1/documents").json()["documents"] == []


# --- (d) a lone surrogate -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({**SUGGEST, "customer": {"name": "\ud800"}}, "customer"),
        ({**SUGGEST, "customer": {"name": "王\udfff女士", "order_id": "A123"}}, "customer"),
        ({**SUGGEST, "customer": {"\ud800": "x"}}, "customer"),
        ({**SUGGEST, "conversation": [{"role": "customer", "text": "退货\ud800"}]}, "text"),
    ],
)
def test_a_lone_surrogate_is_422_naming_the_field(
    sample: TestClient, payload: dict[str, Any], field: str
) -> None:
    response = _raw(sample, "/api/v1/suggest", payload)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert field in error["field"]


def test_a_lone_surrogate_in_a_search_query_is_422(sample: TestClient) -> None:
    response = _raw(sample, "/api/v1/search", {"query": "退货\ud800"})
    assert response.status_code == 422 and response.json()["error"]["field"] == "query"


def test_the_same_customer_without_the_surrogate_is_served(sample: TestClient) -> None:
    response = _raw(sample, "/api/v1/suggest", {**SUGGEST, "customer": {"name": "王女士"}})
    assert response.status_code == 200, response.text
    assert any("王女士" in r["text"] for r in response.json()["replies"])


# --- the published error body ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "codes"),
    [
        ("post", "/api/v1/search", {"401", "403", "404", "409", "422", "429"}),
        ("post", "/api/v1/suggest", {"401", "403", "404", "409", "422", "429"}),
        ("post", "/api/v1/feedback", {"401", "403", "404", "422", "429"}),
        ("post", "/api/v1/documents", {"401", "403", "413", "422", "429"}),
        ("get", "/api/v1/documents", {"401", "403", "422", "429"}),
        ("get", "/api/v1/documents/{document_id}", {"401", "403", "404", "422", "429"}),
        ("delete", "/api/v1/documents/{document_id}", {"401", "403", "404", "422", "429"}),
        ("get", "/api/v1/jobs/{job_id}", {"401", "403", "404", "422", "429"}),
    ],
)
def test_openapi_documents_each_routes_error_answers_with_the_real_body(
    sample: TestClient, method: str, path: str, codes: set[str]
) -> None:
    schema = sample.get("/openapi.json").json()
    responses = schema["paths"][path][method]["responses"]
    errors = {code: r for code, r in responses.items() if code.startswith("4")}
    assert set(errors) == codes
    for answer in errors.values():
        ref = answer["content"]["application/json"]["schema"]["$ref"]
        assert ref == "#/components/schemas/ErrorBody"
    body = schema["components"]["schemas"]
    assert body["ErrorBody"]["required"] == ["error"]
    assert {"code", "message", "field", "problems"} <= set(body["ErrorDetail"]["properties"])
    assert "HTTPValidationError" not in body  # FastAPI's own shape, which we never send


def test_an_actual_error_matches_the_published_body(sample: TestClient) -> None:
    response = sample.post("/api/v1/search", json={"query": "退货", "limit": 0})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["field"] == "limit"
    assert set(error) <= {"code", "message", "field", "problems"}
    assert error["code"] == "invalid"
    assert all(set(p) == {"field", "loc", "type", "message"} for p in error["problems"])


# --- pages: HTML for 422 and 500 ------------------------------------------------------------


@pytest.mark.parametrize(("headers", "fragment"), [({}, False), (HX, True)])
def test_a_malformed_page_request_is_an_html_422(
    client: TestClient, headers: dict[str, str], fragment: bool
) -> None:
    response = client.get("/kb/hit-test", params={"q": "退货", "limit": "0"}, headers=headers)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("text/html")
    assert "limit" in response.text and '<section id="error"' in response.text
    assert ("<html" in response.text) is not fragment


@pytest.mark.parametrize(("headers", "fragment"), [({}, False), (HX, True)])
def test_an_unexpected_page_error_is_an_html_500(
    tmp_path: Path, embedding_cache_dir: Path, headers: dict[str, str], fragment: bool
) -> None:
    app: FastAPI = create_app(
        Settings(data_dir=tmp_path, cache_dir=embedding_cache_dir), warm=False
    )

    @app.get("/kb/broken")
    def broken() -> None:
        raise RuntimeError("a bug")

    with TestClient(app, raise_server_exceptions=False) as c:
        page = c.get("/kb/broken", headers=headers)
        api = c.get("/api/v1/documents/x/broken")  # an API path stays JSON
    assert page.status_code == 500
    assert page.headers["content-type"].startswith("text/html")
    assert "内部错误" in page.text and "a bug" not in page.text
    assert ("<html" in page.text) is not fragment
    assert api.headers["content-type"].startswith("application/json")


def test_a_refused_panel_suggestion_keeps_the_panels_security_policy(client: TestClient) -> None:
    response = client.post(
        "/assist/suggest",
        data={"conversation": "退货运费谁出？", "collection": "nope"},
        headers=HX,
    )
    assert response.status_code == 422
    assert "frame-ancestors" in response.headers["content-security-policy"]
    assert response.text.lstrip().startswith('<section id="suggestions"')


# --- the front door -------------------------------------------------------------------------


def test_the_root_leads_to_the_assist_panel_which_links_the_console(client: TestClient) -> None:
    response = client.get("/", follow_redirects=False)
    assert response.status_code in (302, 303, 307) and response.headers["location"] == "/assist"
    panel = client.get("/")
    assert panel.status_code == 200 and 'id="assist-form"' in panel.text
    assert 'href="/kb/"' in panel.text
    assert client.get("/kb/", follow_redirects=False).headers["location"] == "/kb/documents"


# --- a body that is not text at all (found by the API fuzz) ---------------------------------


@pytest.mark.parametrize("path", ["/api/v1/search", "/api/v1/suggest", "/api/v1/feedback"])
def test_a_body_that_is_not_utf8_is_a_documented_422(client: TestClient, path: str) -> None:
    response = client.post(path, content=b"\xff\xfe{", headers={"content-type": "application/json"})
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["field"] == "body"
    assert error["message"].startswith("body: invalid JSON")


def test_a_broken_multipart_upload_is_a_documented_422(client: TestClient) -> None:
    # Found by the API fuzz: Starlette's own 400 ("Invalid multipart data.") is not in the schema.
    boundary = "a222103b9b30b1f9e8be6882ecedb1d2"
    response = client.post(
        "/api/v1/documents",
        content=f"--{boundary}\r\n[]--{boundary}--\r\n".encode(),
        headers={"content-type": f"multipart/form-data; boundary={boundary}"},
    )
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["field"] == "body"
    assert error["message"].startswith("body: could not be parsed")
