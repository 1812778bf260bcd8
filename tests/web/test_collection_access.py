"""Collections are the unit of access (issue 9, point 4) through the JSON API: two teams with
disjoint collections try each other's search, documents, suggestions and feedback."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from kb.accounts.keys import create_key
from kb.context import KnowledgeBase
from kb.documents.catalog import get_document
from kb.documents.ingestion import DocumentMeta, IngestItem, ingest_items
from kb.settings import Settings
from web.app import create_app

HR = "问题,答案\n年假有几天？,入职满一年的员工每年有十天带薪年假。\n"
FINANCE = "问题,答案\n报销多久到账？,审批通过后五个工作日内打款到工资卡。\n"
ALL = ["search", "suggest", "feedback", "documents:read", "documents:write"]


@pytest.fixture(scope="module")
def teams(
    tmp_path_factory: pytest.TempPathFactory, embedding_cache_dir: Path
) -> Iterator[dict[str, Any]]:
    """One app; an HR key limited to `hr`, a finance key limited to `finance`."""
    data = tmp_path_factory.mktemp("teams")
    app = create_app(Settings(data_dir=data, cache_dir=embedding_cache_dir), warm=False)
    with TestClient(app) as client:
        kb: KnowledgeBase = app.state.kb
        ids = {}
        for name, text in (("hr", HR), ("finance", FINANCE)):
            item = IngestItem(f"{name}.csv", text.encode(), DocumentMeta())
            [result] = ingest_items(kb, [item], collection=name)
            ids[name] = result.document_id
        keys = {
            name: create_key(kb, name=name, scopes=ALL, collections=[name], actor="test").key
            for name in ("hr", "finance")
        }
        yield {"client": client, "kb": kb, "ids": ids, "keys": keys}


def _as(teams: dict[str, Any], team: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {teams['keys'][team]}"}


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", "/api/v1/search", {"json": {"query": "报销", "collection": "finance"}}),
        ("post", "/api/v1/suggest",
         {"json": {"conversation": [{"role": "customer", "text": "报销多久到账？"}],
                   "collection": "finance"}}),
        ("get", "/api/v1/documents?collection=finance", {}),
        ("post", "/api/v1/documents",
         {"files": [("files", ("x.csv", FINANCE.encode()))], "data": {"collection": "finance"}}),
    ],
)  # fmt: skip
def test_asking_for_a_forbidden_collection_by_name_is_403(
    teams: dict[str, Any], method: str, path: str, body: dict[str, Any]
) -> None:
    client: TestClient = teams["client"]
    before = len(client.get("/api/v1/documents", headers=_as(teams, "finance")).json()["documents"])
    response = getattr(client, method)(path, headers=_as(teams, "hr"), **body)
    assert response.status_code == 403, response.text
    assert response.json()["error"]["field"] == "collection"
    after = client.get("/api/v1/documents", headers=_as(teams, "finance")).json()["documents"]
    assert len(after) == before  # nothing was uploaded


def test_own_collection_works_and_listing_shows_only_it(teams: dict[str, Any]) -> None:
    client: TestClient = teams["client"]
    found = client.post(
        "/api/v1/search", json={"query": "年假", "collection": "hr"}, headers=_as(teams, "hr")
    )
    assert found.status_code == 200 and "年假" in found.json()["hits"][0]["text"]
    listed = client.get("/api/v1/documents", headers=_as(teams, "hr")).json()["documents"]
    assert [d["collection"] for d in listed] == ["hr"]


@pytest.mark.parametrize("method", ["get", "delete"])
def test_a_document_of_another_team_is_404_as_if_it_did_not_exist(
    teams: dict[str, Any], method: str
) -> None:
    client: TestClient = teams["client"]
    other = teams["ids"]["finance"]
    response = getattr(client, method)(f"/api/v1/documents/{other}", headers=_as(teams, "hr"))
    unknown = getattr(client, method)("/api/v1/documents/nosuchid", headers=_as(teams, "hr"))
    assert response.status_code == unknown.status_code == 404
    assert response.json()["error"]["message"] == f"no document with id {other!r}"
    assert get_document(teams["kb"], other).collection == "finance"  # still there
    own = client.get(f"/api/v1/documents/{other}", headers=_as(teams, "finance"))
    assert own.status_code == 200


def test_feedback_on_another_teams_suggestion_is_404(teams: dict[str, Any]) -> None:
    client: TestClient = teams["client"]
    turn = {"role": "customer", "text": "报销多久到账？"}
    suggested = client.post(
        "/api/v1/suggest",
        json={"conversation": [turn], "collection": "finance"},
        headers=_as(teams, "finance"),
    ).json()
    body = {
        "suggestion_id": suggested["suggestion_id"],
        "item_id": suggested["answers"][0]["id"],
        "action": "helpful",
    }
    refused = client.post("/api/v1/feedback", json=body, headers=_as(teams, "hr"))
    assert refused.status_code == 404
    assert refused.json()["error"]["field"] == "suggestion_id"
    assert (
        client.post("/api/v1/feedback", json=body, headers=_as(teams, "finance")).status_code == 201
    )


def test_the_panel_keeps_an_agent_to_their_collections(
    teams: dict[str, Any], sign_in: Callable[..., Any]
) -> None:
    app = teams["client"].app
    suggested = teams["client"].post(
        "/api/v1/suggest",
        json={"conversation": [{"role": "customer", "text": "报销多久到账？"}],
              "collection": "finance"},
        headers=_as(teams, "finance"),
    ).json()  # fmt: skip
    with TestClient(app) as agent:
        sign_in(agent, "agent", email="hr-agent@assistkb.test", collections=["hr"])
        ask = {"conversation": "报销多久到账？", "collection": "finance"}
        assert agent.get("/assist", params={"collection": "finance"}).status_code == 403
        assert agent.post("/assist/suggest", data=ask).status_code == 403
        found = agent.get("/assist/search", params={"q": "报销", "collection": "finance"})
        assert found.status_code == 403
        rate = {
            "suggestion_id": suggested["suggestion_id"],
            "item_id": suggested["answers"][0]["id"],
            "action": "helpful",
        }
        assert (
            agent.post("/assist/feedback", data=rate, headers={"HX-Request": "true"}).status_code
            == 404
        )
        own = agent.post(
            "/assist/suggest", data={"conversation": "年假有几天？", "collection": "hr"}
        )
        assert own.status_code == 200
        assert '<h3 class="answer-title">年假有几天？</h3>' in own.text  # answered from hr


def test_a_key_limited_to_collections_works_in_its_first_without_naming_it(
    teams: dict[str, Any],
) -> None:
    """Issue 16: a key limited to `hr` once had to name it everywhere (the default is `default`)."""
    client: TestClient = teams["client"]
    hr = _as(teams, "hr")
    found = client.post("/api/v1/search", json={"query": "年假"}, headers=hr)
    assert found.status_code == 200
    assert {h["source"]["document_id"] for h in found.json()["hits"]} == {teams["ids"]["hr"]}
    turn = {"role": "customer", "text": "年假有几天？"}
    suggested = client.post("/api/v1/suggest", json={"conversation": [turn]}, headers=hr)
    assert suggested.status_code == 200 and "十天带薪年假" in suggested.json()["answers"][0]["text"]
    upload = [("files", ("leave.csv", "问题,答案\n病假怎么请？,提前一天告诉主管。\n".encode()))]
    uploaded = client.post("/api/v1/documents", files=upload, headers=hr)
    assert uploaded.status_code == 200, uploaded.text
    assert uploaded.json()["collection"] == "hr"
    # Naming a collection still means that one, and another team's is still 403.
    named = client.post(
        "/api/v1/search", json={"query": "报销", "collection": "finance"}, headers=hr
    )
    assert named.status_code == 403
