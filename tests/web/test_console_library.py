"""Console pages for replies, rules, analytics and evaluation against a real app and database."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from html import unescape
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi import FastAPI
from fastapi.testclient import TestClient
from library_files import BROKEN_RULES, CORPUS, FAQ, GOLDEN_ERRORS, QUERIES, RULES, replies

from kb.context import KnowledgeBase
from kb.documents.ingestion import DocumentMeta, IngestItem, ingest_items
from kb.library.escalation import Conditions
from kb.library.store import (
    active_rules,
    import_replies,
    import_rules,
    list_replies,
    rule_set_history,
)
from kb.retrieval.evaluation_runs import evaluation_runs
from kb.retrieval.vocabulary import Vocabulary, save_vocabulary
from kb.settings import Settings
from web.app import create_app
from web.pages.rules import ExcerptLine, excerpt, summary
from web.rendering import Rendered, Renderer

HX = {"HX-Request": "true"}
GOLDEN = Path(__file__).parent / "golden"
REPLIES = replies("shipping-info", "refund-ok", "return-en")
LAWYER_RULE = """
  - id: lawyer
    name: 律师
    priority: 50
    when:
      keywords: [律师函]
    then:
      level: legal
      team: legal
      steps: [转交法务]
"""
XSS = "<script>alert(1)</script><img src=x onerror=alert(1)>"

SignIn = Callable[..., Any]


@pytest.fixture(scope="module")
def client(
    tmp_path_factory: pytest.TempPathFactory,
    embedding_cache_dir: Path,
    sign_in: SignIn,
) -> Iterator[TestClient]:
    settings = Settings(data_dir=tmp_path_factory.mktemp("console"), cache_dir=embedding_cache_dir)
    with TestClient(create_app(settings, warm=False)) as c:
        sign_in(c)
        kb = kb_of(c)
        ingest_items(kb, [IngestItem("faq.csv", FAQ, DocumentMeta())], collection="default")
        import_replies(kb, REPLIES, "replies.yaml")
        import_rules(kb, RULES, "rules.yaml")
        yield c


def kb_of(client: TestClient) -> KnowledgeBase:
    kb: KnowledgeBase = client.app.state.kb  # type: ignore[attr-defined]
    return kb


def reply_ids(html: str) -> list[str]:
    return re.findall(r'data-reply-id="([^"]+)"', html)


def field_error(html: str, element_id: str) -> str:
    match = re.search(rf'<p class="field-error" id="{element_id}-msg"[^>]*>(.*?)</p>', html, re.S)
    assert match, html
    return unescape(match.group(1))


# --- replies --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, ["refund-ok", "return-en", "shipping-info"]),
        ({"q": "顺丰"}, ["shipping-info"]),
        ({"q": "退款受理"}, ["refund-ok"]),  # Simplified title
        ({"q": "訂單"}, ["refund-ok"]),  # a Traditional query finds Simplified text
        ({"q": "RETURN SHIPPING"}, ["return-en"]),
        ({"tag": "售后"}, ["refund-ok", "return-en"]),
        ({"language": "en"}, ["return-en"]),
        ({"tag": "售后", "language": "zh-Hans"}, ["refund-ok"]),
        ({"q": "没有这句话"}, []),
    ],
)
def test_reply_list_filters(
    client: TestClient, params: dict[str, str], expected: list[str]
) -> None:
    html = client.get("/kb/replies", params=params, headers=HX).text
    assert reply_ids(html) == expected


@pytest.mark.parametrize(
    ("url", "template", "block", "root", "keys"),
    [
        ("/kb/replies", "replies.html", "reply_list", '<div id="reply-list"', {"replies"}),
        ("/kb/replies/new", "reply_edit.html", "reply_form", '<form id="reply-form"', {"form"}),
        (
            "/kb/replies/refund-ok",
            "reply_edit.html",
            "reply_form",
            '<form id="reply-form"',
            {"form", "reply"},
        ),
        ("/kb/rules", "rules.html", "workspace", '<div id="rules-workspace"', {"rules", "text"}),
        ("/kb/analytics", "analytics.html", "report", '<div id="analytics"', {"report", "form"}),
        ("/kb/evaluation", "evaluation.html", "run", '<div id="evaluation"', {"run", "recent"}),
    ],
)
def test_each_page_renders_whole_or_only_its_block(
    client: TestClient,
    renders: list[Rendered],
    url: str,
    template: str,
    block: str,
    root: str,
    keys: set[str],
) -> None:
    page = client.get(url)
    assert page.status_code == 200, page.text
    assert page.text.startswith("<!doctype html>") and root in page.text
    fragment = client.get(url, headers=HX)
    assert fragment.text.lstrip().startswith(root) and "<html" not in fragment.text
    assert [(r.template, r.block) for r in renders] == [(template, None), (template, block)]
    assert keys <= set(renders[-1].context)


def test_create_edit_and_delete_a_reply(client: TestClient) -> None:
    form = {
        "id": "",
        "title": "Delivery delay",
        "body": "Sorry {name}, order {order_id} is late.",
        "tags": "物流, delay，物流",
        "language": "",
        "applies_to": "where is my parcel\n\n  my order is late  \n",
    }
    created = client.post("/kb/replies/new", data=form, follow_redirects=False)
    assert created.status_code == 303
    assert created.headers["location"] == "/kb/replies?saved=delivery-delay"
    reply = next(r for r in list_replies(kb_of(client)) if r.id == "delivery-delay")
    assert (reply.tags, reply.language) == (("物流", "delay"), "en")
    assert reply.applies_to == ("where is my parcel", "my order is late")
    assert reply.variables == ("name", "order_id")
    assert "已保存话术 delivery-delay" in client.get(created.headers["location"]).text

    edited = client.post(
        "/kb/replies/delivery-delay",
        data={**form, "id": "ignored", "title": "Delivery delayed", "body": "Sorry, it is late."},
        headers=HX,
    )
    assert edited.headers["HX-Redirect"] == "/kb/replies?saved=delivery-delay"
    reply = next(r for r in list_replies(kb_of(client)) if r.id == "delivery-delay")
    assert (reply.title, reply.variables) == ("Delivery delayed", ())

    refused = client.post("/kb/replies/delivery-delay/delete", data={}, headers=HX)
    assert refused.status_code == 422
    assert "confirm" in field_error(refused.text, "reply-delete-confirm")
    assert "delivery-delay" in {r.id for r in list_replies(kb_of(client))}
    deleted = client.post(
        "/kb/replies/delivery-delay/delete",
        data={"confirm": "delivery-delay"},
        follow_redirects=False,
    )
    assert deleted.status_code == 303
    assert "delivery-delay" not in {r.id for r in list_replies(kb_of(client))}


def test_editing_keeps_labels_of_variables_still_used(client: TestClient) -> None:
    html = client.get("/kb/replies/refund-ok").text
    body = unescape(re.search(r'<textarea id="reply-body"[^>]*>(.*?)</textarea>', html, re.S)[1])  # type: ignore[index]
    data = {"title": "退款受理", "body": body + "（已更新）", "tags": "退款", "language": "zh-Hans"}
    assert client.post("/kb/replies/refund-ok", data=data, headers=HX).status_code == 200
    reply = next(r for r in list_replies(kb_of(client)) if r.id == "refund-ok")
    assert dict(reply.labels) == {"order_id": "订单编号"} and reply.body.endswith("（已更新）")
    assert reply.applies_to == ()  # the form's empty cue box means no cues


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"title": "  "}, "title", "has no title"),
        ({"body": ""}, "body", "has no body"),
        ({"id": "Bad ID"}, "id", "must be lower-case"),
        ({"id": "refund-ok"}, "id", "already exists"),
        ({"body": "您好 {订单号}"}, "body", "did you mean {order_id}"),
        ({"body": "单个括号 } 不行"}, "body", "unbalanced '}'"),
        ({"language": "fr"}, "language", "unknown language 'fr'"),
    ],
)
def test_reply_form_errors_are_shown_next_to_their_field(
    client: TestClient, changes: dict[str, str], field: str, message: str
) -> None:
    form = {"id": "new-one", "title": "标题", "body": "正文", "tags": "", "language": ""}
    before = {r.id for r in list_replies(kb_of(client))}
    response = client.post("/kb/replies/new", data={**form, **changes}, headers=HX)
    assert response.status_code == 422
    assert response.text.lstrip().startswith('<form id="reply-form"')
    assert message in field_error(response.text, f"reply-{field}")
    assert re.search(rf'id="reply-{field}"[^>]*aria-invalid="true"', response.text)
    assert {r.id for r in list_replies(kb_of(client))} == before
    # What the manager typed is kept (escaped), so nothing has to be retyped.
    if changes.get("body"):
        assert f">{changes['body']}</textarea>" in unescape(response.text)


def test_markup_in_a_reply_shows_as_text(client: TestClient) -> None:
    form = {"id": "xss-reply", "title": XSS, "body": f"正文 {XSS}", "tags": XSS, "language": ""}
    assert client.post("/kb/replies/new", data=form, follow_redirects=False).status_code == 303
    for url in ("/kb/replies", "/kb/replies/xss-reply"):
        html = client.get(url).text
        assert "<script>alert(1)" not in html and "<img src=x" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    client.post("/kb/replies/xss-reply/delete", data={"confirm": "xss-reply"})


def test_unknown_reply_is_a_404_page(client: TestClient) -> None:
    response = client.get("/kb/replies/no-such-reply")
    assert response.status_code == 404 and "no-such-reply" in response.text


IMPORT_CASES = [
    (
        "more.yaml",
        "version: 1\nreplies:\n  - id: a1\n    title: A\n    body: 文本\n"
        "  - id: a2\n    title: B\n    body: '{订单号}'\n",
        8,
    ),
    ("more.csv", "标题,内容\n好,可以\n空,\n", 3),
    ("more.yaml", "version: 1\nreplies:\n  - id: a1\n    title: [x\n", 5),
]


@pytest.mark.parametrize(("name", "text", "line"), IMPORT_CASES)
def test_reply_import_errors_name_the_line_and_import_nothing(
    client: TestClient, name: str, text: str, line: int
) -> None:
    before = list_replies(kb_of(client))
    response = client.post("/kb/replies/import", files={"file": (name, text.encode())}, headers=HX)
    assert response.status_code == 422
    message = field_error(response.text, "reply-import-file")
    assert f"{name} 第 {line} 行：" in message
    assert f"第 {line} 行" in response.text
    assert list_replies(kb_of(client)) == before


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("replies.txt", b"hello", "话术文件须为 .yaml、.yml 或 .csv"),
        ("replies.csv", "标题,内容\n好,可以\n".encode("gb18030") + b"\xff\xfe", "不是 UTF-8 文本"),
    ],
)
def test_reply_import_rejects_other_files(
    client: TestClient, name: str, data: bytes, message: str
) -> None:
    response = client.post("/kb/replies/import", files={"file": (name, data)}, headers=HX)
    assert response.status_code == 422
    assert message in field_error(response.text, "reply-import-file")


def test_reply_import_and_export_round_trip(client: TestClient) -> None:
    text = "version: 1\nreplies:\n  - id: imported-one\n    title: 导入\n    body: 导入的话术\n"
    response = client.post(
        "/kb/replies/import",
        files={"file": ("new.yaml", text.encode())},
        follow_redirects=False,
    )
    assert response.headers["location"] == "/kb/replies?imported=1"
    exported = client.get("/kb/replies/export")
    assert exported.headers["content-disposition"] == 'attachment; filename="replies.yaml"'
    ids = [r["id"] for r in yaml.safe_load(exported.text)["replies"]]
    assert ids == [r.id for r in list_replies(kb_of(client))] and "imported-one" in ids


# --- rules ----------------------------------------------------------------------------------


def _rule_ids(html: str) -> list[str]:
    return re.findall(r'<tr data-rule-id="([^"]+)"', html)


def _ask(client: TestClient, text: str) -> dict[str, Any]:
    body = {"conversation": [{"role": "customer", "text": text}]}
    response = client.post("/api/v1/suggest", json=body)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def test_saving_a_rule_set_changes_the_next_suggestion(client: TestClient) -> None:
    question = "我已经让律师函发出去了，退货运费谁出"
    assert not _ask(client, question)["escalation"]["recommended"]
    history = len(rule_set_history(kb_of(client)))
    text = client.get("/kb/rules").text
    editor = re.search(r'<textarea id="rules-text"[^>]*>(.*?)</textarea>', text, re.S)
    assert editor and "id: complaint" in editor.group(1)  # the editor holds the rules in force
    response = client.post("/kb/rules", data={"text": RULES + LAWYER_RULE}, headers=HX)
    assert response.status_code == 200, response.text
    assert _rule_ids(response.text) == ["lawyer", "complaint"]  # by priority
    assert "规则已保存并生效，共 2 条" in response.text
    assert len(rule_set_history(kb_of(client))) == history + 1
    escalation = _ask(client, question)["escalation"]
    assert (escalation["recommended"], escalation["team"], escalation["level"]) == (
        True,
        "legal",
        "legal",
    )
    import_rules(kb_of(client), RULES, "rules.yaml")  # back to the module's rules


@pytest.mark.parametrize(
    ("text", "line", "problem"),
    [
        (BROKEN_RULES, 17, "未知的级别“tier9”"),
        ("version: 1\nrules:\n  - id: x\n    when: {keywords: [a]\n", 5, "YAML 格式有误"),
        ("rules: []\n", 1, "文件没有版本"),
        (RULES.replace("keywords: [投诉]", "keywords: []"), 7, "“keywords”是空列表"),
    ],
)
def test_a_broken_rule_set_names_its_line_and_the_rules_in_force_stay(
    client: TestClient, text: str, line: int, problem: str
) -> None:
    before = ([r.id for r in active_rules(kb_of(client))], len(rule_set_history(kb_of(client))))
    response = client.post("/kb/rules", data={"text": text}, headers=HX)
    assert response.status_code == 422
    message = field_error(response.text, "rules-text")
    assert f"第 {line} 行：" in message and f"console 第 {line} 行：" in message
    assert problem in message
    bad = re.search(r'<span class="at-fault" data-line="(\d+)">', response.text)
    assert bad and bad.group(1) == str(line)
    assert f">{text}</textarea>" in unescape(response.text)  # the manager's text is kept
    assert _rule_ids(response.text) == before[0]  # the table still shows the rules in force
    after = ([r.id for r in active_rules(kb_of(client))], len(rule_set_history(kb_of(client))))
    assert after == before


def test_rule_file_import_reports_the_file_line(client: TestClient) -> None:
    before = [r.id for r in active_rules(kb_of(client))]
    files = {"file": ("playbook.yaml", BROKEN_RULES.encode())}
    response = client.post("/kb/rules/import", files=files, headers=HX)
    assert response.status_code == 422
    assert "playbook.yaml 第 17 行：" in field_error(response.text, "rules-import-file")
    assert [r.id for r in active_rules(kb_of(client))] == before

    good = {"file": ("playbook.yaml", (RULES + LAWYER_RULE).encode())}
    response = client.post("/kb/rules/import", files=good, headers=HX)
    assert response.status_code == 200 and "已导入 playbook.yaml，共 2 条规则生效" in response.text
    assert 'aria-current="true">\n            <span class="filename">playbook.yaml' in response.text
    exported = client.get("/kb/rules/export")
    assert exported.headers["content-disposition"].endswith('filename="escalation-rules.yaml"')
    assert [r["id"] for r in yaml.safe_load(exported.text)["rules"]] == ["complaint", "lawyer"]
    import_rules(kb_of(client), RULES, "rules.yaml")


@pytest.mark.parametrize(
    ("conditions", "expected"),
    [
        (Conditions(keywords=("投诉", "差评")), ["关键词：投诉、差评"]),
        (
            Conditions(keywords=tuple("abcdefgh")),
            ["关键词：a、b、c、d、e、f 等 8 项"],
        ),
        (
            Conditions(sentiment="negative", customer_tier=("vip",), min_contacts=2),
            ["情绪为 负面", "客户等级：vip", "联系次数 ≥ 2"],
        ),
        (Conditions(no_confident_answer=True, max_sentiment_score=-0.5), [
            "情绪得分 ≤ -0.5", "没有可信答案",
        ]),
        (
            Conditions(any=(Conditions(keywords=("起火",)), Conditions(examples=("冒烟了",)))),
            ["或（1）关键词：起火", "或（2）例句（按语义）：冒烟了"],
        ),
    ],
)  # fmt: skip
def test_condition_summaries(conditions: Conditions, expected: list[str]) -> None:
    assert summary(conditions) == expected


@pytest.mark.parametrize(
    ("line", "numbers"),
    [(1, [1, 2, 3]), (4, [2, 3, 4, 5, 6]), (7, [5, 6, 7]), (None, []), (8, [])],
)
def test_error_excerpt(line: int | None, numbers: list[int]) -> None:
    shown = excerpt("\n".join(f"line {n}" for n in range(1, 8)), line)
    assert [e.number for e in shown] == numbers
    at_fault = [e for e in shown if e.at_fault]
    assert at_fault == ([ExcerptLine(line, f"line {line}", True)] if line and numbers else [])


# --- analytics ------------------------------------------------------------------------------


def test_feedback_through_the_api_appears_in_analytics(client: TestClient) -> None:
    result = _ask(client, "发什么快递？")
    answer = result["answers"][0]["id"]
    feedback = {
        "suggestion_id": result["suggestion_id"],
        "item_id": answer,
        "action": "not_helpful",
    }
    comment = {**feedback, "comment": f"太旧了 {XSS}"}
    for body in (feedback, comment):
        assert client.post("/api/v1/feedback", json=body).status_code == 201
    html = client.get("/kb/analytics", params={"range": "7"}).text
    row = re.search(rf'<tr data-item-id="{answer}" data-kind="answer">(.*?)</tr>', html, re.S)
    assert row, html
    assert "2 / 0" in row.group(1) and "发什么快递？" in row.group(1)
    assert "&lt;script&gt;" in row.group(1) and "<script>" not in html
    assert re.search(r'<li data-count="\d+"><span class="q">发什么快递？</span>', html)
    assert re.search(
        r'<svg id="chart-days" [^>]*role="img" aria-labelledby="chart-days-title', html
    )
    assert '<title id="chart-handling-title">处理方式分布</title>' in html
    assert re.search(r'<li data-key="not_helpful">.*?<strong>([1-9]\d*)</strong>', html, re.S)


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"range": "custom", "start": "2025-03-02", "end": "2025-03-01"}, "end", "早于开始日期"),
        ({"range": "custom", "start": "2025-02-30", "end": "2025-03-01"}, "start", "not a date"),
        ({"range": "custom", "start": "", "end": "2025-03-01"}, "start", "choose a date"),
        ({"range": "custom", "start": "2023-01-01", "end": "2025-03-01"}, "start", "超过 366 天"),
    ],
)
def test_a_bad_custom_period_is_shown_next_to_its_field(
    client: TestClient, params: dict[str, str], field: str, message: str
) -> None:
    response = client.get("/kb/analytics", params=params, headers=HX)
    assert response.status_code == 422
    assert message in field_error(response.text, f"period-{field}")
    assert 'id="report"' in response.text and "data-total" not in response.text


def test_a_custom_period_shows_those_days(client: TestClient) -> None:
    params = {"range": "custom", "start": "2025-03-01", "end": "2025-03-03"}
    html = client.get("/kb/analytics", params=params, headers=HX).text
    assert "2025-03-01 至 2025-03-03" in html
    assert re.findall(r'data-day="([\d-]+)"', html) == ["2025-03-01", "2025-03-02", "2025-03-03"]
    assert '<dd data-total="suggestions">0</dd>' in html


# --- evaluation -----------------------------------------------------------------------------


@pytest.mark.parametrize(("corpus", "queries", "field", "message"), GOLDEN_ERRORS)
def test_golden_set_errors_name_the_file_and_line(
    client: TestClient, corpus: bytes, queries: bytes, field: str, message: str
) -> None:
    files = {"corpus": ("corpus.jsonl", corpus), "queries": ("queries.jsonl", queries)}
    response = client.post("/kb/evaluation", files=files, headers=HX)
    assert response.status_code == 422
    assert message in field_error(response.text, f"golden-{field}")


def test_evaluation_runs_in_the_background_and_compares_hybrid_with_bm25(
    client: TestClient,
) -> None:
    files = {"corpus": ("my corpus.jsonl", CORPUS), "queries": ("../q.jsonl", QUERIES)}
    started = client.post("/kb/evaluation", files=files, follow_redirects=False)
    assert started.status_code == 303
    run_id = started.headers["location"].rsplit("/", 1)[1]
    run = evaluation_runs(kb_of(client)).get(run_id)
    assert run.finished.wait(timeout=120)
    html = client.get(f"/kb/evaluation/{run_id}", headers=HX).text
    assert run.status == "done", run.error
    assert 'data-status="done"' in html and "every 1s" not in html
    row = re.search(r'<tr data-metric="recall@10">(.*?)</tr>', html, re.S)
    assert row, html
    values = re.findall(r'data-mode="(\w+)" class="num[^"]*">([\d.–]+)<', row.group(1))
    assert [mode for mode, _ in values] == ["hybrid", "bm25"]
    assert all(0.0 <= float(v) <= 1.0 for _, v in values)
    assert run.result and run.result["queries"] == 3 and "bm25" in run.result["baselines"]
    assert "1 个相关 id 不在段落文件中" in html
    assert "my corpus.jsonl" in client.get("/kb/evaluation").text  # listed as a recent run


def test_an_evaluation_uses_the_knowledge_bases_vocabulary(client: TestClient) -> None:
    kb = client.app.state.kb  # type: ignore[attr-defined]
    save_vocabulary(kb, Vocabulary(user_dict="包邮", synonyms="退款,退钱"))
    try:
        files = {"corpus": ("corpus.jsonl", CORPUS), "queries": ("q.jsonl", QUERIES)}
        started = client.post("/kb/evaluation", files=files, follow_redirects=False)
        run = evaluation_runs(kb).get(started.headers["location"].rsplit("/", 1)[1])
        assert run.finished.wait(timeout=120) and run.status == "done", run.error
        assert run.result["vocabulary"] == {"words": 1, "synonym_sets": 1}
        html = client.get(f"/kb/evaluation/{run.id}", headers=HX).text
        assert "词库 1 个词、1 组同义词" in html
    finally:
        save_vocabulary(kb, Vocabulary())  # the module's other tests use the plain vocabulary


def test_an_unknown_run_is_a_404(client: TestClient) -> None:
    assert client.get("/kb/evaluation/nope").status_code == 404


# --- golden fragments -----------------------------------------------------------------------


def _normal(html: str) -> str:
    return re.sub(r">\s+<", "><", re.sub(r"\s+", " ", html)).strip()


def test_mix_chart_golden(client: TestClient) -> None:
    app: FastAPI = client.app  # type: ignore[assignment]
    renderer: Renderer = app.state.renderer
    template = renderer.templates.env.from_string(
        '{% import "_charts.html" as charts %}{{ charts.mix(parts, "c", "处理方式分布") }}'
    )
    parts = [
        {"key": "agent", "label": "坐席", "count": 3, "share": 0.75, "colour": "#1a5fb4"},
        {"key": "expert", "label": "专家", "count": 1, "share": 0.25, "colour": "#c2410c"},
        {"key": "self_service", "label": "自助", "count": 0, "share": 0.0, "colour": "#1b7a3d"},
    ]
    html = template.render(parts=parts)
    assert _normal(html) == _normal((GOLDEN / "mix_chart.html").read_text(encoding="utf-8"))
