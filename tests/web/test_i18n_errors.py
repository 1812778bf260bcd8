"""What the UI reports about a user's files is in the reader's language: why an uploaded file
failed to ingest (job panel and API), a rule or reply file's error, a vocabulary line's problem."""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from test_i18n import HAN, foreign, visible_ui_text

from ingest.fence import ParseLimits
from ingest.model import IngestError
from ingest.pipeline import parse_file
from kb.context import KnowledgeBase
from kb.db import session_scope
from kb.documents.jobs import wait_for_job
from kb.documents.reasons import INGEST_REASON_FORMS, JOB_INTERRUPTED, job_error_text
from kb.documents.reasons import reason_message as ingest_reason
from kb.models import IngestJob, utcnow
from kb.types import LANGUAGES
from web import i18n
from web.app import create_app

SignIn = Callable[..., Any]


@pytest.fixture(scope="module")
def app(sample_kb: KnowledgeBase) -> Iterator[FastAPI]:
    application = create_app(sample_kb.settings, warm=False)
    with TestClient(application):
        yield application


# --- why a file failed to ingest ------------------------------------------------------------

# Files the parser refuses, one per kind of reason it gives (tiny: nothing is embedded).
REFUSED_FILES = [
    ("empty.txt", b" \n"),
    ("logo.txt", b"\x89PNG\r\n\x1a\n...."),
    ("notes.xyz", b"text"),
    ("old.doc", b"text"),
    ("old.ppt", b"text"),
    ("bundle.zip", b"PK\x03\x04rest"),
    ("broken.json", b"[{"),
    ("records.jsonl", b'{"id": 1, "text": "a"}\n{oops\n'),
    ("no-id.json", b'[{"text": "a"}, {"title": "b"}]'),
    ("keys.json", b'[{"a": 1}]'),
    ("scalar.json", b"3"),
    ("fake.pdf", b"not a pdf"),
    ("damaged.docx", b"PK\x03\x04damaged"),
    ("faq.csv", b"x,y\n1,2\n"),
    ("big.txt", b"a" * 200),
]


@pytest.mark.parametrize(("name", "data"), REFUSED_FILES)
def test_every_reason_the_parser_gives_has_a_translatable_form(name: str, data: bytes) -> None:
    with pytest.raises(IngestError) as refused:
        parse_file(name, data, max_bytes=100)
    found = ingest_reason(refused.value.reason)
    assert found.template in INGEST_REASON_FORMS, refused.value.reason
    assert not HAN.search(refused.value.reason) or "问题" in refused.value.reason
    assert HAN.search(i18n.gettext("zh-Hans", found)), found


def test_the_parser_workers_limits_have_translatable_forms() -> None:
    limits = ParseLimits(memory_mb=1500, seconds=2.5)
    for reason, hans in [
        (limits.memory_reason(), "解析需要超过 1,500 MB 内存"),
        (limits.time_reason(), "解析用时超过 2.5 秒"),
    ]:
        assert i18n.gettext("zh-Hans", ingest_reason(reason)).startswith(hans)


UPLOADED = [("files", ("empty.txt", b"\n")), ("files", ("logo.png", b"\x89PNG\r\n\x1a\n...."))]
REFUSALS = {
    "zh-Hans": ["文件是空的", "不支持的文件类型：PNG 图片"],
    "zh-Hant": ["檔案是空的", "不支援的檔案類型：PNG 圖片"],
    "en": ["the file is empty", "unsupported file type: PNG image"],
}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_failed_files_reason_is_in_the_callers_language_in_the_api(
    app: FastAPI, sign_in: SignIn, lang: str
) -> None:
    client = TestClient(app, headers={"Accept-Language": lang})
    sign_in(client, role="manager", email=f"upload-{lang}@assistkb.test")
    answer = client.post("/api/v1/documents", files=UPLOADED)
    assert answer.status_code == 200, answer.text
    files = answer.json()["files"]
    assert [f["status"] for f in files] == ["failed", "failed"]
    assert [f["reason"] for f in files] == REFUSALS[lang]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_failed_files_reason_is_in_the_pages_language_on_the_job_panel(
    app: FastAPI, sign_in: SignIn, lang: str
) -> None:
    client = TestClient(app, headers={"HX-Request": "true", i18n.HEADER: lang})
    sign_in(client, role="manager", email=f"upload-{lang}@assistkb.test")
    started = client.post("/kb/documents", files=UPLOADED, data={"type": "", "tags": ""})
    assert started.status_code == 200, started.text
    job = re.search(r'id="job-([0-9a-f]+)"', started.text)
    assert job
    wait_for_job(app.state.kb, job.group(1), timeout=120)
    panel = client.get(f"/kb/jobs/{job.group(1)}").text
    reasons = re.findall(r'<span class="reason">([^<]*)</span>', panel)
    assert [html.unescape(r) for r in reasons] == REFUSALS[lang]
    assert foreign(visible_ui_text(panel), lang) == []


JOB_ERRORS = {
    "zh-Hans": "运行此任务的进程在完成前停止了（已中断），请重新上传",
    "zh-Hant": "執行此任務的程序在完成前停止了（已中斷），請重新上傳",
    "en": "the process running this job stopped before it finished; upload again",
}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_an_interrupted_jobs_error_is_in_the_pages_language_with_its_code(
    app: FastAPI, sign_in: SignIn, lang: str
) -> None:
    kb = app.state.kb
    job_id = f"interrupted{lang.replace('-', '').lower()}"
    # As fail_interrupted_jobs stores it (tests/kb/documents/test_jobs.py drives that path).
    stored = job_error_text("interrupted", JOB_INTERRUPTED)
    with session_scope(kb.engine) as session:
        session.add(IngestJob(id=job_id, collection="default", status="failed", stage="failed",
                              total_files=1, error=stored, finished_at=utcnow()))  # fmt: skip
    client = TestClient(app, headers={"HX-Request": "true", i18n.HEADER: lang})
    sign_in(client, role="manager", email=f"upload-{lang}@assistkb.test")
    panel = client.get(f"/kb/jobs/{job_id}").text
    shown = re.search(r'<p class="field-error job-error" data-code="([a-z_]+)">([^<]*)</p>', panel)
    assert shown, panel
    assert (shown.group(1), html.unescape(shown.group(2))) == ("interrupted", JOB_ERRORS[lang])
    assert foreign(visible_ui_text(panel), lang) == []


# --- rule and reply files --------------------------------------------------------------------

BAD_RULE_FILES = {
    "no-version.yaml": (
        "rules: []\n",
        {
            "zh-Hans": "no-version.yaml 第 1 行：文件没有版本（请在开头写上“version: 1”）",
            "zh-Hant": "no-version.yaml 第 1 行：檔案沒有版本（請在開頭寫上「version: 1」）",
            "en": "no-version.yaml line 1: the file has no version (write 'version: 1' at the top)",
        },
    ),
    "bad-id.yaml": (
        "version: 1\nrules:\n  - id: Refund Rule\n",
        {
            "zh-Hans": "bad-id.yaml 第 3 行：规则编号“Refund Rule”只能包含小写字母、数字、"
            "“-”、“_”或“.”",
            "zh-Hant": "bad-id.yaml 第 3 行：規則編號「Refund Rule」只能包含小寫字母、數字、"
            "「-」、「_」或「.」",
            "en": "bad-id.yaml line 3: rule id 'Refund Rule' must be lower-case letters, digits, "
            "'-', '_' or '.'",
        },
    ),
    "typo.yaml": (
        "version: 1\nrules:\n  - id: r1\n    nmae: x\n",
        {
            "zh-Hans": "typo.yaml 第 4 行：第 1 条规则：未知的键“nmae”（您是不是要写“name”？）",
            "zh-Hant": "typo.yaml 第 4 行：第 1 條規則：未知的鍵「nmae」（您是不是要寫「name」？）",
            "en": "typo.yaml line 4: rule 1: unknown key 'nmae' (did you mean 'name'?)",
        },
    ),
    "sim.yaml": (
        "version: 1\nrules:\n  - id: r1\n    min_similarity: [a]\n",
        {
            "zh-Hans": "sim.yaml 第 4 行：规则“r1”：“min_similarity”必须是数字，不能是列表",
            "zh-Hant": "sim.yaml 第 4 行：規則「r1」：「min_similarity」必須是數字，不能是清單",
            "en": "sim.yaml line 4: rule 'r1': 'min_similarity' must be a number, not a list",
        },
    ),
    "empty.yaml": (
        "version: 1\nrules:\n  - id: r1\n    when: {keywords: []}\n"
        "    then: {level: tier3, steps: [s]}\n",
        {
            "zh-Hans": "empty.yaml 第 4 行：规则“r1”的“when”：“keywords”是空列表",
            "zh-Hant": "empty.yaml 第 4 行：規則「r1」的「when」：「keywords」是空清單",
            "en": "empty.yaml line 4: rule 'r1' 'when': 'keywords' is an empty list",
        },
    ),
}


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("name", BAD_RULE_FILES)
def test_a_bad_rule_files_error_is_in_the_pages_language(
    app: FastAPI, sign_in: SignIn, lang: str, name: str
) -> None:
    text, expected = BAD_RULE_FILES[name]
    client = TestClient(app, headers={"HX-Request": "true", i18n.HEADER: lang})
    sign_in(client, role="admin", email=f"rules-{lang}@assistkb.test")
    refused = client.post("/kb/rules/import", files={"file": (name, text.encode())})
    assert refused.status_code == 422
    shown = re.search(r'id="rules-import-file-msg">(.*?)</p>', refused.text, re.S)
    assert shown, refused.text
    assert html.unescape(re.sub(r"<[^>]+>", "", shown.group(1))).endswith(expected[lang])


VOCABULARY_PROBLEMS = {
    "zh-Hans": ["一组同义词至少需要两个不同的词", "词频必须是整数，不能是 'x'"],
    "zh-Hant": ["一組同義詞至少需要兩個不同的詞", "詞頻必須是整數，不能是 'x'"],
    "en": ["a synonym set needs at least two different words", "the frequency must be a whole"],
}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_bad_vocabulary_lines_problem_is_in_the_pages_language(
    app: FastAPI, sign_in: SignIn, lang: str
) -> None:
    client = TestClient(app, headers={"HX-Request": "true", i18n.HEADER: lang})
    sign_in(client, role="admin", email=f"vocabulary-{lang}@assistkb.test")
    for field, text, expected in [
        ("synonyms", "发票\n", VOCABULARY_PROBLEMS[lang][0]),
        ("user_dict", "包邮 x n\n", VOCABULARY_PROBLEMS[lang][1]),
    ]:
        refused = client.post("/kb/vocabulary", data={field: text})
        assert refused.status_code == 422
        problems = re.search(r'<ul class="problems">(.*?)</ul>', refused.text, re.S)
        assert problems, refused.text
        assert expected in html.unescape(problems.group(1))
        if lang != "en":  # (the English list keeps the template's full-width brackets)
            assert foreign(visible_ui_text(problems.group(1)), lang) == [], problems.group(1)
