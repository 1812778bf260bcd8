"""Collections are the unit of access in the console (issue 9, point 4; issue 16, point 7): two
teams of managers, HR and finance, with disjoint collections, try each other's documents, chunks,
jobs, hit test, analytics, evaluation runs and feedback items through the pages, and the
installation-wide replies, rules and vocabulary (real app, SQLite, embedder and ingestion)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from library_files import CORPUS, QUERIES
from sqlmodel import func, select

from kb.accounts.access import documents_for
from kb.accounts.keys import create_key
from kb.accounts.principal import Principal
from kb.context import KnowledgeBase
from kb.db import session_scope
from kb.documents.catalog import get_document
from kb.documents.ingestion import DocumentMeta, IngestItem, ingest_items
from kb.documents.jobs import start_ingest_job, wait_for_job
from kb.library.replies import make_reply
from kb.library.store import export_rules, list_replies, save_reply
from kb.models import FeedbackRecord, IngestJob
from kb.retrieval.evaluation_runs import start_run
from kb.retrieval.vocabulary import edited_vocabulary
from kb.settings import Settings
from web.app import create_app
from web.rendering import Rendered, Renderer

HR = "问题,答案\n年假有几天？,入职满一年的员工每年有十天带薪年假。\n"
FINANCE = "问题,答案\n报销多久到账？,审批通过后五个工作日内打款到工资卡。\n"
FINANCE_COMMENT = "财务团队的内部评语"
SignIn = Callable[..., Any]


@pytest.fixture(scope="module")
def teams(
    tmp_path_factory: pytest.TempPathFactory, embedding_cache_dir: Path
) -> Iterator[dict[str, Any]]:
    """Documents, a finished job, a suggestion and its feedback in each of `hr` and `finance`."""
    data = tmp_path_factory.mktemp("console-teams")
    app = create_app(Settings(data_dir=data, cache_dir=embedding_cache_dir), warm=False)
    with TestClient(app) as api:
        kb: KnowledgeBase = app.state.kb
        ids: dict[str, dict[str, str]] = {}
        for name, text in (("hr", HR), ("finance", FINANCE)):
            [result] = ingest_items(
                kb, [IngestItem(f"{name}.csv", text.encode(), DocumentMeta())], collection=name
            )
            doc = get_document(kb, result.document_id or "")
            job = start_ingest_job(
                kb, [IngestItem(f"{name}-2.md", b"# x\n\ny\n", DocumentMeta())], name
            )
            wait_for_job(kb, job)
            key = create_key(
                kb, name=name, scopes=["suggest", "feedback"], collections=[name], actor="test"
            ).key
            question = text.splitlines()[1].split(",")[0]
            turn = {"role": "customer", "text": question}
            auth = {"Authorization": f"Bearer {key}"}
            suggested = api.post(
                "/api/v1/suggest", json={"conversation": [turn], "collection": name}, headers=auth
            ).json()
            rating = {
                "suggestion_id": suggested["suggestion_id"],
                "item_id": suggested["answers"][0]["id"],
                "action": "not_helpful",
                "comment": FINANCE_COMMENT if name == "finance" else "人事的评语",
            }
            assert api.post("/api/v1/feedback", json=rating, headers=auth).status_code == 201
            ids[name] = {
                "doc": doc.id, "chunk": doc.chunks[0].id, "job": job, "q": question, "key": key,
                "suggestion": suggested["suggestion_id"], "answer": suggested["answers"][0]["id"],
            }  # fmt: skip
        yield {"app": app, "kb": kb, "ids": ids}


@pytest.fixture
def hr(teams: dict[str, Any], sign_in: SignIn) -> Iterator[TestClient]:
    """A manager limited to the collection `hr` (no ``with``: the app is running already)."""
    client = TestClient(teams["app"], follow_redirects=False)
    sign_in(client, "manager", email="hr-manager@assistkb.test", collections=["hr"])
    yield client


def _principal(collection: str) -> Principal:
    return Principal(kind="user", name="-", role="manager", collections=(collection,))


def _seen(client: TestClient) -> tuple[Renderer, list[Rendered]]:
    renderer: Renderer = client.app.state.renderer  # type: ignore[attr-defined]
    seen: list[Rendered] = []
    renderer.listeners.append(seen.append)
    return renderer, seen


def test_the_document_list_and_its_choosers_hold_only_readable_collections(
    teams: dict[str, Any], hr: TestClient
) -> None:
    renderer, seen = _seen(hr)
    try:
        page = hr.get("/kb/documents")
    finally:
        renderer.listeners.remove(seen.append)
    assert page.status_code == 200
    [context] = [r.context for r in seen if r.template == "documents.html"]
    assert {d.collection for d in context["documents"]} == {"hr"}
    assert context["collections"] == ["hr"]
    assert context["default_collection"] == "hr"  # not the configured `default` it may not read
    assert "finance" not in page.text and "报销" not in page.text
    refused = hr.get("/kb/documents", params={"collection": "finance"})
    assert refused.status_code == 403 and "finance" in refused.text


@pytest.mark.parametrize(
    ("method", "path", "form"),
    [
        ("get", "/kb/documents/{doc}", None),
        ("get", "/kb/documents/{doc}/chunks/{chunk}", None),
        ("post", "/kb/documents/{doc}/metadata", {"title": "被人事改掉的标题", "type": "faq"}),
        ("post", "/kb/documents/{doc}/reingest", None),
        ("post", "/kb/documents/{doc}/delete", {"confirm": "{doc}"}),
    ],
)
def test_another_teams_document_is_404_as_if_it_did_not_exist(
    teams: dict[str, Any], hr: TestClient, method: str, path: str, form: dict[str, str] | None
) -> None:
    finance = teams["ids"]["finance"]
    before = get_document(teams["kb"], finance["doc"])

    def ask(doc: str) -> Any:
        url = path.format(doc=doc, chunk=finance["chunk"])
        data = {k: v.format(doc=doc) for k, v in (form or {}).items()}
        files = {"file": ("finance.csv", FINANCE.encode())} if path.endswith("reingest") else None
        return getattr(hr, method)(
            url, **({"data": data, "files": files} if method == "post" else {})
        )

    response, unknown = ask(finance["doc"]), ask("nosuchdocument")
    assert response.status_code == unknown.status_code == 404
    # The same words as for an id that never existed: nothing tells the two apart.
    assert response.text.replace(finance["doc"], "X") == unknown.text.replace("nosuchdocument", "X")
    after = get_document(teams["kb"], finance["doc"])
    assert (after.title, after.current_version) == (before.title, before.current_version)


def test_own_documents_still_open(teams: dict[str, Any], hr: TestClient) -> None:
    own = teams["ids"]["hr"]
    assert hr.get(f"/kb/documents/{own['doc']}").status_code == 200
    assert hr.get(f"/kb/documents/{own['doc']}/chunks/{own['chunk']}").status_code == 200


def _jobs(kb: KnowledgeBase, collection: str) -> int:
    with session_scope(kb.engine) as session:
        query = select(func.count()).select_from(IngestJob)
        return session.exec(query.where(IngestJob.collection == collection)).one()


def test_uploading_into_another_teams_collection_is_403_on_the_form(
    teams: dict[str, Any], hr: TestClient
) -> None:
    before = _jobs(teams["kb"], "finance")
    files = [("files", ("x.csv", HR.replace("十天", "十二天").encode()))]
    refused = hr.post("/kb/documents", data={"collection": "finance"}, files=files)
    assert refused.status_code == 403
    message = "你无权使用集合 &#39;finance&#39;"
    assert f'<p class="field-error" id="upload-collection-msg">{message}</p>' in refused.text
    assert _jobs(teams["kb"], "finance") == before
    # With no collection chosen the upload goes to the manager's own, not the default.
    own = hr.post("/kb/documents", data={"collection": ""}, files=files)
    assert own.status_code == 303 and own.headers["location"].startswith("/kb/jobs/")
    assert wait_for_job(teams["kb"], own.headers["location"].rsplit("/", 1)[1]).collection == "hr"


def test_another_teams_job_is_404(teams: dict[str, Any], hr: TestClient) -> None:
    theirs = hr.get(f"/kb/jobs/{teams['ids']['finance']['job']}")
    assert theirs.status_code == hr.get("/kb/jobs/nosuchjob").status_code == 404
    assert hr.get(f"/kb/jobs/{teams['ids']['hr']['job']}").status_code == 200


def test_hit_test_offers_and_searches_only_readable_collections(
    teams: dict[str, Any], hr: TestClient
) -> None:
    hr_docs = {d.id for d in documents_for(teams["kb"], _principal("hr"))}
    refused = hr.get("/kb/hit-test", params={"q": "报销", "collection": "finance"})
    assert refused.status_code == 403
    renderer, seen = _seen(hr)
    try:
        page = hr.get("/kb/hit-test", params={"q": "年假"})
    finally:
        renderer.listeners.remove(seen.append)
    assert page.status_code == 200
    [context] = [r.context for r in seen if r.template == "hit_test.html"]
    assert (context["collection"], context["collections"]) == ("hr", ["hr"])
    assert context["hits"] and {h.chunk.document_id for h in context["hits"]} <= hr_docs


def test_analytics_count_only_readable_collections(teams: dict[str, Any], hr: TestClient) -> None:
    assert hr.get("/kb/analytics", params={"collection": "finance"}).status_code == 403
    renderer, seen = _seen(hr)
    try:
        page = hr.get("/kb/analytics", params={"range": "7"})
    finally:
        renderer.listeners.remove(seen.append)
    assert page.status_code == 200
    [context] = [r.context for r in seen if r.template == "analytics.html"]
    report = context["report"]
    assert [q.text for q in report.top_questions] == [teams["ids"]["hr"]["q"]]
    assert (report.totals.suggestions, report.totals.feedback["not_helpful"]) == (1, 1)
    assert FINANCE_COMMENT not in page.text and teams["ids"]["finance"]["q"] not in page.text


def test_evaluation_runs_are_seen_only_by_who_may_read_their_collections(
    teams: dict[str, Any], hr: TestClient, sign_in: SignIn
) -> None:
    kb = teams["kb"]
    theirs = start_run(kb, CORPUS, "finance-golden.jsonl", QUERIES, "q.jsonl",
                       limited_to=frozenset({"finance"}))  # fmt: skip
    assert theirs.finished.wait(timeout=120)
    assert hr.get(f"/kb/evaluation/{theirs.id}").status_code == 404
    assert "finance-golden.jsonl" not in hr.get("/kb/evaluation").text
    everyone = TestClient(teams["app"])
    sign_in(everyone, "manager", email="all-manager@assistkb.test")
    assert everyone.get(f"/kb/evaluation/{theirs.id}").status_code == 200
    assert "finance-golden.jsonl" in everyone.get("/kb/evaluation").text


TEAMS = [("hr", "finance"), ("finance", "hr")]


def _feedback_count(kb: KnowledgeBase) -> int:
    with session_scope(kb.engine) as session:
        return int(session.exec(select(func.count()).select_from(FeedbackRecord)).one())


@pytest.mark.parametrize(("team", "other"), TEAMS)
def test_feedback_names_only_items_of_its_own_suggestion(
    teams: dict[str, Any], sign_in: SignIn, team: str, other: str
) -> None:
    """Once a way to put another team's chunk text into one's own analytics (issue 16)."""
    kb: KnowledgeBase = teams["kb"]
    own, theirs = teams["ids"][team], teams["ids"][other]
    before = _feedback_count(kb)
    rating = {"suggestion_id": own["suggestion"], "item_id": theirs["chunk"], "action": "helpful"}
    api = TestClient(teams["app"])
    by_key = api.post(
        "/api/v1/feedback", json=rating, headers={"Authorization": f"Bearer {own['key']}"}
    )
    assert by_key.status_code == 422 and by_key.json()["error"]["field"] == "item_id"
    panel = TestClient(teams["app"], follow_redirects=False)
    sign_in(panel, "manager", email=f"{team}-lead@assistkb.test", collections=[team])
    by_page = panel.post("/assist/feedback", data=rating, headers={"HX-Request": "true"})
    assert by_page.status_code == 422
    assert _feedback_count(kb) == before
    # The team's analytics never show the other team's text.
    page = panel.get("/kb/analytics", params={"range": "7"})
    assert page.status_code == 200 and theirs["q"] not in page.text
    # Its own suggestion's answer is still accepted, by key and on the panel.
    ok = {**rating, "item_id": own["answer"]}
    assert (
        api.post(
            "/api/v1/feedback", json=ok, headers={"Authorization": f"Bearer {own['key']}"}
        ).status_code
        == 201
    )
    assert panel.post("/assist/feedback", data=ok, headers={"HX-Request": "true"}).status_code in {
        200,
        204,
    }
    assert _feedback_count(kb) == before + 2


LIBRARY_REPLY = "id: team-reply\ntitle: 团队话术\nbody: 请把款项转到以下账户。\n"


def _library(kb: KnowledgeBase) -> tuple[Any, ...]:
    return (
        [(r.id, r.body) for r in list_replies(kb)],
        export_rules(kb),
        edited_vocabulary(kb),
    )


@pytest.mark.parametrize(("team", "other"), TEAMS)
def test_a_manager_limited_to_a_team_reads_but_never_changes_the_shared_library(
    teams: dict[str, Any], sign_in: SignIn, team: str, other: str
) -> None:
    kb: KnowledgeBase = teams["kb"]
    save_reply(kb, make_reply(id="kept", title="保留", body="您好，已为您处理。"), actor="test")
    client = TestClient(teams["app"], follow_redirects=False)
    sign_in(client, "manager", email=f"{team}-editor@assistkb.test", collections=[team])
    for page in ("/kb/replies", "/kb/replies/kept", "/kb/rules", "/kb/vocabulary"):
        assert client.get(page).status_code == 200, page
    before = _library(kb)
    reply = {"id": "transfer", "title": "转账", "body": "请把款项转到以下账户。", "language": ""}
    attempts = [
        client.post("/kb/replies/new", data=reply),
        client.post("/kb/replies/kept", data={**reply, "id": "kept"}),
        client.post("/kb/replies/kept/delete", data={"confirm": "kept"}),
        client.post("/kb/replies/import", files={"file": ("r.yaml", LIBRARY_REPLY.encode())}),
        client.post("/kb/rules", data={"text": "rules: []\n"}),
        client.post("/kb/rules/import", files={"file": ("rules.yaml", b"rules: []\n")}),
        client.post("/kb/vocabulary", data={"user_dict": "转账 100", "synonyms": ""}),
    ]
    assert [a.status_code for a in attempts] == [403] * len(attempts)
    assert "only a manager of every collection" in attempts[0].text
    assert _library(kb) == before
    # A manager of every collection may.
    lead = TestClient(teams["app"], follow_redirects=False)
    sign_in(lead, "manager", email="lead@assistkb.test")
    created = lead.post("/kb/replies/new", data={**reply, "id": f"transfer-{team}"})
    assert created.status_code == 303 and f"transfer-{team}" in dict(_library(kb)[0])
