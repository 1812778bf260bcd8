"""The assist panel against the real app and the sample knowledge base (FastAPI TestClient)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import select
from starlette.requests import Request

from kb.accounts.keys import create_key
from kb.assist.schemas import SuggestResponse
from kb.db import session_scope
from kb.documents.ingestion import ingest_items
from kb.documents.samples import load_sample
from kb.library.store import import_sample
from kb.models import FeedbackRecord, SuggestionLog
from kb.settings import Settings
from web.app import create_app
from web.pages.assist import (
    NAMES,
    SCRIPT_COOKIE,
    segments,
    suggestion_context,
)
from web.rendering import Rendered, Renderer

HX = {"HX-Request": "true"}
GOLDEN = Path(__file__).parent / "golden"
CRM = "'self' https://crm.example"

SignIn = Callable[..., Any]


@pytest.fixture(scope="module")
def client(
    tmp_path_factory: pytest.TempPathFactory,
    embedding_cache_dir: Path,
    sign_in: SignIn,
) -> Iterator[TestClient]:
    """The app on the sample knowledge base, allowing one CRM origin to frame the panel."""
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("assist"),
        cache_dir=embedding_cache_dir,
        frame_ancestors=CRM,
    )
    with TestClient(create_app(settings, warm=False)) as c:
        sign_in(c)
        kb = c.app.state.kb  # type: ignore[attr-defined]
        sample = load_sample()
        for collection, items in sample.collection_items.items():
            ingest_items(kb, items, collection=collection)
        import_sample(kb, sample)
        yield c


def _post(client: TestClient, text: str, **fields: str) -> Any:
    """Post the panel's form; Simplified unless asked, whatever an earlier response remembered."""
    data = {"conversation": text, "display_script": "zh-Hans", **fields}
    response = client.post("/assist/suggest", data=data, headers=HX)
    client.cookies.delete(SCRIPT_COOKIE)  # the session cookie stays
    return response


def _normal(html: str) -> str:
    html = re.sub(r'data-suggestion-id="\w+"|name="suggestion_id" value="\w+"', "SID", html)
    return re.sub(r">\s+<", "><", re.sub(r"\s+", " ", html)).strip()


def _feedback(client: TestClient, suggestion_id: str) -> list[tuple[str, str, str | None]]:
    with session_scope(client.app.state.kb.engine) as session:  # type: ignore[attr-defined]
        rows = session.exec(
            select(FeedbackRecord).where(FeedbackRecord.suggestion_id == suggestion_id)
        ).all()
        return sorted((r.item_id, r.action, r.comment) for r in rows)


def _suggestion_id(html: str) -> str:
    match = re.search(r'data-suggestion-id="(\w+)"', html)
    assert match, html
    return match.group(1)


# --- page and fragments ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "url", "data", "block", "root"),
    [
        ("GET", "/assist?text=退货运费谁出？", None, "suggestions", '<section id="suggestions"'),
        ("POST", "/assist/suggest", {"conversation": "退货运费谁出？"}, "suggestions",
         '<section id="suggestions"'),
        ("GET", "/assist/search?q=保修", None, "search_results", '<section id="search-results"'),
    ],
)  # fmt: skip
def test_same_url_renders_the_page_or_only_its_block(
    client: TestClient,
    renders: list[Rendered],
    method: str,
    url: str,
    data: dict[str, str] | None,
    block: str,
    root: str,
) -> None:
    page = client.request(method, url, data=data)
    fragment = client.request(method, url, data=data, headers=HX)

    assert [(r.template, r.block) for r in renders] == [
        ("assist.html", None),
        ("assist.html", block),
    ]
    assert {"form", "script", "result", "hits", "names"} <= set(renders[0].context)
    assert page.text.startswith("<!doctype html>") and 'class="layout-panel"' in page.text
    assert 'aria-label="控制台"' not in page.text  # no console nav in a side panel or iframe
    assert fragment.text.lstrip().startswith(root) and "<html" not in fragment.text
    assert _normal(fragment.text) in _normal(page.text)
    for response in (page, fragment):
        assert f"; frame-ancestors {CRM}" in response.headers["content-security-policy"]


def test_the_console_nav_links_to_the_panel(client: TestClient) -> None:
    html = client.get("/kb/documents").text
    assert '<a href="/assist">坐席助手</a>' in html


def test_empty_box_asks_for_words_and_logs_nothing(
    client: TestClient, renders: list[Rendered]
) -> None:
    with session_scope(client.app.state.kb.engine) as session:  # type: ignore[attr-defined]
        before = len(session.exec(select(SuggestionLog)).all())
    response = _post(client, "  \n客服：您好，请问有什么可以帮您？")  # no customer words yet
    assert response.status_code == 200 and 'class="empty"' in response.text
    assert renders[0].context["result"] is None
    assert "x-suggestion-id" not in response.headers  # nothing for the next one to supersede
    with session_scope(client.app.state.kb.engine) as session:  # type: ignore[attr-defined]
        assert len(session.exec(select(SuggestionLog)).all()) == before


# --- suggestions ----------------------------------------------------------------------------


def test_traditional_question_gets_a_cited_answer_that_opens_in_context(
    client: TestClient,
) -> None:
    html = _post(client, "掃地機器人的電池保固多久？", display_script="zh-Hant").text
    assert 'lang="zh-Hant"' in html
    links = re.findall(r'<p class="cite"><a class="source-link" href="([^"]+)"', html)
    assert links and links[0].startswith("/assist/sources/"), html
    assert "保固" in html or "保修" in html
    context = client.get(links[0].replace("&amp;", "&"))
    assert context.status_code == 200 and 'class="chunk source-passage current"' in context.text
    assert 'lang="zh-Hant"' in context.text  # in the script the agent reads


def test_a_pasted_chat_is_read_as_turns_with_its_follow_up(
    client: TestClient, renders: list[Rendered]
) -> None:
    chat = (
        "客户：我买的扫地机器人不想要了，可以退货吗？\n"
        "客服：可以的，7天内未使用可以退。\n"
        "客户：那运费谁出？"
    )
    html = _post(client, chat).text
    seen = renders[0].context
    assert [t.role for t in seen["turns"]] == ["customer", "agent", "customer"]
    assert "退货" in seen["result"].query and "运费" in seen["result"].query
    assert "（3 轮对话）" in html
    assert any("运费" in a.text for a in seen["answers"])


def test_customer_fields_fill_replies_and_missing_ones_are_marked(client: TestClient) -> None:
    question = "我要退款，钱什么时候退回来？"
    filled = _post(client, question, name="王女士", order_id="A123", tier="vip").text
    bare = _post(client, question).text
    assert "王女士您好" in filled and "A123" in filled
    assert '<mark class="placeholder">【称呼】</mark>您好' in bare
    assert "待补全：<code>称呼</code>" in bare


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"contact_count": "many"}, "必须是从 1 起的整数，而不是 &#39;many&#39;"),
        ({"contact_count": "0"}, "必须是从 1 起的整数，而不是 &#39;0&#39;"),
        ({"collection": "nope"}, "未知的集合 &#39;nope&#39;"),
    ],
)  # fmt: skip
def test_bad_fields_answer_422_with_the_message_in_the_block(
    client: TestClient, fields: dict[str, str], message: str
) -> None:
    response = _post(client, "退货运费谁出？", **fields)
    assert response.status_code == 422
    assert response.text.lstrip().startswith('<section id="suggestions"')
    assert message in response.text


def test_angry_legal_threat_shows_expert_handling_and_escalation_steps(client: TestClient) -> None:
    html = _post(client, "你们就是骗子！再不退款我就找律师起诉你们！！").text
    assert 'data-handling="expert"' in html and "转专家处理" in html
    assert '<span class="team">法务</span>' in html
    steps = re.search(r'<ol class="steps"[^>]*>(.*?)</ol>', html, re.S)
    assert steps and steps.group(1).count("<li>") >= 3


def test_customer_markup_is_shown_as_text(client: TestClient) -> None:
    html = _post(client, '退货 <script>alert(1)</script><img src=x onerror="alert(1)">').text
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=" in html


# --- display script -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "cookie", "checked", "sets"),
    [
        ("/assist", None, "zh-Hans", None),
        ("/assist", "zh-Hant", "zh-Hant", None),
        ("/assist", "klingon", "zh-Hans", None),
        ("/assist?script=zh-Hant", None, "zh-Hant", "zh-Hant"),
        ("/assist?script=zh-Hans", "zh-Hant", "zh-Hans", "zh-Hans"),
    ],
)
def test_the_script_is_remembered_per_browser(
    client: TestClient, url: str, cookie: str | None, checked: str, sets: str | None
) -> None:
    client.cookies.delete(SCRIPT_COOKIE)  # the session cookie stays
    if cookie:
        client.cookies.set(SCRIPT_COOKIE, cookie, path="/assist")
    response = client.get(url)
    client.cookies.delete(SCRIPT_COOKIE)  # the session cookie stays
    assert f'value="{checked}" checked' in response.text
    assert response.text.count(" checked>") == 1
    remembered = response.headers.get("set-cookie", "")
    assert (f"{SCRIPT_COOKIE}={sets};" in remembered) if sets else not remembered


def test_choosing_a_script_sets_the_cookie_even_with_an_empty_box(client: TestClient) -> None:
    response = _post(client, "", display_script="zh-Hant")
    client.cookies.delete(SCRIPT_COOKIE)  # the session cookie stays
    assert response.status_code == 200
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{SCRIPT_COOKIE}=zh-Hant;") and "Path=/assist" in cookie
    assert "Max-Age=31536000" in cookie and "SameSite=lax" in cookie


def test_search_results_follow_the_script(client: TestClient) -> None:
    hant = client.get("/assist/search", params={"q": "保修多久", "display_script": "zh-Hant"})
    hans = client.get("/assist/search", params={"q": "保修多久", "display_script": "zh-Hans"})
    assert 'class="hit"' in hant.text and 'class="hit"' in hans.text
    assert "說明書" in hant.text or "政策" in hant.text
    assert "雲舟" in hant.text and "云舟" not in hant.text
    assert "云舟" in hans.text and "雲舟" not in hans.text


# --- feedback -------------------------------------------------------------------------------


def test_a_draft_the_agent_typed_on_is_replaced_not_logged_twice(client: TestClient) -> None:
    kb = client.app.state.kb  # type: ignore[attr-defined]
    with session_scope(kb.engine) as session:
        before = len(session.exec(select(SuggestionLog.id)).all())
    first = _post(client, "净化器滤网")
    draft = _suggestion_id(first.text)
    # The panel's script reads it before the block settles (see app.js).
    assert first.headers["x-suggestion-id"] == draft
    final = _post(client, "净化器滤网多久换一次？", supersedes=draft).text
    assert _suggestion_id(final) == draft
    with session_scope(kb.engine) as session:
        assert len(session.exec(select(SuggestionLog.id)).all()) == before + 1
        row = session.get(SuggestionLog, draft)
        assert row is not None and row.conversation[0]["text"] == "净化器滤网多久换一次？"
    # Without the field (Enter after a pause, a new message) every suggestion is its own row.
    assert _suggestion_id(_post(client, "净化器滤网多久换一次？").text) != draft


def test_rating_the_draft_on_screen_after_the_next_draft_overwrote_it(client: TestClient) -> None:
    """The box moved on while the next draft was asked: its answer is not swapped in (app.js),
    so the panel still shows the first draft, and its thumbs and copies rate what it shows."""
    first = _post(client, "净化器滤网多久换")
    draft = _suggestion_id(first.text)
    shown = re.findall(r'<article class="answer" data-item-id="(\w+)"', first.text)
    newer = _post(client, "退货运费谁出？", supersedes=draft)
    assert _suggestion_id(newer.text) == draft  # the row was overwritten
    now = set(re.findall(r'<article class="answer" data-item-id="(\w+)"', newer.text))
    seen = next(item for item in shown if item not in now)
    rate = {"suggestion_id": draft, "item_id": seen, "action": "helpful", "comment": ""}
    rated = client.post("/assist/feedback", data=rate, headers=HX)
    assert rated.status_code == 200 and 'data-action="helpful"' in rated.text
    copied = {**rate, "action": "copied"}
    assert client.post("/assist/feedback", data=copied, headers=HX).status_code == 204
    # An integration rating through the API what its panel showed is recorded alike.
    kb = client.app.state.kb  # type: ignore[attr-defined]
    key = create_key(kb, name="crm", scopes=["feedback"], actor="test").key
    body = {"suggestion_id": draft, "item_id": seen, "action": "inserted"}
    api = client.post("/api/v1/feedback", json=body, headers={"Authorization": f"Bearer {key}"})
    assert api.status_code == 201 and api.json()["item_id"] == seen
    assert _feedback(client, draft) == [
        (seen, action, None) for action in ("copied", "helpful", "inserted")
    ]


def test_copy_insert_and_ratings_are_stored_against_the_suggestion(client: TestClient) -> None:
    html = _post(client, "退货运费谁出？").text
    sid = _suggestion_id(html)
    answer = re.findall(r'<article class="answer" data-item-id="(\w+)"', html)[0]

    def send(action: str, comment: str = "") -> Any:
        data = {"suggestion_id": sid, "item_id": answer, "action": action, "comment": comment}
        return client.post("/assist/feedback", data=data, headers=HX)

    assert send("copied").status_code == 204
    assert send("inserted").status_code == 204
    helpful = send("helpful")
    assert (
        helpful.text.strip()
        == '<p class="rate rated" data-action="helpful" role="status">已记录：有用</p>'
    )
    unhelpful = send("not_helpful", "  说的是<b>旧政策</b>  ")
    assert "已记录：没帮助（说的是&lt;b&gt;旧政策&lt;/b&gt;）" in unhelpful.text
    assert _feedback(client, sid) == sorted(
        [
            (answer, "copied", None),
            (answer, "inserted", None),
            (answer, "helpful", None),
            (answer, "not_helpful", "说的是<b>旧政策</b>"),
        ]
    )
    assert "frame-ancestors" in unhelpful.headers["content-security-policy"]


def test_feedback_records_the_rank_each_item_had_in_the_panel(client: TestClient) -> None:
    """Answers (those under "more answers" too) and replies are stored at the place the agent
    saw them, with the query searched and the agent who acted."""
    html = _post(client, "退货运费谁出？").text
    sid = _suggestion_id(html)
    answers = re.findall(r'<article class="answer" data-item-id="(\w+)"', html)
    replies = re.findall(r'<article class="reply" data-item-id="([\w-]+)"', html)
    assert len(answers) > 3 and 'class="more-answers"' in html and len(replies) >= 2
    picked = [(answers[-1], "answer", len(answers)), (replies[1], "reply", 2)]
    for item, _, _ in picked:
        data = {"suggestion_id": sid, "item_id": item, "action": "copied"}
        assert client.post("/assist/feedback", data=data, headers=HX).status_code == 204
    query = re.search(r'<p class="query">检索：(.*?)[<\n]', html)
    assert query is not None
    with session_scope(client.app.state.kb.engine) as session:  # type: ignore[attr-defined]
        rows = session.exec(select(FeedbackRecord).where(FeedbackRecord.suggestion_id == sid))
        stored = {r.item_id: (r.item_kind, r.rank, r.query, r.actor) for r in rows}
    for item, kind, rank in picked:
        assert stored[item] == (kind, rank, query.group(1).strip(), "user:manager@assistkb.test")


@pytest.mark.parametrize(
    ("data", "status", "message"),
    [
        ({"suggestion_id": "nope", "item_id": "x", "action": "copied"}, 404, "没有编号为"),
        ({"suggestion_id": "SID", "item_id": "x", "action": "liked"}, 422, "操作必须是"),
        ({"suggestion_id": "SID", "item_id": " ", "action": "copied"}, 422, "item_id 为空"),
        ({"suggestion_id": "SID", "item_id": "x", "action": "copied"}, 422, "并未给出"),
    ],
)  # fmt: skip
def test_bad_feedback_is_refused_with_a_reason(
    client: TestClient, data: dict[str, str], status: int, message: str
) -> None:
    sid = _suggestion_id(_post(client, "发票怎么开？").text)
    data = {k: v.replace("SID", sid) for k, v in data.items()}
    response = client.post("/assist/feedback", data=data, headers=HX)
    assert response.status_code == status and message in response.text


def test_a_refused_rating_gives_the_thumbs_back_with_the_reason(client: TestClient) -> None:
    html = _post(client, "发票怎么开？").text
    sid = _suggestion_id(html)
    answer = re.findall(r'<article class="answer" data-item-id="(\w+)"', html)[0]
    # The suggestion's row is gone meanwhile (a retention purge, say).
    with session_scope(client.app.state.kb.engine) as session:  # type: ignore[attr-defined]
        session.delete(session.get(SuggestionLog, sid))
    data = {
        "suggestion_id": sid,
        "item_id": answer,
        "action": "not_helpful",
        "comment": "<i>旧</i>",
    }
    response = client.post("/assist/feedback", data=data, headers=HX)
    assert response.status_code == 404 and response.headers["X-Feedback-Refused"] == "1"
    fragment = re.sub(r">\s+<", "><", " ".join(response.text.split()))
    # The same form (buttons usable, the comment kept, escaped) with why nothing was recorded.
    assert fragment.startswith('<form class="rate" action="/assist/feedback"')
    assert f'name="suggestion_id" value="{sid}"' in fragment
    assert f'name="item_id" value="{answer}"' in fragment
    assert 'value="&lt;i&gt;旧&lt;/i&gt;"' in fragment and "<i>" not in fragment
    assert 'value="helpful">有用</button>' in fragment
    notice = re.search(r'<p class="rate-refused" role="alert">([^<]*)</p>', fragment)
    assert notice and notice.group(1).startswith("未记录：没有编号为"), fragment
    assert _feedback(client, sid) == []
    # An item that suggestion never offered: 422, said in the agent's language, escaped.
    sid = _suggestion_id(_post(client, "发票怎么开？").text)
    data = {"suggestion_id": sid, "item_id": "<b>x</b>", "action": "helpful"}
    english = client.post("/assist/feedback", data=data, headers={**HX, "X-UI-Language": "en"})
    assert english.status_code == 422 and english.headers["X-Feedback-Refused"] == "1"
    assert "Not recorded: " in english.text and "<b>x</b>" not in english.text


def test_feedback_without_javascript_returns_to_the_panel(client: TestClient) -> None:
    html = _post(client, "发票怎么开？").text
    answer = re.findall(r'<article class="answer" data-item-id="(\w+)"', html)[0]
    data = {"suggestion_id": _suggestion_id(html), "item_id": answer, "action": "helpful"}
    response = client.post("/assist/feedback", data=data, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/assist"


# --- pure pieces and golden HTML ------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "missing", "expected"),
    [
        ("【称呼】您好，订单 【订单号】 已发货", ["name", "order_id"],
         [("【称呼】", True), ("您好，订单 ", False), ("【订单号】", True), (" 已发货", False)]),
        ("Hi [name], your order shipped.", ["name"],
         [("Hi ", False), ("[name]", True), (", your order shipped.", False)]),
        ("【重要】王女士您好", [], [("【重要】王女士您好", False)]),  # nothing missing: no marks
        ("", ["name"], []),
    ],
)  # fmt: skip
def test_segments(text: str, missing: list[str], expected: list[tuple[str, bool]]) -> None:
    assert segments(text, missing) == expected


BODY: dict[str, Any] = {
    "suggestion_id": "s1",
    "query": "退货运费谁出？ <b>",
    "answers": [
        {"id": "c1", "kind": "faq", "title": "退货运费谁出？", "text": "非质量问题由顾客承担运费。",
         "highlight": "非质量问题由顾客承担<mark>运费</mark>。", "score": 0.91,
         "confidence": "high",
         "source": {"document_id": "d1", "title": "售后 FAQ", "version": 2, "section": [],
                    "page": None}},
        {"id": "c2", "kind": "policy", "title": "3.2 运费", "text": "<script>x</script>",
         "highlight": "", "score": 0.5, "confidence": "low",
         "source": {"document_id": "d2", "title": "保修政策", "version": 1,
                    "section": ["3 退货", "3.2 运费"], "page": 14}},
    ],
    "replies": [
        {"id": "return-instructions", "title": "退货办理", "missing_variables": ["order_id"],
         "text": "王女士您好，请在订单 【订单号】 中申请退货。"},
    ],
    "escalation": {"recommended": True, "level": "tier2", "team": "billing",
                   "reasons": ["refund request", "negative sentiment"],
                   "steps": ["核实订单", "转账务组"], "reply": None, "rule_ids": ["refund"]},
    "handling": "agent",
    "sentiment": {"label": "negative", "score": -0.4, "cues": ["太过分了"]},
    "took_ms": 12.5,
}  # fmt: skip


def test_golden_suggestion_fragment(client: TestClient) -> None:
    app: FastAPI = client.app  # type: ignore[assignment]
    scope = {"type": "http", "app": app, "method": "GET", "path": "/assist", "root_path": "",
             "headers": [(b"hx-request", b"true")], "query_string": b""}  # fmt: skip
    context = {
        "script": "zh-Hans",
        "error": None,
        "turns": [1, 2, 3],
        "names": NAMES,
        **suggestion_context(SuggestResponse.model_validate(BODY)),
    }
    renderer: Renderer = app.state.renderer
    response = renderer.render(Request(scope), "assist.html", context, block="suggestions")
    rendered = bytes(response.body).decode()
    golden = (GOLDEN / "assist_suggestions.html").read_text(encoding="utf-8")
    assert _normal(rendered) == _normal(golden)
