"""A malformed request (FastAPI's 422) answers in the caller's language, naming the field and
pydantic's error type: real requests against the sample knowledge base, in zh-Hans and en."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from test_i18n import HAN

from kb.context import KnowledgeBase
from kb.documents.ingestion import column_limit
from web.app import create_app

SignIn = Callable[..., Any]
TURN = {"role": "customer", "text": "退货运费谁出？"}
PRODUCT_MAX = column_limit("product")


@pytest.fixture(scope="module")
def client(sample_kb: KnowledgeBase, sign_in: SignIn) -> Iterator[TestClient]:
    """The sample knowledge base, read-only: every request here is refused before any work."""
    with TestClient(create_app(sample_kb.settings, warm=False)) as c:
        sign_in(c, email="validation@assistkb.test")
        yield c


def _search(body: Any) -> dict[str, Any]:
    return {"method": "POST", "url": "/api/v1/search", "json": body}


def _suggest(body: Any) -> dict[str, Any]:
    return {"method": "POST", "url": "/api/v1/suggest", "json": body}


# (request, loc, type, zh-Hans message, en message) — one row per kind of mistake a caller makes.
CASES = [
    pytest.param(
        _search({}),
        ["query"],
        "missing",
        "query：此项必填",
        "query: this field is required",
        id="missing",
    ),
    pytest.param(
        _search({"query": ""}),
        ["query"],
        "string_too_short",
        "query：至少需要 1 个字符",
        "query: must be at least 1 characters long",
        id="string_too_short",
    ),
    pytest.param(
        {
            "method": "POST",
            "url": "/api/v1/documents",
            "files": [("files", ("a.md", b"# a\n\ntext"))],
            "data": {"product": "x" * 300},
        },
        ["product"],
        "string_too_long",
        f"product：最多 {PRODUCT_MAX} 个字符",
        f"product: must be at most {PRODUCT_MAX} characters long",
        id="string_too_long",
    ),
    pytest.param(
        _suggest({"conversation": []}),
        ["conversation"],
        "too_short",
        "conversation：至少需要 1 项",
        "conversation: must have at least 1 items",
        id="too_short",
    ),
    pytest.param(
        _search({"query": "退货", "limit": 0}),
        ["limit"],
        "greater_than_equal",
        "limit：不能小于 1",
        "limit: must be at least 1",
        id="greater_than_equal",
    ),
    pytest.param(
        _search({"query": "退货", "limit": 10_000}),
        ["limit"],
        "less_than_equal",
        None,
        None,  # the bound is a constant of the API: only its form is checked
        id="less_than_equal",
    ),
    pytest.param(
        _search({"query": "退货", "limit": "ten"}),
        ["limit"],
        "int_parsing",
        "limit：必须是整数",
        "limit: must be a whole number",
        id="int_parsing",
    ),
    pytest.param(
        _suggest({"conversation": [{**TURN, "role": "boss"}]}),
        ["conversation", 0, "role"],
        "literal_error",
        "conversation.0.role：必须是以下之一：customer, agent",
        "conversation.0.role: must be one of: customer, agent",
        id="literal_error",
    ),
    pytest.param(
        _search({"query": "退货", "colour": "red"}),
        ["colour"],
        "extra_forbidden",
        "colour：未知字段",
        "colour: unknown field",
        id="extra_forbidden",
    ),
    pytest.param(
        _search({"query": "退货", "collection": "Bad Name"}),
        ["collection"],
        "collection_name",
        "collection：集合名 'Bad Name' 必须由 1-64 个 a-z、0-9、“-”和“_”组成，并以字母或数字开头",
        "collection: collection name 'Bad Name' must be 1-64 characters of a-z, 0-9, '-' and '_', "
        "starting with a letter or digit",
        id="custom-collection_name",
    ),
    pytest.param(
        {
            "method": "POST",
            "url": "/api/v1/search",
            "content": b'{"query": ',
            "headers": {"content-type": "application/json"},
        },
        [],
        "json_invalid",
        None,
        None,  # the decoder's own detail follows the translated part
        id="json_invalid",
    ),
]


@pytest.mark.parametrize(("request_", "loc", "kind", "zh_hans", "en"), CASES)
@pytest.mark.parametrize("lang", ["zh-Hans", "en"])
def test_a_malformed_request_is_explained_in_the_callers_language(
    client: TestClient,
    request_: dict[str, Any],
    loc: list[str | int],
    kind: str,
    zh_hans: str | None,
    en: str | None,
    lang: str,
) -> None:
    headers = {**request_.get("headers", {}), "Accept-Language": lang}
    answer = client.request(**{**request_, "headers": headers})
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert error["code"] == "invalid"
    first = error["problems"][0]
    assert (first["loc"], first["type"]) == (loc, kind)
    assert first["field"] == error["field"] == (".".join(map(str, loc)) or "body")
    expected = {"zh-Hans": zh_hans, "en": en}[lang]
    if expected is not None:
        assert error["message"] == expected
        assert error["message"].endswith(first["message"])
    # English pydantic wording never reaches a Chinese reader; Chinese never an English one.
    assert bool(HAN.search(first["message"])) == (lang == "zh-Hans"), first["message"]
    assert "Field required" not in answer.text and "should" not in first["message"]


def test_every_problem_is_listed_with_its_own_field_and_type(client: TestClient) -> None:
    body = {"conversation": [{"role": "boss"}], "limit": 0, "extra": 1}
    answer = client.post("/api/v1/suggest", json=body, headers={"Accept-Language": "zh-Hans"})
    assert answer.status_code == 422
    found = {(tuple(p["loc"]), p["type"]) for p in answer.json()["error"]["problems"]}
    assert found == {
        (("conversation", 0, "role"), "literal_error"),
        (("conversation", 0, "text"), "missing"),
        (("limit",), "greater_than_equal"),
        (("extra",), "extra_forbidden"),
    }


@pytest.mark.parametrize(
    ("lang", "expected"), [("zh-Hans", "limit：不能小于 1"), ("en", "limit: must be at least 1")]
)
def test_a_console_form_shows_the_problem_in_the_pages_language(
    client: TestClient, lang: str, expected: str
) -> None:
    answer = client.get(
        "/kb/hit-test", params={"q": "退货", "limit": "0"}, headers={"Accept-Language": lang}
    )
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("text/html")
    assert expected in answer.text


def test_the_openapi_schema_describes_each_problem_as_it_is_sent(client: TestClient) -> None:
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    problem = schemas["Problem"]
    assert set(problem["required"]) == {"field", "loc", "type", "message"}
    assert set(problem["properties"]) == {"field", "loc", "type", "message"}
    assert problem["properties"]["loc"]["type"] == "array"
