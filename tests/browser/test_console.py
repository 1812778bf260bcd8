"""The console in real Chromium against a real server: upload, search, edit, delete, escaping."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import Dialog, Page, expect
from sqlmodel import select

from kb.db import session_scope
from kb.documents.catalog import get_document
from kb.documents.ingestion import IngestItem, ingest_items
from kb.errors import NotFound
from kb.models import DocumentVersion

if TYPE_CHECKING:  # the fixture's type, for readers and editors; conftest is not importable
    from conftest import LiveServer

pytestmark = pytest.mark.browser

MANUAL = """# 云舟 X1 使用手册

## 第1章 充电

电池充满约需两小时，请使用原装充电器。

## 第2章 保修

整机保修一年，电机和电池保修两年。保修期内非人为损坏免费维修。
""".encode()
FAQ = "问题,答案\n退货运费谁出？,非质量问题退货由顾客承担运费。\n发什么快递？,默认顺丰。\n".encode()
XSS = (
    "退货须知 <script>alert(1)</script>\n\n"
    "退货运费说明：<img src=x onerror=alert(1)> 非质量问题由顾客承担运费。\n"
).encode()


def _seed(server: LiveServer, name: str, data: bytes, collection: str) -> str:
    [result] = ingest_items(server.kb, [IngestItem(name, data)], collection=collection)
    assert result.document_id, result
    return result.document_id


def test_upload_watch_progress_then_find_it_in_traditional_chinese(
    page: Page, screenshot: Callable[[Page, str], None]
) -> None:
    page.goto("/kb/documents")
    upload = page.get_by_role("region", name="上传文档")
    upload.get_by_label("文件（可多选）").set_input_files(
        [
            {"name": "x1-manual.md", "mimeType": "text/markdown", "buffer": MANUAL},
            {"name": "returns-faq.csv", "mimeType": "text/csv", "buffer": FAQ},
            {"name": "notes.xyz", "mimeType": "application/octet-stream", "buffer": b"?"},
        ]
    )
    upload.get_by_label("集合").fill("uploads")
    upload.get_by_label("标签").fill("售后, 说明书")
    upload.get_by_role("button", name="上传并导入").click()

    job = page.locator(".job")
    expect(job).to_be_visible()
    expect(job.locator(".job-status")).to_have_text("完成", timeout=60_000)
    expect(job.locator(".file-result")).to_have_count(3)
    expect(job.locator('.file-result[data-status="ingested"] .filename')).to_have_text(
        ["x1-manual.md", "returns-faq.csv"]
    )
    expect(job.locator('.file-result[data-status="failed"] .reason')).to_contain_text(".xyz")
    # The finished job tells the list to reload: both documents appear without a page load.
    doc_list = page.locator("#doc-list")
    expect(doc_list).to_contain_text("云舟 X1 使用手册")
    expect(doc_list).to_contain_text("returns-faq.csv")
    screenshot(page, "documents")

    page.get_by_role("link", name="命中测试").click()
    expect(page).to_have_title(re.compile("命中测试"))
    page.get_by_label("集合").select_option("uploads")
    query = page.get_by_label("查询")
    query.fill("電池保固多久")
    query.press("Enter")
    first = page.locator("tr.hit").first
    expect(first).to_contain_text("保修两年")
    expect(first.locator("mark").first).to_be_visible()
    expect(first.locator(".bm25")).to_have_text(re.compile(r"\d\.\d{3}"))
    expect(first.locator(".vector")).to_have_text(re.compile(r"\d\.\d{3}"))
    expect(first.locator(".fused")).to_have_text(re.compile(r"\d\.\d{3}"))
    expect(page).to_have_url(re.compile(r"q=%E9%9B%BB"))  # the query is in the address bar
    screenshot(page, "hit-test")

    first.get_by_role("link").click()
    expect(page.locator(".chunk.current")).to_contain_text("保修两年")
    expect(page.locator("#chunk-context .sub")).to_contain_text("第2章 保修")
    screenshot(page, "chunk-context")


def test_edit_tags_with_errors_next_to_the_field(
    page: Page, live_server: LiveServer, screenshot: Callable[[Page, str], None]
) -> None:
    doc_id = _seed(live_server, "tags-manual.md", MANUAL, "tags")
    page.goto(f"/kb/documents/{doc_id}")
    page.keyboard.press("Tab")  # keyboard users first meet the skip link
    expect(page.get_by_role("link", name="跳到正文")).to_be_focused()

    page.get_by_label("生效日期").fill("2025-06-01")
    page.get_by_label("失效日期").fill("2025-01-01")
    page.get_by_role("button", name="保存元数据").click()
    error = page.locator("#meta-valid_to-msg")
    expect(error).to_contain_text("早于生效日期")
    expect(page.get_by_label("失效日期")).to_have_attribute("aria-invalid", "true")

    page.get_by_label("失效日期").fill("")
    page.get_by_label("标签").fill("退货, 运费")
    page.get_by_role("button", name="保存元数据").click()
    expect(page.get_by_role("status")).to_have_text("已保存。")
    expect(page.get_by_label("标签")).to_have_value("退货, 运费")
    assert get_document(live_server.kb, doc_id, with_chunks=False).tags == ["退货", "运费"]
    screenshot(page, "document")

    page.goto("/kb/documents?tag=运费&collection=tags")
    expect(page.locator("#doc-list tbody tr")).to_have_count(1)
    expect(page.locator("#doc-list .tag")).to_have_text(["退货", "运费"])


def test_delete_asks_for_confirmation(page: Page, live_server: LiveServer) -> None:
    doc_id = _seed(live_server, "delete-me.md", MANUAL, "deletions")
    page.goto(f"/kb/documents/{doc_id}")
    page.get_by_label(re.compile("我确认删除")).check()
    asked: list[str] = []

    def dismiss(dialog: Dialog) -> None:
        asked.append(dialog.message)
        dialog.dismiss()

    # The document still existing right after the click would prove nothing (a delete sent could
    # still be on its way): what must not happen is the request itself.
    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.url) if r.url.endswith("/delete") else None)
    page.once("dialog", dismiss)
    page.get_by_role("button", name="删除文档").click()  # returns once the dialog is answered
    assert asked and "云舟 X1 使用手册" in asked[0]
    assert sent == []
    expect(page.locator("h1")).to_have_text("云舟 X1 使用手册")  # still here
    assert get_document(live_server.kb, doc_id, with_chunks=False).id == doc_id

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="删除文档").click()
    expect(page).to_have_url(re.compile(r"/kb/documents\?deleted="))
    assert sent == [f"{live_server.url}/kb/documents/{doc_id}/delete"]
    expect(page.get_by_role("status")).to_have_text("已删除「云舟 X1 使用手册」。")
    with pytest.raises(NotFound):
        get_document(live_server.kb, doc_id)


def test_markup_in_a_document_shows_as_text(
    page: Page, live_server: LiveServer, screenshot: Callable[[Page, str], None]
) -> None:
    doc_id = _seed(live_server, "xss.txt", XSS, "xss")
    dialogs: list[str] = []

    def record(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", record)
    title = "退货须知 <script>alert(1)</script>"
    body = "<img src=x onerror=alert(1)>"

    page.goto("/kb/documents?collection=xss")
    expect(page.locator("#doc-list")).to_contain_text(title)
    page.goto(f"/kb/documents/{doc_id}")
    expect(page.locator("h1")).to_have_text(title)
    expect(page.locator(".chunk .text")).to_contain_text(body)
    page.goto("/kb/hit-test?collection=xss&q=退货运费说明")
    expect(page.locator("tr.hit").first).to_contain_text(body)
    expect(page.locator("tr.hit a").first).to_have_text(title)
    screenshot(page, "escaped-markup")

    assert page.locator("main img, main script").count() == 0
    assert dialogs == []


def test_owner_review_interval_overdue_and_mark_reviewed(
    page: Page, live_server: LiveServer
) -> None:
    doc_id = _seed(live_server, "upkeep-manual.md", MANUAL, "upkeep")
    page.goto(f"/kb/documents/{doc_id}")
    review = page.locator("#review-form")
    expect(review).to_contain_text("未设复核周期。")
    review.get_by_label("负责人").select_option("manager@assistkb.test")
    review.get_by_label("复核周期（天）").fill("3")
    review.get_by_role("button", name="保存负责人与周期").click()
    expect(page.locator("#review-form [role=status]")).to_have_text("已保存。")
    expect(page.locator("#review-form")).to_contain_text("下次复核：")
    doc = get_document(live_server.kb, doc_id, with_chunks=False)
    assert (doc.owner, doc.review_interval_days) == ("manager@assistkb.test", 3)

    with session_scope(live_server.kb.engine) as session:  # stored five days ago
        for version in session.exec(
            select(DocumentVersion).where(DocumentVersion.document_id == doc_id)
        ):
            version.created_at = datetime.now(UTC) - timedelta(days=5)
            session.add(version)
    page.goto("/kb/documents")
    overdue = page.get_by_role("region", name="待复核文档")
    expect(overdue.get_by_role("link", name="云舟 X1 使用手册")).to_be_visible()
    overdue.get_by_role("link", name="云舟 X1 使用手册").click()
    expect(page.locator("#review-form .due-review")).to_have_text("待复核")
    page.get_by_role("button", name="标记为已复核").click()
    expect(page.locator("#review-form .due-review")).to_have_count(0)
    expect(page.locator("#review-form")).to_contain_text("上次复核：")
    assert not get_document(live_server.kb, doc_id, with_chunks=False).due_for_review
