"""Replies, rules, analytics and evaluation in real Chromium against a real server."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest
from library_files import BROKEN_RULES, FAQ, RULES, replies
from playwright.sync_api import Page, Route, expect

from kb.accounts.keys import create_key
from kb.documents.ingestion import DocumentMeta, IngestItem, ingest_items
from kb.library.store import active_rules, import_replies, import_rules

if TYPE_CHECKING:  # the fixture's type, for readers and editors; conftest is not importable
    from conftest import LiveServer

pytestmark = pytest.mark.browser

COLLECTION = "library-tests"
REPLIES = replies("shipping-info")
NEW_RULE = """
  - id: recall-notice
    name: 召回
    priority: 40
    when:
      keywords: [召回]
    then:
      level: tier3
      team: safety
      steps: [登记序列号, 转交安全团队]
"""
CORPUS = "\n".join(
    [
        '{"id": "p1", "title": "运费", "text": "非质量问题退货由顾客承担运费。"}',
        '{"id": "p2", "title": "快递", "text": "默认使用顺丰快递发货，满99元包邮。"}',
        '{"id": "p3", "title": "保修", "text": "整机保修一年，电池保修两年。"}',
    ]
).encode()
QUERIES = "\n".join(
    [
        '{"id": "q1", "query": "退货的运费由谁承担", "relevant_ids": ["p1"]}',
        '{"id": "q2", "query": "电池保修几年", "relevant_ids": ["p3"]}',
    ]
).encode()
XSS = "<script>alert(1)</script><img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def library(live_server: LiveServer) -> Iterator[LiveServer]:
    """A small FAQ, one reply and one rule on the shared server; the rules are put back after."""
    kb = live_server.kb
    [result] = ingest_items(kb, [IngestItem("faq.csv", FAQ, DocumentMeta())], collection=COLLECTION)
    assert result.document_id, result
    import_replies(kb, REPLIES, "replies.yaml")
    before = active_rules(kb)
    import_rules(kb, RULES, "rules.yaml")
    yield live_server
    if before:
        from kb.library.rule_format import dump_rules_yaml

        import_rules(kb, dump_rules_yaml(before), "restored.yaml")


@pytest.fixture(scope="module")
def crm(library: LiveServer) -> dict[str, str]:
    """The headers of a CRM's server: an API key with the scopes suggest and feedback."""
    new = create_key(library.kb, name="crm", scopes=["suggest", "feedback"], actor="test")
    return {"Authorization": f"Bearer {new.key}"}


def suggest(page: Page, crm: dict[str, str], text: str) -> dict[str, Any]:
    body = {"conversation": [{"role": "customer", "text": text}], "collection": COLLECTION}
    response = page.request.post("/api/v1/suggest", data=body, headers=crm)
    assert response.ok, response.text()
    result: dict[str, Any] = response.json()
    return result


def test_feedback_through_the_api_shows_in_analytics(
    page: Page, library: LiveServer, crm: dict[str, str], screenshot: Callable[[Page, str], None]
) -> None:
    result = suggest(page, crm, "保修多久？")
    answer = result["answers"][0]
    for comment in ("写得不清楚", XSS):
        body = {
            "suggestion_id": result["suggestion_id"],
            "item_id": answer["id"],
            "action": "not_helpful",
            "comment": comment,
        }
        assert page.request.post("/api/v1/feedback", data=body, headers=crm).status == 201

    page.goto("/kb/analytics")
    page.get_by_label("时间范围").select_option("7")  # HTMX swaps the report in place
    expect(page).to_have_url(re.compile(r"range=7"))
    row = page.locator(f'#negative tr[data-item-id="{answer["id"]}"]')
    expect(row).to_contain_text("2 / 0")
    expect(row).to_contain_text("整机保修一年")
    expect(row).to_contain_text(XSS)  # shown as text, never run
    expect(page.locator("#top-questions")).to_contain_text("保修多久？")
    expect(page.get_by_role("img", name="每天的建议次数与无可信答案次数")).to_be_visible()
    expect(page.get_by_role("img", name="坐席反馈分布")).to_be_visible()
    screenshot(page, "analytics")

    page.get_by_label("时间范围").select_option("custom")
    page.get_by_label("开始日期（自定义）").fill("2025-03-05")
    end = page.get_by_label("结束日期（自定义）")
    end.fill("2025-03-01")
    page.get_by_role("button", name="查看").click()
    expect(page.locator("#period-end-msg")).to_contain_text("早于开始日期")
    expect(end).to_have_attribute("aria-invalid", "true")

    end.fill("2025-03-09")  # both dates complete: the report follows without a click
    expect(page.locator("#report .period-label")).to_contain_text("2025-03-05 至 2025-03-09")
    expect(page.locator("#period-end-msg")).not_to_contain_text("早于开始日期")
    expect(end).not_to_have_attribute("aria-invalid", "true")


def test_what_the_manager_types_survives_a_slow_report(page: Page, library: LiveServer) -> None:
    """A report still loading when the manager turns to a custom range must not undo the typing."""
    page.goto("/kb/analytics")
    span = page.get_by_label("时间范围")
    start = page.get_by_label("开始日期（自定义）")
    end = page.get_by_label("结束日期（自定义）")

    def type_while_it_loads(route: Route) -> None:
        # The 7-day report is held here, in flight, while the manager types: a slow server.
        span.select_option("custom")
        start.fill("2025-03-01")
        end.fill("2025-03-05")
        route.continue_()

    page.route(re.compile(r"/kb/analytics\?"), type_while_it_loads, times=1)
    span.select_option("7")
    # The last report asked for is the custom one; only then is every response in.
    expect(page.locator("#report .period-label")).to_contain_text("2025-03-01 至 2025-03-05")
    expect(span).to_have_value("custom")
    expect(start).to_have_value("2025-03-01")
    expect(end).to_have_value("2025-03-05")
    expect(page).to_have_url(re.compile(r"range=custom&start=2025-03-01&end=2025-03-05"))


def test_a_rule_edited_in_the_console_changes_the_next_suggestion(
    page: Page, library: LiveServer, crm: dict[str, str], screenshot: Callable[[Page, str], None]
) -> None:
    question = "你们这个型号是不是在召回？我家那台怎么办"
    assert not suggest(page, crm, question)["escalation"]["recommended"]

    page.goto("/kb/rules")
    expect(page.locator("tr[data-rule-id]")).to_have_count(1)
    editor = page.get_by_label(re.compile("规则集（YAML"))
    editor.fill(RULES + NEW_RULE)
    page.get_by_role("button", name="保存并生效").click()
    expect(page.get_by_role("status")).to_contain_text("规则已保存并生效，共 2 条")
    expect(page.locator("tr[data-rule-id]").first).to_have_attribute(
        "data-rule-id", "recall-notice"
    )
    expect(page.locator('tr[data-rule-id="recall-notice"]')).to_contain_text("关键词：召回")
    screenshot(page, "rules")

    escalation = suggest(page, crm, question)["escalation"]
    assert escalation["recommended"] and escalation["team"] == "safety"
    assert escalation["steps"] == ["登记序列号", "转交安全团队"]


def test_a_broken_rule_file_shows_its_line_and_keeps_the_rules(
    page: Page, library: LiveServer, screenshot: Callable[[Page, str], None]
) -> None:
    page.goto("/kb/rules")
    live = page.locator("tr[data-rule-id]")
    ids = [live.nth(i).get_attribute("data-rule-id") for i in range(live.count())]
    page.get_by_label("规则文件（YAML）").set_input_files(
        {"name": "playbook.yaml", "mimeType": "application/yaml", "buffer": BROKEN_RULES.encode()}
    )
    page.get_by_role("button", name="导入", exact=True).click()
    error = page.locator("#rules-import-file-msg")
    expect(error).to_contain_text("第 17 行")
    expect(error).to_contain_text("未知的级别“tier9”")  # the page's language (zh-Hans)
    expect(page.locator("pre.excerpt .at-fault")).to_contain_text("level: tier9")
    expect(page.locator("tr[data-rule-id]")).to_have_count(len(ids))
    assert {r.id for r in active_rules(library.kb)} == set(ids)
    screenshot(page, "rules-error")


def test_create_a_reply_with_a_field_error_then_markup_as_text(
    page: Page, library: LiveServer, screenshot: Callable[[Page, str], None]
) -> None:
    page.goto("/kb/replies")
    page.get_by_role("link", name="新建话术").click()
    page.get_by_label("编号").fill("browser-reply")
    page.get_by_label("标题").fill("浏览器话术")
    page.get_by_label("正文").fill("您好 {订单号}")
    page.get_by_role("button", name="保存话术").click()
    expect(page.locator("#reply-body-msg")).to_contain_text("did you mean {order_id}")
    expect(page.get_by_label("正文")).to_have_attribute("aria-invalid", "true")
    screenshot(page, "reply-edit")

    page.get_by_label("正文").fill(f"您好，订单 {{order_id}} 已处理。{XSS}")
    page.get_by_label("适用场景（每行一句客户可能说的话）").fill("订单处理好了吗\n处理进度")
    page.get_by_role("button", name="保存话术").click()
    expect(page).to_have_url(re.compile(r"/kb/replies\?saved=browser-reply"))
    row = page.locator('tr[data-reply-id="browser-reply"]')
    expect(row).to_contain_text(XSS)
    expect(row.locator("code")).to_have_text("{order_id}")
    page.get_by_label("文字").fill("browser-reply")
    expect(page.locator("tr[data-reply-id]")).to_have_count(1)
    screenshot(page, "replies")


def test_run_an_evaluation_on_an_uploaded_golden_set(
    page: Page, library: LiveServer, screenshot: Callable[[Page, str], None]
) -> None:
    page.goto("/kb/evaluation")
    corpus = page.get_by_label("段落文件 corpus.jsonl")
    queries = page.get_by_label("查询文件 queries.jsonl")
    corpus.set_input_files(
        {"name": "corpus.jsonl", "mimeType": "application/json", "buffer": CORPUS}
    )
    queries.set_input_files(
        {"name": "queries.jsonl", "mimeType": "application/json", "buffer": QUERIES}
    )

    def choose_the_next_files(route: Route) -> None:
        # While the run is polled, the manager already picks the files of the next one.
        corpus.set_input_files(
            {"name": "corpus.jsonl", "mimeType": "application/json", "buffer": CORPUS + b"\n{oops"}
        )
        queries.set_input_files(
            {"name": "queries.jsonl", "mimeType": "application/json", "buffer": QUERIES}
        )
        route.continue_()

    page.route(re.compile(r"/kb/evaluation/\w+$"), choose_the_next_files, times=1)
    page.get_by_role("button", name="开始评测").click()
    run = page.locator(".eval-run")
    expect(run).to_have_attribute("data-status", "done", timeout=120_000)
    expect(corpus).to_have_value(re.compile(r"corpus\.jsonl$"))  # the polls left the form alone
    metrics = page.locator("#metrics")
    expect(metrics.locator("thead")).to_contain_text("混合检索")
    expect(metrics.locator("thead")).to_contain_text("只用 BM25")
    expect(metrics.locator('tr[data-metric="recall@10"] td')).to_have_count(2)
    screenshot(page, "evaluation")

    page.get_by_role("button", name="开始评测").click()
    expect(page.locator("#golden-corpus-msg")).to_contain_text("corpus.jsonl line 4: invalid JSON")


def test_a_word_added_to_the_vocabulary_changes_how_queries_are_cut(
    page: Page, library: LiveServer, screenshot: Callable[[Page, str], None]
) -> None:
    from kb.retrieval.vocabulary import Vocabulary, save_vocabulary

    page.goto("/kb/vocabulary")
    chips = page.get_by_label("切分结果").locator(".token")
    sentence = page.get_by_label("句子")
    sentence.fill("满多少钱包邮")
    expect(chips.filter(has_text=re.compile("^钱包$"))).to_have_count(1)

    def try_a_sentence_while_it_saves(route: Route) -> None:
        # The save (a re-index: up to half a minute) is in flight while the manager types.
        sentence.fill("满多少钱包邮？")
        route.continue_()

    try:
        page.get_by_label(re.compile("^用户词典")).fill("# 业务术语\n包邮 50000\n")
        page.get_by_label(re.compile("^同义词")).fill("退款，退钱")
        page.route(re.compile(r"/kb/vocabulary$"), try_a_sentence_while_it_saves, times=1)
        page.get_by_role("button", name="保存并重建索引").click()
        expect(page.get_by_role("status")).to_contain_text("词库已保存并生效")
        expect(page.locator(".history li").first).to_contain_text("1 个词 · 1 组同义词")

        # The sentence survived the save's swap and is cut again with the saved words.
        expect(sentence).to_have_value("满多少钱包邮？")
        expect(chips.filter(has_text=re.compile("^包邮$"))).to_have_count(1)
        expect(chips.filter(has_text=re.compile("^钱包$"))).to_have_count(0)
        screenshot(page, "vocabulary")

        page.get_by_label(re.compile("^同义词")).fill("退款，退钱\n发票")
        page.get_by_role("button", name="保存并重建索引").click()
        expect(page.get_by_role("alert")).to_contain_text("第 2 行")
        expect(page.locator("pre.excerpt .at-fault")).to_have_text("2发票")
        expect(page.get_by_label(re.compile("^同义词"))).to_have_attribute("aria-invalid", "true")
    finally:
        save_vocabulary(library.kb, Vocabulary())  # the server is shared with other tests
