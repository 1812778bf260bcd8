"""One language per screen: the catalogues are complete, a page shows only its reader's language
(content aside), the language is chosen per person, and API errors keep a machine code."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable, Iterator
from html.parser import HTMLParser
from typing import Any, ClassVar

import opencc
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from kb.assist._sentiment_lexicon import CUE_GROUPS
from kb.assist.sentiment import CUE_FORMS, CUE_KINDS, analyse, cue_message
from kb.context import KnowledgeBase
from kb.documents.jobs import stage_message
from kb.errors import Message
from kb.library.escalation import reason_message
from kb.types import LANGUAGES, Language
from web import i18n
from web.app import create_app
from web.catalogue import extract_catalog, gaps, read_catalog

SignIn = Callable[..., Any]
HAN = re.compile(r"[\u4e00-\u9fff]")
# Latin words a Chinese page may show: product and protocol names, keys, codes.
LATIN_OK = {"AssistKB", "CRM", "API", "Alt", "Enter", "Shift", "VIP", "FAQ", "BM25", "UTC",
            "PDF", "PNG", "Word", "HTML", "Markdown", "CSV", "XLSX", "JSON", "YAML",
            "default"}  # KB_DEFAULT_COLLECTION, a collection's name  # fmt: skip
TO_TRAD, TO_SIMP = opencc.OpenCC("s2t"), opencc.OpenCC("t2s")


# --- the catalogues -------------------------------------------------------------------------

FIELDS = re.compile(r"\{(\w+)[^}]*\}|%\((\w+)\)s|%%d")
# Values a message is given beyond the fields of its English text (kb.library.escalation's
# reason_message passes the number of "3rd" as {count}).
EXTRA_FIELDS = {"{ordinal} contact about this issue": {"{count}"}}


@pytest.fixture(scope="module")
def template() -> Any:
    return extract_catalog()


@pytest.mark.parametrize("locale", list(i18n.BABEL_LOCALE.values()))
def test_every_message_is_translated_in_every_catalogue(template: Any, locale: str) -> None:
    """A template or message added without a translation (or left fuzzy or empty) fails here:
    run ``python -m web.catalogue`` and translate what it lists."""
    catalog = read_catalog(locale)
    assert len(template) > 400
    assert gaps(template, catalog) == []


@pytest.mark.parametrize("locale", list(i18n.BABEL_LOCALE.values()))
def test_translations_keep_the_fields_of_their_message(template: Any, locale: str) -> None:
    catalog = read_catalog(locale)
    wrong = []
    for message in template:
        if not message.id:
            continue
        found = catalog.get(message.id)
        fields = {m.group(0) for m in FIELDS.finditer(str(message.id))}
        fields |= EXTRA_FIELDS.get(str(message.id), set())
        shown = {m.group(0) for m in FIELDS.finditer(str(found.string))}
        # A translation may leave a field out (English's plural "s"), never invent one.
        if not shown <= fields:
            wrong.append((message.id, found.string))
    assert wrong == []


def test_app_js_strings_are_in_the_extraction(template: Any) -> None:
    assert set(i18n.script_msgids()) == {"请求失败（{status}）", "：", "已插入回复草稿", "已复制",
                                        "复制失败，请手动选择文字复制", "未记录：{reason}",
                                        "未记录（{status}）"}  # fmt: skip
    assert all(template.get(m) is not None for m in i18n.script_msgids())


# --- what kb produces, shown translated ---------------------------------------------------


@pytest.mark.parametrize(
    ("produced", "zh_hans", "zh_hant", "en"),
    [
        (stage_message("indexing 154/164"), "建立索引 154/164", "建立索引 154/164",
         "indexing 154/164"),
        (stage_message("parsing 退货政策.md"), "解析 退货政策.md", "解析 退货政策.md",
         "parsing 退货政策.md"),  # the file's name is content: as written
        (stage_message("done"), "完成", "完成", "done"),
        (reason_message("safety hazard"), "安全隐患", "安全隱患", "safety hazard"),
        (reason_message("keyword: 投诉"), "关键词：投诉", "關鍵詞：投诉", "keyword: 投诉"),
        (reason_message("similar to: '烧焦了'"), "近似于：烧焦了", "近似於：烧焦了",
         "similar to: 烧焦了"),  # the page quotes it with <q>
        (reason_message("3rd contact about this issue"), "就此问题第 3 次联系",
         "就此問題第 3 次聯絡", "3rd contact about this issue"),
        (reason_message("VIP customer"), "VIP 客户", "VIP 客戶", "VIP customer"),
        (cue_message("safety: burnt"), "安全：burnt", "安全：burnt", "safety: burnt"),
        (cue_message("negated anger (ignored): 不生气"), "否定的愤怒（已忽略）：不生气",
         "否定的憤怒（已忽略）：不生气", "negated anger (ignored): 不生气"),
        (Message("not a form we know"), "not a form we know", "not a form we know",
         "not a form we know"),
    ],
)  # fmt: skip
def test_kb_codes_are_shown_in_the_readers_language(
    produced: Message, zh_hans: str, zh_hant: str, en: str
) -> None:
    shown = [i18n.gettext(lang, produced) for lang in ("zh-Hans", "zh-Hant", "en")]
    assert shown == [zh_hans, zh_hant, en]


def test_every_cue_kind_of_the_lexicon_has_a_name() -> None:
    assert {group.kind for group in CUE_GROUPS} <= set(CUE_KINDS)
    cues = analyse("你们这个充电器烧焦了，太危险了，我要投诉！！！").cues
    assert cues and all(cue_message(c).template in CUE_FORMS for c in cues)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("zh-TW,zh;q=0.9,en;q=0.8", "zh-Hant"),
        ("zh-HK", "zh-Hant"),
        ("zh-Hant-TW", "zh-Hant"),
        ("zh-Hans-HK", "zh-Hans"),
        ("zh-CN,zh;q=0.9", "zh-Hans"),
        ("zh", "zh-Hans"),
        ("en-US,en;q=0.9", "en"),
        ("fr-FR,en;q=0.5,zh-TW;q=0.8", "zh-Hant"),
        ("fr, de", None),
        ("", None),
        ("zh-TW;q=0", None),
        ("<script>", None),
    ],
)
def test_accept_language_picks_the_ui_language(header: str, expected: str | None) -> None:
    assert i18n.negotiate(header) == expected


# --- pages: one language each ---------------------------------------------------------------


class _Visible(HTMLParser):
    """The UI text of a page: text and readable attributes, without content areas (what the
    knowledge base, the customer or a manager wrote) and without the language switch (each
    language named in itself)."""

    CONTENT: ClassVar[set[str]] = {
        "answer-text", "answer-title", "cite", "reply-text", "steps", "query", "hit",
        "question", "text", "filename", "team", "reply", "missing", "quote",
    }  # fmt: skip
    SKIP_TAGS: ClassVar[set[str]] = {"script", "style", "textarea", "code", "kbd", "title"}
    VOID: ClassVar[set[str]] = {"input", "meta", "link", "br", "img", "hr"}

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[bool] = []
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        classes = set((a.get("class") or "").split())
        skip = (
            (bool(self.stack) and self.stack[-1])
            or tag in self.SKIP_TAGS
            or bool(classes & self.CONTENT)
            or (tag in ("button", "label") and "lang" in a)  # 简体 / 繁體, each in itself
            or tag in ("h3", "td")  # a reply's or answer's own title; a table's data
        )
        if not skip:
            for name in ("placeholder", "aria-label", "title", "hx-confirm"):
                if a.get(name):
                    self.found.append(str(a[name]))
        if tag not in self.VOID:
            self.stack.append(skip)

    def handle_endtag(self, tag: str) -> None:
        if tag not in self.VOID and self.stack:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        if data.strip() and not (self.stack and self.stack[-1]):
            self.found.append(data.strip())


def visible_ui_text(html: str) -> list[str]:
    parser = _Visible()
    parser.feed(html)
    return parser.found


def foreign(texts: list[str], lang: Language) -> list[str]:
    """The pieces of ``texts`` that are not in ``lang``."""
    out = []
    for text in texts:
        text = re.sub(r"\S+@\S+", "", text)  # a person's e-mail address is theirs
        if lang == "en":
            if HAN.search(text) or re.search(r"[\u3000-\u303f\uff00-\uffef]", text):
                out.append(text)
            continue
        latin = [w for w in re.findall(r"[A-Za-z]{2,}", text) if w not in LATIN_OK]
        if latin:
            out.append(text)
        han = "".join(HAN.findall(text))
        # A Traditional page holds no character that only Simplified writes, and vice versa.
        if lang == "zh-Hant" and TO_TRAD.convert(han) != han:
            out.append(text)
        if lang == "zh-Hans" and TO_SIMP.convert(han) != han:
            out.append(text)
    return out


@pytest.fixture(scope="module")
def app(sample_kb: KnowledgeBase) -> Iterator[FastAPI]:
    application = create_app(sample_kb.settings, warm=False)
    with TestClient(application):
        yield application


@pytest.fixture
def agent(app: FastAPI, sign_in: SignIn) -> TestClient:
    client = TestClient(app)
    sign_in(client, role="agent")
    return client


TURN = "你们的扫地机器人充电的时候冒烟了，还有烧焦的味道，太危险了！我要投诉，订单号呢我找不到"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_panel_with_a_suggestion_is_all_in_one_language(agent: TestClient, lang: str) -> None:
    page = agent.get(f"/assist?lang={lang}&text={TURN}")
    assert page.status_code == 200
    assert f'<html lang="{lang}">' in page.text
    assert 'class="escalation"' in page.text and 'class="reasons"' in page.text
    assert foreign(visible_ui_text(page.text), lang) == []
    # The same suggestion as an HTMX fragment follows the page's language (X-UI-Language).
    fragment = agent.post(
        "/assist/suggest",
        data={"conversation": TURN, "display_script": "zh-Hans"},
        headers={"HX-Request": "true", "X-UI-Language": lang},
    )
    assert fragment.status_code == 200
    assert foreign(visible_ui_text(fragment.text), lang) == []


def test_the_panel_translates_what_kb_says(agent: TestClient) -> None:
    hans = agent.get(f"/assist?lang=zh-Hans&text={TURN}").text
    en = agent.get(f"/assist?lang=en&text={TURN}").text
    assert "安全隐患" in hans and "safety hazard" not in hans
    assert "safety hazard" in en and "Escalate" in en


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("path", ["/account", "/assist", "/kb/no-such-page", "/kb/documents"])
def test_signed_in_pages_are_in_one_language(
    app: FastAPI, sign_in: SignIn, path: str, lang: str
) -> None:
    client = TestClient(app, headers={"Accept-Language": lang})
    sign_in(client, role="manager")
    page = client.get(path)
    assert page.status_code in (200, 404)
    assert foreign(visible_ui_text(page.text), lang) == []


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_login_page_and_its_errors_are_in_the_chosen_language(app: FastAPI, lang: str) -> None:
    client = TestClient(app)
    form = client.get(f"/login?lang={lang}")
    assert f'<html lang="{lang}">' in form.text
    assert client.cookies.get(i18n.COOKIE) == lang  # the failed post below keeps it
    token = re.search(r'name="csrf_token" value="([0-9a-f]{64})"', form.text)
    assert token
    # An account of its own per language: a failure makes that account wait at this address.
    email = f"nobody-{lang}@assistkb.test"
    data = {"email": email, "password": "wrong", "csrf_token": token.group(1)}
    refused = client.post("/login", data=data)
    assert refused.status_code == 401
    texts = visible_ui_text(refused.text)
    assert foreign(texts, lang) == []
    wrong = {"zh-Hans": "邮箱或密码不正确。", "zh-Hant": "電子郵件或密碼不正確。", "en": "wrong"}
    assert any(wrong[lang] in t for t in texts)


@pytest.mark.parametrize(("lang", "copied"), [("zh-Hant", "已複製"), ("en", "Copied")])
def test_app_js_gets_its_strings_in_the_pages_language(
    app: FastAPI, lang: str, copied: str
) -> None:
    page = TestClient(app).get(f"/login?lang={lang}").text
    found = re.search(r'<meta name="ui-messages" content="([^"]*)">', page)
    assert found
    assert json.loads(html.unescape(found.group(1)))["已复制"] == copied


def test_the_choice_is_saved_with_the_account(app: FastAPI, sign_in: SignIn) -> None:
    laptop = TestClient(app, headers={"Accept-Language": "en"})
    sign_in(laptop, role="agent", email="lang@assistkb.test")
    assert '<html lang="en">' in laptop.get("/account").text  # the browser's, until chosen
    saved = laptop.post(
        "/account/language", data={"locale": "zh-Hant", "next": "/assist"}, follow_redirects=False
    )
    assert saved.status_code == 303 and saved.headers["location"] == "/assist"
    # Another browser of the same person, asking for English, gets the saved choice …
    phone = TestClient(app, headers={"Accept-Language": "en"})
    sign_in(phone, role="agent", email="lang@assistkb.test")
    panel = phone.get("/assist").text
    assert '<html lang="zh-Hant">' in panel
    # … and the panel's content defaults to Traditional with it.
    assert re.search(r'value="zh-Hant" checked', panel)
    refused = laptop.post("/account/language", data={"locale": "fr"})
    assert refused.status_code == 422
    cleared = laptop.post("/account/language", data={"locale": ""}, follow_redirects=False)
    assert cleared.status_code == 303
    assert '<html lang="en">' in phone.get("/account").text


@pytest.mark.parametrize(
    ("accept", "message"),
    [
        (None, "sign in first"),
        ("en", "sign in first"),
        ("zh-CN", "请先登录"),
        ("zh-TW", "請先登入"),
    ],
)
def test_api_errors_keep_a_code_beside_a_message_in_the_callers_language(
    app: FastAPI, accept: str | None, message: str
) -> None:
    headers = {"Accept-Language": accept} if accept else {}
    answer = TestClient(app).post("/api/v1/suggest", json={}, headers=headers)
    assert answer.status_code == 401
    assert answer.json() == {"error": {"code": "unauthenticated", "message": message}}


def test_a_domain_error_of_the_api_is_translated_with_its_values(
    app: FastAPI, sign_in: SignIn
) -> None:
    client = TestClient(app, headers={"Accept-Language": "zh-Hans"})
    sign_in(client, role="manager")
    answer = client.get("/api/v1/documents/nope")
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "not_found"
    assert answer.json()["error"]["message"] == "没有编号为 'nope' 的文档"
