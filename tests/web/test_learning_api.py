"""/api/v1/learning over HTTP: adjustments with evidence, resets, pins and proposals, each team
limited to its collections (finance's key neither sees nor moves hr's, and back)."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from kb.accounts.keys import create_key
from kb.context import KnowledgeBase
from kb.documents.ingestion import IngestItem, ingest_items
from kb.learning import refresh
from web.app import create_app

FAQ = (
    "question,answer\n"
    "退货运费谁出？,质量问题退货运费由我们承担，非质量问题由顾客承担。\n"
    "怎么申请退货？,在订单页点击申请退货，填写原因后等待审核。\n"
    "退款多久到账？,退款审核通过后一到三个工作日原路退回。\n"
    "可以换货吗？,签收十五天内质量问题可以换货。\n"
)
TURN = {"conversation": [{"role": "customer", "text": "我想退货，运费谁来出？"}], "limit": 4}
ALL = ["search", "suggest", "feedback", "documents:read", "documents:write"]


def headers(kb: KnowledgeBase, collection: str, agent: str = "x") -> dict[str, str]:
    key = create_key(kb, name=f"{collection} {agent}", scopes=ALL, collections=[collection],
                     actor="test").key  # fmt: skip
    return {"Authorization": f"Bearer {key}"}


def test_the_learning_api_serves_each_team_its_own(make_kb: Callable[..., KnowledgeBase]) -> None:
    kb = make_kb()
    for collection in ("finance", "hr"):
        [done] = ingest_items(kb, [IngestItem("faq.csv", FAQ.encode())], collection=collection)
        assert done.status == "ingested"
    finance = [headers(kb, "finance", f"agent{n}") for n in range(4)]
    hr = headers(kb, "hr")
    with TestClient(create_app(kb.settings)) as client:
        item = ""
        for agent in finance:  # four CRM agents insert the third answer
            made = client.post("/api/v1/suggest", json={**TURN, "collection": "finance"},
                               headers=agent).json()  # fmt: skip
            item = made["answers"][2]["id"]
            event = {"suggestion_id": made["suggestion_id"], "item_id": item, "action": "inserted"}
            assert client.post("/api/v1/feedback", json=event, headers=agent).status_code == 201
        refresh(client.app.state.kb)  # type: ignore[attr-defined]
        listed = client.get("/api/v1/learning/adjustments", headers=finance[0])
        assert listed.status_code == 200, listed.text
        [moved] = [a for a in listed.json() if a["item_id"] == item]
        assert moved["adjustment"] > 0 and moved["agents"] == 4 and moved["collection"] == "finance"
        # hr sees nothing of finance's, may not ask for it, and cannot reset or pin it.
        assert client.get("/api/v1/learning/adjustments", headers=hr).json() == []
        asked = client.get("/api/v1/learning/adjustments?collection=finance", headers=hr)
        assert asked.status_code == 403
        reset = {"intent_id": moved["intent_id"], "item_id": item}
        assert client.post("/api/v1/learning/resets", json=reset, headers=hr).status_code == 404
        pin = {"collection": "finance", "item_id": item, "intent_id": moved["intent_id"]}
        assert client.post("/api/v1/learning/pins", json=pin, headers=hr).status_code == 403
        hr_pin = {**pin, "collection": "hr"}  # finance's answer is no answer of hr's
        refused = client.post("/api/v1/learning/pins", json=hr_pin, headers=hr)
        assert refused.status_code == 404  # hr cannot even name finance's intent
        # finance pins it; an agent's proposal waits for approval; hr cannot touch either.
        made = client.post("/api/v1/learning/pins", json=pin, headers=finance[0])
        assert made.status_code == 201, made.text
        pinned = made.json()
        assert pinned["active"] and pinned["approved_by"].startswith("key:")
        first = client.post("/api/v1/suggest", json={**TURN, "collection": "finance"},
                            headers=finance[1]).json()  # fmt: skip
        assert first["answers"][0]["id"] == item
        other = first["answers"][-1]["id"]
        proposal = {"suggestion_id": first["suggestion_id"], "item_id": other}
        proposed = client.post("/api/v1/learning/proposals", json=proposal, headers=finance[2])
        assert proposed.status_code == 201 and proposed.json()["status"] == "proposed"
        pid = proposed.json()["id"]
        assert (
            client.post("/api/v1/learning/proposals", json=proposal, headers=hr).status_code == 404
        )
        assert client.post(f"/api/v1/learning/pins/{pid}/approve", headers=hr).status_code == 404
        assert client.delete(f"/api/v1/learning/pins/{pid}", headers=hr).status_code == 404
        assert client.get("/api/v1/learning/pins", headers=hr).json() == []
        approved = client.post(f"/api/v1/learning/pins/{pid}/approve", headers=finance[0])
        assert approved.status_code == 200 and approved.json()["active"]
        again = client.post(f"/api/v1/learning/pins/{pid}/approve", headers=finance[0])
        assert again.status_code == 422
        statuses = client.get("/api/v1/learning/pins?status=active", headers=finance[0]).json()
        assert {p["id"] for p in statuses} == {pinned["id"], pid}
        for p in (pinned["id"], pid):
            gone = client.delete(f"/api/v1/learning/pins/{p}", headers=finance[0])
            assert gone.status_code == 204
        # the reset: the evidence is forgotten, the ranking is search's again.
        done = client.post("/api/v1/learning/resets", json=reset, headers=finance[0])
        assert done.status_code == 201 and done.json()["item_id"] == item
        left = client.get("/api/v1/learning/adjustments", headers=finance[0]).json()
        assert [a for a in left if a["item_id"] == item] == []


def test_bad_learning_requests_get_clear_errors(make_kb: Callable[..., KnowledgeBase]) -> None:
    kb = make_kb()
    key = headers(kb, "default")
    with TestClient(create_app(kb.settings)) as client:
        for path, body in [
            ("/api/v1/learning/pins", {"item_id": "x"}),  # no intent named
            ("/api/v1/learning/pins", {"item_id": "x", "intent_id": "y", "expires_in_days": 0}),
            ("/api/v1/learning/proposals", {"suggestion_id": "", "item_id": "x"}),
            ("/api/v1/learning/resets", {"intent_id": ""}),
        ]:
            answer = client.post(path, json=body, headers=key)
            assert answer.status_code == 422, (path, answer.text)
            assert answer.json()["error"]["code"]
        missing = client.post("/api/v1/learning/resets", json={"intent_id": "nope"}, headers=key)
        assert missing.status_code == 404 and "nope" in missing.json()["error"]["message"]
        bad = client.get("/api/v1/learning/pins?status=gone", headers=key)
        assert bad.status_code == 422
