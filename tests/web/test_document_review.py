"""Document owners and review dates over HTTP: the API (PATCH, reviewed, the overdue list), the
console's document page and overdue section (escaped, per collection), and the panel's mark."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from kb.accounts.audit import list_audit
from kb.accounts.keys import KEY_PREFIX, create_key
from kb.context import KnowledgeBase
from kb.db import session_scope
from kb.documents.catalog import get_document
from kb.documents.ingestion import DocumentMeta, IngestItem, ingest_items
from kb.models import Document, DocumentVersion
from kb.settings import Settings
from web.app import create_app

HR = "问题,答案\n年假有几天？,入职满一年的员工每年有十天带薪年假。\n"
FINANCE = "问题,答案\n报销多久到账？,审批通过后五个工作日内打款到工资卡。\n"
HX = {"HX-Request": "true"}
HOSTILE_TITLE = '<img src=x onerror="alert(1)">年假'


@pytest.fixture(scope="module")
def site(
    tmp_path_factory: pytest.TempPathFactory,
    embedding_cache_dir: Path,
    sign_in: Callable[..., Any],
) -> Iterator[dict[str, Any]]:
    """One app with an `hr` and a `finance` document; clients for an unlimited manager, an hr
    manager and an agent, and an API key limited to hr."""
    data = tmp_path_factory.mktemp("review")
    app = create_app(Settings(data_dir=data, cache_dir=embedding_cache_dir), warm=False)
    with TestClient(app) as boss, TestClient(app) as hr, TestClient(app) as agent:
        kb: KnowledgeBase = app.state.kb
        ids = {}
        for name, text, title in (("hr", HR, HOSTILE_TITLE), ("finance", FINANCE, None)):
            item = IngestItem(f"{name}.csv", text.encode(), DocumentMeta(title=title))
            [result] = ingest_items(kb, [item], collection=name)
            ids[name] = result.document_id
        sign_in(boss, "manager", email="boss@assistkb.test")
        sign_in(hr, "manager", email="hr-lead@assistkb.test", collections=["hr"])
        sign_in(agent, "agent", email="agent@assistkb.test")
        scopes = ["search", "suggest", "documents:read", "documents:write"]
        key = create_key(kb, name="crm", scopes=scopes, collections=["hr"], actor="test").key
        yield {"kb": kb, "ids": ids, "boss": boss, "hr": hr, "agent": agent, "key": key}


def age(kb: KnowledgeBase, document_id: str, days: int) -> None:
    """Pretend the document was stored (and any review made) ``days`` ago."""
    then = datetime.now(UTC) - timedelta(days=days)
    with session_scope(kb.engine) as session:
        for version in session.exec(
            select(DocumentVersion).where(DocumentVersion.document_id == document_id)
        ):
            version.created_at = then
            session.add(version)
        doc = session.get(Document, document_id)
        assert doc is not None
        if doc.reviewed_at is not None:
            doc.reviewed_at = then
            session.add(doc)


def test_patch_sets_keeps_and_clears_owner_and_interval(site: dict[str, Any]) -> None:
    client: TestClient = site["boss"]
    doc = site["ids"]["finance"]
    response = client.patch(
        f"/api/v1/documents/{doc}",
        json={"owner": "Boss@assistkb.test", "review_interval_days": 30},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["owner"], body["review_interval_days"], body["due_for_review"]) == (
        "boss@assistkb.test", 30, False,
    )  # fmt: skip
    assert body["review_due"] == (datetime.now(UTC).date() + timedelta(days=30)).isoformat()
    kept = client.patch(f"/api/v1/documents/{doc}", json={"review_interval_days": 60}).json()
    assert (kept["owner"], kept["review_interval_days"]) == ("boss@assistkb.test", 60)
    cleared = client.patch(f"/api/v1/documents/{doc}", json={"owner": None}).json()
    assert (cleared["owner"], cleared["review_interval_days"]) == (None, 60)
    [latest, *_] = list_audit(site["kb"], action="document.ownership")
    assert (latest.actor, latest.target, latest.detail["owner"]) == (
        "user:boss@assistkb.test", doc, None,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"review_interval_days": 0}, "review_interval_days"),
        ({"review_interval_days": "soon"}, "review_interval_days"),
        ({"review_interval_days": 99999}, "review_interval_days"),
        ({"owner": "agent@assistkb.test"}, "owner"),
        ({"owner": "nobody@assistkb.test"}, "owner"),
        ({"owner": "hr-lead@assistkb.test"}, "owner"),  # may not read finance
        ({"reviewer": "x"}, "reviewer"),
    ],
)
def test_patch_refuses_bad_input_naming_the_field(
    site: dict[str, Any], body: dict[str, Any], field: str
) -> None:
    response = site["boss"].patch(f"/api/v1/documents/{site['ids']['finance']}", json=body)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert field in (error.get("field") or "") + str(error.get("problems")), error


def test_only_writers_of_the_collection_may_patch_or_mark_reviewed(site: dict[str, Any]) -> None:
    finance = site["ids"]["finance"]
    before = get_document(site["kb"], finance, with_chunks=False)
    for path in (f"/api/v1/documents/{finance}", f"/api/v1/documents/{finance}/reviewed"):
        patch = path.endswith(finance)
        send = (
            (lambda c, p: c.patch(p, json={"review_interval_days": 1}))
            if patch
            else (lambda c, p: c.post(p))
        )
        assert send(site["agent"], path).status_code == 403  # an agent has no documents:write
        assert send(site["hr"], path).status_code == 404  # another team's id: unknown
        keyed = TestClient(site["boss"].app, headers={"Authorization": f"Bearer {site['key']}"})
        assert send(keyed, path).status_code == 404
    after = get_document(site["kb"], finance, with_chunks=False)
    assert (after.review_interval_days, after.reviewed_at) == (
        before.review_interval_days, before.reviewed_at,
    )  # fmt: skip


def test_overdue_documents_are_listed_per_collection_and_marked_reviewed(
    site: dict[str, Any],
) -> None:
    kb, ids = site["kb"], site["ids"]
    for name in ("hr", "finance"):
        assert (
            site["boss"]
            .patch(f"/api/v1/documents/{ids[name]}", json={"review_interval_days": 10})
            .status_code
            == 200
        )
        age(kb, ids[name], 20)
    everyone = site["boss"].get("/api/v1/documents", params={"overdue": "true"}).json()
    assert {d["id"] for d in everyone["documents"]} == {ids["hr"], ids["finance"]}
    keyed = TestClient(site["boss"].app, headers={"Authorization": f"Bearer {site['key']}"})
    listed = keyed.get("/api/v1/documents", params={"overdue": "true"}).json()["documents"]
    assert [d["id"] for d in listed] == [ids["hr"]]

    reviewed = keyed.post(f"/api/v1/documents/{ids['hr']}/reviewed")
    assert reviewed.status_code == 200, reviewed.text
    assert reviewed.json()["due_for_review"] is False and reviewed.json()["reviewed_at"]
    assert keyed.get("/api/v1/documents", params={"overdue": "true"}).json()["documents"] == []
    [entry, *_] = list_audit(kb, action="document.reviewed")
    prefix = site["key"][: len(KEY_PREFIX) + 8]
    assert (entry.actor, entry.target) == (f"key:{prefix}", ids["hr"])


def test_console_lists_overdue_documents_escaped_and_per_collection(
    site: dict[str, Any],
) -> None:
    kb, ids = site["kb"], site["ids"]
    for name in ("hr", "finance"):
        site["boss"].patch(f"/api/v1/documents/{ids[name]}", json={"review_interval_days": 5})
        age(kb, ids[name], 9)
    page = site["boss"].get("/kb/documents").text
    assert 'id="overdue-heading"' in page
    assert HOSTILE_TITLE not in page and "&lt;img src=x" in page
    assert f'data-document-id="{ids["finance"]}"' in page
    own = site["hr"].get("/kb/documents").text
    assert 'id="overdue-heading"' in own and ids["finance"] not in own
    assert site["agent"].get("/kb/documents").status_code == 403  # the console is for managers


def test_console_document_page_sets_the_owner_and_marks_reviewed(site: dict[str, Any]) -> None:
    kb, hr_doc = site["kb"], site["ids"]["hr"]
    client: TestClient = site["hr"]
    page = client.get(f"/kb/documents/{hr_doc}").text
    # Only managers who may read hr are offered; the hr lead and the unlimited manager are.
    assert '<option value="hr-lead@assistkb.test"' in page and "agent@assistkb.test" not in page
    form = {"owner": "hr-lead@assistkb.test", "review_interval_days": "7"}
    saved = client.post(f"/kb/documents/{hr_doc}/ownership", data=form, headers=HX)
    assert saved.status_code == 200, saved.text
    assert 'id="review-form"' in saved.text and "<html" not in saved.text
    assert get_document(kb, hr_doc, with_chunks=False).owner == "hr-lead@assistkb.test"
    age(kb, hr_doc, 8)
    assert "due-review" in client.get(f"/kb/documents/{hr_doc}").text
    done = client.post(f"/kb/documents/{hr_doc}/reviewed", headers=HX)
    assert done.status_code == 200 and "due-review" not in done.text
    assert not get_document(kb, hr_doc, with_chunks=False).due_for_review

    bad = client.post(
        f"/kb/documents/{hr_doc}/ownership",
        data={"owner": "", "review_interval_days": "<b>7</b>"},
        headers=HX,
    )
    assert bad.status_code == 422
    assert "<b>7</b>" not in bad.text and "&lt;b&gt;7&lt;/b&gt;" in bad.text
    plain = client.post(  # without JavaScript: the whole page again, or back to it
        f"/kb/documents/{hr_doc}/ownership", data={"review_interval_days": "soon"}
    )
    assert plain.status_code == 422 and "<html" in plain.text and "&#39;soon&#39;" in plain.text
    back = client.post(f"/kb/documents/{hr_doc}/reviewed", follow_redirects=False)
    assert back.status_code == 303 and back.headers["location"] == f"/kb/documents/{hr_doc}"
    finance = site["ids"]["finance"]
    foreign = client.post(f"/kb/documents/{finance}/ownership", data=form, headers=HX)
    assert foreign.status_code == 404
    assert client.post(f"/kb/documents/{finance}/reviewed", headers=HX).status_code == 404


def test_the_panel_and_the_api_mark_answers_due_for_review(site: dict[str, Any]) -> None:
    kb, hr_doc = site["kb"], site["ids"]["hr"]
    site["boss"].patch(f"/api/v1/documents/{hr_doc}", json={"review_interval_days": 3})
    age(kb, hr_doc, 4)
    ask = {"conversation": [{"role": "customer", "text": "年假有几天？"}], "collection": "hr"}
    answers = site["agent"].post("/api/v1/suggest", json=ask).json()["answers"]
    assert answers and all(a["due_for_review"] for a in answers)
    hits = site["agent"].post("/api/v1/search", json={"query": "年假", "collection": "hr"}).json()
    assert hits["hits"] and all(h["due_for_review"] for h in hits["hits"])
    panel = site["agent"].post(
        "/assist/suggest", data={"conversation": "年假有几天？", "collection": "hr"}, headers=HX
    )
    assert panel.status_code == 200
    assert '<span class="badge due-review"' in panel.text and "待复核" in panel.text
    english = site["agent"].post(
        "/assist/suggest",
        data={"conversation": "年假有几天？", "collection": "hr"},
        headers={**HX, "Accept-Language": "en"},
    )
    site["boss"].post(f"/api/v1/documents/{hr_doc}/reviewed")
    fresh = site["agent"].post("/api/v1/suggest", json=ask).json()["answers"]
    assert not any(a["due_for_review"] for a in fresh)
    assert ">Due for review</span>" in english.text
