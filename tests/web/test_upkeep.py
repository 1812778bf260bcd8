"""The upkeep page and API over HTTP: gaps, drafts accepted into searchable FAQ entries,
refusals as clear errors, everything escaped, and two teams that never see each other's."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from kb.context import KnowledgeBase
from kb.db import session_scope
from kb.documents.ingestion import IngestItem, ingest_items
from kb.insight.feedback import record_feedback
from kb.models import SuggestionLog
from kb.settings import Settings
from web.app import create_app

HR = "问题,答案\n年假有几天？,入职满一年的员工每年有十天带薪年假。\n"
FINANCE = "问题,答案\n报销多久到账？,审批通过后五个工作日内打款到工资卡。\n"
RETURNS = (
    "问题,答案\n"
    "换货的来回运费谁出？,签收后十五天内换货，来回运费由<i>您</i>承担。\n"
    "换货的来回运费由谁出？,签收后十五天内换货，来回运费由云舟承担。\n"
)
HOSTILE = '<img src=x onerror="alert(1)">年假能拆开休吗'
HR_GAP = (HOSTILE, "年假可以分几次休吗", "年假能不能分开请")
FINANCE_GAP = ("差旅补贴标准是多少", "出差每天补贴多少钱")


def log_gap(kb: KnowledgeBase, collection: str, queries: tuple[str, ...]) -> None:
    """Each query asked by its own agent, the answer marked not helpful."""
    for n, query in enumerate(queries):
        actor = f"user:{collection}{n}@assistkb.test"
        row = SuggestionLog(collection=collection, query=query, answers=[{"id": "a1"}],
                            handling="agent", best_confidence="medium", actor=actor)  # fmt: skip
        with session_scope(kb.engine) as session:
            session.add(row)
            session.flush()
            sid = row.id
        record_feedback(kb, suggestion_id=sid, item_id="a1", action="not_helpful", actor=actor)


@pytest.fixture(scope="module")
def site(
    tmp_path_factory: pytest.TempPathFactory,
    embedding_cache_dir: Path,
    sign_in: Callable[..., Any],
) -> Iterator[dict[str, Any]]:
    data = tmp_path_factory.mktemp("upkeep-web")
    app = create_app(Settings(data_dir=data, cache_dir=embedding_cache_dir), warm=False)
    with TestClient(app) as boss, TestClient(app) as hr, TestClient(app) as agent:
        kb: KnowledgeBase = app.state.kb
        for name, text in (("hr", HR), ("finance", FINANCE), ("returns", RETURNS)):
            [result] = ingest_items(kb, [IngestItem(f"{name}.csv", text.encode())], collection=name)
            assert result.status == "ingested"
        log_gap(kb, "hr", HR_GAP)
        log_gap(kb, "finance", FINANCE_GAP)
        sign_in(boss, "manager", email="boss@assistkb.test")
        sign_in(hr, "manager", email="hr-lead@assistkb.test", collections=["hr"])
        sign_in(agent, "agent", email="agent@assistkb.test")
        yield {"kb": kb, "boss": boss, "hr": hr, "agent": agent}


def gap_key(client: TestClient, wording: str) -> str:
    gaps = client.get("/api/v1/upkeep/gaps").json()["gaps"]
    return next(g["key"] for g in gaps if wording in g["wordings"])


def test_each_team_sees_its_own_gaps_escaped(site: dict[str, Any]) -> None:
    page = site["hr"].get("/kb/upkeep")
    assert page.status_code == 200
    assert "年假可以分几次休吗" in page.text or "年假能不能分开请" in page.text
    assert "差旅补贴" not in page.text and "出差每天" not in page.text
    assert '<img src=x onerror="alert(1)">' not in page.text
    assert site["hr"].get("/kb/upkeep?collection=finance").status_code == 403
    assert site["agent"].get("/kb/upkeep").status_code == 403
    api = site["hr"].get("/api/v1/upkeep/gaps").json()["gaps"]
    assert {g["collection"] for g in api} == {"hr"} and api[0]["events"] == 3
    assert site["hr"].get("/api/v1/upkeep/gaps?collection=finance").status_code == 403
    both = site["boss"].get("/api/v1/upkeep/gaps").json()["gaps"]
    assert {g["collection"] for g in both} == {"hr", "finance"}


def test_another_teams_gap_and_draft_are_not_found(site: dict[str, Any]) -> None:
    boss, hr = site["boss"], site["hr"]
    finance_gap = gap_key(boss, FINANCE_GAP[0])
    assert hr.post("/api/v1/upkeep/drafts", json={"gap": finance_gap}).status_code == 404
    made = boss.post("/api/v1/upkeep/drafts", json={"gap": finance_gap})
    assert made.status_code == 201, made.text
    draft = made.json()["id"]
    assert boss.post("/api/v1/upkeep/drafts", json={"gap": finance_gap}).status_code == 409
    for response in (
        hr.get(f"/api/v1/upkeep/drafts/{draft}"),
        hr.post(f"/api/v1/upkeep/drafts/{draft}/accept", json={"answer": "x"}),
        hr.post(f"/api/v1/upkeep/drafts/{draft}/reject"),
        hr.patch(f"/api/v1/upkeep/drafts/{draft}", json={"answer": "x"}),
        hr.post(f"/kb/upkeep/drafts/{draft}/reject"),
    ):
        assert response.status_code == 404, response.text
    assert hr.get("/api/v1/upkeep/drafts").json()["drafts"] == []
    assert boss.post(f"/api/v1/upkeep/drafts/{draft}/reject").json()["status"] == "rejected"
    refused = boss.post(f"/api/v1/upkeep/drafts/{draft}/accept", json={"answer": "x"})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "conflict"


def test_the_console_drafts_refuses_an_empty_answer_then_accepts(site: dict[str, Any]) -> None:
    hr: TestClient = site["hr"]
    key = gap_key(hr, HR_GAP[1])
    drafted = hr.post("/kb/upkeep/drafts", data={"gap": key}, follow_redirects=False)
    assert drafted.status_code == 303
    [draft] = hr.get("/api/v1/upkeep/drafts").json()["drafts"]
    assert draft["answer"] == "" and draft["question"] in HR_GAP
    url = f"/kb/upkeep/drafts/{draft['id']}/accept"
    empty = hr.post(url, data={"question": "年假可以分开休吗？", "answer": " "})
    assert empty.status_code == 422 and "data-draft-id" in empty.text
    answer = "年假可以分多次休，每次至少半天，需提前三天在系统里申请。"
    done = hr.post(url, data={"question": "年假可以分开休吗？", "answer": answer,
                              "target": "hr"}, follow_redirects=False)  # fmt: skip
    assert done.status_code == 303
    hits = hr.post("/api/v1/search", json={"query": "年假能分几次休", "collection": "hr"}).json()
    assert hits["hits"][0]["text"] == answer
    listed = hr.get("/api/v1/upkeep/drafts?status=accepted").json()
    assert listed["approval_rate"] == 1.0 and listed["accepted"] == 1
    assert "100%" in hr.get("/kb/upkeep").text
    assert hr.get("/api/v1/upkeep/drafts?status=nonsense").status_code == 422


def test_overlaps_keep_to_readable_collections(site: dict[str, Any]) -> None:
    body = site["hr"].get("/api/v1/upkeep/overlaps").json()
    assert body["collection"] == "hr" and body["duplicates"] == [] and body["conflicts"] == []
    assert site["hr"].get("/api/v1/upkeep/overlaps?collection=finance").status_code == 403
    bad = site["boss"].get("/api/v1/upkeep/overlaps?collection=用户")
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "collection"


def test_the_console_accepts_a_draft_pinned_for_its_gap(site: dict[str, Any]) -> None:
    boss: TestClient = site["boss"]
    wordings = ("住宿费报销上限是多少", "出差住酒店能报多少钱", "出差住宿每晚能报多少")
    log_gap(site["kb"], "finance", wordings)
    made = boss.post("/api/v1/upkeep/drafts", json={"gap": gap_key(boss, wordings[0])})
    assert made.status_code == 201, made.text
    page = boss.get("/kb/upkeep?collection=finance")
    assert 'name="pin"' in page.text  # learning is on: the box is offered
    answer = "出差住宿按城市分档报销，一线城市每晚上限五百元，其他城市三百五十元。"
    done = boss.post(f"/kb/upkeep/drafts/{made.json()['id']}/accept",
                     data={"answer": answer, "target": "finance", "pin": "true",
                           "collection": "finance"}, follow_redirects=False)  # fmt: skip
    assert done.status_code == 303 and "done=pinned" in done.headers["location"]
    assert "并已置顶" in boss.get(done.headers["location"]).text
    [accepted] = boss.get("/api/v1/upkeep/drafts?status=accepted&collection=finance").json()[
        "drafts"
    ]
    pins = boss.get("/api/v1/learning/pins?collection=finance").json()
    assert pins and all(p["active"] and p["document_id"] == accepted["document_id"] for p in pins)
    assert site["hr"].get("/api/v1/learning/pins?collection=finance").status_code == 403


def test_a_conflict_shows_the_phrase_that_differs_escaped_and_translated(
    site: dict[str, Any],
) -> None:
    body = site["boss"].get("/api/v1/upkeep/overlaps?collection=returns").json()
    [conflict] = body["conflicts"]
    assert body["duplicates"] == []  # worded alike, but one has the customer pay
    assert conflict["difference"] == {
        "kind": "payer", "first": "由<i>您</i>承担", "second": "由云舟承担"
    }  # fmt: skip
    page = site["boss"].get("/kb/upkeep?collection=returns").text
    assert "<i>您</i>" not in page
    assert "<mark>由&lt;i&gt;您&lt;/i&gt;承担</mark>" in page and "<mark>由云舟承担</mark>" in page
    assert 'data-kind="payer">由谁承担费用不同' in page
    english = site["boss"].get("/kb/upkeep?collection=returns", headers={"Accept-Language": "en"})
    assert "different party pays" in english.text
